// Turns parsed examples into the typed arrays the model reads. A memory holds the M most recent statements
// before a question, oldest first; slots past `memLen` are empty and never attended. Each slot's time index
// counts newest-first (the newest statement is 0), as temporal encoding needs.
// Questions of one story share most of their memory, so each statement's words are stored once, in a
// sentence table, and a memory slot holds a row of that table: joint training on all the 10k data then
// needs tens of megabytes where a dense [n, M, J] array would need hundreds.

import { NULL_ID, type Vocab } from "../text/vocab.js";
import type { Example, Sentence } from "./babi.js";
import type { MatchIndex } from "./candidates.js";

export interface Shape {
  /** M: memory slots. */
  memorySize: number;
  /** J: words per sentence (statements and questions alike). */
  sentenceLen: number;
}

export interface Batch {
  n: number;
  memorySize: number;
  sentenceLen: number;
  /** [S, J] word ids of every statement, 0-padded; row 0 is empty. */
  sentences: Int32Array;
  /** [n, M] row of `sentences` held by each memory slot (0 for an empty slot). */
  memory: Int32Array;
  /** [n] number of filled memory slots (slots 0..memLen-1). */
  memLen: Int32Array;
  /** [n, M] time index of each slot, newest-first from 0; training may replace it (random noise). */
  time: Int32Array;
  /** [n, J] word ids of the question. */
  query: Int32Array;
  /** [n] word id of the answer. */
  answer: Int32Array;
  /** [n, maxSupporting] memory slot of each supporting fact, -1 for none or dropped from the memory. */
  supporting: Int32Array;
  maxSupporting: number;
  /** Words not in the vocabulary, with counts (they were mapped to the unknown id). */
  unknown: Map<string, number>;
  /** Dialog only: the candidates each example's match-type words go to (`answer` is then a candidate). */
  match?: MatchIndex;
}

export interface ShapeLimits {
  /** Most memory slots (the paper: 50). */
  memorySize: number;
  /** Most words per sentence; 0 means no cap. */
  sentenceLen: number;
}

/** The smallest shape that holds the data, within the limits. */
export function deriveShape(sets: Example[][], limits: ShapeLimits): Shape {
  let m = 1;
  let j = 1;
  for (const examples of sets) {
    for (const ex of examples) {
      m = Math.max(m, ex.sentences.length);
      j = Math.max(j, ex.question.length);
      for (const s of ex.sentences) j = Math.max(j, s.tokens.length);
    }
  }
  return {
    memorySize: Math.min(m, limits.memorySize),
    sentenceLen: limits.sentenceLen > 0 ? Math.min(j, limits.sentenceLen) : j,
  };
}

/**
 * `answerId` maps an answer to its class; by default the answer is a word of the vocabulary (bAbI), while a
 * dialog's answer is the index of its candidate response.
 */
