// The language model's face: read a corpus, train (a few steps at a time, so the caller draws progress and
// checkpoints), score a text, and predict the next word with each hop's attention over the words before it.
// The CLI, the server and the page all come through here.

import { FieldError } from "../data/errors.js";
import {
  EOS,
  LM_TEXT_LIMITS,
  type LMCorpus,
  type LMTextLimits,
  LMVocab,
  readLMCorpus,
  wordsToIds,
} from "../data/ptb.js";
import { type LMConfig, makeLMConfig } from "../model/config.js";
import type { ModelCard } from "../model/file.js";
import { createLMParams, initLMParams, type LMParams, lmForwardRow, lmWindow } from "../model/lm.js";
import {
  type LanguageModelFile,
  type LMFigures,
  lmFromSafetensors,
  lmToSafetensors,
} from "../model/lm-file.js";
import { LMKernel } from "../model/lm-kernel.js";
import { copyLMParams, type LMEpoch, LMTrainer, type LMTrainState, scoreText } from "../train/lm.js";
import { Rng } from "../util/random.js";

export type { LanguageModelFile, LMCorpus, LMEpoch, LMFigures, LMTrainState };
export { LM_TEXT_LIMITS, LMVocab, readLMCorpus };

/** The most characters `next` reads of what it is given (only the last `memory` words are used). */
export const MAX_NEXT_CHARS = 100_000;

export interface NextWord {
  word: string;
  p: number;
}

export interface NextWords {
  /** The words in memory, oldest first, as the model read them (unknown words as `<unk>`). */
  context: string[];
  /** Words of the text the vocabulary lacks. */
  unknown: string[];
  /** The k likeliest next words, likeliest first. */
  top: NextWord[];
  /** Each hop's attention over `context` (one weight per word). */
  attention: number[][];
}

export class LanguageModel {
  constructor(readonly file: LanguageModelFile) {}

  get config(): LMConfig {
    return this.file.config;
  }

  get vocab(): LMVocab {
    return this.file.vocab;
  }

  /** The k likeliest words to follow `text` (read as the start of a sentence), from the memory of its last words. */
  next(text: string, k = 10): NextWords {
    if (typeof text !== "string") throw new FieldError("text", "must be a string");
    if (text.length > MAX_NEXT_CHARS)
      throw new FieldError("text", `${text.length} characters, more than the limit of ${MAX_NEXT_CHARS}`);
    if (!Number.isInteger(k) || k < 1 || k > 1000)
      throw new FieldError("k", `a whole number from 1 to 1000, got ${k}`);
    // What a person types starts a sentence: it is read after a line end, as every sentence of the text the
    // model learned from follows an <eos> (without it, a short text meets memories the model never saw).
    const typed = wordsToIds(text, this.vocab);
    const ids = [0, ...typed.ids];
    const words = [EOS, ...typed.words];
    const unknown = typed.unknown;
    const p = this.file.params;
    const N = p.memory;
    const { ctx, lo } = lmWindow(Int32Array.from(ids), ids.length, N);
    const s = lmForwardRow(p, ctx, lo, 0);
    const order = Array.from(s.probs.keys()).sort((a, b) => s.probs[b] - s.probs[a]);
    const context = words.slice(Math.max(0, words.length - N));
    const attention: number[][] = [];
    for (let h = 0; h < p.hops; h++) attention.push(Array.from(s.p.subarray(h * N + lo, (h + 1) * N)));
    return {
      context,
      unknown,
      top: order
        .slice(0, Math.min(k, order.length))
        .map((id) => ({ word: this.vocab.words[id], p: s.probs[id] })),
      attention,
    };
  }

  /** Perplexity of a text of the model's words (every target with the memory of the words before it). */
  perplexity(words: Int32Array, batch = 128, onBatch?: (done: number) => void): number {
    const kernel = new LMKernel(copyLMParams(this.file.params), batch);
    try {
      return Math.exp(scoreText(kernel, words, onBatch));
    } finally {
      kernel.release();
    }
  }

  toBytes(): Uint8Array {
    return lmToSafetensors(this.file);
  }
}

export function loadLM(bytes: Uint8Array, name: string): LanguageModel {
  return new LanguageModel(lmFromSafetensors(bytes, name));
}

/** The ids of a text for a trained model's vocabulary (a word it lacks is an error naming the line). */
export { readLMText } from "../data/ptb.js";

export interface LMTrainingOptions {
  /** Weights and state to go on from (a checkpoint); absent: fresh weights from the config's seed. */
  resume?: { params: LMParams; best: LMParams; state: LMTrainState };
  /** A trained model to start from instead of fresh weights (its shape and vocabulary must be the run's). */
  init?: LanguageModel;
}

