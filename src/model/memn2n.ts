// The MemN2N forward and backward passes, written by hand over typed arrays. Each layer's backward sits next
// to its forward: embed (sentence -> vector), attend (scores and softmax), read (weighted sum), hop update
// (with an optional ReLU), answer (logits and cross-entropy). One example at a time, forward then backward,
// into gradients that sum over the batch (the paper does not average the loss over a batch).
//
// Weights may be Float32Array (training) or Float64Array (gradient checks); intermediate values are always
// float64. Nothing here allocates once the workspace has grown to the largest batch shape it has seen.

import type { Batch } from "../data/batch.js";
import { argmaxCandidate, type CandidateHead, headBackward, headForward } from "./candidate-head.js";
import type { Encoding } from "./config.js";
import type { Floats, Params } from "./params.js";
import { softmaxInPlace } from "./softmax.js";

export interface Workspace {
  /** Memory slots and words per sentence the buffers hold. */
  M: number;
  J: number;
  /** Position-encoding weights: pe[(L * J + j) * d + k] for a sentence of L words (all ones for BoW). */
  pe: Float64Array;
  /** u^0 .. u^K, each d. */
  u: Float64Array;
  /** Embedded memories per emb tensor: [nEmb, M, d]. */
  mem: Float64Array;
  dmem: Float64Array;
  /** Attention of every hop over the memory: [K, M] (raw scores under linear start). */
  p: Float64Array;
  dp: Float64Array;
  /** Relative time: the gradient of hop h-1's attention that hop h's scores send back, [M]. */
  dq: Float64Array;
  /** Relative time: each hop's score per time offset, [hops, 2 timeSize], and one hop's gradient. */
  r: Float64Array;
  dr: Float64Array;
  /** Answer probabilities over the vocabulary, then their gradient. */
  probs: Float64Array;
  du: Float64Array;
  dprev: Float64Array;
  encoding: Encoding;
  /** The dialog model's answer layer over candidate responses; null: the answer is a word. */
  head: CandidateHead | null;
  /** Position weights by J, so that questions of changing length do not recompute them. */
  peByJ: Map<number, Float64Array>;
  /**
   * Strong supervision of the attention (config superviseAttention): the weight of the cross-entropy
   * between hop k's attention and the k-th supporting fact; 0: off. With `superviseLast`, hops past the
   * last supporting fact attend to it; otherwise they are left free. With `superviseSpread`, facts past
   * the last hop share its target with the fact it has; otherwise they are dropped.
   */
  supervise: number;
  superviseLast: boolean;
  superviseSpread: boolean;
}

export function createWorkspace(
  p: Params,
  encoding: Encoding,
  M = 1,
  J = 1,
  head: CandidateHead | null = null,
): Workspace {
  const ws: Workspace = {
    M: 0,
    J: 0,
    pe: new Float64Array(0),
    u: new Float64Array((p.hops + 1) * p.dim),
    mem: new Float64Array(0),
    dmem: new Float64Array(0),
    p: new Float64Array(0),
    dp: new Float64Array(0),
    dq: new Float64Array(0),
    r: new Float64Array(p.hops * 2 * p.timeSize),
    dr: new Float64Array(2 * p.timeSize),
    probs: new Float64Array(p.vocabSize),
    du: new Float64Array(p.dim),
    dprev: new Float64Array(p.dim),
    encoding,
    head,
    peByJ: new Map(),
    supervise: 0,
    superviseLast: false,
    superviseSpread: false,
  };
  ensureWorkspace(ws, p, M, J);
  return ws;
}

/** Grows the buffers for a batch shape; a no-op once they are large enough. */
export function ensureWorkspace(ws: Workspace, p: Params, M: number, J: number): void {
  const d = p.dim;
  if (J !== ws.J) {
    let pe = ws.peByJ.get(J);
    if (!pe) {
      pe = positionWeights(J, d, ws.encoding, p.peLength ?? J);
      // A few lengths cover real traffic; a bound keeps odd ones from piling up.
      if (ws.peByJ.size >= 64) ws.peByJ.clear();
      ws.peByJ.set(J, pe);
    }
    ws.pe = pe;
  }
  if (M > ws.M) {
    ws.mem = new Float64Array(p.emb.length * M * d);
    ws.dmem = new Float64Array(p.emb.length * M * d);
    ws.p = new Float64Array(p.hops * M);
    ws.dp = new Float64Array(M);
    ws.dq = new Float64Array(M);
    ws.M = M;
  }
  ws.J = J;
}

