// Files a user keeps (models, checkpoints, results) are written whole or not at all: a temp file beside the
// target, then an atomic rename.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { UsageError } from "./errors.js";

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC")
      throw new UsageError(`${path}: cannot write: the disk is full (nothing was changed)`);
    throw new UsageError(`${path}: cannot write (${code ?? (e as Error).message})`);
  }
}

/** Reads and parses a JSON file, naming the file in any error. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}
