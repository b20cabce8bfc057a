import { existsSync, rmSync } from "node:fs";
import type { Command } from "commander";
import { type RunReport, type TrainReport, trainedModel, trainRuns } from "../../api/train.js";
import { parseTaskList } from "../../data/tasks.js";
import type { Config } from "../../model/config.js";
import { createParams, shapeFor } from "../../model/params.js";
import {
  type Checkpoint,
  checkpointFromJson,
  checkpointToJson,
  configDifference,
  setWeights,
  weightsOf,
} from "../../train/checkpoint.js";
import { NonFiniteLossError } from "../../train/trainer.js";
import { addConfigOptions, configFromOptions } from "../config-options.js";
import { BABI_SETS, findBabiDir, loadTask } from "../datadir.js";
import { UsageError } from "../errors.js";
import { readJsonFile, writeFileAtomic } from "../fsutil.js";
import { saveModel } from "../model-io.js";
import { createProgress } from "../progress.js";
import { formatTable } from "../table.js";

interface TrainOptions extends Record<string, unknown> {
  task?: string;
  tasks?: string;
  data?: string;
  set: string;
  out?: string;
  checkpoint?: string;
  resume?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command("train")
    .description("train a model on bAbI tasks with the paper's protocol and write it to a file")
    .option("--task <n>", "the task to train on (1-20)")
    .option("--tasks <list>", "several tasks (with --joint), e.g. 1-20")
    .option("--data <dir>", "bAbI folder: the release root or a folder of qaN_*train.txt files")
    .option("--set <name>", `which set of the release (${BABI_SETS.join(", ")})`, "en")
    .option("--out <file>", "where to write the model (JSON)")
    .option("--checkpoint <file>", "checkpoint written after every epoch (default: <out>.ckpt)")
    .option("--resume", "continue an interrupted run from its checkpoint")
    .option("--json", "print one JSON object as the last line")
    .option("--quiet", "no progress output");
  addConfigOptions(cmd);
  cmd.action((opts: TrainOptions) => trainCommand(opts));
}

function trainCommand(opts: TrainOptions): void {
  const cfg = configFromOptions(opts, opts.set);
  if (!opts.task && !opts.tasks) throw new UsageError("--task: which task to train on? (e.g. --task 1)");
  const tasks = parseTaskList(opts.tasks ?? opts.task!);
  if (tasks.length > 1 && !cfg.joint) throw new UsageError("--tasks: several tasks need --joint");
  const ckptPath = opts.checkpoint ?? (opts.out ? `${opts.out}.ckpt` : undefined);
  if (opts.resume && !ckptPath)
    throw new UsageError("--resume: needs --out or --checkpoint to find the checkpoint");
  const dir = findBabiDir(opts.set, opts.data);
  const loaded = tasks.map((t) => loadTask(dir, t));
  const key = { config: cfg, tasks, set: opts.set };

  let resumed: Checkpoint | null = null;
  if (opts.resume) resumed = loadCheckpoint(ckptPath!, cfg, tasks, opts.set);

  const progress = createProgress(`task ${tasks.join(",")}`, opts.quiet === true || opts.json === true);
  const started = performance.now() / 1000;
  const doneRuns: RunReport[] = resumed ? resumed.done : [];
  let report: TrainReport;
  try {
    report = trainRuns(
      loaded.map((l) => ({ task: l.task, train: l.train.examples, test: l.test.examples })),
      cfg,
      {
        onEvent: (e) => progress.onEvent(e),
        done: doneRuns,
        onRunDone: (rep) => doneRuns.push(rep),
        resume: (t, r) => {
          const cur = resumed?.current;
          if (!cur || cur.runIndex !== r) return false;
          setWeights(t.params, cur.weights, ckptPath!, "current.weights");
          t.restore(cur.state);
          return true;
        },
        afterEpoch: (t, r) => {
          if (!ckptPath) return;
          const ckpt: Checkpoint = {
            key,
            done: doneRuns,
            current: { runIndex: r, state: t.state, weights: weightsOf(t.params) },
          };
          writeFileAtomic(ckptPath, JSON.stringify(checkpointToJson(ckpt)));
        },
      },
    );
  } catch (e) {
    progress.stop();
    if (e instanceof NonFiniteLossError) {
      const kept = ckptPath && existsSync(ckptPath) ? `; the last good checkpoint is ${ckptPath}` : "";
      throw new Error(`${e.message}${kept}. Try a lower --lr or --max-grad-norm.`);
    }
    throw e;
  }
  progress.stop();
  const seconds = performance.now() / 1000 - started;
  if (opts.out) {
    saveModel(opts.out, trainedModel(cfg, report.data, report.best.run, tasks, opts.set));
    if (ckptPath) rmSync(ckptPath, { force: true });
  }
  printResult(cfg, tasks, report, seconds, opts);
}

function loadCheckpoint(path: string, cfg: Config, tasks: number[], set: string): Checkpoint {
  if (!existsSync(path)) throw new UsageError(`--resume: no checkpoint at ${path}`);
  const json = readJsonFile(path) as {
    key?: { config?: Record<string, unknown>; tasks?: number[]; set?: string };
  };
  const vocabSize = vocabSizeOf(json, cfg);
  const makeParams = () => createParams(shapeFor(cfg, vocabSize));
  const diff = json.key?.config ? configDifference(cfg, json.key.config) : "config";
  if (diff)
    throw new UsageError(`--resume: ${path} was made with a different ${diff}; give the same options`);
  if (JSON.stringify(json.key?.tasks) !== JSON.stringify(tasks) || json.key?.set !== set) {
    throw new UsageError(`--resume: ${path} was made for other tasks or another set`);
  }
  return checkpointFromJson(json, path, makeParams);
}

/** Rows of the first word matrix: the vocabulary size the checkpoint's weights were made for. */
function vocabSizeOf(json: unknown, cfg: Config): number {
  const j = json as {
    current?: { weights?: Record<string, number[]> };
    done?: { run?: { params?: Record<string, number[]> } }[];
  };
  const w = j.current?.weights ?? j.done?.[0]?.run?.params;
  const first = w ? Object.values(w)[0] : undefined;
  return first ? Math.floor(first.length / cfg.dim) : 0;
}

function printResult(
  cfg: Config,
  tasks: number[],
  report: TrainReport,
  seconds: number,
  opts: TrainOptions,
): void {
  const { runs, best } = report;
  const rows = runs.map((r) => [
    r.run.seed,
    r.run.epochs,
    pct(r.run.trainError),
    pct(r.run.validError),
    pct(r.testError),
    r.seconds.toFixed(1),
    r === best ? "chosen" : "",
  ]);
  console.log(
    formatTable(["seed", "epochs", "train err %", "valid err %", "test err %", "seconds", ""], rows),
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

function pct(x: number): string {
  return (100 * x).toFixed(1);
}
