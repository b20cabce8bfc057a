// Training as a library call: bAbI text (or parsed examples) in, a Model out. The CLI's `train` command is
// this plus files and a progress display.

import { type Example, parseBabi } from "../data/babi.js";
import { DEFAULT_LIMITS, type Limits } from "../data/limits.js";
import { type DialogScore, dialogScores } from "../eval/dialog.js";
import { meanError, type TaskError, taskErrors } from "../eval/errors.js";
import { type CandidateTable, createHead } from "../model/candidate-head.js";
import { type Config, makeConfig } from "../model/config.js";
import type { TrainedModel } from "../model/file.js";
import type { DialogTest } from "../train/dialog-prepare.js";
import { type Prepared, prepare, type TaskExamples } from "../train/prepare.js";
import { pickBest, runSeeds } from "../train/runs.js";
import {
  type EpochStats,
  finishRun,
  type RunFigures,
  type RunResult,
  type TrainEvent,
  Trainer,
} from "../train/trainer.js";
import { Model } from "./model.js";

export interface RunReport {
  run: RunResult;
  /** Dialog models: per-response and per-dialog accuracy on each test set. */
  dialog?: DialogScore[];
  /** Test error per task (empty without test data). */
  tests: TaskError[];
  testError: number;
  seconds: number;
}

export interface TrainReport {
  config: Config;
  data: Prepared;
  runs: RunReport[];
  best: RunReport;
  trained: TrainedModel;
}

/** What one run needs: the vectorized data and the vocabulary size (no files, no vocabulary object). */
export interface RunData {
  vocabSize: number;
  train: Prepared["train"];
  valid: Prepared["valid"];
  tests: Prepared["tests"];
  /** Dialog models: the candidate responses (the answer classes) and the test sets, by dialog. */
  candidates?: CandidateTable;
  dialogTests?: DialogTest[];
}

export interface RunHooks {
  onEvent?: (e: TrainEvent) => void;
  /** Called after every epoch, e.g. to checkpoint. */
  afterEpoch?: (t: Trainer) => void;
  /** Restores an interrupted run into the fresh trainer before it starts. */
  resume?: (t: Trainer) => void;
}

/** The part of prepared data a run needs (what crosses to a worker thread). */
export function runDataOf(data: Prepared): RunData {
  return { vocabSize: data.vocab.size, train: data.train, valid: data.valid, tests: data.tests };
}

/** One run: train with a seed, then measure train, validation and test error. */
export function runOne(cfg: Config, data: RunData, seed: number, hooks: RunHooks = {}): RunReport {
  const t0 = performance.now();
  const head = data.candidates ? createHead(data.candidates, data.vocabSize) : null;
  const t = new Trainer(cfg, data.vocabSize, data.train, data.valid, seed, hooks.onEvent, head);
  hooks.resume?.(t);
  t.run((tr) => hooks.afterEpoch?.(tr));
  const run = finishRun(t);
  const seconds = () => (performance.now() - t0) / 1000;
  if (head) {
    const dialog = dialogScores(run.params, cfg.encoding, head, data.dialogTests ?? []);
    const testError = dialog.length > 0 ? 1 - dialog[0].perResponse : 0;
    return { run, tests: [], dialog, testError, seconds: seconds() };
  }
  const tests = taskErrors(run.params, cfg.encoding, data.tests);
  return { run, tests, testError: meanError(tests), seconds: seconds() };
}

/** Trains cfg.repeats runs (seeds seed, seed+1, ...) one after another and keeps the best by cfg.selectBy. */
export function trainRuns(tasks: TaskExamples[], cfg: Config, hooks: RunHooks = {}): TrainReport {
  const data = prepare(tasks, cfg);
  const runData = runDataOf(data);
  const runs = runSeeds(cfg).map((seed) => runOne(cfg, runData, seed, hooks));
  const best = bestReport(runs, cfg);
  const taskIds = tasks.map((t) => t.task);
  return {
    config: cfg,
    data,
    runs,
    best,
    trained: trainedModel(cfg, data, best.run, taskIds, undefined, best.tests),
  };
}

/** A run's report without its weights (what a sweep keeps of its finished runs). */
export type ReportFigures = Omit<RunReport, "run"> & { run: RunFigures };

export function bestReport<R extends ReportFigures>(runs: R[], cfg: Config): R {
  const bestRun = pickBest(
    runs.map((r) => r.run),
    cfg,
  );
  return runs.find((r) => r.run === bestRun)!;
}