/**
 * A training run over a corpus: call `advance` until `done`, then `model()`. The weights are the config's
 * seed's (N(0, initStd)), or a checkpoint's.
 */
export class LMTraining {
  readonly trainer: LMTrainer;
  readonly params: LMParams;
  readonly best: LMParams;

  constructor(
    readonly corpus: LMCorpus,
    readonly config: LMConfig,
    options: LMTrainingOptions = {},
  ) {
    const shape = {
      vocabSize: corpus.vocab.size,
      dim: config.dim,
      memory: config.memory,
      hops: config.hops,
      linDim: config.linDim,
      initHid: config.initHid,
    };
    if (options.resume) {
      this.params = options.resume.params;
      this.best = options.resume.best;
    } else if (options.init) {
      const from = options.init.file;
      for (const k of ["hops", "memory", "dim", "linDim"] as const)
        if (from.config[k] !== config[k])
          throw new FieldError("init", `the model has ${k} ${from.config[k]}, the run ${config[k]}`);
      if (from.params.initHid !== config.initHid)
        throw new FieldError(
          "init",
          `the model has initHid ${from.params.initHid}, the run ${config.initHid}`,
        );
      const a = from.vocab.words;
      const b = corpus.vocab.words;
      if (a.length !== b.length || a.some((w, i) => w !== b[i]))
        throw new FieldError("init", "the model's vocabulary is not the training text's");
      this.params = copyLMParams(from.params);
      this.best = copyLMParams(from.params);
    } else {
      this.params = createLMParams(shape, "f32");
      initLMParams(this.params, new Rng(config.seed), config.initStd);
      this.best = copyLMParams(this.params);
    }
    this.trainer = new LMTrainer(
      config,
      this.params,
      this.best,
      corpus.train,
      corpus.valid,
      options.resume?.state,
    );
  }

  get state(): LMTrainState {
    return this.trainer.state;
  }

  get done(): boolean {
    return this.trainer.done;
  }

  /** Up to maxSteps SGD steps; the epoch's figures when one ended with them. */
  advance(maxSteps: number, onScore?: (done: number) => void): LMEpoch | null {
    return this.trainer.advance(maxSteps, onScore);
  }

  /** The weights now, copied out of the kernel (for a checkpoint). */
  current(): LMParams {
    this.trainer.sync();
    return this.params;
  }

  /** The model with the lowest validation cost, its test perplexity measured when `test` is true. */
  model(seconds: number, test = true, card?: ModelCard): LanguageModel {
    const s = this.state;
    const m = new LanguageModel({
      config: this.config,
      vocab: this.corpus.vocab,
      params: copyLMParams(this.best),
    });
    const figures: LMFigures = {
      validPpl: Math.exp(s.bestValid),
      testPpl: test ? m.perplexity(this.corpus.test, this.config.batchSize) : null,
      epochs: s.epoch,
      bestEpoch: s.bestEpoch,
      seconds,
      history: s.history,
    };
    m.file.figures = figures;
    if (card) m.file.card = card;
    return m;
  }

  /**
   * Test perplexity of the best weights so far (a run that spans sessions reports it; validation alone picks).
   * Its kernel borrows the threads and hands them back to the training's.
   */
  bestTestPerplexity(): number {
    return this.model(0, true).file.figures?.testPpl ?? Number.NaN;
  }

  release(): void {
    this.trainer.release();
  }
}

/**
 * Trains a language model to the end of its schedule in one call (the paper's recipe, or `config`'s changes
 * to it) and returns the best-validation model with its test perplexity. `onEpoch` hears each epoch's
 * figures. For progress between steps, checkpoints or a Stop button, drive an LMTraining instead.
 */
export function trainLM(
  corpus: LMCorpus,
  config: Partial<LMConfig> = {},
  options: { onEpoch?: (e: LMEpoch) => void; now?: () => number } = {},
): LanguageModel {
  const now = options.now ?? (() => performance.now() / 1000);
  const t0 = now();
  const run = new LMTraining(corpus, makeLMConfig(config));
  try {
    while (!run.done) {
      const e = run.advance(256);
      if (e) options.onEpoch?.(e);
    }
    return run.model(now() - t0);
  } finally {
    run.release();
  }
}

/** A config from the paper's defaults and the caller's changes, checked. */
export function lmConfig(overrides: Partial<LMConfig> = {}): LMConfig {
  return makeLMConfig(overrides);
}

export type { LMTextLimits };
