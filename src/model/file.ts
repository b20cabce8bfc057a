// The model file: format version, config, vocabulary, answer classes and weights, checked field by field on
// load so that a bad file gives `<file>: <field>: <what is wrong>` rather than a crash or NaN answers.
// Pure: the CLI reads and writes the bytes (atomically); a browser can pass the parsed JSON straight in.

import { z } from "zod";
import { DataError } from "../data/errors.js";
import { Vocab } from "../text/vocab.js";
import { type Config, ConfigError, makeConfig } from "./config.js";
import { createParams, namedTensors, type Params, shapeFor, weightsOf } from "./params.js";

export const MODEL_FORMAT = "memn2n-model";
export const MODEL_VERSION = 1;

export interface ModelMeta {
  tasks: number[];
  set?: string;
  seed: number;
  epochs: number;
  trainError?: number;
  validError?: number;
}

/** What a dialog model answers with: candidate responses, and the entity types its match features use. */
export interface DialogSpec {
  task: number;
  matchType: boolean;
  /** Candidate responses, words joined by spaces, in answer-class order. */
  candidates: string[];
  /** Entity word -> type (cuisine, location, ...). */
  entities: Record<string, string>;
}

export interface TrainedModel {
  config: Config;
  vocab: Vocab;
  /** The answer classes seen in training (words of the vocabulary), sorted; empty for a dialog model. */
  answers: string[];
  params: Params;
  meta: ModelMeta;
  dialog?: DialogSpec;
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");

const schema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  config: z.record(z.string(), z.unknown()),
  vocab: z.array(z.string()).min(3),
  answers: z.array(z.string()),
  timeSize: z.number().int().positive(),
  peLength: z.number().int().min(1).max(1000000),
  slots: z.number().int().min(1).max(1000000).optional(),
  weights: z.record(z.string(), z.array(finite)),
  meta: z.object({
    tasks: z.array(z.number().int()),
    set: z.string().optional(),
    seed: z.number().int(),
    epochs: z.number().int(),
    trainError: z.number().optional(),
    validError: z.number().optional(),
  }),
  dialog: z
    .object({
      task: z.number().int(),
      matchType: z.boolean(),
      candidates: z.array(z.string().min(1)).min(1),
      entities: z.record(z.string(), z.string()),
    })
    .optional(),
});

export type ModelJson = z.infer<typeof schema>;

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
  };
}

/** A model file's contents, as a JSON string or the parsed object; `file` names it in errors. */
export function modelFromText(json: string | object, file: string): TrainedModel {
  let obj: unknown = json;
  if (typeof json === "string") {
    try {
      obj = JSON.parse(json);
    } catch {
      throw new DataError(file, null, "not valid JSON");
    }
  }
  return modelFromJson(obj, file);
}

/** Checks and loads a parsed model file; `file` names it in errors. */
export function modelFromJson(json: unknown, file: string): TrainedModel {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new DataError(file, null, `${field}: ${issue.message}`);
  }
  const j = parsed.data;
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
  const params = createParams(shapeFor(config, vocab.size, j.peLength, j.slots ?? config.memorySize));
  const expected = namedTensors(params);
  for (const t of expected) {
    const w = j.weights[t.name];
    if (!w) throw new DataError(file, null, `weights.${t.name}: missing`);
    if (w.length !== t.data.length) {
      throw new DataError(file, null, `weights.${t.name}: expected ${t.data.length} floats, got ${w.length}`);
    }
    t.data.set(w);
  }
  const extra = Object.keys(j.weights).filter((k) => !expected.some((t) => t.name === k));
  if (extra.length > 0) throw new DataError(file, null, `weights.${extra[0]}: not a tensor of this model`);
  return { config, vocab, answers: j.answers, params, meta: j.meta, dialog: j.dialog };
}
