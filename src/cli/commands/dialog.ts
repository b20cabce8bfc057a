// `memn2n dialog train|test|run`: the goal-oriented Dialog bAbI tasks (Bordes et al. 2017).

import { rmSync } from "node:fs";
import { cpus } from "node:os";
import type { Command } from "commander";
import { z } from "zod";
import { candidateSetOf, dialogRunData, headOf, scoreLine, trainedDialogModel } from "../../api/dialog.js";
import { bestReport, type ReportFigures, type RunReport } from "../../api/train.js";
import { KnowledgeBase, withKbResults } from "../../data/kb.js";
import { toPlaceholders } from "../../data/placeholders.js";
import { type DialogScore, dialogScores } from "../../eval/dialog.js";
import { dialogPaper } from "../../eval/paper.js";
import { type Config, dialogDefaults, makeConfig } from "../../model/config.js";
import type { TrainedModel } from "../../model/file.js";
import {
  type DialogInput,
  dialogTestSet,
  type PreparedDialog,
  prepareDialog,
  withPlaceholders,
} from "../../train/dialog-prepare.js";
import { runSeeds } from "../../train/runs.js";
import { runCheckpointed, seedRuns } from "../checkpointed.js";
import { addConfigOptions, addRunOptions, configFromOptions } from "../config-options.js";
import {
  DIALOG_TASKS,
  dialogFile,
  findDialogDir,
  loadDialogTask,
  readDialogFile,
  readKnowledgeBase,
} from "../dialog-data.js";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../fsutil.js";
import { addLimitOptions, applyLimits } from "../limits.js";
import { loadModelFile, saveModel } from "../model-io.js";
import { type Job, runJobs } from "../pool.js";
import { commandWithoutShard, mergeParts, type Part, parseShard } from "../shards.js";
import { formatTable, pct } from "../table.js";
import { parseThreads } from "../threads.js";
import { parseWorkers } from "./train.js";

interface DialogOptions extends Record<string, unknown> {
  checkpoint?: string;
  resume?: boolean;
  force?: boolean;
  task?: string;
  tasks?: string;
  matchType?: boolean;
  data?: string;
  out?: string;
  model?: string;
  oov?: boolean;
  kb?: string | boolean;
  placeholders?: boolean;
  shard?: string;
  workers?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

const DATA_HELP = "the dialog-babi folder (default: dialog-babi under MEMN2N_DATA or ../shared/data)";

export function registerDialog(program: Command): void {
  const dialog = program
    .command("dialog")
    .description("goal-oriented dialog: the Dialog bAbI tasks 1-6, responses ranked among candidates");

  const train = dialog
    .command("train")
    .description("train a response-ranking model on one dialog task (best run chosen on the dev set)")
    .option("--task <n>", "the dialog task (1-6)")
    .option("--match-type", "add the match-type features of the knowledge base's entity types")
    .option(
      "--placeholders",
      "restaurants as placeholders ranked by rating (resto@1, ...), so that the bot can propose any of them",
    )
    .option("--out <file>", "where to write the model (.safetensors, or JSON for any other name)")
    .option("--checkpoint <file>", "checkpoint written after every epoch (default: <out>.ckpt)")
    .option("--resume", "continue an interrupted run from its checkpoint")
    .option("--force", "start over where the checkpoint of an interrupted run is (it is overwritten)")
    .option("--data <dir>", DATA_HELP);
  addRunOptions(train);
  addLimitOptions(train, { training: true, dialog: true });
  addConfigOptions(train, dialogDefaults());
  train.action((opts: DialogOptions) => trainCommand(opts));

  const test = dialog
    .command("test")
    .description("per-response and per-dialog accuracy of a dialog model on its task's test set")
    .option(
      "--model <file|name>",
      "a model file from `memn2n dialog train`, or a shipped model's name",
      "restaurant",
    )
    .option("--oov", "the out-of-vocabulary test set (tasks 1-5)")
    .option(
      "--kb [file]",
      "also replay the test dialogs with the API results looked up in the knowledge base (the model's own, or FILE)",
    )
    .option("--data <dir>", DATA_HELP)
    .option("--json", "print one JSON object as the last line");
  addLimitOptions(test).action((opts: DialogOptions) => testCommand(opts));

  const run = dialog
    .command("run")
    .description("every task without and with match type, beside the dialog paper's figures")
    .option("--tasks <list>", "dialog tasks, e.g. 1-6", "1-6")
    .option("--out <base>", "write <base>.json and <base>.md (e.g. results/dialog)")
    .option("--data <dir>", DATA_HELP);
  run.option(
    "--shard <k/n>",
    "run the k-th of n disjoint slices of the (task, variant, seed) runs and write <base>.part-k-of-n.json",
  );
  addRunOptions(run);
  addLimitOptions(run, { training: true, dialog: true });
  addConfigOptions(run, dialogDefaults());
  run.action((opts: DialogOptions) => runCommand(opts));

  dialog
    .command("merge")
    .description("merge the parts of a sharded `dialog run` into the results files the unsharded run writes")
    .argument("<parts...>", "the <base>.part-k-of-n.json files, all n of them")
    .requiredOption("--out <base>", "write <base>.json and <base>.md")
    .action((parts: string[], o: { out: string }) => mergeCommand(parts, o.out));
}

function dialogConfig(opts: DialogOptions): Config {
  return configFromOptions(opts, "dialog", dialogDefaults());
}

function parseTask(v: string | undefined): number {
  if (v === undefined) throw new UsageError("--task: which dialog task? (1-6, e.g. --task 1)");
  if (!/^\d+$/.test(v) || !DIALOG_TASKS.includes(Number(v))) {
    throw new UsageError(`--task: the dialog tasks are 1 to 6, got ${v}`);
  }
  return Number(v);
}

function parseDialogTasks(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(",")) {
    const m = /^\s*(\d)\s*(?:-\s*(\d)\s*)?$/.exec(part);
    const a = m ? Number(m[1]) : 0;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || a < 1 || b > 6 || a > b)
      throw new UsageError(`--tasks: "${spec}" is not a list of tasks 1 to 6`);
    for (let t = a; t <= b; t++) out.add(t);
  }
  return [...out].sort((x, y) => x - y);
}

