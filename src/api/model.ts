// The library's face for a trained model: load it from its file's JSON, then ask it questions about a story.
// Runs unchanged in a browser: it takes objects and strings, never paths.

import type { Example, Sentence } from "../data/babi.js";
import { vectorize } from "../data/batch.js";
import { DataError, FieldError } from "../data/errors.js";
import { checkLineCount, checkText, DEFAULT_LIMITS, type Limits } from "../data/limits.js";
import { modelExamples } from "../data/question-match.js";
import type { Config } from "../model/config.js";
import {
  type ModelJson,
  type ModelMeta,
  modelFromText,
  modelToJson,
  modelToSafetensors,
  type TrainedModel,
} from "../model/file.js";
import {
  attentionOf,
  createWorkspace,
  ensureWorkspace,
  forwardExample,
  type Workspace,
} from "../model/memn2n.js";
import { tokenize } from "../text/tokenize.js";
import type { Vocab } from "../text/vocab.js";

export interface RankedAnswer {
  answer: string;
  probability: number;
}

export interface Answer {
  answer: string;
  probability: number;
  /** The k most probable answers among the answer classes seen in training. */
  top: RankedAnswer[];
  /**
   * attention[hop][i]: weight of the i-th sentence of `sentences` at that hop. With `attendEmpty` (the
   * default) the rest of each hop's weight sits on the memory's empty slots, which read nothing.
   */
  attention: number[][];
  /** The story sentences in memory (the most recent memorySize), as given. */
  sentences: string[];
  /** Earlier sentences the memory had no room for (the model's memory size). */
  dropped: number;
  /** Words the model never saw in training; they were ignored. */
  unknownWords: string[];
  /**
   * Why the model does not know, or null. The rule, and the only one: no word of the question is a word the
   * model knows ("question"), or no word of the story is ("story"). Such an answer is no answer: `answer`
   * and `top` are still what the model computed, but callers show `dontKnow` instead.
   */
  dontKnow: DontKnow | null;
  /** What the model computed on the way, for a picture of it (Sukhbaatar et al. 2015, Figure 1). */
  inside: Inside;
}

/** The internal state of one answer, hop by hop. */
export interface Inside {
  /** u^1 .. u^{K+1}: the question's embedding, then the controller state after each hop (d each). */
  u: number[][];
  /** o^1 .. o^K: each hop's read-out, the attention-weighted sum of the output memories (d each). */
  o: number[][];
  /**
   * share[hop][i]: the part of o that sentence i gave, as its projection on o: p_i (c_i . o) / |o|^2. The
   * shares of a hop add up to 1 (the empty slots give nothing); one can be negative.
   */
  share: number[][];
  /** How a hop updates the state: u' = u + o, or H u + o; then a ReLU or nothing. */
  hopMap: boolean;
  relu: boolean;
}

export type DontKnow = "question" | "story";

/** What "I don't know" says, the same words in the terminal, over HTTP and in the page. */
export const DONT_KNOW: Record<DontKnow, string> = {
  question: "I don't know: no word of the question is one the model knows",
  story: "I don't know: no word of the story is one the model knows",
};

export interface AnswerOptions {
  /** How many ranked answers to return (default 5). */
  topK?: number;
  /**
   * Bounds on the input, checked before anything is allocated for it (default: DEFAULT_LIMITS): the
   * sentences of a story, each sentence's (and the question's) characters and words.
   */
  limits?: Partial<Limits>;
}

export class Model {
  readonly config: Config;
  readonly vocab: Vocab;
  readonly answers: string[];
  readonly meta: ModelMeta;
  private readonly trained: TrainedModel;
  private readonly ws: Workspace;
  private readonly answerIds: number[];

  constructor(trained: TrainedModel) {
    this.trained = trained;
    this.config = trained.config;
    this.vocab = trained.vocab;
    this.answers = trained.answers;
    this.meta = trained.meta;
    this.ws = createWorkspace(trained.params, trained.config.encoding);
    this.answerIds = trained.answers.map((a) => trained.vocab.id(a));
  }

