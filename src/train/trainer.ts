// The paper's training loop (section 4.2), one epoch at a time so that a caller can checkpoint between
// epochs and resume. Emits events; knows nothing of files or terminals.
//
// Schedule. With linear start, a first phase trains without the memory softmaxes at lr = lsLr and ends by
// `lsRule` (see Config); then the softmaxes go back and the main phase runs `epochs` epochs from lr, halved
// (annealFactor) every `annealEvery` epochs: epoch e of the phase (from 0) uses lr * factor^floor(e / every).
// Each epoch visits the training questions once in a fresh seeded order, in batches of batchSize; the loss
// is summed over a batch, the gradient clipped at maxGradNorm, and SGD steps.

import type { Batch } from "../data/batch.js";
import type { CandidateHead } from "../model/candidate-head.js";
import type { Config } from "../model/config.js";
import type { Kernel } from "../model/kernel.js";
import { createWorkspace, evaluate } from "../model/memn2n.js";
import { createParams, initParams, type Params, shapeFor } from "../model/params.js";
import { createKernel } from "../model/wasm-kernel.js";
import { Rng } from "../util/random.js";
import { TimeNoise } from "./noise.js";

export type Phase = "linear" | "softmax";

export interface EpochStats {
  /** 1-based over the whole run (linear start epochs included). */
  epoch: number;
  phase: Phase;
  lr: number;
  /** Mean loss per question and error fraction over the epoch's training batches, as they were trained. */
  trainLoss: number;
  trainError: number;
  validLoss: number;
  validError: number;
}

export type TrainEvent =
  | ({
      type: "epoch";
      seed: number;
      totalEpochs: number;
      /** Threads the epoch's last batch ran on (a sweep's runs get more once cores fall idle). */
      threads: number;
    } & EpochStats)
  | { type: "linear-start-end"; seed: number; epoch: number };

export interface TrainState {
  seed: number;
  phase: Phase;
  /** Epochs done in the current phase. */
  phaseEpoch: number;
  /** Epochs done in all. */
  epoch: number;
  lsBestValidLoss: number;
  /** Linear-start epochs since the validation loss last reached a new low. */
  lsStale: number;
  rng: number[];
  history: EpochStats[];
  done: boolean;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly epoch: number,
    readonly seed: number,
  ) {
    super(`training diverged: the loss became NaN or infinite in epoch ${epoch} (seed ${seed})`);
    this.name = "NonFiniteLossError";
  }
}

export class Trainer {
  readonly params: Params;
  state: TrainState;
  private readonly kernel: Kernel;
  private readonly rng: Rng;
  private readonly order: Int32Array;
  private readonly validRows: Int32Array;
  private readonly noisyTime: Int32Array;
  private readonly noise: TimeNoise;

  constructor(
    readonly cfg: Config,
    readonly vocabSize: number,
    readonly train: Batch,
    readonly valid: Batch,
    seed: number,
    private readonly onEvent: (e: TrainEvent) => void = () => {},
    /** The dialog model's answer layer (candidates instead of words). */
    readonly head: CandidateHead | null = null,
  ) {
    this.rng = new Rng(seed);
    this.params = createParams(shapeFor(cfg, vocabSize, train.sentenceLen, train.memorySize));
    initParams(this.params, this.rng, cfg.initStd);
    this.kernel = createKernel(cfg.kernel, this.params, cfg.encoding, head, {
      weight: cfg.superviseAttention,
      last: cfg.superviseRest === "last",
      spread: cfg.superviseExtra === "spread",
    });
    this.order = new Int32Array(train.n);
    this.validRows = Int32Array.from({ length: valid.n }, (_, i) => i);
    this.noisyTime = new Int32Array(cfg.batchSize * train.memorySize);
    this.noise = new TimeNoise(cfg.noiseFraction, cfg.memorySize);
    this.state = {
      seed,
      phase: cfg.linearStart ? "linear" : "softmax",
      phaseEpoch: 0,
      epoch: 0,
      lsBestValidLoss: Number.MAX_VALUE,
      lsStale: 0,
      rng: this.rng.getState(),
      history: [],
      done: false,
    };
  }

  /** Restores a checkpointed state (the weights are restored by the caller into `params`). */
  restore(state: TrainState): void {
    this.state = structuredClone(state);
    this.rng.setState(state.rng);
    this.kernel.load();
  }

  /** Threads the run computes on (see KernelThreads). */
  get threads(): number {
    return this.kernel.threads;
  }

  get totalEpochs(): number {
    const ls = this.cfg.linearStart
      ? this.state.phase === "linear"
        ? this.cfg.lsEpochs
        : this.lsEpochsRun()
      : 0;
    return ls + this.cfg.epochs;
  }

  private lsEpochsRun(): number {
    return this.state.history.filter((h) => h.phase === "linear").length;
  }

  private learningRate(): number {
    const { cfg, state } = this;
    if (state.phase === "linear") return cfg.lsLr;
    return cfg.lr * cfg.annealFactor ** Math.floor(state.phaseEpoch / cfg.annealEvery);
  }

