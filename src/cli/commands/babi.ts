import { rmSync } from "node:fs";
import { cpus } from "node:os";
import type { Command } from "commander";
import { z } from "zod";
import { bestReport, type ReportFigures, runDataOf } from "../../api/train.js";
import { parseTaskList, TASK_NAMES } from "../../data/tasks.js";
import { FAIL_THRESHOLD, paperColumn } from "../../eval/paper.js";
import { type Config, makeConfig } from "../../model/config.js";
import { type Prepared, prepare } from "../../train/prepare.js";
import { runSeeds } from "../../train/runs.js";
import { runCheckpointed } from "../checkpointed.js";
import { addConfigOptions, addDataOptions, addRunOptions, configFromOptions } from "../config-options.js";
import {
  fallbackOf,
  findBabiDir,
  type LoadedTask,
  loadTask,
  MissingTaskFile,
  trainSetsOf,
} from "../datadir.js";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../fsutil.js";
import { addLimitOptions, applyLimits } from "../limits.js";
import { duration, type SweepResult, type SweepRun, summarize, writeResults } from "../results.js";
import { commandWithoutShard, mergeParts, type Part, type PartKind, parseShard } from "../shards.js";
import { formatTable, pct } from "../table.js";
import { parseThreads } from "../threads.js";
import { parseWorkers } from "./train.js";

interface BabiOptions extends Record<string, unknown> {
  tasks: string;
  data?: string;
  set: string;
  fallbackSet?: string;
  out?: string;
  workers?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
  checkpoint?: string;
  resume?: boolean;
  force?: boolean;
  shard?: string;
}

// A sweep's checkpoint holds every finished run's figures and the weights of the runs under way; writing
// those weights after every epoch of every run would cost more than the little work it could save.
const SAVE_EVERY_SECONDS = 30;

export function registerBabi(program: Command): void {
  const cmd = program
    .command("babi")
    .description(
      "the paper's protocol over bAbI tasks: train every task (or one joint model), report beside the paper",
    )
    .option("--tasks <list>", "tasks, e.g. 1-20", "1-20")
    .option("--out <base>", "write <base>.json, <base>.md and <base>.svg (e.g. results/pe-ls-rn-1k)")
    .option("--checkpoint <file>", "checkpoint of the sweep, written as runs progress (default: <base>.ckpt)")
    .option("--resume", "continue an interrupted sweep from its checkpoint")
    .option("--force", "start over where the checkpoint of an interrupted sweep is (it is overwritten)")
    .option(
      "--shard <k/n>",
      "run the k-th of n disjoint slices of the (task, seed) runs and write <base>.part-k-of-n.json (see `babi merge`)",
    );
  addDataOptions(cmd, { training: true });
  addRunOptions(cmd);
  addConfigOptions(cmd);
  addLimitOptions(cmd, { training: true });
  cmd.action((opts: BabiOptions) => babiCommand(opts));
  cmd
    .command("merge")
    .description("merge the parts of a sharded sweep into the results files the unsharded sweep writes")
    .argument("<parts...>", "the <base>.part-k-of-n.json files, all n of them")
    .option("--out <base>", "write <base>.json, <base>.md and <base>.svg")
    .option("--json", "print one JSON object as the last line")
    .action(function (this: Command, parts: string[], o: { out?: string; json?: boolean }) {
      // `babi` has an --out and a --json of its own, which take the values given after `merge`.
      const up = this.parent?.opts() as { out?: string; json?: boolean } | undefined;
      const out = o.out ?? up?.out;
      if (!out) throw new UsageError("babi merge: --out: where to write the results (e.g. results/NAME)");
      return mergeCommand(parts, { out, json: o.json === true || up?.json === true });
    });
}

/** What a shard writes: its runs' figures, by their index in the whole sweep, and what the sweep was. */
export interface SweepPart extends Part {
  format: "memn2n-sweep-part";
  set: string;
  tasks: number[];
  groups: (number | "joint")[];
  skipped: { task: number; reason: string }[];
  trainSets?: Record<string, string>;
  jobs: { group: number; seed: number }[];
  workers: number;
}

