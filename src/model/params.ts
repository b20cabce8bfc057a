// The weights and how tying maps the paper's roles (A^k, C^k, B, W, T_A^k, T_C^k, H) onto tensors.
// Every V×d matrix lives in `emb`; a role is an index into it, so a tied matrix is one tensor used twice and
// its gradient collects both uses.
//   adjacent:  emb = [E0 .. EK];  A^1 = B = E0,  A^{k+1} = C^k = Ek,  W^T = EK;  T_A^{k+1} = T_C^k = Tk.
//   layerwise: emb = [A, C, B, W]; every hop uses A and C (with T_A, T_C), and u^{k+1} = H u^k + o^k.
//   adjacent with hopMap: as adjacent, and u^{k+1} = H u^k + o^k as in layer-wise.

import type { Rng } from "../util/random.js";
import type { Config, Tying } from "./config.js";

export type Floats = Float32Array | Float64Array;
export type DType = "f32" | "f64";

export interface ParamShape {
  vocabSize: number;
  dim: number;
  /** Rows of each temporal matrix: the memory size. */
  timeSize: number;
  hops: number;
  tying: Tying;
  temporal: boolean;
  /** J of the official position encoding: the longest sentence of the training data (absent: a batch's J). */
  peLength?: number;
  /**
   * With `attendEmpty`: the memory slots the attention softmax spreads over (the training data's memory
   * size); the slots a story leaves empty score 0 and hold nothing, as in the official code.
   */
  slots?: number;
  /** A ReLU on the controller state after each hop (config `nonlin: "relu"`). */
  relu?: boolean;
  /** H between hops under adjacent tying too (config `hopMap`); layer-wise tying always has it. */
  hopMap?: boolean;
  /** Relative time scores between hops (config `relativeTime`): the tensors R and Rv. */
  relTime?: boolean;
}

export interface Params extends ParamShape {
  dtype: DType;
  emb: Floats[];
  /** Temporal matrix paired with each emb tensor used as a memory (length 0 when unused or off). */
  time: Floats[];
  /** d×d: layer-wise tying, or adjacent with hopMap; null: u^{k+1} = u^k + o^k. */
  H: Floats | null;
  /**
   * Relative time (null: off): hop h scores a slot by its time offset c from what hop h-1 read (hop 1: from
   * the question) as R[h, c] + u^h . Rv[h, c]; R is [hops, 2 timeSize], Rv [hops, 2 timeSize, d].
   */
  R: Floats | null;
  Rv: Floats | null;
  hopA: number[];
  hopC: number[];
  query: number;
  answer: number;
  /** The emb tensors that embed memories, each once. */
  memEmbs: number[];
}

export function alloc(dtype: DType, n: number): Floats {
  return dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
}

/**
 * The tensor shapes a config asks for, over a vocabulary of the given size; `memorySize` is the training
 * data's (the slots of `attendEmpty`).
 */
export function shapeFor(cfg: Config, vocabSize: number, peLength: number, memorySize: number): ParamShape {
  return {
    vocabSize,
    peLength,
    ...(cfg.attendEmpty ? { slots: memorySize } : {}),
    ...(cfg.nonlin === "relu" ? { relu: true } : {}),
    ...(cfg.hopMap ? { hopMap: true } : {}),
    ...(cfg.relativeTime ? { relTime: true } : {}),
    dim: cfg.dim,
    timeSize: cfg.memorySize,
    hops: cfg.hops,
    tying: cfg.tying,
    temporal: cfg.temporal,
  };
}

