// The files `memn2n lm run` leaves in results/: lm-ptb.json (every run of Table 2's rows), lm-ptb.md (the
// runs beside the paper's figures, with each one's command, seed, wall time and curve) and lm-ptb.svg (the
// validation curves, drawn with Observable Plot).

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { LMEpoch } from "../api/lm.js";
import { FieldError } from "../data/errors.js";
import { LM_PAPER_DEFAULTS, type LMConfig, makeLMConfig } from "../model/config.js";
import { UsageError } from "./errors.js";
import { writeFileAtomic } from "./fsutil.js";
import { duration, type Plotter } from "./results.js";

/**
 * The results file of earlier `lm run`s. Its rows' configs are read through makeLMConfig: a row written
 * before a config field existed gets the field's default (the paper's), so a finished run still matches
 * the command that made it and is not trained again.
 */
export function readLMResults(path: string): LMResults {
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as LMResults;
    for (const row of record.rows) row.config = makeLMConfig(row.config);
    return record;
  } catch (e) {
    const detail = e instanceof FieldError ? `config.${e.field}: ${e.detail}` : (e as Error).message;
    throw new UsageError(`${path}: not a results file of lm run (${detail})`);
  }
}

export interface LMRow {
  name: string;
  config: LMConfig;
  command: string;
  finished: boolean;
  epochs: number;
  seconds: number;
  threads: number;
  machine: string;
  history: LMEpoch[];
  validPpl: number | null;
  /** At the best validation epoch; for an unfinished run, at the best so far (testEpoch). */
  testPpl: number | null;
  bestEpoch: number;
  /** The epoch whose weights gave testPpl. */
  testEpoch?: number;
  date: string;
  /** Stopped by --prune-after: behind the row's best finished run (seed, validPpl) by more than margin. */
  pruned?: { epoch: number; after: number; margin: number; seed: number; validPpl: number };
  /** The independent PyTorch reference's run of the same row on this machine (--reference-curve). */
  reference?: { source: string; validPpl: number[]; trainPpl: number[]; testPpl: number | null };
}

export interface LMResults {
  rows: LMRow[];
}

/** Table 2 of the paper (test and validation perplexity) and the reference run's figures (the issue's, on a GPU). */
const PAPER_TABLE2: Record<
  string,
  { paper: number; paperValid: number; reference: { valid: number[]; best: number; test: number } }
> = {
  "3x100": {
    paper: 122,
    paperValid: 129,
    reference: { valid: [334, 268, 210, 182, 153], best: 138.0, test: 132.0 },
  },
  "6x150": {
    paper: 114,
    paperValid: 121,
    reference: { valid: [415, 262, 210, 175, 140], best: 123.7, test: 116.9 },
  },
  "7x200": {
    paper: 111,
    paperValid: 118,
    reference: { valid: [494, 295, 230, 176, 141], best: 124.2, test: 118.3 },
  },
};

const CURVE_EPOCHS = [1, 2, 3, 5, 10];

/** The paper's pick: of a row's finished runs, the one with the lowest validation perplexity. */
function finishedRuns(r: LMResults, name: string): { done: LMRow[]; best: LMRow | null } {
  const done = r.rows.filter((row) => row.name === name && row.finished && row.validPpl !== null);
  const best = done.reduce<LMRow | null>((a, b) => (a === null || b.validPpl! < a.validPpl! ? b : a), null);
  return { done, best };
}

/** The row's pick among the other seeds' runs of the same recipe: the run a pruned one is measured against. */
export function leaderOf(r: LMResults, name: string, config: LMConfig): LMRow | null {
  const recipe = (c: LMConfig) => JSON.stringify({ ...c, seed: 0 });
  const rivals = r.rows.filter(
    (row) => row.config.seed !== config.seed && recipe(row.config) === recipe(config),
  );
  return finishedRuns({ rows: rivals }, name).best;
}