async function babiCommand(opts: BabiOptions): Promise<void> {
  const cfg = configFromOptions(opts, opts.set);
  const taskList = parseTaskList(opts.tasks, "--tasks");
  const workers = parseWorkers(opts.workers);
  const shard = opts.shard === undefined ? null : parseShard(opts.shard);
  if (shard && !opts.out) throw new UsageError("--shard: needs --out for the part file it writes");
  const partBase = shard && opts.out ? `${opts.out}.part-${shard[0]}-of-${shard[1]}` : null;
  const ckptPath =
    opts.checkpoint ?? (partBase ? `${partBase}.ckpt` : opts.out ? `${opts.out}.ckpt` : undefined);
  if (opts.resume && !ckptPath)
    throw new UsageError("--resume: needs --out or --checkpoint to find the checkpoint");
  const bounds = applyLimits(opts, workers);
  const dir = findBabiDir(opts.set, opts.data);
  const fallback = fallbackOf(opts.set, opts.fallbackSet, opts.data);
  const loaded: LoadedTask[] = [];
  const skipped: { task: number; reason: string }[] = [];
  for (const t of taskList) {
    try {
      loaded.push(loadTask(dir, t, fallback));
    } catch (e) {
      if (!(e instanceof MissingTaskFile)) throw e;
      skipped.push({ task: t, reason: e.message });
    }
  }
  if (loaded.length === 0)
    throw new UsageError(`--tasks: none of the tasks ${opts.tasks} has its files in ${dir}`);
  const borrowed = trainSetsOf(loaded);
  const examples = (l: LoadedTask) => ({ task: l.task, train: l.train.examples, test: l.test.examples });
  // Single task: one data set per task; joint: one over all of them.
  const groups: { task: number | "joint"; data: Prepared }[] = cfg.joint
    ? [{ task: "joint", data: prepare(loaded.map(examples), cfg, bounds) }]
    : loaded.map((l) => ({ task: l.task, data: prepare([examples(l)], cfg, bounds) }));
  const seeds = runSeeds(cfg);
  const allJobs = groups.flatMap((g, gi) =>
    seeds.map((seed) => ({ group: gi, seed, data: runDataOf(g.data) })),
  );
  // A shard takes every n-th run: slices of like sizes whatever the order of tasks.
  const mineOf = allJobs.map((_, i) => i).filter((i) => !shard || i % shard[1] === shard[0] - 1);
  const jobs = mineOf.map((i) => allJobs[i]);
  const started = performance.now() / 1000;
  let finished = 0;
  let resumed = 0;
  let priorWall: number | null = null;
  const log = (line: string) => {
    if (!opts.quiet && !opts.json) process.stderr.write(`${line}\n`);
  };
  log(
    `${shard ? `${jobs.length} of the sweep's ${allJobs.length}` : jobs.length} runs (${groups.length} ${cfg.joint ? "joint model" : "tasks"} × ${seeds.length} seeds) on ${workers} worker(s)`,
  );
  const reports = await runCheckpointed({
    cfg,
    runs: jobs,
    keepWeights: false,
    key: { config: cfg, tasks: loaded.map((l) => l.task), set: opts.set, ...borrowed },
    ckptPath,
    resume: opts.resume === true,
    force: opts.force === true,
    workers,
    threads: parseThreads(opts.threads),
    saveEvery: SAVE_EVERY_SECONDS,
    // One line per finished run (below) rather than a per-epoch display of runs in parallel.
    label: "babi",
    quiet: true,
    onResume: (seconds) => {
      priorWall = seconds;
    },
    onDone: (j, r, fromCheckpoint) => {
      finished++;
      if (fromCheckpoint) resumed++;
      const g = groups[jobs[j].group];
      const elapsed = performance.now() / 1000 - started;
      const from = fromCheckpoint ? "from the checkpoint" : `${duration(elapsed)} in all`;
      log(
        `[${finished}/${jobs.length}] ${g.task === "joint" ? "joint" : `task ${g.task}`} seed ${jobs[j].seed}: ` +
          `valid err ${pct(r.run.validError)}% test err ${pct(r.testError)}% (${r.seconds.toFixed(1)} s; ${from})`,
      );
    },
  });
  // A resumed sweep counts the interrupted processes' wall time too.
  const wall = performance.now() / 1000 - started + (priorWall ?? 0);

  const command = shard
    ? commandWithoutShard(process.argv.slice(2))
    : `memn2n ${process.argv.slice(2).join(" ")}`;
  if (shard && partBase) {
    const part: SweepPart = {
      format: "memn2n-sweep-part",
      version: 1,
      shard,
      command,
      set: opts.set,
      config: cfg,
      tasks: loaded.map((l) => l.task),
      groups: groups.map((g) => g.task),
      skipped,
      ...borrowed,
      jobs: allJobs.map((j) => ({ group: j.group, seed: j.seed })),
      reports: reports.map((report, i) => ({ index: mineOf[i], report })),
      wall_seconds: wall,
      workers,
    };
    writeFileAtomic(`${partBase}.json`, `${JSON.stringify(part)}\n`);
    if (ckptPath) rmSync(ckptPath, { force: true });
    console.log(
      `shard ${shard[0]}/${shard[1]}: ${jobs.length} of ${allJobs.length} runs; wrote ${partBase}.json`,
    );
    return;
  }
  await finishSweep({
    cfg,
    set: opts.set,
    groups: groups.map((g) => g.task),
    jobs,
    reports,
    skipped,
    wall,
    workers,
    command,
    notes: [
      ...borrowedNotes(borrowed.trainSets, opts.set),
      ...(priorWall !== null
        ? [
            `Resumed from a checkpoint with ${resumed} of ${jobs.length} runs finished; the wall time counts ` +
              "every process's part.",
          ]
        : []),
    ],
    out: opts.out,
    json: opts.json === true,
    ckptPath,
  });
}