/**
 * The weight of word j of a sentence of L words in dimension k, for every L up to J (j, k from 1):
 * "pe": (1 - j/L) - (k/d)(1 - 2j/L); "pe-official": 1 + 4(k - (d+1)/2)(j - (P+1)/2)/(dP), the same for
 * every L, with P the model's fixed peLength (a longer sentence extends the same formula); "bow": 1.
 */
export function positionWeights(J: number, d: number, encoding: Encoding, peLength = J): Float64Array {
  const pe = new Float64Array((J + 1) * J * d).fill(1);
  if (encoding === "bow") return pe;
  for (let L = 1; L <= J; L++) {
    for (let j = 1; j <= L; j++) {
      for (let k = 1; k <= d; k++) {
        pe[(L * J + j - 1) * d + k - 1] =
          encoding === "pe"
            ? 1 - j / L - (k / d) * (1 - (2 * j) / L)
            : 1 + (4 * (k - (d + 1) / 2) * (j - (peLength + 1) / 2)) / (d * peLength);
      }
    }
  }
  return pe;
}

function sentenceLength(words: Int32Array, off: number, J: number): number {
  let L = 0;
  while (L < J && words[off + L] !== 0) L++;
  return L;
}

// ---- embed: a sentence's words -> one vector ----------------------------------------------------------

function embedForward(
  E: Floats,
  d: number,
  words: Int32Array,
  off: number,
  J: number,
  pe: Float64Array,
  out: Float64Array,
  outOff: number,
): void {
  out.fill(0, outOff, outOff + d);
  const L = sentenceLength(words, off, J);
  const base = L * J * d;
  for (let j = 0; j < L; j++) {
    const id = words[off + j];
    if (id <= 1) continue; // null and unknown words embed to zero
    const row = id * d;
    const w = base + j * d;
    for (let k = 0; k < d; k++) out[outOff + k] += pe[w + k] * E[row + k];
  }
}

function embedBackward(
  dE: Floats,
  d: number,
  words: Int32Array,
  off: number,
  J: number,
  pe: Float64Array,
  g: Float64Array,
  gOff: number,
): void {
  const L = sentenceLength(words, off, J);
  const base = L * J * d;
  for (let j = 0; j < L; j++) {
    const id = words[off + j];
    if (id <= 1) continue;
    const row = id * d;
    const w = base + j * d;
    for (let k = 0; k < d; k++) dE[row + k] += pe[w + k] * g[gOff + k];
  }
}

// ---- the whole example ---------------------------------------------------------------------------------

/**
 * Forward pass of example `b`: fills ws.u, ws.mem, ws.p and ws.probs and returns the cross-entropy loss.
 * `time`/`timeOff` give the slots' time indices (the batch's own, or training's noisy copy).
 */
