// The page's state in its URL, as TensorFlow Playground keeps it: the tab, the task and data set, and the
// config fields of the Train form. A link reproduces a run: same data, same config, same seed.

import { CONFIG_CHOICES, type Config, PAPER_DEFAULTS } from "../../src/index.js";

export type Tab = "train" | "ask" | "chat";

export interface PageState {
  tab: Tab;
  task: number;
  set: "en" | "en-10k";
  config: FormConfig;
}

/** The config fields the Train form shows; the rest keep the paper's defaults. */
export type FormConfig = Pick<
  Config,
  | "hops"
  | "dim"
  | "encoding"
  | "temporal"
  | "linearStart"
  | "randomNoise"
  | "epochs"
  | "lr"
  | "seed"
  | "nonlin"
  | "hopMap"
  | "clip"
  | "relativeTime"
  | "superviseAttention"
  | "superviseRest"
  | "superviseExtra"
  | "matchQuestion"
>;

export const FORM_FIELDS = [
  "hops",
  "dim",
  "encoding",
  "temporal",
  "linearStart",
  "randomNoise",
  "epochs",
  "lr",
  "seed",
  "nonlin",
  "hopMap",
  "clip",
  "relativeTime",
  "superviseAttention",
  "superviseRest",
  "superviseExtra",
  "matchQuestion",
] as const satisfies readonly (keyof FormConfig)[];

/** Short URL keys, as the CLI's flag names say them. */
const KEYS: Record<keyof FormConfig, string> = {
  hops: "hops",
  dim: "dim",
  encoding: "encoding",
  temporal: "te",
  linearStart: "ls",
  randomNoise: "rn",
  epochs: "epochs",
  lr: "lr",
  seed: "seed",
  nonlin: "nonlin",
  hopMap: "h",
  clip: "clip",
  relativeTime: "rel",
  superviseAttention: "sup",
  superviseRest: "rest",
  superviseExtra: "extra",
  matchQuestion: "match",
};

export function defaultState(): PageState {
  const config = Object.fromEntries(FORM_FIELDS.map((f) => [f, PAPER_DEFAULTS[f]])) as unknown as FormConfig;
  // A newcomer lands on an answer (Ask, with the best shipped model), not on training settings.
  return { tab: "ask", task: 1, set: "en", config };
}

/** The state a query string describes; what it does not say (or says wrongly) keeps its default. */
export function parseState(search: string): PageState {
  const q = new URLSearchParams(search);
  const s = defaultState();
  const tab = q.get("tab");
  if (tab === "train" || tab === "ask" || tab === "chat") s.tab = tab;
  const task = Number(q.get("task"));
  if (Number.isInteger(task) && task >= 1 && task <= 20) s.task = task;
  if (q.get("set") === "en-10k") s.set = "en-10k";
  const c = s.config as unknown as Record<string, unknown>;
  for (const f of FORM_FIELDS) {
    const v = q.get(KEYS[f]);
    if (v === null) continue;
    const def = PAPER_DEFAULTS[f];
    if (typeof def === "boolean") {
      if (v === "1" || v === "0") c[f] = v === "1";
    } else if (typeof def === "number") {
      const n = Number(v);
      if (v.trim() !== "" && Number.isFinite(n)) c[f] = n;
    } else if ((CONFIG_CHOICES as Partial<Record<string, readonly string[]>>)[f]?.includes(v)) {
      // a word-valued field: one of its values, or the default
      c[f] = v;
    }
  }
  return s;
}

export function formatState(s: PageState): string {
  const q = new URLSearchParams();
  q.set("tab", s.tab);
  q.set("task", String(s.task));
  q.set("set", s.set);
  for (const f of FORM_FIELDS) {
    const v = s.config[f];
    q.set(KEYS[f], typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return `?${q.toString()}`;
}
