// The page's state in its URL, as TensorFlow Playground keeps it: the tab, the task and data set, the
// config fields of the Train form, and the chat's bot and its training settings. A link reproduces a run:
// same data, same config, same seed.

import { CONFIG_CHOICES, type Config, PAPER_DEFAULTS } from "../../src/index.js";

export type Tab = "train" | "ask" | "chat" | "next";

export interface PageState {
  tab: Tab;
  task: number;
  set: "en" | "en-10k";
  config: FormConfig;
  chat: ChatState;
}

/** The Chat panel: which shipped bot, and the settings of a bot trained in the page. */
export interface ChatState {
  bot: string;
  task: number;
  dialogs: number;
  epochs: number;
  matchType: boolean;
  placeholders: boolean;
}

export const CHAT_DEFAULTS: Readonly<ChatState> = Object.freeze({
  bot: "restaurant",
  task: 5,
  dialogs: 100,
  epochs: 30,
  matchType: true,
  placeholders: true,
});

/** The URL keys of the chat's fields (written only where they differ from the defaults). */
const CHAT_KEYS: Record<keyof ChatState, string> = {
  bot: "bot",
  task: "btask",
  dialogs: "bdialogs",
  epochs: "bepochs",
  matchType: "bmatch",
  placeholders: "bph",
};

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
  return { tab: "ask", task: 1, set: "en", config, chat: { ...CHAT_DEFAULTS } };
}

/** The state a query string describes; what it does not say (or says wrongly) keeps its default. */
export function parseState(search: string): PageState {
  const q = new URLSearchParams(search);
  const s = defaultState();
  const tab = q.get("tab");
  if (tab === "train" || tab === "ask" || tab === "chat" || tab === "next") s.tab = tab;
  const task = Number(q.get("task"));
  // Task 0: all 20 tasks, one joint model.
  if (q.get("task") !== null && Number.isInteger(task) && task >= 0 && task <= 20) s.task = task;
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
  const bot = q.get(CHAT_KEYS.bot);
  if (bot && /^[\w.-]{1,100}$/.test(bot)) s.chat.bot = bot;
  const whole = (k: "task" | "dialogs" | "epochs", lo: number, hi: number) => {
    const n = Number(q.get(CHAT_KEYS[k]));
    if (q.get(CHAT_KEYS[k]) !== null && Number.isInteger(n) && n >= lo && n <= hi) s.chat[k] = n;
  };
  whole("task", 1, 6);
  whole("dialogs", 1, 1000);
  whole("epochs", 1, 200);
  for (const k of ["matchType", "placeholders"] as const) {
    const v = q.get(CHAT_KEYS[k]);
    if (v === "1" || v === "0") s.chat[k] = v === "1";
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
  for (const k of Object.keys(CHAT_KEYS) as (keyof ChatState)[]) {
    const v = s.chat[k];
    if (v !== CHAT_DEFAULTS[k]) q.set(CHAT_KEYS[k], typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return `?${q.toString()}`;
}