export function prunedText(row: LMRow, p: NonNullable<LMRow["pruned"]>): string {
  return (
    `--prune-after ${p.after}: its best validation perplexity, ` +
    `${row.validPpl!.toFixed(1)}, is more than ${p.margin} above seed ${p.seed}'s finished ${p.validPpl.toFixed(1)}`
  );
}

/** The three files of `--results X.md`: X.md, and X.json and X.svg beside it. */
export function lmResultsFiles(md: string): { md: string; json: string; svg: string } {
  const base = md.replace(/\.md$/, "");
  return { md, json: `${base}.json`, svg: `${base}.svg` };
}

/** The JSON, the markdown and the chart, each written whole (a reader never meets half a file). */
export function writeLMResults(files: ReturnType<typeof lmResultsFiles>, r: LMResults, plot: Plotter): void {
  writeFileAtomic(files.json, `${JSON.stringify(r, null, 1)}\n`);
  writeFileAtomic(files.svg, lmChart(r, plot));
  writeFileAtomic(files.md, lmResultsMarkdown(r, basename(files.svg)));
}

/**
 * Every run's validation perplexity by epoch, a panel a row: the row's pick (its best finished run by
 * validation) dark, its other runs light, the paper's best-of-10 validation figure dashed red and the
 * PyTorch reference's best dotted grey. The first epochs (300 and more) are cut off, so the last few
 * perplexity points, where the rows are decided, can be told apart.
 */
export function lmChart(r: LMResults, { Plot, draw }: Plotter): string {
  const rowLabel = (name: string) => name.replace("x", " × ");
  const names = [...new Set(r.rows.map((row) => row.name))];
  const picks = new Set(names.map((n) => finishedRuns(r, n).best));
  const runs = r.rows.flatMap((row) =>
    row.history.map((e) => ({
      row: rowLabel(row.name),
      run: `${row.name} seed ${row.config.seed}`,
      epoch: e.epoch,
      valid: e.validPpl,
      pick: picks.has(row),
    })),
  );
  const reference = r.rows.flatMap((row) =>
    (row.reference?.validPpl ?? []).map((valid, i) => ({ row: rowLabel(row.name), epoch: i + 1, valid })),
  );
  // one horizontal line a row for each of the two figures, labelled "paper 121", "reference 123.7"
  const figure = (who: string, valid: (t: (typeof PAPER_TABLE2)[string]) => number) =>
    names
      .filter((n) => PAPER_TABLE2[n])
      .map((n) => ({
        row: rowLabel(n),
        valid: valid(PAPER_TABLE2[n]),
        label: `${who} ${valid(PAPER_TABLE2[n])}`,
      }));
  const paper = figure("paper", (t) => t.paperValid);
  const gpuReference = figure("reference", (t) => t.reference.best);
  const bests = r.rows.filter((row) => row.validPpl !== null).map((row) => row.validPpl!);
  const all = [...runs.map((d) => d.valid), ...reference.map((d) => d.valid)];
  const lo = Math.floor(
    Math.min(...bests, ...paper.map((d) => d.valid), ...gpuReference.map((d) => d.valid)) - 2,
  );
  const hi = Math.ceil(Math.min(Math.max(...all, lo + 10), Math.max(...bests, lo) + 40));
  const pickData = runs.filter((d) => d.pick);
  return draw({
    width: 760,
    height: 340,
    marginLeft: 50,
    marginRight: 20,
    x: { label: "epoch", grid: true },
    y: { label: "validation perplexity", grid: true, domain: [lo, hi] },
    fx: { label: null, domain: names.map(rowLabel), padding: 0.08 },
    marks: [
      Plot.frame({ stroke: "#ddd" }),
      Plot.ruleY(paper, { fx: "row", y: "valid", stroke: "#d62728", strokeDasharray: "5,3" }),
      Plot.ruleY(gpuReference, { fx: "row", y: "valid", stroke: "#888", strokeDasharray: "1,3" }),
      Plot.line(reference, { fx: "row", x: "epoch", y: "valid", stroke: "#888", clip: true }),
      Plot.line(
        runs.filter((d) => !d.pick),
        { fx: "row", x: "epoch", y: "valid", z: "run", stroke: "#9ecae1", clip: true },
      ),
      Plot.line(pickData, {
        fx: "row",
        x: "epoch",
        y: "valid",
        z: "run",
        stroke: "#1f77b4",
        strokeWidth: 2,
        clip: true,
      }),
      // the labels last, over the lines, each on a white halo
      Plot.text(paper, {
        fx: "row",
        y: "valid",
        text: "label",
        frameAnchor: "right",
        dy: 8,
        fill: "#d62728",
        stroke: "white",
      }),
      Plot.text(gpuReference, {
        fx: "row",
        y: "valid",
        text: "label",
        frameAnchor: "left",
        dx: 4,
        dy: -7,
        fill: "#666",
        stroke: "white",
      }),
    ],
  });
}