  /**
   * One pass over the training questions in a fresh seeded order: forward, backward and an SGD step per
   * batch. Leaves the weights in `params`.
   */
  trainPass(linear: boolean, lr: number): { loss: number; errors: number } {
    const { cfg, state, train, kernel, rng, order } = this;
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);
    const M = train.memorySize;
    const useNoise = cfg.randomNoise && cfg.temporal;
    let loss = 0;
    let errors = 0;
    for (let start = 0; start < train.n; start += cfg.batchSize) {
      const count = Math.min(cfg.batchSize, train.n - start);
      const rows = order.subarray(start, start + count);
      if (useNoise) {
        for (let r = 0; r < count; r++) this.noise.fill(rng, train.memLen[rows[r]], this.noisyTime, r * M);
      }
      const res = kernel.run(train, rows, count, linear, true, useNoise ? this.noisyTime : null);
      if (!Number.isFinite(res.loss)) throw new NonFiniteLossError(state.epoch + 1, state.seed);
      loss += res.loss;
      errors += res.errors;
      kernel.step(lr, cfg.maxGradNorm, cfg.clip);
    }
    kernel.sync();
    return { loss, errors };
  }

  /** Trains one epoch, then measures the validation set; returns the epoch's figures. */
  runEpoch(): EpochStats {
    const { state, kernel } = this;
    const linear = state.phase === "linear";
    const lr = this.learningRate();
    const { loss, errors } = this.trainPass(linear, lr);
    const train = this.train;
    const v = kernel.run(this.valid, this.validRows, this.valid.n, linear, false, null);
    if (!Number.isFinite(v.loss)) throw new NonFiniteLossError(state.epoch + 1, state.seed);
    const stats: EpochStats = {
      epoch: state.epoch + 1,
      phase: state.phase,
      lr,
      trainLoss: loss / train.n,
      trainError: errors / train.n,
      validLoss: v.count > 0 ? v.loss / v.count : 0,
      validError: v.count > 0 ? v.errors / v.count : 0,
    };
    state.history.push(stats);
    state.epoch++;
    state.phaseEpoch++;
    this.onEvent({
      type: "epoch",
      seed: state.seed,
      totalEpochs: this.totalEpochs,
      threads: kernel.threads,
      ...stats,
    });
    this.advancePhase(stats);
    state.rng = this.rng.getState();
    return stats;
  }

  private advancePhase(stats: EpochStats): void {
    const { cfg, state } = this;
    if (state.phase === "linear") {
      if (stats.validLoss < state.lsBestValidLoss) {
        state.lsBestValidLoss = stats.validLoss;
        state.lsStale = 0;
      } else {
        state.lsStale++;
      }
      const byValid = cfg.lsRule === "valid" && this.valid.n > 0;
      const stalled = byValid && state.lsStale >= cfg.lsPatience;
      if (stalled || state.phaseEpoch >= cfg.lsEpochs) {
        state.phase = "softmax";
        state.phaseEpoch = 0;
        this.onEvent({ type: "linear-start-end", seed: state.seed, epoch: state.epoch });
      }
    } else if (state.phaseEpoch >= cfg.epochs) {
      state.done = true;
    }
  }

  /** Runs the remaining epochs. */
  run(afterEpoch?: (t: Trainer) => void): Params {
    while (!this.state.done) {
      this.runEpoch();
      afterEpoch?.(this);
    }
    return this.params;
  }
}

export interface RunResult {
  seed: number;
  params: Params;
  epochs: number;
  lsEpochs: number;
  trainError: number;
  validError: number;
  validLoss: number;
  history: EpochStats[];
}

/** A run's figures without its weights: what choosing among runs and reporting them need. */
export type RunFigures = Omit<RunResult, "params">;

/** Final figures of a trained model, measured cleanly (no noise, softmaxes in) on train and validation. */
export function finishRun(t: Trainer): RunResult {
  const ws = createWorkspace(t.params, t.cfg.encoding, t.train.memorySize, t.train.sentenceLen, t.head);
  const tr = evaluate(t.params, ws, t.train);
  const va = t.valid.n > 0 ? evaluate(t.params, ws, t.valid) : { loss: 0, errors: 0, count: 0 };
  return {
    seed: t.state.seed,
    params: t.params,
    epochs: t.state.epoch,
    lsEpochs: t.state.history.filter((h) => h.phase === "linear").length,
    trainError: tr.errors / Math.max(1, tr.count),
    validError: va.count > 0 ? va.errors / va.count : 0,
    validLoss: va.count > 0 ? va.loss / va.count : 0,
    history: t.state.history,
  };
}

/** The better of two runs by the configured rule (ties: lower validation loss, then the earlier seed). */
export function better<R extends RunFigures>(a: R, b: R, by: Config["selectBy"]): R {
  const ka = by === "valid" ? a.validError : a.trainError;
  const kb = by === "valid" ? b.validError : b.trainError;
  if (ka !== kb) return ka < kb ? a : b;
  if (a.validLoss !== b.validLoss) return a.validLoss < b.validLoss ? a : b;
  return a.seed <= b.seed ? a : b;
}
