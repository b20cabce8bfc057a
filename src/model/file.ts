// The model file: format version, config, vocabulary, answer classes and weights, checked field by field on
// load so that a bad file gives `<file>: <field>: <what is wrong>` rather than a crash or NaN answers.
// Two containers hold the same fields: JSON (readable), and safetensors (compact, and loadable by Python's
// `safetensors`), whose `__metadata__` carries every field but the weights as a JSON string.
// Pure: the CLI reads and writes the bytes (atomically); a browser passes the bytes or the parsed JSON in.

import { z } from "zod";
import { DataError } from "../data/errors.js";
import { Vocab } from "../text/vocab.js";
import { type Config, ConfigError, makeConfig } from "./config.js";
import { createParams, namedTensors, type Params, shapeFor, tensorShapes, weightsOf } from "./params.js";
import { decodeSafetensors, encodeSafetensors, firstNonFinite, isSafetensors } from "./safetensors.js";

export const MODEL_FORMAT = "memn2n-model";
export const MODEL_VERSION = 1;

export interface ModelMeta {
  tasks: number[];
  set?: string;
  /** Tasks trained on another set's file than `set` (the 10k task 3 on its 1k file), by task. */
  trainSets?: Record<string, string>;
  seed: number;
  epochs: number;
  trainError?: number;
  validError?: number;
  /** Test figures at training time: bAbI error per task, or per dialog test set its accuracies. */
  testErrors?: Record<string, number>;
  dialogTests?: { name: string; perResponse: number; perDialog: number }[];
}

/** A knowledge base that ships with a dialog model: one row per restaurant, values in `attributes` order. */
export interface KbSpec {
  attributes: string[];
  /** [entity, value of attributes[0], value of attributes[1], ...] */
  rows: string[][];
}

/** What a dialog model answers with: candidate responses, and the entity types its match features use. */
export interface DialogSpec {
  task: number;
  matchType: boolean;
  /** Candidate responses, words joined by spaces, in answer-class order. */
  candidates: string[];
  /** Entity word -> type (cuisine, location, ...). */
  entities: Record<string, string>;
  /**
   * Restaurants are rewritten into placeholders ranked by rating (`resto@1`, `resto@1_phone`, ...) before
   * the model sees a conversation, and back in its replies; this many ranks exist.
   */
  placeholders?: number;
  /** The knowledge base the bot's API calls are answered from. */
  kb?: KbSpec;
  /**
   * The responses after which the data's user always said nothing, by shape (entities as `<type>`: see
   * responseShape): the bot goes on by itself after them.
   */
  carryOn?: string[];
  /** The data's dialogs open with the bot speaking first (the user silent): the bot greets before replying. */
  opens?: boolean;
}

/**
 * A model card, in the shape of a Hugging Face card's sections: what the model is for, the data and its
 * licence, how it was made (command and seeds, so it can be made again), its figures beside the papers',
 * and its limits. It travels inside the file, so whoever has the file has the card.
 */
export interface ModelCard {
  summary: string;
  /** What it answers, and how it is asked. */
  use: string;
  data: string;
  license: string;
  command: string;
  seeds: string;
  /** Test figures beside the papers': one row per figure, fractions. */
  results: { name: string; value: number; paper?: number; paperName?: string }[];
  limitations: string[];
  date: string;
}