interface SweepRuns {
  cfg: Config;
  set: string;
  groups: (number | "joint")[];
  jobs: { group: number; seed: number }[];
  reports: ReportFigures[];
  skipped: { task: number; reason: string }[];
  wall: number;
  workers: number;
  command: string;
  notes: string[];
  out?: string;
  json: boolean;
  ckptPath?: string;
}

/** The chosen run per task, the table and the results files, from every run of a sweep. */
async function finishSweep(x: SweepRuns): Promise<void> {
  const { cfg, groups, jobs, reports, skipped, wall, workers } = x;
  const paper = paperColumn({ ...cfg, set: x.set });
  const runs: SweepRun[] = [];
  const chosen: SweepResult["tasks"] = [];
  groups.forEach((task, gi) => {
    const mine = jobs.map((j, i) => ({ j, r: reports[i] })).filter((m) => m.j.group === gi);
    for (const { r } of mine) runs.push(sweepRun(task, r));
    const best = bestReport(
      mine.map((m) => m.r),
      cfg,
    );
    for (const t of best.tests) {
      chosen.push({
        task: t.task,
        name: TASK_NAMES[t.task],
        seed: best.run.seed,
        test_error: t.error,
        paper: paper?.errors[t.task - 1] ?? null,
      });
    }
  });
  chosen.sort((a, b) => a.task - b.task);
  const { mean, failed } = summarize(chosen);
  // The paper's figures over the same tasks (its stated ones where it has no per-task figures).
  const paperTasks = chosen.filter((t) => t.paper !== null);
  const paperSame = paperTasks.length === chosen.length && chosen.length > 0;
  const paperMean = paper
    ? paperSame
      ? paperTasks.reduce((s, t) => s + t.paper!, 0) / chosen.length
      : paper.mean
    : null;
  const paperFailed = paper
    ? paperSame
      ? paperTasks.filter((t) => t.paper! > 100 * FAIL_THRESHOLD).length
      : paper.failed
    : null;
  const result: SweepResult = {
    name: x.out ?? "babi",
    command: x.command,
    set: x.set,
    joint: cfg.joint,
    config: cfg,
    paper_column: paper?.name ?? null,
    tasks: chosen,
    skipped,
    mean_error: mean,
    failed,
    paper_mean: paperMean,
    paper_failed: paperFailed,
    seeds: runSeeds(cfg),
    wall_seconds: wall,
    workers,
    machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`,
    date: new Date().toISOString().slice(0, 10),
    notes: [
      ...(paper
        ? paperSame
          ? []
          : [`The paper's mean and failed count are its own, over all 20 tasks.`]
        : ["The paper's Table 1 has no column for this configuration."]),
      ...x.notes,
    ],
    runs,
  };
  const rows = chosen.map((t) => [
    t.task,
    t.name,
    pct(t.test_error),
    t.paper === null ? "–" : t.paper.toFixed(1),
    t.seed,
  ]);
  for (const s of skipped) rows.push([s.task, TASK_NAMES[s.task], "skipped", "", ""]);
  console.log(formatTable(["task", "name", "ours %", "paper %", "seed"], rows));
  console.log(
    `mean error ${pct(mean)}% (paper ${paperMean === null ? "–" : paperMean.toFixed(1)}), failed tasks ` +
      `(> ${pct(FAIL_THRESHOLD)}%) ${failed} (paper ${paperFailed ?? "–"}), wall time ${duration(wall)}`,
  );
  if (x.out) {
    console.log(`wrote ${(await writeResults(x.out, result)).join(", ")}`);
    if (x.ckptPath) rmSync(x.ckptPath, { force: true });
  }
  if (x.json) {
    const { runs: _, ...summary } = result;
    console.log(JSON.stringify(summary));
  }
}