  /** Answers a question about a story given as sentences, oldest first. */
  answer(story: string[], question: string, options: AnswerOptions = {}): Answer {
    const M = this.config.memorySize;
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    checkLineCount(story.length, "story", limits);
    const first = Math.max(0, story.length - M);
    const kept = story.slice(first);
    if (kept.length === 0) {
      throw new FieldError("story", "no sentences: a bAbI model answers from the story it is given");
    }
    const sentences: Sentence[] = kept.map((text, i) => ({
      id: i + 1,
      tokens: checkText(stripId(text), `story.${first + i}`, limits, tokenize),
    }));
    const q = checkText(question, "question", limits, tokenize, "question");
    const asked: Example = {
      story: 0,
      line: 0,
      sentences,
      question: q,
      answer: this.answers[0],
      supporting: [],
    };
    const [example] = modelExamples([asked], this.config, this.vocab);
    let needed = q.length;
    for (const s of sentences) needed = Math.max(needed, s.tokens.length);
    const J = Math.max(1, needed);
    const batch = vectorize([example], this.vocab, { memorySize: Math.max(1, kept.length), sentenceLen: J });
    const p = this.trained.params;
    ensureWorkspace(this.ws, p, batch.memorySize, batch.sentenceLen);
    forwardExample(p, this.ws, batch, 0, batch.time, 0, false);
    const probs = this.ws.probs;
    if (!probs.every(Number.isFinite)) {
      throw new DataError("model", null, "weights: the answer came out NaN or infinite (weights too large?)");
    }
    const attention = attentionOf(this.ws, p.hops, kept.length);
    const inside = this.inside(kept.length);
    // Rank the answer classes by a softmax over their logits alone (from W u^K, so that it stays exact even
    // where the full softmax gives them all a probability that underflows to zero).
    const d = p.dim;
    const W = p.emb[p.answer];
    const uK = p.hops * d;
    const logits = this.answerIds.map((id) => {
      let z = 0;
      for (let k = 0; k < d; k++) z += W[id * d + k] * this.ws.u[uK + k];
      return z;
    });
    const max = Math.max(...logits);
    const exps = logits.map((z) => Math.exp(z - max));
    const mass = exps.reduce((a, b) => a + b, 0);
    const ranked = this.answers
      .map((answer, i) => ({ answer, probability: exps[i] / mass }))
      .sort((a, b) => b.probability - a.probability);
    const top = ranked.slice(0, Math.max(1, options.topK ?? 5));
    return {
      answer: top[0].answer,
      probability: top[0].probability,
      top,
      attention,
      sentences: kept,
      dropped: story.length - kept.length,
      unknownWords: [...batch.unknown.keys()],
      dontKnow: !q.some((w) => this.vocab.has(w))
        ? "question"
        : !sentences.some((st) => st.tokens.some((w) => this.vocab.has(w)))
          ? "story"
          : null,
      inside,
    };
  }

  /** u, o and each sentence's share of o, read from the workspace of the forward pass just run. */
  private inside(n: number): Inside {
    const p = this.trained.params;
    const { u, mem, p: att } = this.ws;
    const d = p.dim;
    const WM = this.ws.M;
    const vec = (a: Float64Array, at: number) => Array.from(a.subarray(at, at + d));
    const us = Array.from({ length: p.hops + 1 }, (_, h) => vec(u, h * d));
    const os: number[][] = [];
    const share: number[][] = [];
    for (let h = 0; h < p.hops; h++) {
      const co = p.hopC[h] * WM * d;
      const o = new Array<number>(d).fill(0);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < d; k++) o[k] += att[h * WM + i] * mem[co + i * d + k];
      }
      const oo = o.reduce((a, x) => a + x * x, 0);
      share.push(
        Array.from({ length: n }, (_, i) => {
          let dot = 0;
          for (let k = 0; k < d; k++) dot += mem[co + i * d + k] * o[k];
          return oo > 0 ? (att[h * WM + i] * dot) / oo : 0;
        }),
      );
      os.push(o);
    }
    return {
      u: us,
      o: os,
      share,
      hopMap: this.config.hopMap || this.config.tying === "layerwise",
      relu: this.config.nonlin === "relu",
    };
  }

  /** The model file's JSON, ready for JSON.stringify. */
  toJSON(): ModelJson {
    return modelToJson(this.trained);
  }

  /** The model file as safetensors bytes. */
  toSafetensors(): Uint8Array {
    return modelToSafetensors(this.trained);
  }
}

/**
 * A model from its file's contents: the bytes (safetensors or JSON), a JSON string or the parsed object.
 * `name` labels errors.
 */
export function loadModel(content: string | object | Uint8Array, name = "model"): Model {
  const trained = modelFromText(content, name);
  if (trained.dialog) throw new DataError(name, null, "dialog: a dialog model (load it with loadDialogBot)");
  return new Model(trained);
}

/** bAbI-style story lines may carry their numeric ids ("1 Mary went home."): the id is not a word. */
export function stripId(line: string): string {
  return line.replace(/^\s*\d+\s+/, "");
}
