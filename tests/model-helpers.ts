// Small random models and batches for the model tests.
import { type Batch, batchFromDense } from "../src/data/batch.js";
import { type CandidateTable, candidateTable } from "../src/model/candidate-head.js";
import type { Tying } from "../src/model/config.js";
import { createParams, type DType, initParams, type Params } from "../src/model/params.js";
import { Rng } from "../src/util/random.js";

export interface TinySpec {
  V?: number;
  d?: number;
  M?: number;
  J?: number;
  n?: number;
  hops: number;
  tying: Tying;
  temporal: boolean;
  timeSize?: number;
  hopMap?: boolean;
  relTime?: boolean;
}

/** A batch with variable memory and sentence lengths, unknown words (id 1) and padding (id 0). */
export function randomBatch(rng: Rng, V: number, M: number, J: number, n: number): Batch {
  const memory = new Int32Array(n * M * J);
  const memLen = new Int32Array(n);
  const time = new Int32Array(n * M);
  const query = new Int32Array(n * J);
  const answer = new Int32Array(n);
  const word = () => (rng.next() < 0.1 ? 1 : 2 + rng.int(V - 2));
  for (let b = 0; b < n; b++) {
    memLen[b] = 1 + ((b + rng.int(M)) % M);
    for (let i = 0; i < memLen[b]; i++) {
      const L = 1 + rng.int(J);
      for (let j = 0; j < L; j++) memory[(b * M + i) * J + j] = word();
      time[b * M + i] = memLen[b] - 1 - i;
    }
    const L = 1 + rng.int(J);
    for (let j = 0; j < L; j++) query[b * J + j] = word();
    answer[b] = 2 + rng.int(V - 2);
  }
  return batchFromDense(memory, { n, memorySize: M, sentenceLen: J, memLen, time }, query, answer);
}

export function tinyModel(spec: TinySpec, seed: number, dtype: DType = "f64"): Params {
  const p = createParams(
    {
      vocabSize: spec.V ?? 9,
      dim: spec.d ?? 5,
      timeSize: spec.timeSize ?? spec.M ?? 4,
      hops: spec.hops,
      tying: spec.tying,
      temporal: spec.temporal,
      hopMap: spec.hopMap,
      relTime: spec.relTime,
    },
    dtype,
  );
  initParams(p, new Rng(seed), 0.5);
  return p;
}

/**
 * C random candidates over V words (two match-type words, V-1 and V-2), a random candidate as each
 * example's answer, and with `match` random match types in the batch.
 */
export function randomCandidates(
  rng: Rng,
  batch: Batch,
  V: number,
  match: boolean,
  C: number,
): CandidateTable {
  const words = Array.from({ length: C }, () => Array.from({ length: 1 + rng.int(3) }, () => rng.int(V)));
  const table = candidateTable(words, [V - 1, V - 2]);
  for (let b = 0; b < batch.n; b++) batch.answer[b] = rng.int(C);
  if (match) {
    const off = [0];
    const cand: number[] = [];
    const type: number[] = [];
    for (let b = 0; b < batch.n; b++) {
      for (let c = 0; c < C; c++) {
        if (rng.next() < 0.5) {
          cand.push(c);
          type.push(rng.int(2));
        }
      }
      off.push(cand.length);
    }
    batch.match = { off: Int32Array.from(off), cand: Int32Array.from(cand), type: Int32Array.from(type) };
  }
  return table;
}
