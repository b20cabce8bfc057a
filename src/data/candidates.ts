// Dialog responses are chosen among candidates, not produced word by word. This file holds the candidate
// set, the map from a response to its index, and the match-type features of the dialog paper (Bordes et
// al. 2017, section 4.2): for each entity type of the knowledge base a special word, added to a candidate
// when one of its words is an entity of that type that also appears in the conversation so far. Words never
// seen in training still match, which is what lets a model handle the restaurants of the OOV test sets.

import type { Vocab } from "../text/vocab.js";
import type { Sentence } from "./babi.js";

/** The match-type word of an entity type. */
export const typeWord = (type: string): string => `$${type}`;

/** Which (candidate, type) pairs match, per example: pairs off[b] .. off[b+1]-1. */
export interface MatchIndex {
  off: Int32Array;
  cand: Int32Array;
  type: Int32Array;
}

export class CandidateSet {
  readonly keys: string[];
  /** Entity types, sorted; type t's word is typeWord(types[t]). */
  readonly types: string[];
  private readonly byKey: Map<string, number>;
  /** Entity word -> its type's index and the candidates that contain it (seen: matchKeys' last stamp). */
  private readonly entities = new Map<string, { type: number; candidates: number[]; seen: number }>();
  /** matchKeys' table: marks[key] is the stamp of the last call that found the key. */
  private marks = new Int32Array(0);
  private found = new Int32Array(0);
  private stamp = 0;

  constructor(
    readonly candidates: string[][],
    readonly entityType: Map<string, string>,
  ) {
    this.keys = candidates.map((c) => c.join(" "));
    this.byKey = new Map(this.keys.map((k, i) => [k, i]));
    this.types = [...new Set(entityType.values())].sort();
    const typeIndex = new Map(this.types.map((t, i) => [t, i]));
    candidates.forEach((words, c) => {
      for (const w of new Set(words)) {
        const type = entityType.get(w);
        if (type === undefined) continue;
        const e = this.entities.get(w) ?? { type: typeIndex.get(type)!, candidates: [], seen: 0 };
        e.candidates.push(c);
        this.entities.set(w, e);
      }
    });
  }

  get size(): number {
    return this.candidates.length;
  }

  /** The index of a response, or -1 when it is not a candidate. */
  indexOf(response: string[]): number {
    return this.byKey.get(response.join(" ")) ?? -1;
  }

  typeWords(): string[] {
    return this.types.map(typeWord);
  }

  /** The (candidate, type) pairs that match a conversation, each once, in a fixed order. */
  matches(conversation: Iterable<string>): [number, number][] {
    const T = this.types.length;
    return Array.from(this.matchKeys([[...conversation]]), (k) => [Math.floor(k / T), k % T]);
  }

  /**
   * The pairs that match the words of these lists, as keys c * T + t, ascending, in a view of a buffer the
   * next call reuses. A conversation says the same entities turn after turn, and a cuisine or a city is in
   * hundreds of candidates: each entity is looked at once, and each key is marked in a table rather than
   * kept in a map (the restaurant tasks have millions of pairs).
   */
  matchKeys(lists: readonly (readonly string[])[]): Int32Array {
    const T = this.types.length;
    if (this.marks.length < this.candidates.length * T) {
      this.marks = new Int32Array(this.candidates.length * T);
      this.found = new Int32Array(this.candidates.length * T);
    }
    const stamp = ++this.stamp;
    let n = 0;
    for (const words of lists) {
      for (let j = 0; j < words.length; j++) {
        const e = this.entities.get(words[j]);
        if (e === undefined || e.seen === stamp) continue;
        e.seen = stamp;
        for (const c of e.candidates) {
          const k = c * T + e.type;
          if (this.marks[k] === stamp) continue;
          this.marks[k] = stamp;
          this.found[n++] = k;
        }
      }
    }
    return this.found.subarray(0, n).sort();
  }

  /** The words of every candidate as vocabulary ids (unknown words get the unknown id). */
  wordIds(vocab: Vocab): number[][] {
    return this.candidates.map((c) => c.map((w) => vocab.id(w)));
  }
}

/** The match index of a list of conversations (memory sentences and the user's words). */
export function matchIndex(
  set: CandidateSet,
  conversations: { sentences: Sentence[]; question: string[] }[],
): MatchIndex {
  const off = new Int32Array(conversations.length + 1);
  // Hundreds of pairs per turn on the restaurant tasks, millions in all: typed buffers that double.
  let cand = new Int32Array(1024);
  let type = new Int32Array(1024);
  let n = 0;
  const T = set.types.length;
  conversations.forEach((conv, b) => {
    const keys = set.matchKeys([...conv.sentences.map((s) => s.tokens), conv.question]);
    if (n + keys.length > cand.length) {
      const size = Math.max(2 * cand.length, n + keys.length);
      const grow = (a: Int32Array) => {
        const g = new Int32Array(size);
        g.set(a.subarray(0, n));
        return g;
      };
      cand = grow(cand);
      type = grow(type);
    }
    for (let i = 0; i < keys.length; i++) {
      cand[n] = Math.floor(keys[i] / T);
      type[n++] = keys[i] % T;
    }
    off[b + 1] = n;
  });
  return { off, cand: cand.slice(0, n), type: type.slice(0, n) };
}
