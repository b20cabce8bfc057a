// The answer layer of the dialog model (Bordes et al. 2017): instead of a softmax over words, a softmax over
// candidate responses, each embedded as a bag of its words with the answer matrix W and scored against the
// final controller state: z_c = u^K . (sum_j W[y_cj] + sum_{t matched} W[type_t]). This is the one place the
// dialog model differs from the bAbI one; memory, hops and training are shared.
//
// Since u . sum_j W[y_cj] = sum_j (u . W[y_cj]), the layer first scores every word once (V dot products),
// then adds up each candidate's word scores. That is (distinct candidate words)*d + (candidate words)
// operations per example instead of C*d: thousands of candidates share a few hundred words.

import type { MatchIndex } from "../data/candidates.js";
import type { Floats } from "./params.js";
import { softmaxInPlace } from "./softmax.js";

export interface CandidateTable {
  /** Candidate c's words are ids[off[c] .. off[c+1]): vocabulary ids, null and unknown words left out. */
  off: Int32Array;
  ids: Int32Array;
  /** Vocabulary id of each match-type word. */
  typeWords: Int32Array;
}

export interface CandidateHead extends CandidateTable {
  count: number;
  /** The distinct words of all candidates and the type words: the only rows of W the layer reads. */
  used: Int32Array;
  /** [V] u^K . W[w] (forward), then the gradient reaching each word's row (backward). */
  wordScore: Float64Array;
  /** [C] the candidates' probabilities (forward), then the logits' gradient (backward). */
  probs: Float64Array;
}

export function createHead(table: CandidateTable, vocabSize: number): CandidateHead {
  const used = Int32Array.from(new Set([...table.ids, ...table.typeWords])).sort();
  return {
    ...table,
    used,
    count: table.off.length - 1,
    wordScore: new Float64Array(vocabSize),
    probs: new Float64Array(table.off.length - 1),
  };
}

/** The table of a list of candidates given as word ids (ids 0 and 1 embed to zero and are dropped). */
export function candidateTable(candidates: number[][], typeWords: number[]): CandidateTable {
  const off = new Int32Array(candidates.length + 1);
  const ids: number[] = [];
  candidates.forEach((c, i) => {
    for (const id of c) if (id > 1) ids.push(id);
    off[i + 1] = ids.length;
  });
  return { off, ids: Int32Array.from(ids), typeWords: Int32Array.from(typeWords) };
}

/** Logits, softmax and cross-entropy of example b's answer `ans`; u holds u^K at uOff. */
export function headForward(
  h: CandidateHead,
  W: Floats,
  d: number,
  u: Float64Array,
  uOff: number,
  match: MatchIndex | undefined,
  b: number,
  ans: number,
): number {
  const { wordScore: s, probs: z, off, ids, used } = h;
  for (let x = 0; x < used.length; x++) {
    const w = used[x];
    let acc = 0;
    const r = w * d;
    for (let k = 0; k < d; k++) acc += W[r + k] * u[uOff + k];
    s[w] = acc;
  }
  for (let c = 0; c < h.count; c++) {
    let acc = 0;
    for (let i = off[c]; i < off[c + 1]; i++) acc += s[ids[i]];
    z[c] = acc;
  }
  if (match) {
    for (let i = match.off[b]; i < match.off[b + 1]; i++) z[match.cand[i]] += s[h.typeWords[match.type[i]]];
  }
  const zAns = z[ans];
  return softmaxInPlace(z, 0, h.count) - zAns;
}

/** Backward of headForward (which must have just run for example b): du = dL/du^K, gradients added to dW. */
export function headBackward(
  h: CandidateHead,
  W: Floats,
  dW: Floats,
  d: number,
  u: Float64Array,
  uOff: number,
  match: MatchIndex | undefined,
  b: number,
  ans: number,
  du: Float64Array,
): void {
  const { wordScore: g, probs: dz, off, ids, used } = h;
  dz[ans] -= 1;
  g.fill(0);
  for (let c = 0; c < h.count; c++) {
    const gc = dz[c];
    for (let i = off[c]; i < off[c + 1]; i++) g[ids[i]] += gc;
  }
  if (match) {
    for (let i = match.off[b]; i < match.off[b + 1]; i++) g[h.typeWords[match.type[i]]] += dz[match.cand[i]];
  }
  du.fill(0);
  for (let x = 0; x < used.length; x++) {
    const w = used[x];
    const gw = g[w];
    if (gw === 0) continue;
    const r = w * d;
    for (let k = 0; k < d; k++) {
      du[k] += gw * W[r + k];
      dW[r + k] += gw * u[uOff + k];
    }
  }
}

/** The most probable candidate. */
/** The most probable candidate, among those `allowed` (all by default). */
export function argmaxCandidate(h: CandidateHead, allowed?: (c: number) => boolean): number {
  let best = -1;
  for (let c = 0; c < h.count; c++) {
    if (allowed && !allowed(c)) continue;
    if (best < 0 || h.probs[c] > h.probs[best]) best = c;
  }
  return Math.max(0, best);
}