export function forwardExample(
  p: Params,
  ws: Workspace,
  batch: Batch,
  b: number,
  time: Int32Array,
  timeOff: number,
  linear: boolean,
): number {
  const d = p.dim;
  const K = p.hops;
  const { memorySize: M, sentenceLen: J } = batch;
  const WM = ws.M;
  const n = batch.memLen[b];
  const { u, mem, pe } = ws;

  embedForward(p.emb[p.query], d, batch.query, b * J, J, pe, u, 0);

  for (const e of p.memEmbs) {
    const T = p.time[e];
    for (let i = 0; i < n; i++) {
      const o = (e * WM + i) * d;
      embedForward(p.emb[e], d, batch.sentences, batch.memory[b * M + i] * J, J, pe, mem, o);
      if (T.length > 0) {
        const t = slotTime(time, timeOff, i, p.timeSize) * d;
        for (let k = 0; k < d; k++) mem[o + k] += T[t + k];
      }
    }
  }

  let supervised = 0;
  for (let h = 0; h < K; h++) {
    const uo = h * d;
    const un = uo + d;
    const ao = p.hopA[h] * WM * d;
    const co = p.hopC[h] * WM * d;
    const po = h * WM;
    // attend: p_i = softmax(u . m_i)
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += u[uo + k] * mem[ao + i * d + k];
      ws.p[po + i] = s;
    }
    if (p.R) relativeForward(p, ws, h, po, n, time, timeOff);
    if (!linear) softmaxInPlace(ws.p, po, n, p.slots !== undefined && p.slots > n ? p.slots - n : 0);
    // supervision: -w/m sum_t log p_t, over the hop's m supporting facts t (m = 1 but for spread)
    if (!linear && ws.supervise > 0) {
      const [lo, hi] = supportRange(batch, b, h, K, ws.superviseLast, ws.superviseSpread);
      const S = batch.maxSupporting;
      for (let j = lo; j < hi; j++) {
        const t = batch.supporting[b * S + j];
        supervised -= (ws.supervise / (hi - lo)) * Math.log(Math.max(ws.p[po + t], 1e-300));
      }
    }
    // hop update: u' = u (or H u) + o, with o = sum_i p_i c_i (read)
    if (p.H) {
      // Four running sums: one sum alone waits on each addition before the next (d² of them a hop).
      const H = p.H;
      const d4 = d - (d % 4);
      for (let x = 0; x < d; x++) {
        const r = x * d;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let y = 0;
        for (; y < d4; y += 4) {
          s0 += H[r + y] * u[uo + y];
          s1 += H[r + y + 1] * u[uo + y + 1];
          s2 += H[r + y + 2] * u[uo + y + 2];
          s3 += H[r + y + 3] * u[uo + y + 3];
        }
        for (; y < d; y++) s0 += H[r + y] * u[uo + y];
        u[un + x] = s0 + s1 + (s2 + s3);
      }
    } else {
      for (let k = 0; k < d; k++) u[un + k] = u[uo + k];
    }
    for (let i = 0; i < n; i++) {
      const pi = ws.p[po + i];
      const c = co + i * d;
      for (let k = 0; k < d; k++) u[un + k] += pi * mem[c + k];
    }
    // nonlinearity: u' = max(0, u')
    if (p.relu) for (let k = 0; k < d; k++) if (u[un + k] < 0) u[un + k] = 0;
  }

  // answer: softmax(W u^K), W tied to a word matrix
  const W = p.emb[p.answer];
  const V = p.vocabSize;
  const uK = K * d;
  if (ws.head) return headForward(ws.head, W, d, u, uK, batch.match, b, batch.answer[b]) + supervised;
  const z = ws.probs;
  for (let v = 0; v < V; v++) {
    let s = 0;
    const r = v * d;
    for (let k = 0; k < d; k++) s += W[r + k] * u[uK + k];
    z[v] = s;
  }
  const ans = batch.answer[b];
  const zAns = z[ans];
  const logZ = softmaxInPlace(z, 0, V);
  return logZ - zAns + supervised;
}

// ---- relative time: s_j += sum_i q_i r_h[t_j - t_i], q the previous hop's attention --------------------
// r_h[c] = R_h[c] + u^h . Rv_h[c] scores a time offset c - (T - 1): hop h looks for "the sentence just
// before (or after) the one read", by the question's words (Rv) and by itself (R), in any story. Hop 1 sees
// the offsets from the question, newer than every slot.

/** The time row of slot i: its time index, the oldest ones sharing the table's last row. */
function slotTime(time: Int32Array, timeOff: number, i: number, T: number): number {
  return Math.min(time[timeOff + i], T - 1);
}

/** Column of r for slot j seen from slot i (-1: the question, at time -1). */
function relColumn(time: Int32Array, timeOff: number, T: number, j: number, i: number): number {
  return slotTime(time, timeOff, j, T) - (i < 0 ? -1 : slotTime(time, timeOff, i, T)) + T - 1;
}

/** Adds hop h's relative scores; r_h is kept in ws.r for the backward pass. */
function relativeForward(
  p: Params,
  ws: Workspace,
  h: number,
  po: number,
  n: number,
  time: Int32Array,
  timeOff: number,
): void {
  const T = p.timeSize;
  const d = p.dim;
  const ro = h * 2 * T;
  const { r, u } = ws;
  for (let c = 0; c < 2 * T; c++) {
    let s = p.R![ro + c];
    const o = (ro + c) * d;
    for (let k = 0; k < d; k++) s += u[h * d + k] * p.Rv![o + k];
    r[ro + c] = s;
  }
  const scores = ws.p;
  const q = po - ws.M;
  for (let j = 0; j < n; j++) {
    if (h === 0) {
      scores[po + j] += r[ro + relColumn(time, timeOff, T, j, -1)];
      continue;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += scores[q + i] * r[ro + relColumn(time, timeOff, T, j, i)];
    scores[po + j] += s;
  }
}

/**
 * From the scores' gradient ds: adds into dR, dRv and du (u^h's gradient), and leaves in ws.dq the gradient
 * of the previous hop's attention.
 */
function relativeBackward(
  p: Params,
  g: Params,
  ws: Workspace,
  h: number,
  po: number,
  n: number,
  time: Int32Array,
  timeOff: number,
  ds: Float64Array,
  du: Float64Array,
): void {
  const T = p.timeSize;
  const d = p.dim;
  const ro = h * 2 * T;
  const q = po - ws.M;
  const { r, dr, dq } = ws;
  dr.fill(0, 0, 2 * T);
  if (h === 0) {
    for (let j = 0; j < n; j++) dr[relColumn(time, timeOff, T, j, -1)] += ds[j];
  } else {
    dq.fill(0, 0, n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const c = relColumn(time, timeOff, T, j, i);
        dr[c] += ds[j] * ws.p[q + i];
        dq[i] += ds[j] * r[ro + c];
      }
    }
  }
  for (let c = 0; c < 2 * T; c++) {
    g.R![ro + c] += dr[c];
    const o = (ro + c) * d;
    for (let k = 0; k < d; k++) {
      g.Rv![o + k] += dr[c] * ws.u[h * d + k];
      du[k] += dr[c] * p.Rv![o + k];
    }
  }
}