export interface TrainedModel {
  config: Config;
  vocab: Vocab;
  /** The answer classes seen in training (words of the vocabulary), sorted; empty for a dialog model. */
  answers: string[];
  params: Params;
  meta: ModelMeta;
  dialog?: DialogSpec;
  card?: ModelCard;
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");

const cardSchema = z.object({
  summary: z.string().max(10_000),
  use: z.string().max(10_000),
  data: z.string().max(10_000),
  license: z.string().max(10_000),
  command: z.string().max(10_000),
  seeds: z.string().max(10_000),
  results: z
    .array(
      z.object({
        name: z.string().max(1000),
        value: finite,
        paper: finite.optional(),
        paperName: z.string().max(1000).optional(),
      }),
    )
    .max(1000),
  limitations: z.array(z.string().max(10_000)).max(100),
  date: z.string().max(100),
});

const headSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  config: z.record(z.string(), z.unknown()),
  vocab: z.array(z.string()).min(3),
  answers: z.array(z.string()),
  timeSize: z.number().int().positive(),
  peLength: z.number().int().min(1).max(1000000),
  slots: z.number().int().min(1).max(1000000).optional(),
  meta: z.object({
    tasks: z.array(z.number().int()),
    set: z.string().optional(),
    trainSets: z.record(z.string(), z.string()).optional(),
    seed: z.number().int(),
    epochs: z.number().int(),
    trainError: z.number().optional(),
    validError: z.number().optional(),
    testErrors: z.record(z.string(), z.number()).optional(),
    dialogTests: z
      .array(z.object({ name: z.string(), perResponse: z.number(), perDialog: z.number() }))
      .optional(),
  }),
  dialog: z
    .object({
      task: z.number().int(),
      matchType: z.boolean(),
      candidates: z.array(z.string().min(1)).min(1),
      entities: z.record(z.string(), z.string()),
      placeholders: z.number().int().min(1).max(1000).optional(),
      kb: z
        .object({
          attributes: z.array(z.string().regex(/^R_\w+$/, "must be R_<name>")).min(1),
          rows: z.array(z.array(z.string().min(1))),
        })
        .superRefine((kb, ctx) => {
          const i = kb.rows.findIndex((r) => r.length !== kb.attributes.length + 1);
          if (i >= 0) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: ["rows", i],
              message: `expected the entity and ${kb.attributes.length} values`,
            });
          }
        })
        .optional(),
      carryOn: z.array(z.string().min(1).max(10_000)).max(100_000).optional(),
      opens: z.boolean().optional(),
    })
    .optional(),
  card: cardSchema.optional(),
});

const schema = headSchema.extend({ weights: z.record(z.string(), z.array(finite)) });

export type ModelJson = z.infer<typeof schema>;
type ModelHead = z.infer<typeof headSchema>;

export function modelToJson(m: TrainedModel): ModelJson {
  const weights = weightsOf(m.params);
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    config: { ...m.config },
    vocab: m.vocab.words,
    answers: m.answers,
    timeSize: m.params.timeSize,
    peLength: m.params.peLength ?? 1,
    ...(m.params.slots !== undefined ? { slots: m.params.slots } : {}),
    weights,
    meta: m.meta,
    ...(m.dialog ? { dialog: m.dialog } : {}),
    ...(m.card ? { card: m.card } : {}),
  };
}

/** A model file's contents: its bytes (JSON or safetensors), a JSON string or the parsed object. */
export function modelFromText(content: string | object | Uint8Array, file: string): TrainedModel {
  if (content instanceof Uint8Array) {
    if (isSafetensors(content)) return modelFromSafetensors(content, file);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(content);
    } catch {
      throw new DataError(file, null, "neither safetensors nor UTF-8 JSON");
    }
    return modelFromText(text, file);
  }
  let obj: unknown = content;
  if (typeof content === "string") {
    try {
      obj = JSON.parse(content);
    } catch {
      throw new DataError(file, null, "not valid JSON");
    }
  }
  return modelFromJson(obj, file);
}

function firstIssue(error: z.ZodError, file: string, prefix = ""): DataError {
  const issue = error.issues[0];
  const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  return new DataError(file, null, `${prefix}${field}: ${issue.message}`);
}

/** Checks and loads a parsed model file; `file` names it in errors. */
export function modelFromJson(json: unknown, file: string): TrainedModel {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw firstIssue(parsed.error, file);
  const j = parsed.data;
  return buildModel(j, file, "weights.", (name) => j.weights[name], Object.keys(j.weights));
}

/** The header fields that safetensors metadata carries, each a JSON string (format and version as text). */
const META_KEYS = [
  "format",
  "version",
  "config",
  "vocab",
  "answers",
  "timeSize",
  "peLength",
  "slots",
  "meta",
  "dialog",
  "card",
];

