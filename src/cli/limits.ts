// The size limits as CLI options (every command that reads data takes them) and the readers' view of them:
// the file size is checked before a file is read, the rest as it is parsed (src/data/limits.ts).

import { statSync } from "node:fs";
import { totalmem } from "node:os";
import type { Command } from "commander";
import { DataError } from "../data/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../data/limits.js";
import type { Bounds } from "../train/footprint.js";
import { UsageError } from "./errors.js";
import { wholeOption } from "./whole.js";

const MB = 2 ** 20;
let current: Limits = DEFAULT_LIMITS;
let maxFileBytes = 1024 * MB;

/** The limits the readers of this process apply (set from the command's options). */
export function currentLimits(): Limits {
  return current;
}

export function addLimitOptions(cmd: Command, kind: { training?: boolean; dialog?: boolean } = {}): Command {
  cmd
    .option(
      "--max-line-chars <n>",
      `longest line a data file may have (default: ${DEFAULT_LIMITS.maxLineChars})`,
    )
    .option(
      "--max-sentence-words <n>",
      `most words a sentence, question or utterance may have (default: ${DEFAULT_LIMITS.maxSentenceWords})`,
    )
    .option("--max-file-mb <n>", `largest data file read, in MB (default: ${maxFileBytes / MB})`)
    .option(
      "--max-story-lines <n>",
      `most lines a story or dialog may have (default: ${DEFAULT_LIMITS.maxStoryLines})`,
    );
  if (kind.training) {
    cmd
      .option(
        "--max-vocab <n>",
        `most words a model's vocabulary may have (default: ${DEFAULT_LIMITS.maxVocab})`,
      )
      .option("--max-memory-gb <x>", "most memory a run may take (default: 80% of this machine's)");
  }
  if (kind.dialog) {
    cmd.option("--max-candidates <n>", `most candidate responses (default: ${DEFAULT_LIMITS.maxCandidates})`);
  }
  return cmd;
}

function whole(flag: string, v: unknown, fallback: number): number {
  return v === undefined ? fallback : wholeOption(flag, String(v), 1);
}

/** Applies the options to this process's readers and returns the bounds a training run checks. */
export function applyLimits(opts: Record<string, unknown>, workers = 1): Bounds {
  current = {
    maxLineChars: whole("--max-line-chars", opts.maxLineChars, DEFAULT_LIMITS.maxLineChars),
    maxSentenceWords: whole("--max-sentence-words", opts.maxSentenceWords, DEFAULT_LIMITS.maxSentenceWords),
    maxVocab: whole("--max-vocab", opts.maxVocab, DEFAULT_LIMITS.maxVocab),
    maxCandidates: whole("--max-candidates", opts.maxCandidates, DEFAULT_LIMITS.maxCandidates),
    maxStoryLines: whole("--max-story-lines", opts.maxStoryLines, DEFAULT_LIMITS.maxStoryLines),
  };
  maxFileBytes = whole("--max-file-mb", opts.maxFileMb, 1024) * MB;
  let maxBytes = 0.8 * totalmem();
  if (opts.maxMemoryGb !== undefined) {
    const gb = Number(opts.maxMemoryGb);
    if (!(Number.isFinite(gb) && gb > 0)) {
      throw new UsageError(`--max-memory-gb: expected a number > 0, got ${String(opts.maxMemoryGb)}`);
    }
    maxBytes = gb * 2 ** 30;
  }
  return { limits: current, maxBytes, workers };
}

/** Refuses a file larger than --max-file-mb before reading it. */
export function checkFileSize(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return; // the read that follows names the problem
  }
  if (size > maxFileBytes) {
    throw new DataError(
      path,
      null,
      `${(size / MB).toFixed(0)} MB, more than the limit of ${maxFileBytes / MB} MB (--max-file-mb raises it)`,
    );
  }
}