/**
 * The supporting facts [lo, hi) of example b (in the data's order) that hop h of K is supervised towards
 * as one target: its own, the h-th; past the last fact, that one (`last`) or none (lo = hi); at the last
 * hop with `spread`, every fact from the h-th on, so that a question with more facts than hops is taught
 * all of them. Facts from the first one not in the memory on are not counted.
 */
export function supportRange(
  batch: Batch,
  b: number,
  h: number,
  K: number,
  last: boolean,
  spread: boolean,
): [number, number] {
  const S = batch.maxSupporting;
  let count = 0;
  while (count < S && batch.supporting[b * S + count] !== -1) count++;
  if (h < count) return [h, spread && h === K - 1 ? count : h + 1];
  if (last && count > 0) return [count - 1, count];
  return [0, 0];
}

/** Backward pass of the example whose forward pass just ran; adds into `g` (same layout as `p`). */
export function backwardExample(
  p: Params,
  g: Params,
  ws: Workspace,
  batch: Batch,
  b: number,
  time: Int32Array,
  timeOff: number,
  linear: boolean,
): void {
  const d = p.dim;
  const K = p.hops;
  const V = p.vocabSize;
  const { memorySize: M, sentenceLen: J } = batch;
  const WM = ws.M;
  const n = batch.memLen[b];
  const { u, mem, dmem, pe, dp } = ws;
  let du = ws.du;
  let dprev = ws.dprev;

  // answer backward: dz = probs - onehot
  const W = p.emb[p.answer];
  const dW = g.emb[p.answer];
  const uK = K * d;
  if (ws.head) {
    headBackward(ws.head, W, dW, d, u, uK, batch.match, b, batch.answer[b], du);
  } else {
    const dz = ws.probs;
    dz[batch.answer[b]] -= 1;
    du.fill(0);
    for (let v = 0; v < V; v++) {
      const gv = dz[v];
      const r = v * d;
      for (let k = 0; k < d; k++) {
        dW[r + k] += gv * u[uK + k];
        du[k] += gv * W[r + k];
      }
    }
  }

  for (const e of p.memEmbs) dmem.fill(0, e * WM * d, (e * WM + n) * d);

  for (let h = K - 1; h >= 0; h--) {
    const uo = h * d;
    const ao = p.hopA[h] * WM * d;
    const co = p.hopC[h] * WM * d;
    const po = h * WM;
    // nonlinearity backward: no gradient where the ReLU clipped u' to zero
    if (p.relu) for (let k = 0; k < d; k++) if (u[uo + d + k] <= 0) du[k] = 0;
    // hop update backward
    if (p.H) {
      const H = p.H;
      const dH = g.H!;
      for (let y = 0; y < d; y++) dprev[y] = 0;
      for (let x = 0; x < d; x++) {
        const gx = du[x];
        for (let y = 0; y < d; y++) {
          dprev[y] += H[x * d + y] * gx;
          dH[x * d + y] += gx * u[uo + y];
        }
      }
    } else {
      dprev.set(du);
    }
    // read backward: do = du; dp_i = do . c_i; dc_i += p_i do
    for (let i = 0; i < n; i++) {
      const c = co + i * d;
      const pi = ws.p[po + i];
      let s = 0;
      for (let k = 0; k < d; k++) {
        s += du[k] * mem[c + k];
        dmem[c + k] += pi * du[k];
      }
      dp[i] = s;
    }
    if (p.R && h < K - 1) for (let i = 0; i < n; i++) dp[i] += ws.dq[i];
    // attend backward: through the softmax (or not, under linear start), then the scores u . m_i
    if (!linear) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += ws.p[po + i] * dp[i];
      for (let i = 0; i < n; i++) dp[i] = ws.p[po + i] * (dp[i] - dot);
      // supervision: d(-w/m sum_t log p_t)/ds_i = w (p_i - [i in t]/m)
      if (ws.supervise > 0) {
        const [lo, hi] = supportRange(batch, b, h, K, ws.superviseLast, ws.superviseSpread);
        if (hi > lo) {
          for (let i = 0; i < n; i++) dp[i] += ws.supervise * ws.p[po + i];
          const S = batch.maxSupporting;
          for (let j = lo; j < hi; j++) dp[batch.supporting[b * S + j]] -= ws.supervise / (hi - lo);
        }
      }
    }
    if (p.R) relativeBackward(p, g, ws, h, po, n, time, timeOff, dp, dprev);
    for (let i = 0; i < n; i++) {
      const a = ao + i * d;
      const ds = dp[i];
      for (let k = 0; k < d; k++) {
        dprev[k] += ds * mem[a + k];
        dmem[a + k] += ds * u[uo + k];
      }
    }
    const t = du;
    du = dprev;
    dprev = t;
  }

  // embed backward: the question into B, each memory into its matrix and its time row
  embedBackward(g.emb[p.query], d, batch.query, b * J, J, pe, du, 0);
  for (const e of p.memEmbs) {
    const dT = g.time[e];
    for (let i = 0; i < n; i++) {
      const o = (e * WM + i) * d;
      embedBackward(g.emb[e], d, batch.sentences, batch.memory[b * M + i] * J, J, pe, dmem, o);
      if (dT.length > 0) {
        const t = slotTime(time, timeOff, i, p.timeSize) * d;
        for (let k = 0; k < d; k++) dT[t + k] += dmem[o + k];
      }
    }
  }
  // the null and unknown rows are held at zero, so their gradient is dropped (only W's rows receive any)
  dW.fill(0, 0, 2 * d);
}