/** Runs the seeds of several prepared data sets on the worker pool (a line per finished run); reports per set. */
async function trainAll(
  sets: { label: string; data: PreparedDialog }[],
  cfg: Config,
  opts: DialogOptions,
  mine: (job: number) => boolean = () => true,
): Promise<(RunReport | undefined)[][]> {
  const seeds = runSeeds(cfg);
  const all: Job[] = [];
  for (const s of sets) for (const seed of seeds) all.push({ cfg, seed, data: dialogRunData(s.data) });
  const picked = all.map((_, i) => i).filter(mine);
  const jobs = picked.map((i) => all[i]);
  const quiet = opts.quiet === true || opts.json === true;
  const started = performance.now();
  let finished = 0;
  const reports = await runJobs(
    jobs,
    parseWorkers(opts.workers),
    {
      onDone: (j, r) => {
        finished++;
        if (quiet) return;
        const s = sets[Math.floor(picked[j] / seeds.length)];
        const scores = (r.dialog ?? []).map((x) => `${x.name} ${pct(x.perResponse)}%`).join(", ");
        process.stderr.write(
          `[${finished}/${jobs.length}] ${s.label} seed ${jobs[j].seed}: dev ${pct(1 - r.run.validError)}%, ` +
            `${scores} (${r.seconds.toFixed(0)} s; ${((performance.now() - started) / 1000).toFixed(0)} s in all)\n`,
        );
      },
    },
    parseThreads(opts.threads),
  );
  const byJob: (RunReport | undefined)[] = new Array(all.length);
  picked.forEach((i, j) => {
    byJob[i] = reports[j];
  });
  return sets.map((_, i) => byJob.slice(i * seeds.length, (i + 1) * seeds.length));
}

