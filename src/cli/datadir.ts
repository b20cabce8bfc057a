// Finding and reading bAbI files: the Node edge of the data layer.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BabiFile, parseBabi } from "../data/babi.js";
import { decodeUtf8 } from "../data/decode.js";
import { FieldError } from "../data/errors.js";
import { type TaskFiles, taskFiles } from "../data/tasks.js";
import { UsageError } from "./errors.js";
import { checkFileSize, currentLimits } from "./limits.js";

export const BABI_SETS = ["en", "en-10k", "hn", "shuffled"] as const;
export const RELEASE = "tasks_1-20_v1-2";

/** The checkout's root: two levels above this file, in src/ or in dist/. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "memn2n");
}

/** Places that may hold the data, in the order they are tried. */
export function dataRoots(explicit?: string): string[] {
  if (explicit) return [resolve(explicit)];
  const roots: string[] = [];
  if (process.env.MEMN2N_DATA) roots.push(resolve(process.env.MEMN2N_DATA));
  roots.push(resolve("../shared/data"), resolve(PACKAGE_ROOT, "../shared/data"), cacheDir());
  return [...new Set(roots)];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hasTaskFiles(dir: string): boolean {
  return isDir(dir) && listTasks(dir).size > 0;
}

/** A folder of `qaN_*` files, found from a root that may be that folder, the release, or a data folder. */
export function findBabiDir(set: string, explicit?: string): string {
  if (!(BABI_SETS as readonly string[]).includes(set)) {
    throw new UsageError(`--set: unknown set "${set}" (the sets are ${BABI_SETS.join(", ")})`);
  }
  if (explicit && existsSync(explicit) && !isDir(explicit)) {
    throw new UsageError(`--data ${explicit}: a file, not a folder (give the folder of the qaN_*.txt files)`);
  }
  const env = process.env.MEMN2N_DATA;
  if (!explicit && env && !isDir(env)) throw new UsageError(`MEMN2N_DATA=${env}: no such folder`);
  const roots = dataRoots(explicit);
  const tried: string[] = [];
  for (const root of roots) {
    for (const dir of [root, join(root, set), join(root, RELEASE, set), join(root, "babi", RELEASE, set)]) {
      tried.push(dir);
      if (hasTaskFiles(dir)) return dir;
    }
  }
  if (explicit && !existsSync(explicit)) throw new UsageError(`--data ${explicit}: no such folder`);
  throw new UsageError(
    `no bAbI data found for set "${set}". Looked in:\n${tried.join("\n")}\n` +
      `Pass --data DIR (the ${RELEASE} folder or a folder of qaN_*_train.txt files), set MEMN2N_DATA, ` +
      `or run \`memn2n download\` to fetch it into ${cacheDir()}.`,
  );
}

export function listTasks(dir: string): Map<number, TaskFiles> {
  try {
    return taskFiles(readdirSync(dir));
  } catch (e) {
    if (e instanceof FieldError) throw new UsageError(`${dir}: ${e.message}`);
    throw e;
  }
}

export function readBabiFile(path: string): BabiFile {
  let bytes: Buffer;
  checkFileSize(path);
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  return parseBabi(decodeUtf8(bytes, path), path, currentLimits());
}

export class MissingTaskFile extends UsageError {
  constructor(
    readonly task: number,
    readonly part: "train" | "test",
    dir: string,
  ) {
    const note =
      task === 3 && part === "train" && dir.includes("10k")
        ? " (the 10k training file of task 3 is missing from this copy of bAbI: see its README)"
        : "";
    super(`task ${task}: no ${part}ing file (qa${task}_*${part}.txt) in ${dir}${note}`);
  }
}

export interface LoadedTask {
  task: number;
  train: BabiFile;
  test: BabiFile;
  trainPath: string;
  testPath: string;
  /** The set the training file came from, where it is not the one asked for (`--fallback-set`). */
  trainSet?: string;
}

/**
 * A task's files. With a fallback (a set and its folder), a training file the folder lacks is read from the
 * fallback's folder: the 10k task 3 trains on its 1k file, while its test file (the same 1,000 questions in
 * every English set) still comes from `dir`.
 */
export function loadTask(dir: string, task: number, fallback?: { set: string; dir: string }): LoadedTask {
  const files = listTasks(dir).get(task);
  if (!files?.test) throw new MissingTaskFile(task, files?.train ? "test" : "train", dir);
  let trainPath: string;
  let trainSet: string | undefined;
  if (files.train) trainPath = join(dir, files.train);
  else {
    const other = fallback && listTasks(fallback.dir).get(task)?.train;
    if (!fallback || !other) throw new MissingTaskFile(task, "train", dir);
    trainPath = join(fallback.dir, other);
    trainSet = fallback.set;
  }
  const testPath = join(dir, files.test);
  return {
    task,
    train: readBabiFile(trainPath),
    test: readBabiFile(testPath),
    trainPath,
    testPath,
    ...(trainSet ? { trainSet } : {}),
  };
}

/** A task's test file alone: what testing a saved model needs (the 10k task 3 has no training file). */
export function loadTestFile(dir: string, task: number): BabiFile {
  const name = listTasks(dir).get(task)?.test;
  if (!name) throw new MissingTaskFile(task, "test", dir);
  return readBabiFile(join(dir, name));
}

/** `--fallback-set`: the set and folder a missing training file is read from, checked like `--set`. */
export function fallbackOf(
  set: string,
  fallbackSet: string | undefined,
  explicit?: string,
): { set: string; dir: string } | undefined {
  if (fallbackSet === undefined) return undefined;
  if (fallbackSet === set) throw new UsageError(`--fallback-set: ${set} is already the --set`);
  // A --data folder of qaN files is one set; the fallback is then looked for beside it, in the release.
  const dir = findBabiDir(fallbackSet, explicit && hasTaskFiles(explicit) ? join(explicit, "..") : explicit);
  return { set: fallbackSet, dir };
}

/** The model file's record of the tasks trained on another set's file, if any: `{ trainSets: { 3: "en" } }`. */
export function trainSetsOf(loaded: LoadedTask[]): { trainSets?: Record<string, string> } {
  const borrowed = loaded.filter((l) => l.trainSet !== undefined);
  return borrowed.length > 0
    ? { trainSets: Object.fromEntries(borrowed.map((l) => [l.task, l.trainSet!])) }
    : {};
}

/** The folder of ptb.{train,valid,test}.txt: --data itself, or its ptb/ (or the data roots' ptb/). */
export function findPtbDir(explicit?: string): string {
  const tried: string[] = [];
  for (const root of dataRoots(explicit)) {
    for (const dir of [root, join(root, "ptb")]) {
      tried.push(dir);
      if (existsSync(join(dir, "ptb.train.txt"))) return dir;
    }
  }
  if (explicit && !existsSync(explicit)) throw new UsageError(`--data ${explicit}: no such folder`);
  throw new UsageError(
    `no Penn Treebank text found (ptb.train.txt, ptb.valid.txt, ptb.test.txt). Looked in:\n${tried.join("\n")}\n` +
      "Pass --data DIR, set MEMN2N_DATA, or run `memn2n download ptb`.",
  );
}