/** Each hop's attention over the first n memory slots, after a forward pass. */
export function attentionOf(ws: Workspace, hops: number, n: number): number[][] {
  return Array.from({ length: hops }, (_, h) => Array.from(ws.p.subarray(h * ws.M, h * ws.M + n)));
}

/** The most probable answer among real words (never the null or unknown id). */
export function argmaxAnswer(probs: Float64Array, V: number): number {
  let best = 2;
  for (let v = 3; v < V; v++) if (probs[v] > probs[best]) best = v;
  return best;
}

export interface BatchResult {
  /** Summed cross-entropy. */
  loss: number;
  errors: number;
  count: number;
}

/**
 * Loss and errors over `count` rows of a batch, with gradients added into `g` when it is given.
 * `noisyTime`, when given, holds the time indices to use instead of the batch's: [count, memorySize], one
 * row per position in `rows` (random noise in training). `wrong[r]` is set to 1 when row r is answered wrongly.
 */
export function runRows(
  p: Params,
  ws: Workspace,
  batch: Batch,
  rows: ArrayLike<number>,
  count: number,
  linear: boolean,
  g: Params | null,
  noisyTime: Int32Array | null = null,
  wrong: Uint8Array | null = null,
): BatchResult {
  ensureWorkspace(ws, p, batch.memorySize, batch.sentenceLen);
  const M = batch.memorySize;
  const time = noisyTime ?? batch.time;
  const head = ws.head;
  let loss = 0;
  let errors = 0;
  for (let r = 0; r < count; r++) {
    const b = rows[r];
    const tOff = (noisyTime ? r : b) * M;
    loss += forwardExample(p, ws, batch, b, time, tOff, linear);
    const predicted = head ? argmaxCandidate(head) : argmaxAnswer(ws.probs, p.vocabSize);
    if (predicted !== batch.answer[b]) {
      errors++;
      if (wrong) wrong[r] = 1;
    }
    if (g) backwardExample(p, g, ws, batch, b, time, tOff, linear);
  }
  return { loss, errors, count };
}

/**
 * Loss and error over a whole batch, no gradients (validation and test); `wrong`, when given, gets a 1 for
 * each example answered wrongly.
 */
export function evaluate(
  p: Params,
  ws: Workspace,
  batch: Batch,
  linear = false,
  wrong: Uint8Array | null = null,
): BatchResult {
  const rows = new Int32Array(batch.n);
  for (let i = 0; i < batch.n; i++) rows[i] = i;
  return runRows(p, ws, batch, rows, batch.n, linear, null, null, wrong);
}