export function createParams(shape: ParamShape, dtype: DType = "f32"): Params {
  const { hops: K } = shape;
  const adjacent = shape.tying === "adjacent";
  const nEmb = adjacent ? K + 1 : 4;
  const hopA = adjacent ? range(K) : new Array<number>(K).fill(0);
  const hopC = adjacent ? range(K).map((k) => k + 1) : new Array<number>(K).fill(1);
  const memEmbs = [...new Set([...hopA, ...hopC])].sort((a, b) => a - b);
  // The tensors are exactly those a model file holds (tensorShapes), so that the two cannot disagree; a
  // memory's temporal matrix that the shape lacks stays empty.
  const emb: Floats[] = [];
  const time = range(nEmb).map(() => alloc(dtype, 0));
  let H: Floats | null = null;
  let R: Floats | null = null;
  let Rv: Floats | null = null;
  for (const t of tensorShapes(shape)) {
    const data = alloc(dtype, t.rows * t.cols);
    if (t.at === "H") H = data;
    else if (t.at === "R") R = data;
    else if (t.at === "Rv") Rv = data;
    else if ("emb" in t.at) emb[t.at.emb] = data;
    else time[t.at.time] = data;
  }
  return {
    ...shape,
    dtype,
    emb,
    time,
    H,
    R,
    Rv,
    hopA,
    hopC,
    query: adjacent ? 0 : 2,
    answer: adjacent ? K : 3,
    memEmbs,
  };
}

/** A tensor of a shape: its name in model files, its size, and where it lives in Params. */
export interface TensorShape {
  name: string;
  rows: number;
  cols: number;
  at: { emb: number } | { time: number } | "H" | "R" | "Rv";
}

/**
 * The tensors a shape asks for, in the model file's fixed order, without allocating them: what a model file
 * is checked against before its weights are read into memory.
 */
export function tensorShapes(shape: ParamShape): TensorShape[] {
  const { dim: d, hops: K, timeSize: M } = shape;
  const adjacent = shape.tying === "adjacent";
  const nEmb = adjacent ? K + 1 : 4;
  const memEmbs = new Set(adjacent ? range(K + 1) : [0, 1]);
  const out: TensorShape[] = range(nEmb).map((i) => ({
    name: adjacent ? `E${i}` : ["A", "C", "B", "W"][i],
    rows: shape.vocabSize,
    cols: d,
    at: { emb: i },
  }));
  if (shape.temporal) {
    for (const i of range(nEmb)) {
      if (memEmbs.has(i))
        out.push({ name: adjacent ? `T${i}` : ["TA", "TC"][i], rows: M, cols: d, at: { time: i } });
    }
  }
  if (!adjacent || shape.hopMap) out.push({ name: "H", rows: d, cols: d, at: "H" });
  if (shape.relTime) {
    out.push({ name: "R", rows: K, cols: 2 * M, at: "R" });
    out.push({ name: "Rv", rows: K * 2 * M, cols: d, at: "Rv" });
  }
  return out;
}

/** Named tensors in a fixed order: what the model file stores and the gradient checks walk over. */
export function namedTensors(p: Params): { name: string; data: Floats; rows: number; cols: number }[] {
  return tensorShapes(p).map(({ name, rows, cols, at }) => ({
    name,
    rows,
    cols,
    data:
      at === "H"
        ? p.H!
        : at === "R"
          ? p.R!
          : at === "Rv"
            ? p.Rv!
            : "emb" in at
              ? p.emb[at.emb]
              : p.time[at.time],
  }));
}

/** Gaussian N(0, std²) weights; the null and unknown rows of every word matrix stay zero. */
export function initParams(p: Params, rng: Rng, std: number): void {
  for (const t of namedTensors(p)) for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * std;
  zeroReservedRows(p.emb, p.dim);
}

/** Rows 0 (null word) and 1 (unknown word) of every word matrix are held at zero. */
export function zeroReservedRows(emb: Floats[], d: number): void {
  for (const e of emb) e.fill(0, 0, 2 * d);
}

/** A tensor set of the same shape and tying, all zeros: the gradient buffers. */
export function zerosLike(p: Params): Params {
  return createParams(p, p.dtype);
}

/** Every tensor's values as plain arrays, by name: what model files and checkpoints store. */
export function weightsOf(p: Params): Record<string, number[]> {
  return Object.fromEntries(namedTensors(p).map((t) => [t.name, Array.from(t.data)]));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