/** What a sweep's part file holds beyond every part's fields, and which parts are of one sweep. */
export const SWEEP_PARTS: PartKind<SweepPart> = {
  format: "memn2n-sweep-part",
  extra: {
    set: z.string().max(100),
    tasks: z.array(z.number().int().min(1).max(20)).max(20),
    groups: z.array(z.union([z.number().int().min(1).max(20), z.literal("joint")])).max(20),
    skipped: z.array(z.object({ task: z.number().int(), reason: z.string().max(10_000) })).max(20),
    trainSets: z.record(z.string(), z.string().max(100)).optional(),
    jobs: z
      .array(z.object({ group: z.number().int().nonnegative(), seed: z.number().int().nonnegative() }))
      .max(1_000_000),
    workers: z.number().int().min(1).max(100_000),
  },
  what: "sweep",
  command: "babi",
  total: (p) => p.jobs.length,
  same: (a, b) => a.set === b.set && JSON.stringify(a.jobs) === JSON.stringify(b.jobs),
};

/** `memn2n babi merge`: the parts of a sharded sweep, checked to be one sweep's, into its results files. */
async function mergeCommand(files: string[], o: { out: string; json?: boolean }): Promise<void> {
  const { first, parts, reports, wall, command, note } = mergeParts<SweepPart>(files, SWEEP_PARTS, o.out);
  await finishSweep({
    cfg: makeConfig(first.config),
    set: first.set,
    groups: first.groups,
    jobs: first.jobs,
    reports,
    skipped: first.skipped,
    wall,
    workers: parts.reduce((s, p) => s + p.workers, 0),
    command,
    notes: [...borrowedNotes(first.trainSets, first.set), note],
    out: o.out,
    json: o.json === true,
  });
}

function sweepRun(task: number | "joint", r: ReportFigures): SweepRun {
  return {
    task,
    seed: r.run.seed,
    epochs: r.run.epochs,
    ls_epochs: r.run.lsEpochs,
    train_error: r.run.trainError,
    valid_error: r.run.validError,
    test_error: r.testError,
    test_errors: Object.fromEntries(r.tests.map((t) => [t.task, t.error])),
    seconds: r.seconds,
  };
}

/** The results' word on tasks trained on another set's file (`--fallback-set`). */
function borrowedNotes(trainSets: Record<string, string> | undefined, set: string): string[] {
  return Object.entries(trainSets ?? {}).map(
    ([task, from]) =>
      `Task ${task} was trained on the ${from} set's training file (${set} has none); its test file is ${set}'s.`,
  );
}
