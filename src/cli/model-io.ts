// Model files on disk: written atomically in the format the name asks for (`.safetensors`, else JSON), read
// in either, and `--model NAME` taking a shipped model's name (models/NAME.safetensors) where no such file is.

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError } from "../data/errors.js";
import { modelFromText, modelToBytes, type TrainedModel } from "../model/file.js";
import { LM_FORMAT } from "../model/lm-file.js";
import { MAX_HEADER_BYTES } from "../model/safetensors.js";
import { UsageError } from "./errors.js";
import { writeFileAtomic } from "./fsutil.js";

/** models/ of the package: beside dist/ (built) or src/ (run through tsx). */
export const SHIPPED_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "models");

/** The default model of a kind of command: `ask` and `test` use `babi`, `chat` uses `restaurant`. */
export const DEFAULT_MODEL = { babi: "babi", dialog: "restaurant" } as const;

export function saveModel(path: string, m: TrainedModel): void {
  writeFileAtomic(path, modelToBytes(m, path));
}

/**
 * The names of the shipped models, sorted: the question-answering and dialog models ("qa"), the language
 * models ("lm", the memn2n-lm format), or all.
 */
export function shippedModels(kind: "qa" | "lm" | "all" = "qa"): string[] {
  if (!existsSync(SHIPPED_DIR)) return [];
  return readdirSync(SHIPPED_DIR)
    .filter((f) => f.endsWith(".safetensors"))
    .filter((f) => kind === "all" || isLanguageModelFile(join(SHIPPED_DIR, f)) === (kind === "lm"))
    .map((f) => f.slice(0, -".safetensors".length))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** Whether a safetensors file is a language model: its header's metadata says format memn2n-lm. */
export function isLanguageModelFile(path: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) < 8) return false;
    const n = head.readUInt32LE(0);
    if (head.readUInt32LE(4) !== 0 || n > MAX_HEADER_BYTES) return false;
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    const meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: { format?: string } }).__metadata__;
    return meta?.format === LM_FORMAT;
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** A file path as given, or the file of the shipped model of that name; `field` names it in errors. */
export function resolveModel(nameOrPath: string, field = "--model"): string {
  if (existsSync(nameOrPath)) return nameOrPath;
  if (/^[\w-]+$/.test(nameOrPath)) {
    const shipped = join(SHIPPED_DIR, `${nameOrPath}.safetensors`);
    if (existsSync(shipped)) return shipped;
    const names = shippedModels();
    throw new UsageError(
      `${field}: ${nameOrPath}: no such file, nor a shipped model of that name` +
        (names.length > 0 ? ` (shipped: ${names.join(", ")}; \`memn2n models\` lists them)` : ""),
    );
  }
  throw new UsageError(`${nameOrPath}: cannot read (ENOENT)`);
}

/** The bytes of a model file, with an error naming it when it cannot be read. */
export function readModelBytes(path: string): Uint8Array {
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`${path}: a folder, not a model file`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
}

/**
 * A model file or shipped model (the kind's default when none is given), checked to be of the kind the
 * command needs (a bAbI question answerer or a dialog model).
 */
export function loadModelFile(given: string | undefined, kind: "babi" | "dialog" = "babi"): TrainedModel {
  const path = resolveModel(given ?? DEFAULT_MODEL[kind]);
  if (isLanguageModelFile(path))
    throw new DataError(path, null, "a language model: use it with `memn2n lm next` or `memn2n lm test`");
  const m = modelFromText(readModelBytes(path), path);
  if (kind === "babi" && m.dialog) {
    throw new DataError(path, null, "a dialog model: use `memn2n chat` or `memn2n dialog test` with it");
  }
  if (kind === "dialog" && !m.dialog) {
    throw new DataError(path, null, "not a dialog model (train one with `memn2n dialog train`)");
  }
  return m;
}
