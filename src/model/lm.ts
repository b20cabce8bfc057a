// The MemN2N language model (the paper's section 5), forward and backward side by side, in readable float64:
// the reference the WebAssembly kernel (kernels/lm.as.ts) is tested against, and what the gradient checks
// and the PyTorch cross-check run on.
//
// Each memory slot holds one word: slot i of a target holds the word N - i places before it (slot N-1 the
// word just before), m_i = A x_i + T_A(i) and c_i = C x_i + T_C(i). The query is constant, u^1 = initHid in
// every unit. Each hop: p = softmax(u . m_i) over the slots that hold a word, o = sum_i p_i c_i,
// u' = H u + o, then a ReLU on the units from linDim on. The answer: softmax(W u^{K+1}) over the vocabulary.
// A, C, T_A, T_C and H are shared by every hop (the paper's layer-wise tying).

import type { Rng } from "../util/random.js";
import type { Floats } from "./params.js";

export interface LMShape {
  vocabSize: number;
  dim: number;
  /** N, memory slots. */
  memory: number;
  hops: number;
  linDim: number;
  initHid: number;
}

/** The weights, in the reference implementation's layout (memn2n_lm.py): A | C side by side. */
export interface LMParams extends LMShape {
  /** [V][2d]: A x in columns [0, d), C x in [d, 2d). */
  AC: Floats;
  /** [N][2d]: T_A | T_C. */
  T: Floats;
  /** [d][d]. */
  H: Floats;
  /** [V][d]. */
  W: Floats;
}

export const LM_TENSORS = ["AC", "T", "H", "W"] as const;
export type LMTensor = (typeof LM_TENSORS)[number];

export function lmTensorShape(s: LMShape, name: LMTensor): [number, number] {
  switch (name) {
    case "AC":
      return [s.vocabSize, 2 * s.dim];
    case "T":
      return [s.memory, 2 * s.dim];
    case "H":
      return [s.dim, s.dim];
    case "W":
      return [s.vocabSize, s.dim];
  }
}

export function createLMParams(s: LMShape, dtype: "f32" | "f64" = "f32"): LMParams {
  const make = (name: LMTensor) => {
    const [r, c] = lmTensorShape(s, name);
    return dtype === "f32" ? new Float32Array(r * c) : new Float64Array(r * c);
  };
  return { ...s, AC: make("AC"), T: make("T"), H: make("H"), W: make("W") };
}

/** Every weight from N(0, std), tensor by tensor in the order AC, T, H, W. */
export function initLMParams(p: LMParams, rng: Rng, std: number): void {
  for (const name of LM_TENSORS) {
    const t = p[name];
    for (let i = 0; i < t.length; i++) t[i] = rng.normal() * std;
  }
}

export function zerosLikeLM(p: LMParams): LMParams {
  return createLMParams(p, p.AC instanceof Float64Array ? "f64" : "f32");
}

/** One target's activations, kept for its backward pass. */
export interface LMRowState {
  /** Words of the N slots (slots before `lo` are ignored). */
  ctx: ArrayLike<number>;
  lo: number;
  target: number;
  /** [K+1][d]: u^1 .. u^{K+1}. */
  u: Float64Array;
  /** [K][N]: each hop's attention (0 before lo). */
  p: Float64Array;
  /** [V]: the answer's probabilities. */
  probs: Float64Array;
}

function memRow(p: LMParams, word: number, slot: number, c: 0 | 1, j: number): number {
  const d = p.dim;
  return p.AC[word * 2 * d + c * d + j] + p.T[slot * 2 * d + c * d + j];
}

/** The forward pass of one target; `lo`: slots [0, lo) hold no word (the start of a file). */
export function lmForwardRow(p: LMParams, ctx: ArrayLike<number>, lo: number, target: number): LMRowState {
  const { dim: d, memory: N, hops: K, vocabSize: V } = p;
  const u = new Float64Array((K + 1) * d);
  const att = new Float64Array(K * N);
  u.fill(p.initHid, 0, d);
  for (let k = 0; k < K; k++) {
    const uk = u.subarray(k * d, (k + 1) * d);
    const next = u.subarray((k + 1) * d, (k + 2) * d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += p.H[i * d + j] * uk[j];
      next[i] = s;
    }
    if (lo < N) {
      let mx = -Infinity;
      for (let i = lo; i < N; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += memRow(p, ctx[i], i, 0, j) * uk[j];
        att[k * N + i] = s;
        mx = Math.max(mx, s);
      }
      let sum = 0;
      for (let i = lo; i < N; i++) {
        att[k * N + i] = Math.exp(att[k * N + i] - mx);
        sum += att[k * N + i];
      }
      for (let i = lo; i < N; i++) {
        const pi = att[k * N + i] / sum;
        att[k * N + i] = pi;
        for (let j = 0; j < d; j++) next[j] += pi * memRow(p, ctx[i], i, 1, j);
      }
    }
    for (let j = p.linDim; j < d; j++) if (next[j] < 0) next[j] = 0;
  }
  const last = u.subarray(K * d);
  const probs = new Float64Array(V);
  let mx = -Infinity;
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += p.W[v * d + j] * last[j];
    probs[v] = s;
    mx = Math.max(mx, s);
  }
  let sum = 0;
  for (let v = 0; v < V; v++) {
    probs[v] = Math.exp(probs[v] - mx);
    sum += probs[v];
  }
  for (let v = 0; v < V; v++) probs[v] /= sum;
  return { ctx, lo, target, u, p: att, probs };
}

