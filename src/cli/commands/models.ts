// `memn2n models`: the models that ship in the package; `memn2n convert IN OUT`: a model file from one
// container to the other (JSON, safetensors), by the output's extension.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { errorPercent } from "../../eval/errors.js";
import { modelFromText, modelToBytes } from "../../model/file.js";
import { lmFromSafetensors } from "../../model/lm-file.js";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../fsutil.js";
import {
  isLanguageModelFile,
  readModelBytes,
  resolveModel,
  SHIPPED_DIR,
  shippedModels,
} from "../model-io.js";
import { formatTable } from "../table.js";

/** One line of models/models.json, written by `npm run models`. */
export interface ShippedModel {
  name: string;
  kind: string;
  /** Test figures: "test error" fractions (bAbI) or accuracies (dialog), by name. */
  figures: Record<string, number>;
  command: string;
}

export const MANIFEST = "models.json";

export function readManifest(): ShippedModel[] {
  const path = join(SHIPPED_DIR, MANIFEST);
  if (!existsSync(path)) return [];
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { models: ShippedModel[] }).models;
  } catch {
    throw new UsageError(`${path}: not valid JSON`);
  }
}

export function registerModels(program: Command): void {
  program
    .command("models")
    .description("list the models that ship with memn2n (usable as --model NAME)")
    .option("--json", "print one JSON object as the last line")
    .action((opts: { json?: boolean }) => listModels(opts));
  program
    .command("convert")
    .description("convert a model file: JSON <-> safetensors, by the output's extension")
    .argument("<in>", "a model file (JSON or safetensors) or a shipped model's name")
    .argument("<out>", "the file to write: NAME.safetensors, or JSON for any other name")
    .action((input: string, out: string) => convert(input, out));
}

function listModels(opts: { json?: boolean }): void {
  const manifest = new Map(readManifest().map((m) => [m.name, m]));
  const rows = shippedModels("all").map((name) => {
    const path = join(SHIPPED_DIR, `${name}.safetensors`);
    const size = statSync(path).size;
    const m = manifest.get(name);
    const cardOf = () =>
      isLanguageModelFile(path)
        ? (lmFromSafetensors(readModelBytes(path), path).card ?? null)
        : (modelFromText(readModelBytes(path), path).card ?? null);
    const card = opts.json ? cardOf() : undefined;
    return { name, kind: m?.kind ?? "?", bytes: size, figures: m?.figures ?? {}, card };
  });
  const show = (f: Record<string, number>) =>
    Object.entries(f)
      .map(
        ([k, v]) =>
          `${k} ${k.includes("failed") ? v : k.includes("perplexity") ? v.toFixed(1) : errorPercent(v)}`,
      )
      .join(", ");
  console.log(
    formatTable(
      ["name", "kind", "size KB", "test figures"],
      rows.map((r) => [r.name, r.kind, Math.round(r.bytes / 1024), show(r.figures)]),
    ),
  );
  if (rows.length === 0) console.log(`no shipped models in ${SHIPPED_DIR} (npm run models makes them)`);
  if (opts.json) console.log(JSON.stringify({ dir: SHIPPED_DIR, models: rows }));
}

function convert(input: string, out: string): void {
  const path = resolveModel(input, "in");
  const m = modelFromText(readModelBytes(path), path);
  writeFileAtomic(out, modelToBytes(m, out));
  console.log(`${path} -> ${out} (${statSync(out).size} bytes)`);
}
