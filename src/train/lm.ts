// The language model's training loop (the paper's section 5, with the official code's rules where the paper
// is silent). An epoch is ceil(words / batch) SGD steps; each step draws its targets uniformly among the
// training positions that have a full memory. After each epoch every target of the validation text is
// scored; lr is divided by `anneal` when the validation cost is not below 0.9999 x the previous epoch's, and
// training stops once lr < minLr or after `epochs` epochs. The weights with the lowest validation cost are
// kept (the test text is scored with them).
//
// The loop advances a few steps at a time, so that the caller (the CLI, the page's Worker) can draw progress
// and write checkpoints between calls; a checkpoint holds the state below and both sets of weights, and a
// resumed run takes the same steps with the same bits as one never stopped.

import type { LMConfig } from "../model/config.js";
import { createLMParams, LM_TENSORS, type LMParams } from "../model/lm.js";
import { LMKernel } from "../model/lm-kernel.js";
import { Rng } from "../util/random.js";

export interface LMEpoch {
  epoch: number;
  lr: number;
  /** Perplexity of the epoch's training targets, as they were trained. */
  trainPpl: number;
  validPpl: number;
}

export interface LMTrainState {
  /** Epochs finished. */
  epoch: number;
  /** Steps of the current epoch done. */
  step: number;
  /** Summed loss of the current epoch's steps so far. */
  lossSum: number;
  lr: number;
  /** The last epoch's validation cost (mean -log p), null before the first. */
  prevValid: number | null;
  /** The lowest validation cost, and after which epoch (0: none yet). */
  bestValid: number;
  bestEpoch: number;
  rng: number[];
  history: LMEpoch[];
  /** Why training stopped (null: it has not). */
  stopped: "epochs" | "min-lr" | null;
}

export function lmStepsPerEpoch(cfg: LMConfig, trainWords: number): number {
  return cfg.stepsPerEpoch > 0 ? cfg.stepsPerEpoch : Math.ceil(trainWords / cfg.batchSize);
}

export function initialLMState(cfg: LMConfig): LMTrainState {
  return {
    epoch: 0,
    step: 0,
    lossSum: 0,
    lr: cfg.lr,
    prevValid: null,
    bestValid: Number.POSITIVE_INFINITY,
    bestEpoch: 0,
    rng: new Rng(cfg.seed + 1000).getState(),
    history: [],
    stopped: null,
  };
}

export function copyLMParams(p: LMParams): LMParams {
  const c = createLMParams(p, "f32");
  for (const name of LM_TENSORS) c[name].set(p[name]);
  return c;
}

/** Mean -log p over every target of `words`, each with the memory of the words before it (masked at the start). */
export function scoreText(kernel: LMKernel, words: Int32Array, onBatch?: (done: number) => void): number {
  const B = kernel.batchSize;
  const pos = new Int32Array(B);
  let total = 0;
  for (let t = 0; t < words.length; t += B) {
    const n = Math.min(B, words.length - t);
    for (let i = 0; i < n; i++) pos[i] = t + i;
    total += kernel.score(words, pos, n);
    onBatch?.(t + n);
  }
  return total / words.length;
}

/**
 * For each position t, where the sentence of the word at t starts in memory: the `<eos>` (id 0) before it,
 * as `next()` puts one before a typed prompt (0 where no line ended before t).
 */
export function lineStarts(words: Int32Array): Int32Array {
  const out = new Int32Array(words.length);
  let last = 0;
  for (let t = 0; t < words.length; t++) {
    out[t] = last;
    if (words[t] === 0) last = t;
  }
  return out;
}

export class LMTrainer {
  readonly kernel: LMKernel;
  readonly stepsPerEpoch: number;
  private readonly rng = new Rng(0);
  private readonly positions: Int32Array;
  /** With cfg.sentenceMemory: where each row's memory starts, and each word's sentence start. */
  private readonly cut: { starts: Int32Array; lineStart: Int32Array } | null = null;

  constructor(
    readonly cfg: LMConfig,
    /** The weights being trained (the kernel's copy is synced into them on `sync`). */
    readonly params: LMParams,
    /** The weights with the lowest validation cost so far. */
    readonly best: LMParams,
    readonly train: Int32Array,
    readonly valid: Int32Array,
    readonly state: LMTrainState = initialLMState(cfg),
  ) {
    if (train.length < cfg.memory + 2)
      throw new RangeError(
        `the training text has ${train.length} words, fewer than the memory (${cfg.memory}) + 2`,
      );
    this.kernel = new LMKernel(params, cfg.batchSize);
    this.stepsPerEpoch = lmStepsPerEpoch(cfg, train.length);
    this.rng.setState(state.rng);
    this.positions = new Int32Array(cfg.batchSize);
    if (cfg.sentenceMemory > 0)
      this.cut = { starts: new Int32Array(cfg.batchSize), lineStart: lineStarts(train) };
  }

  get done(): boolean {
    return this.state.stopped !== null;
  }

  /**
   * Up to `maxSteps` SGD steps of the current epoch; when the epoch's last step is done, scores the
   * validation text and returns the epoch's figures (and the caller may checkpoint).
   */
  advance(maxSteps: number, onScore?: (done: number) => void): LMEpoch | null {
    if (this.done) return null;
    const s = this.state;
    const { memory: N, batchSize: B } = this.cfg;
    const span = this.train.length - N;
    const steps = Math.min(maxSteps, this.stepsPerEpoch - s.step);
    for (let i = 0; i < steps; i++) {
      for (let b = 0; b < B; b++) this.positions[b] = N + this.rng.int(span);
      const cut = this.cut;
      if (cut) {
        // drawn after the positions, and only with the option: the paper's runs keep their stream
        for (let b = 0; b < B; b++)
          cut.starts[b] = this.rng.next() < this.cfg.sentenceMemory ? cut.lineStart[this.positions[b]] : 0;
      }
      const r = this.kernel.step(this.train, this.positions, s.lr, this.cfg.maxGradNorm, cut?.starts);
      if (!Number.isFinite(r.loss))
        throw new Error(`training diverged: the loss is ${r.loss} at epoch ${s.epoch + 1}`);
      s.lossSum += r.loss;
      s.step++;
    }
    s.rng = this.rng.getState();
    if (s.step < this.stepsPerEpoch) return null;
    const validCost = scoreText(this.kernel, this.valid, onScore);
    const epoch: LMEpoch = {
      epoch: s.epoch + 1,
      lr: s.lr,
      trainPpl: Math.exp(s.lossSum / (this.stepsPerEpoch * B)),
      validPpl: Math.exp(validCost),
    };
    s.history.push(epoch);
    s.epoch++;
    s.step = 0;
    s.lossSum = 0;
    if (validCost < s.bestValid) {
      s.bestValid = validCost;
      s.bestEpoch = s.epoch;
      this.kernel.sync();
      for (const name of LM_TENSORS) this.best[name].set(this.params[name]);
    }
    if (s.prevValid !== null && validCost > s.prevValid * 0.9999) {
      s.lr /= this.cfg.anneal;
      if (s.lr < this.cfg.minLr) s.stopped = "min-lr";
    }
    s.prevValid = validCost;
    if (s.stopped === null && s.epoch >= this.cfg.epochs) s.stopped = "epochs";
    return epoch;
  }

  /** Copies the kernel's weights into `params` (before a checkpoint). */
  sync(): void {
    this.kernel.sync();
  }

  release(): void {
    this.kernel.release();
  }
}
