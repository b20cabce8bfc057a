import type { Command } from "commander";
import { parseTaskList } from "../../data/tasks.js";
import { meanError, taskErrors } from "../../eval/errors.js";
import type { Config } from "../../model/config.js";
import { prepare } from "../../train/prepare.js";
import { pickBest, runSeeds, trainOne } from "../../train/runs.js";
import { addConfigOptions, configFromOptions } from "../config-options.js";
import { BABI_SETS, findBabiDir, loadTask } from "../datadir.js";
import { UsageError } from "../errors.js";
import { saveModel } from "../model-io.js";
import { createProgress } from "../progress.js";
import { formatTable } from "../table.js";

interface TrainOptions extends Record<string, unknown> {
  task?: string;
  tasks?: string;
  data?: string;
  set: string;
  out?: string;
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
  const dir = findBabiDir(opts.set, opts.data);
  const loaded = tasks.map((t) => loadTask(dir, t));
  const data = prepare(
    loaded.map((l) => ({ task: l.task, train: l.train.examples, test: l.test.examples })),
    cfg,
  );
  const label = `task ${tasks.join(",")}`;
  const progress = createProgress(label, opts.quiet === true || opts.json === true);
  const started = performance.now();
  const runs = runSeeds(cfg).map((seed) => {
    const t0 = performance.now();
    const run = trainOne(cfg, data, seed, (e) => progress.onEvent(e));
    const tests = taskErrors(run.params, cfg.encoding, data.tests);
    return { run, tests, seconds: (performance.now() - t0) / 1000 };
  });
  progress.stop();
  const best = pickBest(
    runs.map((r) => r.run),
    cfg,
  );
  const chosen = runs.find((r) => r.run === best)!;
  const seconds = (performance.now() - started) / 1000;
  if (opts.out) {
    saveModel(opts.out, {
      config: cfg,
      vocab: data.vocab,
      answers: data.answers,
      params: best.params,
      meta: {
        tasks,
        set: opts.set,
        seed: best.seed,
        epochs: best.epochs,
        trainError: best.trainError,
        validError: best.validError,
      },
    });
  }
  printResult(cfg, tasks, runs, chosen, seconds, opts);
}

interface RunReport {
  run: ReturnType<typeof trainOne>;
  tests: ReturnType<typeof taskErrors>;
  seconds: number;
}

function printResult(
  cfg: Config,
  tasks: number[],
  runs: RunReport[],
  chosen: RunReport,
  seconds: number,
  opts: TrainOptions,
): void {
  const rows = runs.map((r) => [
    r.run.seed,
    r.run.epochs,
    pct(r.run.trainError),
    pct(r.run.validError),
    pct(meanError(r.tests)),
    r.seconds.toFixed(1),
    r === chosen ? "chosen" : "",
  ]);
  console.log(
    formatTable(["seed", "epochs", "train err %", "valid err %", "test err %", "seconds", ""], rows),
  );
  if (tasks.length > 1) {
    console.log(
      formatTable(
        ["task", "test err %"],
        chosen.tests.map((t) => [t.task, pct(t.error)]),
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
        seed: chosen.run.seed,
        epochs: chosen.run.epochs,
        train_error: chosen.run.trainError,
        valid_error: chosen.run.validError,
        test_error: meanError(chosen.tests),
        test_errors: Object.fromEntries(chosen.tests.map((t) => [t.task, t.error])),
        seconds,
        runs: runs.map((r) => ({
          seed: r.run.seed,
          epochs: r.run.epochs,
          ls_epochs: r.run.lsEpochs,
          train_error: r.run.trainError,
          valid_error: r.run.validError,
          test_error: meanError(r.tests),
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
