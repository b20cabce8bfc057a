// Which files of a bAbI folder hold which task. Pure: it takes a folder's file names, so the Node edge does
// the listing and this stays usable in a browser.

import { FieldError } from "./errors.js";

export const TASK_NAMES: Record<number, string> = {
  1: "single-supporting-fact",
  2: "two-supporting-facts",
  3: "three-supporting-facts",
  4: "two-arg-relations",
  5: "three-arg-relations",
  6: "yes-no-questions",
  7: "counting",
  8: "lists-sets",
  9: "simple-negation",
  10: "indefinite-knowledge",
  11: "basic-coreference",
  12: "conjunction",
  13: "compound-coreference",
  14: "time-reasoning",
  15: "basic-deduction",
  16: "basic-induction",
  17: "positional-reasoning",
  18: "size-reasoning",
  19: "path-finding",
  20: "agents-motivations",
};

export const ALL_TASKS = Object.keys(TASK_NAMES).map(Number);

export interface TaskFiles {
  task: number;
  train: string | null;
  test: string | null;
}

const FILE = /^qa(\d+)_(?:.*_)?(train|test)\.txt$/;

/**
 * Pairs up the `qaN_*train.txt` / `qaN_*test.txt` files in a listing, per task. Two files claiming one task's
 * part are an error, naming both: which one to read would otherwise be decided by their names' order (a file
 * slipped in beside the real one could replace it).
 */
export function taskFiles(names: string[]): Map<number, TaskFiles> {
  const out = new Map<number, TaskFiles>();
  for (const name of [...names].sort()) {
    const m = FILE.exec(name);
    if (!m) continue;
    const task = Number(m[1]);
    const part = m[2] as "train" | "test";
    const entry = out.get(task) ?? { task, train: null, test: null };
    if (entry[part] !== null) {
      throw new FieldError(`task ${task}`, `two ${part}ing files, ${entry[part]} and ${name}: keep one`);
    }
    entry[part] = name;
    out.set(task, entry);
  }
  return out;
}

/** Parses a task list such as `1-20`, `1,4,12` or `3`. */
export function parseTaskList(spec: string, field = "tasks"): number[] {
  const out = new Set<number>();
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new FieldError(field, `"${spec}" is not a task list (use forms like 1-20, 1,4,12 or 3)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > b) throw new FieldError(field, `"${part.trim()}" runs backwards (write ${b}-${a})`);
    if (a < 1 || b > 20) throw new FieldError(field, `"${part.trim()}" is outside the tasks 1 to 20`);
    for (let t = a; t <= b; t++) out.add(t);
  }
  return [...out].sort((x, y) => x - y);
}
