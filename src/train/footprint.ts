// How much memory a training run will take, from the shapes alone, before any of it is allocated: the
// vectorized data (one copy per worker thread and the one prepared here), the weights with their gradients
// (a batch's slices' too) per run, and the workspaces. A run that would not fit is refused with the figure, not started.

import type { Example, Sentence } from "../data/babi.js";
import type { Shape } from "../data/batch.js";
import { FieldError } from "../data/errors.js";
import { checkCount, DEFAULT_LIMITS, type Limits } from "../data/limits.js";
import type { Config } from "../model/config.js";
import { SLICE_ROWS } from "../model/kernel-threads.js";

/** What a preparation may use: the data limits, and the memory a run may take. */
export interface Bounds {
  limits: Limits;
  /** Bytes the whole run may take; Infinity: no check. */
  maxBytes: number;
  /** Worker threads that each hold a copy of the data and train a run. */
  workers: number;
}

export const NO_BOUNDS: Bounds = { limits: DEFAULT_LIMITS, maxBytes: Number.POSITIVE_INFINITY, workers: 1 };

/** Bytes of the vectorized batch of these examples (as `vectorize` lays it out). */
function batchBytes(examples: Example[], shape: Shape): number {
  const { memorySize: M, sentenceLen: J } = shape;
  const rows = new Set<Sentence>();
  let supporting = 1;
  for (const ex of examples) {
    for (let i = Math.max(0, ex.sentences.length - M); i < ex.sentences.length; i++)
      rows.add(ex.sentences[i]);
    supporting = Math.max(supporting, ex.supporting.length);
  }
  const n = examples.length;
  return 4 * ((rows.size + 1) * J + n * (2 * M + J + 2 + supporting));
}

/** The estimate, and what it is made of (for the message). */
export function runFootprint(
  splits: Example[][],
  shape: Shape,
  vocabSize: number,
  cfg: Config,
  workers: number,
  candidateWords = 0,
): { bytes: number; detail: string } {
  const data = splits.reduce((s, ex) => s + batchBytes(ex, shape), 0) + 4 * candidateWords;
  const nEmb = cfg.tying === "adjacent" ? cfg.hops + 1 : 4;
  const relative = cfg.relativeTime ? cfg.hops * 2 * cfg.memorySize * (cfg.dim + 1) : 0;
  const floats = nEmb * (vocabSize + shape.memorySize) * cfg.dim + cfg.dim * cfg.dim + relative;
  // Weights and gradients in float32 and float64 (the WASM kernel keeps its own copy), and the float32
  // gradients of each slice of a batch (the kernel sums a batch's slices in order), per run. A run on
  // threads uses at most one per slice, each helper with its own copy of the weights and a workspace.
  const slices = Math.ceil(cfg.batchSize / SLICE_ROWS);
  const weights = floats * (4 + 4 + 8 + 8 + 4 * slices + 4 * (slices - 1));
  const workspace = 8 * (2 * nEmb * shape.memorySize * cfg.dim + vocabSize) * slices;
  const bytes = data * (1 + workers) + (weights + workspace) * workers;
  const gb = size;
  return {
    bytes,
    detail:
      `data ${gb(data)} × ${1 + workers} copies, weights ${gb(weights)} × ${workers} runs at once ` +
      `(vocabulary ${vocabSize} × d ${cfg.dim} × ${nEmb} matrices; memory ${shape.memorySize} × sentences of ${shape.sentenceLen} words)`,
  };
}

/** Refuses a run whose vocabulary or memory would be over the bounds. */
export function checkRun(
  splits: Example[][],
  shape: Shape,
  vocabSize: number,
  cfg: Config,
  bounds: Bounds,
  candidateWords = 0,
): void {
  checkCount("maxVocab", vocabSize, bounds.limits);
  if (!Number.isFinite(bounds.maxBytes)) return;
  const f = runFootprint(splits, shape, vocabSize, cfg, bounds.workers, candidateWords);
  if (f.bytes > bounds.maxBytes) {
    throw new FieldError(
      "memory",
      `the run needs about ${size(f.bytes)} (${f.detail}), more than the ${size(bounds.maxBytes)} it may take (--max-memory-gb; --sentence-len and --memory-size make it smaller)`,
    );
  }
}

/** Bytes as GB (one decimal) from 1 GB up, else MB. */
function size(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${Math.ceil(bytes / 2 ** 20)} MB`;
}