async function trainCommand(opts: DialogOptions): Promise<void> {
  const task = parseTask(opts.task);
  const cfg = dialogConfig(opts);
  const matchType = opts.matchType === true;
  const ckptPath = opts.checkpoint ?? (opts.out ? `${opts.out}.ckpt` : undefined);
  if (opts.resume && !ckptPath)
    throw new UsageError("--resume: needs --out or --checkpoint to find the checkpoint");
  const bounds = applyLimits(opts, parseWorkers(opts.workers));
  const loaded = loadDialogTask(findDialogDir(opts.data), task);
  const input = opts.placeholders ? withPlaceholders(loaded) : loaded;
  const started = performance.now();
  const data = prepareDialog(input, cfg, matchType, bounds);
  const runs = await runCheckpointed({
    cfg,
    runs: seedRuns(cfg, dialogRunData(data)),
    keepWeights: true,
    key: {
      config: cfg,
      tasks: [task],
      set: `dialog${matchType ? "+match-type" : ""}${opts.placeholders ? "+placeholders" : ""}`,
    },
    ckptPath,
    resume: opts.resume === true,
    force: opts.force === true,
    workers: parseWorkers(opts.workers),
    threads: parseThreads(opts.threads),
    label: `dialog task ${task}`,
    quiet: opts.quiet === true || opts.json === true,
  });
  const best = bestReport(runs, cfg);
  if (opts.out) {
    saveModel(opts.out, trainedDialogModel(cfg, data, best, input, matchType));
    if (ckptPath) rmSync(ckptPath, { force: true });
  }
  const scores = best.dialog ?? [];
  printScores(task, matchType, scores, best.run.validError);
  if (opts.out) console.log(`model written to ${opts.out}`);
  else
    process.stderr.write("note: no --out given: the model was not kept (--out model.safetensors keeps it)\n");
  if (opts.json) {
    const tst = scores.find((s) => s.name === "tst");
    console.log(
      JSON.stringify({
        task,
        match_type: matchType,
        per_response_accuracy: tst?.perResponse ?? null,
        per_dialog_accuracy: tst?.perDialog ?? null,
        dev_accuracy: 1 - best.run.validError,
        tests: scores.map(scoreLine),
        seed: best.run.seed,
        seeds: runs.map((r) => r.run.seed),
        epochs: best.run.epochs,
        seconds: (performance.now() - started) / 1000,
        config: cfg,
      }),
    );
  }
}

function printScores(task: number, matchType: boolean, scores: DialogScore[], validError: number): void {
  const rows = scores.map((s) => {
    const paper = dialogPaper(task, s.name, matchType);
    return [
      s.name,
      pct(s.perResponse),
      paper ? paper.perResponse.toFixed(1) : "-",
      pct(s.perDialog),
      paper ? paper.perDialog.toFixed(1) : "-",
    ];
  });
  rows.unshift(["dev", pct(1 - validError), "-", "-", "-"]);
  console.log(
    `dialog task ${task}${matchType ? " + match type" : ""}\n` +
      formatTable(["set", "per-response %", "paper", "per-dialog %", "paper"], rows),
  );
}

async function testCommand(opts: DialogOptions): Promise<void> {
  applyLimits(opts);
  const trained = loadModelFile(opts.model, "dialog");
  const spec = trained.dialog!;
  const dir = findDialogDir(opts.data);
  const name = opts.oov ? "tst-OOV" : "tst";
  const file = dialogFile(dir, spec.task, name);
  if (!file)
    throw new UsageError(
      `task ${spec.task}: no ${name} file in ${dir}${opts.oov ? " (task 6 has no OOV set)" : ""}`,
    );
  const set = candidateSetOf(trained);
  const head = headOf(trained, set);
  const dialogs = readDialogFile(file);
  const kb = opts.kb === undefined ? null : knowledgeBaseOf(trained, opts.kb);
  const variants = [{ results: "file", dialogs }];
  if (kb) variants.push({ results: "knowledge base", dialogs: withKbResults(dialogs, kb) });
  const scored = variants.map((v, i) => {
    const seen = spec.placeholders ? v.dialogs.map(toPlaceholders) : v.dialogs;
    // Where the lookup finds other restaurants than the file, the file's response may name one the bot
    // cannot know: that turn counts as wrong.
    const test = dialogTestSet(
      spec.task,
      { name, file, dialogs: seen },
      trained.vocab,
      set,
      trained.config,
      spec.matchType,
      i === 0 ? "error" : "wrong",
    );
    return {
      results: v.results,
      score: dialogScores(trained.params, trained.config.encoding, head, [test])[0],
    };
  });
  const paper = dialogPaper(spec.task, name, spec.matchType);
  console.log(
    formatTable(
      ["task", "set", "API results", "per-response %", "paper", "per-dialog %", "paper"],
      scored.map(({ results, score }) => [
        spec.task,
        name,
        results,
        pct(score.perResponse),
        paper ? paper.perResponse.toFixed(1) : "-",
        pct(score.perDialog),
        paper ? paper.perDialog.toFixed(1) : "-",
      ]),
    ),
  );
  if (opts.json) {
    const [first, second] = scored;
    const figures = (x: DialogScore) => ({
      per_response_accuracy: x.perResponse,
      per_dialog_accuracy: x.perDialog,
      responses: x.responses,
      dialogs: x.dialogs,
    });
    console.log(
      JSON.stringify({
        task: spec.task,
        set: name,
        match_type: spec.matchType,
        placeholders: spec.placeholders !== undefined,
        ...figures(first.score),
        ...(second ? { kb: figures(second.score) } : {}),
        config: trained.config,
      }),
    );
  }
}

