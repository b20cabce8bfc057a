import { rmSync } from "node:fs";
import type { Command } from "commander";
import { bestReport, type RunReport, runDataOf, trainedModel } from "../../api/train.js";
import { parseTaskList } from "../../data/tasks.js";
import type { Config } from "../../model/config.js";
import { prepare } from "../../train/prepare.js";
import { runCheckpointed, seedRuns } from "../checkpointed.js";
import { addConfigOptions, addDataOptions, addRunOptions, configFromOptions } from "../config-options.js";
import { fallbackOf, findBabiDir, loadTask, trainSetsOf } from "../datadir.js";
import { UsageError } from "../errors.js";
import { addLimitOptions, applyLimits } from "../limits.js";
import { saveModel } from "../model-io.js";
import { defaultWorkers } from "../pool.js";
import { formatTable, pct } from "../table.js";
import { parseThreads } from "../threads.js";
import { wholeOption } from "../whole.js";

interface TrainOptions extends Record<string, unknown> {
  task?: string;
  tasks?: string;
  data?: string;
  set: string;
  fallbackSet?: string;
  out?: string;
  checkpoint?: string;
  resume?: boolean;
  force?: boolean;
  workers?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command("train")
    .description("train a model on bAbI tasks with the paper's protocol and write it to a file")
    .option("--task <n>", "the task to train on (1-20)")
    .option("--tasks <list>", "several tasks (with --joint), e.g. 1-20")
    .option("--out <file>", "where to write the model (.safetensors, or JSON for any other name)")
    .option("--checkpoint <file>", "checkpoint written after every epoch (default: <out>.ckpt)")
    .option("--resume", "continue an interrupted run from its checkpoint")
    .option("--force", "start over where the checkpoint of an interrupted run is (it is overwritten)");
  addDataOptions(cmd, { training: true });
  addRunOptions(cmd);
  addConfigOptions(cmd);
  addLimitOptions(cmd, { training: true });
  cmd.action((opts: TrainOptions) => trainCommand(opts));
}

async function trainCommand(opts: TrainOptions): Promise<void> {
  const cfg = configFromOptions(opts, opts.set);
  if (!opts.task && !opts.tasks) throw new UsageError("--task: which task to train on? (e.g. --task 1)");
  const tasks = parseTaskList(opts.tasks ?? opts.task!, opts.tasks ? "--tasks" : "--task");
  if (tasks.length > 1 && !cfg.joint) throw new UsageError("--tasks: several tasks need --joint");
  const workers = parseWorkers(opts.workers);
  const ckptPath = opts.checkpoint ?? (opts.out ? `${opts.out}.ckpt` : undefined);
  if (opts.resume && !ckptPath)
    throw new UsageError("--resume: needs --out or --checkpoint to find the checkpoint");
  const bounds = applyLimits(opts, workers);
  const dir = findBabiDir(opts.set, opts.data);
  const fallback = fallbackOf(opts.set, opts.fallbackSet, opts.data);
  const loaded = tasks.map((t) => loadTask(dir, t, fallback));
  const borrowed = trainSetsOf(loaded);
  const data = prepare(
    loaded.map((l) => ({ task: l.task, train: l.train.examples, test: l.test.examples })),
    cfg,
    bounds,
  );
  const started = performance.now() / 1000;
  const runs = await runCheckpointed({
    cfg,
    runs: seedRuns(cfg, runDataOf(data)),
    keepWeights: true,
    key: { config: cfg, tasks, set: opts.set, ...borrowed },
    ckptPath,
    resume: opts.resume === true,
    force: opts.force === true,
    workers,
    threads: parseThreads(opts.threads),
    label: `task ${tasks.join(",")}`,
    quiet: opts.quiet === true || opts.json === true,
  });
  const seconds = performance.now() / 1000 - started;
  const best = bestReport(runs, cfg);
  if (opts.out) {
    const trained = trainedModel(cfg, data, best.run, tasks, opts.set, best.tests);
    saveModel(opts.out, { ...trained, meta: { ...trained.meta, ...borrowed } });
    if (ckptPath) rmSync(ckptPath, { force: true });
  }
  printResult(cfg, tasks, runs, best, seconds, opts);
}

export function parseWorkers(v: string | undefined): number {
  return v === undefined ? defaultWorkers() : wholeOption("--workers", v, 1);
}

function printResult(
  cfg: Config,
  tasks: number[],
  runs: RunReport[],
  best: RunReport,
  seconds: number,
  opts: TrainOptions,
): void {
  const rows = runs.map((r) => [
    r.run.seed,
    r.run.epochs,
    pct(r.run.trainError),
    cfg.validFraction > 0 ? pct(r.run.validError) : "-",
    pct(r.testError),
    r.seconds.toFixed(1),
    r === best ? "chosen" : "-",
  ]);
  console.log(
    formatTable(["seed", "epochs", "train err %", "valid err %", "test err %", "seconds", "kept"], rows),
  );
  if (tasks.length > 1) {
    console.log(
      formatTable(
        ["task", "test err %"],
        best.tests.map((t) => [t.task, pct(t.error)]),
      ),
    );
  }
  console.log(`config: ${JSON.stringify(cfg)}`);
  if (opts.out) console.log(`model written to ${opts.out}`);
  else
    process.stderr.write("note: no --out given: the model was not kept (--out model.safetensors keeps it)\n");
  if (opts.json) {
    console.log(
      JSON.stringify({
        task: tasks.length === 1 ? tasks[0] : tasks,
        config: cfg,
        seed: best.run.seed,
        epochs: best.run.epochs,
        train_error: best.run.trainError,
        valid_error: best.run.validError,
        test_error: best.testError,
        test_errors: Object.fromEntries(best.tests.map((t) => [t.task, t.error])),
        seconds,
        runs: runs.map((r) => ({
          seed: r.run.seed,
          epochs: r.run.epochs,
          ls_epochs: r.run.lsEpochs,
          train_error: r.run.trainError,
          valid_error: r.run.validError,
          test_error: r.testError,
          seconds: r.seconds,
        })),
        model: opts.out ?? null,
      }),
    );
  }
}