/** The model as safetensors bytes: the weights as F32 tensors [rows, cols], every other field in metadata. */
export function modelToSafetensors(m: TrainedModel): Uint8Array {
  const { weights: _, ...head } = modelToJson(m);
  const metadata: Record<string, string> = {};
  for (const key of META_KEYS) {
    const v = (head as Record<string, unknown>)[key];
    if (v === undefined) continue;
    metadata[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const tensors = namedTensors(m.params).map((t) => ({
    name: t.name,
    shape: [t.rows, t.cols],
    data: t.data,
  }));
  return encodeSafetensors(tensors, metadata);
}

/** Checks and loads a safetensors model file; `file` names it in errors. */
export function modelFromSafetensors(bytes: Uint8Array, file: string): TrainedModel {
  const st = decodeSafetensors(bytes, file);
  const head: Record<string, unknown> = {};
  for (const key of META_KEYS) {
    const v = st.metadata[key];
    if (v === undefined) continue;
    if (key === "format") {
      head[key] = v;
      continue;
    }
    try {
      head[key] = JSON.parse(v);
    } catch {
      throw new DataError(file, null, `__metadata__.${key}: not valid JSON`);
    }
  }
  const parsed = headSchema.safeParse(head);
  if (!parsed.success) throw firstIssue(parsed.error, file, "__metadata__.");
  for (const [name, t] of st.tensors) {
    const bad = firstNonFinite(t.data);
    if (bad >= 0) throw new DataError(file, null, `${name}: value ${bad} is not a finite number`);
  }
  const shapes = new Map([...st.tensors].map(([name, t]) => [name, t.shape]));
  return buildModel(
    parsed.data,
    file,
    "",
    (name) => st.tensors.get(name)?.data,
    [...st.tensors.keys()],
    shapes,
  );
}

/** The bytes of a model file in the format its name asks for: `.safetensors`, otherwise JSON. */
export function modelToBytes(m: TrainedModel, name: string): Uint8Array {
  if (name.endsWith(".safetensors")) return modelToSafetensors(m);
  return new TextEncoder().encode(JSON.stringify(modelToJson(m)));
}

function buildModel(
  j: ModelHead,
  file: string,
  prefix: string,
  weight: (name: string) => ArrayLike<number> | undefined,
  names: string[],
  shapes?: Map<string, number[]>,
): TrainedModel {
  let config: Config;
  try {
    // Files written before attendEmpty existed were trained without it.
    config = makeConfig({ attendEmpty: false, ...(j.config as Partial<Config>) });
  } catch (e) {
    if (e instanceof ConfigError) throw new DataError(file, null, `config.${e.message}`);
    throw e;
  }
  let vocab: Vocab;
  try {
    vocab = Vocab.fromWords(j.vocab);
  } catch (e) {
    throw new DataError(file, null, `vocab: ${(e as Error).message}`);
  }
  if (j.answers.length === 0 && !j.dialog) {
    throw new DataError(file, null, "answers: a model that is not a dialog model needs answer classes");
  }
  for (const a of j.answers) {
    if (!vocab.has(a)) throw new DataError(file, null, `answers: "${a}" is not in the vocabulary`);
  }
  if (j.timeSize !== config.memorySize) {
    throw new DataError(
      file,
      null,
      `timeSize: expected the memory size ${config.memorySize}, got ${j.timeSize}`,
    );
  }
  if (config.attendEmpty && j.slots === undefined) {
    throw new DataError(file, null, "slots: missing (the config attends over empty memory slots)");
  }
  // Every tensor the config implies is checked against the file before any is allocated: a crafted config
  // (64 hops of d = 4096 over 100,000 slots) is refused by field, not by an allocation failure.
  const shape = shapeFor(config, vocab.size, j.peLength, j.slots ?? config.memorySize);
  const expected = tensorShapes(shape);
  for (const t of expected) {
    const w = weight(t.name);
    if (!w) throw new DataError(file, null, `${prefix}${t.name}: missing`);
    const given = shapes?.get(t.name);
    if (given && (given.length !== 2 || given[0] !== t.rows || given[1] !== t.cols)) {
      throw new DataError(
        file,
        null,
        `${prefix}${t.name}: expected shape [${t.rows}, ${t.cols}], got [${given.join(", ")}]`,
      );
    }
    if (w.length !== t.rows * t.cols) {
      throw new DataError(
        file,
        null,
        `${prefix}${t.name}: expected ${t.rows * t.cols} floats, got ${w.length}`,
      );
    }
  }
  const extra = names.filter((k) => !expected.some((t) => t.name === k));
  if (extra.length > 0) throw new DataError(file, null, `${prefix}${extra[0]}: not a tensor of this model`);
  const params = createParams(shape);
  for (const t of namedTensors(params)) {
    t.data.set(weight(t.name)!);
    // A finite double can still overflow float32 (1e200): the answers would be NaN.
    const bad = firstNonFinite(t.data);
    if (bad >= 0) throw new DataError(file, null, `${prefix}${t.name}: value ${bad} is not a finite float32`);
  }
  return {
    config,
    vocab,
    answers: j.answers,
    params,
    meta: j.meta,
    dialog: j.dialog,
    ...(j.card ? { card: j.card } : {}),
  };
}