export function vectorize(
  examples: Example[],
  vocab: Vocab,
  shape: Shape,
  answerId?: (ex: Example) => number,
): Batch {
  const n = examples.length;
  const M = shape.memorySize;
  const J = shape.sentenceLen;
  let maxSupporting = 1;
  for (const e of examples) maxSupporting = Math.max(maxSupporting, e.supporting.length);
  const rowOf = new Map<Sentence, number>();
  for (const ex of examples) {
    for (const s of ex.sentences.slice(Math.max(0, ex.sentences.length - M))) {
      if (!rowOf.has(s)) rowOf.set(s, rowOf.size + 1);
    }
  }
  const sentences = new Int32Array((rowOf.size + 1) * J);
  const memory = new Int32Array(n * M);
  const memLen = new Int32Array(n);
  const time = new Int32Array(n * M);
  const query = new Int32Array(n * J);
  const answer = new Int32Array(n);
  const supporting = new Int32Array(n * maxSupporting).fill(-1);
  const unknown = new Map<string, number>();
  const onUnknown = (w: string) => unknown.set(w, (unknown.get(w) ?? 0) + 1);

  for (let b = 0; b < n; b++) {
    const ex = examples[b];
    const kept = ex.sentences.slice(Math.max(0, ex.sentences.length - M));
    memLen[b] = kept.length;
    for (let i = 0; i < kept.length; i++) {
      const row = rowOf.get(kept[i])!;
      // Written once per statement; unknown words are counted once per memory they are in.
      if (sentences[row * J] === 0) writeWords(sentences, row * J, J, kept[i].tokens, vocab, () => {});
      for (const t of kept[i].tokens.slice(0, J)) if (!vocab.has(t)) onUnknown(t);
      memory[b * M + i] = row;
      time[b * M + i] = kept.length - 1 - i;
    }
    writeWords(query, b * J, J, ex.question, vocab, onUnknown);
    answer[b] = answerId ? answerId(ex) : vocab.id(ex.answer, onUnknown);
    ex.supporting.forEach((sid, k) => {
      supporting[b * maxSupporting + k] = kept.findIndex((s) => s.id === sid);
    });
  }
  return {
    n,
    memorySize: M,
    sentenceLen: J,
    sentences,
    memory,
    memLen,
    time,
    query,
    answer,
    supporting,
    maxSupporting,
    unknown,
  };
}

function writeWords(
  out: Int32Array,
  offset: number,
  J: number,
  tokens: string[],
  vocab: Vocab,
  onUnknown: (w: string) => void,
): void {
  const len = Math.min(J, tokens.length);
  for (let j = 0; j < len; j++) out[offset + j] = vocab.id(tokens[j], onUnknown);
  for (let j = len; j < J; j++) out[offset + j] = NULL_ID;
}

/** The examples at the given indices, as a batch of their own (copies rows; used for splits and minibatches). */
export function selectRows(src: Batch, rows: ArrayLike<number>): Batch {
  const n = rows.length;
  const { memorySize: M, sentenceLen: J, maxSupporting: S } = src;
  const out: Batch = {
    n,
    memorySize: M,
    sentenceLen: J,
    sentences: src.sentences,
    memory: new Int32Array(n * M),
    memLen: new Int32Array(n),
    time: new Int32Array(n * M),
    query: new Int32Array(n * J),
    answer: new Int32Array(n),
    supporting: new Int32Array(n * S),
    maxSupporting: S,
    unknown: src.unknown,
  };
  for (let b = 0; b < n; b++) {
    const r = rows[b];
    out.memory.set(src.memory.subarray(r * M, (r + 1) * M), b * M);
    out.memLen[b] = src.memLen[r];
    out.time.set(src.time.subarray(r * M, (r + 1) * M), b * M);
    out.query.set(src.query.subarray(r * J, (r + 1) * J), b * J);
    out.answer[b] = src.answer[r];
    out.supporting.set(src.supporting.subarray(r * S, (r + 1) * S), b * S);
  }
  return out;
}

/** A batch from a dense [n, M, J] memory (fixtures and other implementations' exports). */
export function batchFromDense(
  dense: ArrayLike<number>,
  parts: {
    n: number;
    memorySize: number;
    sentenceLen: number;
    memLen: ArrayLike<number>;
    time: ArrayLike<number>;
  },
  query: ArrayLike<number>,
  answer: ArrayLike<number>,
): Batch {
  const { n, memorySize: M, sentenceLen: J } = parts;
  const sentences = new Int32Array((n * M + 1) * J);
  const memory = new Int32Array(n * M);
  for (let s = 0; s < n * M; s++) {
    for (let j = 0; j < J; j++) sentences[(s + 1) * J + j] = dense[s * J + j];
    memory[s] = s + 1;
  }
  return {
    n,
    memorySize: M,
    sentenceLen: J,
    sentences,
    memory,
    memLen: Int32Array.from(parts.memLen),
    time: Int32Array.from(parts.time),
    query: Int32Array.from(query),
    answer: Int32Array.from(answer),
    supporting: new Int32Array(n).fill(-1),
    maxSupporting: 1,
    unknown: new Map(),
  };
}
