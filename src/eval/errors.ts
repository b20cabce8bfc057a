// Error rates of a trained model on held-out batches: the figures every report is made of.

import type { Batch } from "../data/batch.js";
import type { Encoding } from "../model/config.js";
import { createWorkspace, evaluate } from "../model/memn2n.js";
import type { Params } from "../model/params.js";

export interface TaskError {
  task: number;
  error: number;
  loss: number;
  questions: number;
}

export function taskErrors(
  params: Params,
  encoding: Encoding,
  tests: { task: number; batch: Batch }[],
): TaskError[] {
  const ws = createWorkspace(params, encoding);
  return tests.map(({ task, batch }) => {
    const r = evaluate(params, ws, batch);
    return {
      task,
      error: r.errors / Math.max(1, r.count),
      loss: r.loss / Math.max(1, r.count),
      questions: r.count,
    };
  });
}

/** Mean error over tasks, each task weighted alike. */
export function meanError(errors: TaskError[]): number {
  return errors.reduce((s, e) => s + e.error, 0) / Math.max(1, errors.length);
}

/** A shipped figure as a percentage: one decimal, two below 1%, where 0.52% is not 0.5%. */
export function errorPercent(x: number): string {
  return `${(100 * x).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;
}
