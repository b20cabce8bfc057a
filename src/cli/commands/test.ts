import type { Command } from "commander";
import type { Example } from "../../data/babi.js";
import { deriveShape, vectorize } from "../../data/batch.js";
import { modelExamples } from "../../data/question-match.js";
import { splitByStory } from "../../data/split.js";
import { parseTaskList } from "../../data/tasks.js";
import { meanError, taskErrors } from "../../eval/errors.js";
import type { TrainedModel } from "../../model/file.js";
import { BABI_SETS, fallbackOf, findBabiDir, loadTask, loadTestFile } from "../datadir.js";
import { addLimitOptions, applyLimits } from "../limits.js";
import { loadModelFile } from "../model-io.js";
import { formatTable } from "../table.js";

interface TestOptions {
  model: string;
  task?: string;
  data?: string;
  set?: string;
  json?: boolean;
  valid?: boolean;
}

export function registerTest(program: Command): void {
  const cmd = program
    .command("test")
    .description("measure a trained model's error on bAbI test questions")
    .option("--model <file|name>", "a model file from `memn2n train`, or a shipped model's name", "babi")
    .option("--task <list>", "tasks to test (default: those the model was trained on)")
    .option("--data <dir>", "bAbI folder: the release root or a folder of qaN_*test.txt files")
    .option("--set <name>", `which set of the release (${BABI_SETS.join(", ")}; default: the model's)`)
    .option(
      "--valid",
      "measure the validation questions instead: those the model held out of its training files (its split seed and fraction)",
    )
    .option("--json", "print one JSON object as the last line");
  addLimitOptions(cmd).action((opts: TestOptions) => testCommand(opts));
}

function testCommand(opts: TestOptions): void {
  const started = performance.now();
  const model = loadModelFile(opts.model);
  const set = opts.set ?? model.meta.set ?? "en";
  const tasks = opts.task ? parseTaskList(opts.task, "--task") : model.meta.tasks;
  applyLimits(opts as unknown as Record<string, unknown>);
  const dir = findBabiDir(set, opts.data);
  const { tests, errors } = opts.valid
    ? measureValid(model, dir, tasks, set, opts.data)
    : measure(model, dir, tasks);
  const what = opts.valid ? "valid" : "test";
  console.log(
    formatTable(
      ["task", "questions", `${what} err %`],
      errors.map((e) => [e.task, e.questions, (100 * e.error).toFixed(1)]),
    ),
  );
  const unknown = new Set(tests.flatMap((t) => [...t.batch.unknown.keys()]));
  if (unknown.size > 0)
    console.log(
      `words the model never saw in training: ${[...unknown].slice(0, 10).join(", ")} (ignored in stories ` +
        "and questions; a question whose answer is one of them is counted as wrong)",
    );
  if (opts.json && opts.valid) {
    // The mean over tasks, as the test error is: the pooled validation error of a joint model weighs a
    // task by its number of questions (task 3's 1k file beside 10k ones counts a tenth).
    console.log(
      JSON.stringify({
        task: tasks.length === 1 ? tasks[0] : tasks,
        seed: model.meta.seed,
        valid_error: model.meta.validError ?? null,
        valid_mean: meanError(errors),
        valid_errors: Object.fromEntries(errors.map((e) => [e.task, e.error])),
        valid_questions: Object.fromEntries(errors.map((e) => [e.task, e.questions])),
        seconds: (performance.now() - started) / 1000,
      }),
    );
  } else if (opts.json) {
    console.log(
      JSON.stringify({
        task: tasks.length === 1 ? tasks[0] : tasks,
        config: model.config,
        seed: model.meta.seed,
        epochs: model.meta.epochs,
        train_error: model.meta.trainError ?? null,
        valid_error: model.meta.validError ?? null,
        test_error: meanError(errors),
        test_errors: Object.fromEntries(errors.map((e) => [e.task, e.error])),
        seconds: (performance.now() - started) / 1000,
      }),
    );
  }
}

/** A model's test error on each task's test file in `dir`: what `memn2n test` prints. */
export function measure(model: TrainedModel, dir: string, tasks: number[]) {
  return errorsOn(
    model,
    tasks.map((task) => ({ task, examples: loadTestFile(dir, task).examples })),
  );
}

/**
 * A model's error on the validation questions it held out: each task's training file (from the set the
 * model trained that task on) split as training split it, by story with its split seed and fraction.
 */
function measureValid(model: TrainedModel, dir: string, tasks: number[], set: string, data?: string) {
  const cfg = model.config;
  return errorsOn(
    model,
    tasks.map((task) => {
      const other = model.meta.trainSets?.[task];
      const loaded = loadTask(dir, task, other && other !== set ? fallbackOf(set, other, data) : undefined);
      const { valid } = splitByStory(loaded.train.examples, cfg.validFraction, cfg.splitSeed ?? cfg.seed);
      return { task, examples: valid };
    }),
  );
}

function errorsOn(model: TrainedModel, sets: { task: number; examples: Example[] }[]) {
  const tests = sets.map(({ task, examples: given }) => {
    const examples = modelExamples(given, model.config, model.vocab);
    const shape = deriveShape([examples], {
      memorySize: model.config.memorySize,
      sentenceLen: model.config.sentenceLen,
    });
    return { task, batch: vectorize(examples, model.vocab, shape) };
  });
  return { tests, errors: taskErrors(model.params, model.config.encoding, tests) };
}