export function lmRowLoss(s: LMRowState): number {
  return -Math.log(s.probs[s.target]);
}

/** Adds the gradient of the row's loss (-log p(target)) into g. */
export function lmBackwardRow(p: LMParams, s: LMRowState, g: LMParams): void {
  const { dim: d, memory: N, hops: K, vocabSize: V } = p;
  const last = s.u.subarray(K * d);
  let du = new Float64Array(d);
  for (let v = 0; v < V; v++) {
    const dl = s.probs[v] - (v === s.target ? 1 : 0);
    for (let j = 0; j < d; j++) {
      g.W[v * d + j] += dl * last[j];
      du[j] += dl * p.W[v * d + j];
    }
  }
  for (let k = K - 1; k >= 0; k--) {
    const uk = s.u.subarray(k * d, (k + 1) * d);
    const next = s.u.subarray((k + 1) * d, (k + 2) * d);
    const dv = new Float64Array(d);
    for (let j = 0; j < d; j++) dv[j] = j >= p.linDim && next[j] <= 0 ? 0 : du[j];
    const dPrev = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        g.H[i * d + j] += dv[i] * uk[j];
        dPrev[j] += p.H[i * d + j] * dv[i];
      }
    }
    if (s.lo < N) {
      const dp = new Float64Array(N);
      let sdp = 0;
      for (let i = s.lo; i < N; i++) {
        const pi = s.p[k * N + i];
        const w = s.ctx[i];
        for (let j = 0; j < d; j++) {
          dp[i] += dv[j] * memRow(p, w, i, 1, j);
          g.AC[w * 2 * d + d + j] += pi * dv[j];
          g.T[i * 2 * d + d + j] += pi * dv[j];
        }
        sdp += pi * dp[i];
      }
      for (let i = s.lo; i < N; i++) {
        const ds = s.p[k * N + i] * (dp[i] - sdp);
        const w = s.ctx[i];
        for (let j = 0; j < d; j++) {
          g.AC[w * 2 * d + j] += ds * uk[j];
          g.T[i * 2 * d + j] += ds * uk[j];
          dPrev[j] += ds * memRow(p, w, i, 0, j);
        }
      }
    }
    du = dPrev;
  }
}

/** The memory of the target at position t of `words`: the N words before it; slots before the start: lo. */
export function lmWindow(words: ArrayLike<number>, t: number, N: number): { ctx: Int32Array; lo: number } {
  const ctx = new Int32Array(N);
  const lo = Math.max(0, N - t);
  for (let i = lo; i < N; i++) ctx[i] = words[t - N + i];
  return { ctx, lo };
}

/** The summed loss of the targets at `positions`, adding its gradient into g when given. */
export function lmBatchLoss(
  p: LMParams,
  words: ArrayLike<number>,
  positions: ArrayLike<number>,
  g?: LMParams,
): number {
  let loss = 0;
  for (let b = 0; b < positions.length; b++) {
    const t = positions[b];
    const { ctx, lo } = lmWindow(words, t, p.memory);
    const s = lmForwardRow(p, ctx, lo, words[t]);
    loss += lmRowLoss(s);
    if (g) lmBackwardRow(p, s, g);
  }
  return loss;
}

/** One SGD step as the paper's recipe: the gradient scaled to maxNorm when above it (all weights together). */
export function lmSgdStep(p: LMParams, g: LMParams, lr: number, maxNorm: number): void {
  let sq = 0;
  for (const name of ["AC", "T", "H", "W"] as const) for (const x of g[name]) sq += x * x;
  const norm = Math.sqrt(sq);
  const scale = lr * (norm > maxNorm ? maxNorm / norm : 1);
  for (const name of ["AC", "T", "H", "W"] as const) {
    const w = p[name];
    const gw = g[name];
    for (let i = 0; i < w.length; i++) w[i] -= scale * gw[i];
  }
}
