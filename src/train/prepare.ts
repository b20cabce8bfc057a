// From parsed examples to what training needs: the validation split, one vocabulary built from training
// data only, and vectorized batches that share one shape. Joint training splits each task on its own and
// pools them.

import type { Example } from "../data/babi.js";
import { wordsOf } from "../data/babi.js";
import { type Batch, deriveShape, type Shape, vectorize } from "../data/batch.js";
import { modelExamples } from "../data/question-match.js";
import { splitByStory } from "../data/split.js";
import type { Config } from "../model/config.js";
import { Vocab } from "../text/vocab.js";
import { type Bounds, checkRun, NO_BOUNDS } from "./footprint.js";

export interface TaskExamples {
  task: number;
  train: Example[];
  test: Example[];
}

export interface Prepared {
  vocab: Vocab;
  /** Distinct answers of the training data, sorted. */
  answers: string[];
  shape: Shape;
  train: Batch;
  valid: Batch;
  /** One test batch per task. */
  tests: { task: number; batch: Batch }[];
}

export function prepare(tasks: TaskExamples[], cfg: Config, bounds: Bounds = NO_BOUNDS): Prepared {
  const trainSplit: Example[] = [];
  const validSplit: Example[] = [];
  const splits = tasks.map((t) => splitByStory(t.train, cfg.validFraction, cfg.splitSeed ?? cfg.seed));
  const most = Math.max(0, ...splits.map((s) => s.train.length));
  for (const [i, t] of tasks.entries()) {
    const s = splits[i];
    // A question without supporting facts adds no supervision loss: the task learns from its answers.
    const taught = cfg.superviseTasks.length === 0 || cfg.superviseTasks.includes(t.task);
    const unsupervised = (xs: Example[]) => (taught ? xs : xs.map((e) => ({ ...e, supporting: [] })));
    const copies =
      cfg.balanceTasks && s.train.length > 0 ? Math.max(1, Math.round(most / s.train.length)) : 1;
    for (let c = 0; c < copies; c++) trainSplit.push(...unsupervised(s.train));
    validSplit.push(...unsupervised(s.valid));
  }
  const train = modelExamples(trainSplit, cfg);
  const valid = modelExamples(validSplit, cfg);
  const vocab = Vocab.build(wordsOf([...train, ...valid]));
  // Test questions get the match words training gave the model, as a model file's user would.
  const tests = tasks.map((t) => ({ ...t, test: modelExamples(t.test, cfg, vocab) }));
  const answers = [...new Set([...train, ...valid].map((e) => e.answer))].sort();
  const shape = deriveShape([train, valid, ...tests.map((t) => t.test)], {
    memorySize: cfg.memorySize,
    sentenceLen: cfg.sentenceLen,
  });
  checkRun([train, valid, ...tests.map((t) => t.test)], shape, vocab.size, cfg, bounds);
  return {
    vocab,
    answers,
    shape,
    train: vectorize(train, vocab, shape),
    valid: vectorize(valid, vocab, shape),
    tests: tests.map((t) => ({ task: t.task, batch: vectorize(t.test, vocab, shape) })),
  };
}