export function trainedModel(
  cfg: Config,
  data: Prepared,
  run: RunResult,
  tasks: number[],
  set?: string,
  tests: TaskError[] = [],
): TrainedModel {
  return {
    config: cfg,
    vocab: data.vocab,
    answers: data.answers,
    params: run.params,
    meta: {
      tasks,
      set,
      seed: run.seed,
      epochs: run.epochs,
      trainError: run.trainError,
      validError: run.validError,
      ...(tests.length > 0 ? { testErrors: Object.fromEntries(tests.map((t) => [t.task, t.error])) } : {}),
    },
  };
}

export interface TrainOptions {
  /** Training data: the text of a bAbI file, or parsed examples. */
  train: string | Example[];
  /** Test data, for the reported test error. */
  test?: string | Example[];
  /**
   * Several tasks for one joint model (with `config.joint`), each with its training and test data; `train`,
   * `test` and `task` are then ignored.
   */
  tasks?: { task: number; train: string | Example[]; test?: string | Example[] }[];
  /** Any hyperparameters; the rest are the paper's defaults. */
  config?: Partial<Config>;
  task?: number;
  onEvent?: (e: TrainEvent) => void;
  /** Bounds on the text's lines, sentences and stories, checked as it is read (default: DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
}

export interface TrainResult {
  model: Model;
  trainError: number;
  validError: number;
  testError: number | null;
  /** Test error per task (one entry for a single task). */
  testErrors: TaskError[];
  seed: number;
  epochs: number;
}

function tasksOf(options: TrainOptions): TaskExamples[] {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const examples = (x: string | Example[], name: string) =>
    typeof x === "string" ? parseBabi(x, name, limits).examples : x;
  const given = options.tasks ?? [{ task: options.task ?? 0, train: options.train, test: options.test }];
  return given.map((t) => ({
    task: t.task,
    train: examples(t.train, `task ${t.task} train`),
    test: t.test ? examples(t.test, `task ${t.task} test`) : [],
  }));
}

/** Trains a model from bAbI text with the paper's protocol. */
export function train(options: TrainOptions): TrainResult {
  const cfg = makeConfig(options.config);
  const tasks = tasksOf(options);
  const report = trainRuns(tasks, cfg, { onEvent: options.onEvent });
  const { run } = report.best;
  return {
    model: new Model(report.trained),
    trainError: run.trainError,
    validError: run.validError,
    testError: tasks.some((t) => t.test.length > 0) ? report.best.testError : null,
    testErrors: report.best.tests,
    seed: run.seed,
    epochs: run.epochs,
  };
}

/** A training run an epoch at a time: what a page (or any caller that shows each epoch and may stop) drives. */
export abstract class EpochRun {
  protected abstract readonly trainer: Trainer;

  get done(): boolean {
    return this.trainer.state.done;
  }

  /** Epochs in all (linear start included; it may end early, so this can shrink). */
  get totalEpochs(): number {
    return this.trainer.totalEpochs;
  }

  /** Training examples (questions, or dialog turns) per epoch. */
  get trainQuestions(): number {
    return this.trainer.train.n;
  }

  /** Threads the run computes on. */
  get threads(): number {
    return this.trainer.threads;
  }

  epoch(): EpochStats {
    return this.trainer.runEpoch();
  }
}

/**
 * One training run with the config's seed, an epoch at a time: for a page or any caller that shows each
 * epoch, yields between them and may stop early. `finish()` measures the model as it is (stopped or done),
 * exactly as `train` with one repeat does.
 */
export class TrainingRun extends EpochRun {
  readonly config: Config;
  readonly data: Prepared;
  private readonly tasks: number[];
  protected readonly trainer: Trainer;

  constructor(options: TrainOptions) {
    super();
    this.config = makeConfig(options.config);
    const tasks = tasksOf(options);
    this.tasks = tasks.map((t) => t.task);
    this.data = prepare(tasks, this.config);
    const d = this.data;
    this.trainer = new Trainer(
      this.config,
      d.vocab.size,
      d.train,
      d.valid,
      this.config.seed,
      options.onEvent,
    );
  }

  finish(): TrainResult {
    const run = finishRun(this.trainer);
    const tests = taskErrors(run.params, this.config.encoding, this.data.tests).filter(
      (t) => t.questions > 0,
    );
    const trained = trainedModel(this.config, this.data, run, this.tasks, undefined, tests);
    return {
      model: new Model(trained),
      trainError: run.trainError,
      validError: run.validError,
      testError: tests.length > 0 ? meanError(tests) : null,
      testErrors: tests,
      seed: run.seed,
      epochs: run.epochs,
    };
  }
}
