// Finding and reading bAbI files: the Node edge of the data layer.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BabiFile, parseBabi } from "../data/babi.js";
import { decodeUtf8 } from "../data/decode.js";
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
  return isDir(dir) && taskFiles(readdirSync(dir)).size > 0;
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
  return taskFiles(readdirSync(dir));
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
}

export function loadTask(dir: string, task: number): LoadedTask {
  const files = listTasks(dir).get(task);
  if (!files?.train) throw new MissingTaskFile(task, "train", dir);
  if (!files.test) throw new MissingTaskFile(task, "test", dir);
  const trainPath = join(dir, files.train);
  const testPath = join(dir, files.test);
  return { task, train: readBabiFile(trainPath), test: readBabiFile(testPath), trainPath, testPath };
}