/** `--kb`: the model's own knowledge base, or the one of the file given. */
export function knowledgeBaseOf(trained: TrainedModel, given: string | boolean): KnowledgeBase {
  if (typeof given === "string") return readKnowledgeBase(given);
  const spec = trained.dialog?.kb;
  if (!spec) throw new UsageError("--kb: this model has no knowledge base of its own; give one: --kb FILE");
  return new KnowledgeBase(spec.attributes, spec.rows);
}

interface DialogResultRow {
  task: number;
  match_type: boolean;
  seed: number;
  seeds: number[];
  epochs: number;
  dev_accuracy: number;
  seconds: number;
  tests: Record<string, number | string>[];
}

async function runCommand(opts: DialogOptions): Promise<void> {
  const cfg = dialogConfig(opts);
  const tasks = parseDialogTasks(opts.tasks ?? "1-6");
  const bounds = applyLimits(opts, parseWorkers(opts.workers));
  const dir = findDialogDir(opts.data);
  const started = performance.now();
  const inputs: DialogInput[] = tasks.map((t) => loadDialogTask(dir, t));
  const sets = inputs.flatMap((input) =>
    [false, true].map((matchType) => ({
      label: `task ${input.task}${matchType ? " + match" : ""}`,
      task: input.task,
      matchType,
      data: prepareDialog(input, cfg, matchType, bounds),
    })),
  );
  const shard = opts.shard === undefined ? null : parseShard(opts.shard);
  if (shard && !opts.out) throw new UsageError("--shard: needs --out for the part file it writes");
  const seedCount = runSeeds(cfg).length;
  const reports = await trainAll(sets, cfg, opts, (j) => !shard || j % shard[1] === shard[0] - 1);
  const wall = (performance.now() - started) / 1000;
  const command = shard
    ? commandWithoutShard(process.argv.slice(2))
    : `memn2n ${process.argv.slice(2).join(" ")}`;
  if (shard && opts.out) {
    const base = `${opts.out}.part-${shard[0]}-of-${shard[1]}`;
    const part: DialogPart = {
      format: "memn2n-dialog-part",
      version: 1,
      shard,
      command,
      config: cfg,
      sets: sets.map((s) => ({ task: s.task, matchType: s.matchType })),
      seeds: seedCount,
      reports: reports.flatMap((per, si) =>
        per.flatMap((r, k) =>
          r ? [{ index: si * seedCount + k, report: { ...r, run: { ...r.run, params: undefined } } }] : [],
        ),
      ),
      wall_seconds: wall,
    };
    writeFileAtomic(`${base}.json`, `${JSON.stringify(part)}\n`);
    console.log(
      `shard ${shard[0]}/${shard[1]}: ${part.reports.length} of ${sets.length * seedCount} runs; wrote ${base}.json`,
    );
    return;
  }
  writeDialogResults(sets, reports as ReportFigures[][], cfg, command, wall, opts.out, opts.json === true);
}

/** What a shard of `dialog run` writes: its runs' figures by their index in the whole run. */
interface DialogPart extends Part {
  format: "memn2n-dialog-part";
  sets: { task: number; matchType: boolean }[];
  seeds: number;
}

