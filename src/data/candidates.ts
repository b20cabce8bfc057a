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
  /** Entity word -> candidates that contain it. */
  private readonly byEntity = new Map<string, number[]>();

  constructor(
    readonly candidates: string[][],
    readonly entityType: Map<string, string>,
  ) {
    this.keys = candidates.map((c) => c.join(" "));
    this.byKey = new Map(this.keys.map((k, i) => [k, i]));
    this.types = [...new Set(entityType.values())].sort();
    candidates.forEach((words, c) => {
      for (const w of new Set(words)) {
        if (!entityType.has(w)) continue;
        const list = this.byEntity.get(w) ?? [];
        list.push(c);
        this.byEntity.set(w, list);
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
    const out = new Map<number, [number, number]>();
    const T = this.types.length;
    for (const w of conversation) {
      const cands = this.byEntity.get(w);
      if (!cands) continue;
      const t = this.types.indexOf(this.entityType.get(w)!);
      for (const c of cands) out.set(c * T + t, [c, t]);
    }
    return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, pair]) => pair);
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
  const cand: number[] = [];
  const type: number[] = [];
  conversations.forEach((conv, b) => {
    const words = [...conv.sentences.flatMap((s) => s.tokens), ...conv.question];
    for (const [c, t] of set.matches(words)) {
      cand.push(c);
      type.push(t);
    }
    off[b + 1] = cand.length;
  });
  return { off, cand: Int32Array.from(cand), type: Int32Array.from(type) };
}