/**
 * The name of a run's files in --work (its .ckpt, its .safetensors): the paper's default seed keeps the plain
 * row name, so runs made before --repeats go on from their files.
 */
export function lmRunFile(name: string, seed: number): string {
  return seed === LM_PAPER_DEFAULTS.seed ? name : `${name}-seed${seed}`;
}

export function lmResultsMarkdown(r: LMResults, chartFile?: string): string {
  const lines = [
    "# Language modelling on Penn Treebank (the paper's section 5, Table 2)",
    "",
    "Made by `memn2n lm run` (src/cli/commands/lm.ts). Perplexity of the validation and test texts (every",
    "target scored, with the memory of the words before it in its file); the test text is scored once, with",
    "the weights of the best validation epoch (for a run not finished, of its best epoch so far, scored each time",
    "validation finds a new best and marked so far; the test figure never picks anything). The paper's figures",
    "are its Table 2 (test perplexity in the tables, validation in the chart), each the best of",
    "10 runs by validation perplexity (the official code's README: facebookarchive/MemNN,",
    "MemN2N-lang-model); each line here is one run, one seed (`--repeats` runs more and picks the same way).",
    "The reference is an independent PyTorch implementation of the same recipe",
    "(../shared/reference/memn2n_lm.py, one seed, on a GPU, 6 minutes a row).",
    "",
    ...(chartFile
      ? [
          `![Validation perplexity by epoch, a panel a row: each row's pick dark blue, its other runs light blue, the paper's best-of-10 validation figure dashed red, the PyTorch reference's best dotted grey](${chartFile})`,
          "",
        ]
      : []),
    "| hops × memory | seed | epochs | valid ppl at epoch 1, 2, 3, 5, 10 | best valid (epoch) | test | paper test | reference: valid at 1, 2, 3, 5, 10; test | wall time | state |",
    "|---|---:|---:|---|---|---:|---:|---|---:|---|",
  ];
  for (const row of r.rows) {
    const ref = PAPER_TABLE2[row.name];
    const curve = CURVE_EPOCHS.map((e) => row.history[e - 1]?.validPpl.toFixed(1) ?? "–").join(", ");
    lines.push(
      `| ${row.config.hops} × ${row.config.memory} | ${row.config.seed} | ${row.epochs} | ${curve} | ${row.validPpl === null ? "–" : `${row.validPpl.toFixed(1)} (${row.bestEpoch})`} | ` +
        `${row.testPpl === null ? "–" : row.finished ? `**${row.testPpl.toFixed(1)}**` : `${row.testPpl.toFixed(1)} (so far)`} | ${ref?.paper ?? "–"} | ` +
        `${ref ? `${ref.reference.valid.join(", ")}; ${ref.reference.test}` : "–"} | ${duration(row.seconds)} | ` +
        `${row.finished ? "finished" : row.pruned ? `stopped behind seed ${row.pruned.seed} (--prune-after)` : "not finished"} |`,
    );
  }
  lines.push("");
  // the paper's protocol: of a row's finished runs, the one with the best validation perplexity. Once any
  // row has several runs every row is listed, so the table stands beside Table 2 whole.
  const names = [...new Set(r.rows.map((row) => row.name))];
  if (names.some((n) => r.rows.filter((row) => row.name === n).length > 1)) {
    lines.push(
      "Of each row's finished runs, the one with the lowest validation perplexity (as the paper picks):",
    );
    lines.push("");
    lines.push("| hops × memory | runs finished (seeds) | best valid (seed) | its test | paper test |");
    lines.push("|---|---|---:|---:|---:|");
    for (const n of names) {
      const { done, best } = finishedRuns(r, n);
      const shape = r.rows.find((row) => row.name === n)!.config;
      lines.push(
        `| ${shape.hops} × ${shape.memory} | ${done.length} (${done.map((row) => row.config.seed).join(", ") || "–"}) | ` +
          `${best ? `${best.validPpl!.toFixed(1)} (${best.config.seed})` : "–"} | ` +
          `${best?.testPpl != null ? `**${best.testPpl.toFixed(1)}**` : "–"} | ${PAPER_TABLE2[n]?.paper ?? "–"} |`,
      );
    }
    lines.push("");
    const pruned = r.rows.filter((row) => !row.finished && row.pruned);
    if (pruned.length > 0) {
      lines.push(
        "Stopped by validation (`--prune-after`), not finished: runs more than the margin behind their row's best " +
          "finished run, from the epoch given on, whose time went to the next seed: " +
          pruned
            .map(
              (row) =>
                `${row.config.hops} × ${row.config.memory} seed ${row.config.seed} (epoch ${row.pruned!.epoch}, valid ${row.validPpl!.toFixed(1)})`,
            )
            .join("; ") +
          ".",
      );
      lines.push("");
    }
  }
  for (const row of r.rows) {
    lines.push(`## ${row.config.hops} hops, memory ${row.config.memory}, seed ${row.config.seed}`);
    lines.push("");
    lines.push(
      `Command: \`${row.command}\` (seed ${row.config.seed}; ${row.threads} thread${row.threads > 1 ? "s" : ""} on ${row.machine}; ${row.date}).`,
    );
    lines.push(
      (row.epochs > 0
        ? `${row.epochs} epoch${row.epochs === 1 ? "" : "s"} in ${duration(row.seconds)} (${duration(row.seconds / row.epochs)} an epoch, validation scoring included)`
        : `No epoch finished yet (${duration(row.seconds)} of the first)`) +
        (row.finished
          ? "."
          : row.pruned
            ? `; stopped at epoch ${row.pruned.epoch} (${prunedText(row, row.pruned)}); the same command without --prune-after goes on from its checkpoint.`
            : "; not finished: the same command goes on from its checkpoint."),
    );
    lines.push("");
    const ref = row.reference;
    if (ref) {
      lines.push(
        `Beside it, ${ref.source}: the same recipe, its own random draws${ref.testPpl !== null ? `; test perplexity ${ref.testPpl.toFixed(1)} at its best epoch` : ""}.`,
      );
      lines.push("");
    }
    lines.push(
      `| epoch | lr | train ppl | valid ppl |${ref ? " reference train ppl | reference valid ppl |" : ""}`,
    );
    lines.push(`|---:|---:|---:|---:|${ref ? "---:|---:|" : ""}`);
    const n = Math.max(row.history.length, ref?.validPpl.length ?? 0);
    for (let i = 0; i < n; i++) {
      const e = row.history[i];
      const ours = e
        ? `| ${e.epoch} | ${e.lr.toPrecision(3)} | ${e.trainPpl.toFixed(1)} | ${e.validPpl.toFixed(1)} |`
        : `| ${i + 1} | – | – | – |`;
      const theirs = ref
        ? ` ${ref.trainPpl[i]?.toFixed(1) ?? "–"} | ${ref.validPpl[i]?.toFixed(1) ?? "–"} |`
        : "";
      lines.push(ours + theirs);
    }
    lines.push("");
    lines.push(`Config: \`${JSON.stringify(row.config)}\``);
    lines.push("");
  }
  return lines.join("\n");
}