function writeDialogResults(
  sets: { task: number; matchType: boolean }[],
  reports: ReportFigures[][],
  cfg: Config,
  command: string,
  wall: number,
  out: string | undefined,
  json: boolean,
  notes: string[] = [],
): void {
  const rows: DialogResultRow[] = sets.map((s, i) => {
    const best = bestReport(reports[i], cfg);
    return {
      task: s.task,
      match_type: s.matchType,
      seed: best.run.seed,
      seeds: reports[i].map((r) => r.run.seed),
      epochs: best.run.epochs,
      dev_accuracy: 1 - best.run.validError,
      seconds: reports[i].reduce((a, r) => a + r.seconds, 0),
      tests: (best.dialog ?? []).map(scoreLine),
    };
  });
  const md = dialogMarkdown(rows, cfg, command, wall) + notes.map((n) => `\n- ${n}\n`).join("");
  // The tables, not the whole results file: that goes to --out.
  console.log(md.split("\n## Runs")[0].trimEnd());
  if (out) {
    writeFileAtomic(
      `${out}.json`,
      `${JSON.stringify({ command, config: cfg, wall_seconds: wall, runs: rows }, null, 2)}\n`,
    );
    writeFileAtomic(`${out}.md`, md);
  }
  if (json) console.log(JSON.stringify({ command, config: cfg, wall_seconds: wall, runs: rows }));
}

/** `memn2n dialog merge`: the parts of a sharded `dialog run`, checked to be one run's, into its files. */
function mergeCommand(files: string[], out: string): void {
  const { first, reports, wall, command, note } = mergeParts<DialogPart>(
    files,
    {
      format: "memn2n-dialog-part",
      extra: {
        sets: z.array(z.object({ task: z.number().int().min(1).max(6), matchType: z.boolean() })).max(100),
        seeds: z.number().int().min(1).max(100_000),
      },
      what: "dialog run",
      command: "dialog run",
      total: (p) => p.sets.length * p.seeds,
      same: (a, b) => JSON.stringify(a.sets) === JSON.stringify(b.sets),
    },
    out,
  );
  const per = first.sets.map((_, i) => reports.slice(i * first.seeds, (i + 1) * first.seeds));
  writeDialogResults(first.sets, per, makeConfig(first.config), command, wall, out, false, [note]);
}

function dialogMarkdown(rows: DialogResultRow[], cfg: Config, command: string, wall: number): string {
  const cell = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(1));
  const lines: string[] = [];
  const table = (set: string, title: string) => {
    lines.push(`## ${title}`, "");
    lines.push(
      "| task | per-response % | paper | per-dialog % | paper | + match: per-response % | paper | + match: per-dialog % | paper |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    const tasks = [...new Set(rows.map((r) => r.task))];
    for (const task of tasks) {
      const cells: string[] = [String(task)];
      for (const matchType of [false, true]) {
        const row = rows.find((r) => r.task === task && r.match_type === matchType);
        const score = row?.tests.find((t) => t.set === set);
        const paper = dialogPaper(task, set, matchType);
        cells.push(
          score ? pct(score.per_response_accuracy as number) : "–",
          cell(paper?.perResponse),
          score ? pct(score.per_dialog_accuracy as number) : "–",
          cell(paper?.perDialog),
        );
      }
      if (set === "tst-OOV" && task === 6) continue;
      lines.push(`| ${cells.join(" | ")} |`);
    }
    lines.push("");
  };
  lines.push(
    "# Dialog bAbI: MemN2N response ranking",
    "",
    "Accuracy in % of the run chosen on the dev set, beside the MemN2N figures of Bordes, Boureau & Weston,",
    "*Learning End-to-End Goal-Oriented Dialog* (ICLR 2017), Table 2 (per-dialog accuracy: the paper's",
    "figures in parentheses). Per-response: turns whose response was chosen right; per-dialog: dialogs",
    "all of whose responses were right.",
    "",
  );
  table("tst", "Test sets");
  table("tst-OOV", "Out-of-vocabulary test sets (tasks 1-5)");
  lines.push(
    "## Runs",
    "",
    "| task | match type | dev accuracy % | chosen seed | seeds | epochs | seconds |",
  );
  lines.push("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    lines.push(
      `| ${r.task} | ${r.match_type ? "yes" : "no"} | ${pct(r.dev_accuracy)} | ${r.seed} | ${r.seeds.join(", ")} | ${r.epochs} | ${r.seconds.toFixed(0)} |`,
    );
  }
  lines.push(
    "",
    `Command: \`${command}\`  `,
    `Wall time: ${(wall / 60).toFixed(1)} min on ${cpus()[0]?.model ?? "an unknown CPU"} (${cpus().length} cores), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.  `,
    `Config: \`${JSON.stringify(cfg)}\``,
    "",
  );
  return lines.join("\n");
}
