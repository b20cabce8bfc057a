// A language model in a file (safetensors): the tensors AC, T, H, W (memn2n_lm.py's layout) and, as metadata,
// the format, the config, the vocabulary, the measured figures and the model card (a training checkpoint,
// src/train/lm-checkpoint.ts, is the same container with more in it).
// Every size the config implies is checked against the tensors before anything is built from them.

import { z } from "zod";
import { DataError } from "../data/errors.js";
import { EOS, LMVocab } from "../data/ptb.js";
import { ConfigError, type LMConfig, validateLMConfig } from "./config.js";
import type { ModelCard } from "./file.js";
import { createLMParams, LM_TENSORS, type LMParams, lmTensorShape } from "./lm.js";
import { decodeSafetensors, encodeSafetensors, firstNonFinite, type Safetensors } from "./safetensors.js";

export const LM_FORMAT = "memn2n-lm";

/** What a trained language model measured, perplexities and the run's cost. */
export interface LMFigures {
  validPpl: number;
  testPpl: number | null;
  epochs: number;
  bestEpoch: number;
  seconds: number;
  history: { epoch: number; lr: number; trainPpl: number; validPpl: number }[];
}

export interface LanguageModelFile {
  config: LMConfig;
  vocab: LMVocab;
  params: LMParams;
  figures?: LMFigures;
  card?: ModelCard;
  /** The weights are stored as F16 (half the bytes; read back as float32): a shipped model's choice. */
  f16?: boolean;
}

export function tensorsOf(
  p: LMParams,
  prefix = "",
): { name: string; shape: number[]; data: Float32Array | Float64Array }[] {
  return LM_TENSORS.map((name) => ({ name: prefix + name, shape: lmTensorShape(p, name), data: p[name] }));
}

export function lmToSafetensors(m: LanguageModelFile): Uint8Array {
  const metadata: Record<string, string> = {
    format: LM_FORMAT,
    version: "1",
    config: JSON.stringify(m.config),
    vocab: JSON.stringify(m.vocab.words),
  };
  if (m.figures) metadata.figures = JSON.stringify(m.figures);
  if (m.card) metadata.card = JSON.stringify(m.card);
  const dtype = m.f16 ? "F16" : "F32";
  return encodeSafetensors(
    tensorsOf(m.params).map((t) => ({ ...t, dtype })),
    metadata,
  );
}

const lmConfigSchema = z
  .object({
    hops: z.number(),
    memory: z.number(),
    dim: z.number(),
    linDim: z.number(),
    initHid: z.number(),
    batchSize: z.number(),
    lr: z.number(),
    anneal: z.number(),
    minLr: z.number(),
    epochs: z.number(),
    maxGradNorm: z.number(),
    initStd: z.number(),
    stepsPerEpoch: z.number(),
    seed: z.number(),
    // files from before the field trained as the paper does
    sentenceMemory: z.number().default(0),
  })
  .strict();

export function meta(st: Safetensors, file: string, key: string): unknown {
  const v = st.metadata[key];
  if (v === undefined) throw new DataError(file, null, `__metadata__.${key}: missing`);
  try {
    return JSON.parse(v);
  } catch {
    throw new DataError(file, null, `__metadata__.${key}: not valid JSON`);
  }
}

/** The config and vocabulary of a language-model file, checked. */
export function headOf(st: Safetensors, file: string, format: string): { config: LMConfig; vocab: LMVocab } {
  if (st.metadata.format !== format)
    throw new DataError(
      file,
      null,
      `__metadata__.format: ${JSON.stringify(st.metadata.format ?? null)}, not a ${format} file`,
    );
  const parsed = lmConfigSchema.safeParse(meta(st, file, "config"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(file, null, `__metadata__.config.${issue.path.join(".")}: ${issue.message}`);
  }
  const config = parsed.data as LMConfig;
  try {
    validateLMConfig(config);
  } catch (e) {
    if (e instanceof ConfigError)
      throw new DataError(file, null, `__metadata__.config.${e.field}: ${e.detail}`);
    throw e;
  }
  const words = meta(st, file, "vocab");
  if (!Array.isArray(words) || words.length < 2 || !words.every((w) => typeof w === "string"))
    throw new DataError(file, null, "__metadata__.vocab: not a list of at least two words");
  if (words[0] !== EOS) throw new DataError(file, null, `__metadata__.vocab: does not start with ${EOS}`);
  if (new Set(words).size !== words.length)
    throw new DataError(file, null, "__metadata__.vocab: a word twice");
  return { config, vocab: LMVocab.from(words as string[]) };
}

/** The tensors named prefix + AC, T, H, W, checked against the shapes the config and vocabulary imply. */
export function paramsOf(
  st: Safetensors,
  file: string,
  config: LMConfig,
  vocab: LMVocab,
  prefix = "",
): LMParams {
  const shape = {
    vocabSize: vocab.size,
    dim: config.dim,
    memory: config.memory,
    hops: config.hops,
    linDim: config.linDim,
    initHid: config.initHid,
  };
  for (const name of LM_TENSORS) {
    const t = st.tensors.get(prefix + name);
    const want = lmTensorShape(shape, name);
    if (!t) throw new DataError(file, null, `${prefix + name}: missing`);
    if (t.shape.length !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1])
      throw new DataError(file, null, `${prefix + name}: shape [${t.shape}], the config asks for [${want}]`);
    const bad = firstNonFinite(t.data);
    if (bad >= 0) throw new DataError(file, null, `${prefix + name}: value ${bad} is not a finite number`);
  }
  const p = createLMParams(shape, "f32");
  for (const name of LM_TENSORS) p[name].set(st.tensors.get(prefix + name)!.data);
  return p;
}

export function lmFromSafetensors(bytes: Uint8Array, file: string): LanguageModelFile {
  const st = decodeSafetensors(bytes, file);
  const { config, vocab } = headOf(st, file, LM_FORMAT);
  const m: LanguageModelFile = { config, vocab, params: paramsOf(st, file, config, vocab) };
  if (st.metadata.figures !== undefined) m.figures = meta(st, file, "figures") as LMFigures;
  if (st.metadata.card !== undefined) m.card = meta(st, file, "card") as ModelCard;
  if (LM_TENSORS.every((name) => st.tensors.get(name)?.dtype === "F16")) m.f16 = true;
  return m;
}
