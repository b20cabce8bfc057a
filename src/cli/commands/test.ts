import type { Command } from "commander";
import { deriveShape, vectorize } from "../../data/batch.js";
import { modelExamples } from "../../data/question-match.js";
import { parseTaskList } from "../../data/tasks.js";
import { meanError, taskErrors } from "../../eval/errors.js";
import type { TrainedModel } from "../../model/file.js";
import { BABI_SETS, findBabiDir, loadTestFile } from "../datadir.js";
import { addLimitOptions, applyLimits } from "../limits.js";
import { loadModelFile } from "../model-io.js";
import { formatTable } from "../table.js";

interface TestOptions {
  model: string;
  task?: string;
  data?: string;
  set?: string;
  json?: boolean;
}

export function registerTest(program: Command): void {
  const cmd = program
    .command("test")
    .description("measure a trained model's error on bAbI test questions")
    .option("--model <file|name>", "a model file from `memn2n train`, or a shipped model's name", "babi")
    .option("--task <list>", "tasks to test (default: those the model was trained on)")
    .option("--data <dir>", "bAbI folder: the release root or a folder of qaN_*test.txt files")
    .option("--set <name>", `which set of the release (${BABI_SETS.join(", ")}; default: the model's)`)
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
  const { tests, errors } = measure(model, dir, tasks);
  console.log(
    formatTable(
      ["task", "questions", "test err %"],
      errors.map((e) => [e.task, e.questions, (100 * e.error).toFixed(1)]),
    ),
  );
  const unknown = new Set(tests.flatMap((t) => [...t.batch.unknown.keys()]));
  if (unknown.size > 0)
    console.log(
      `words the model never saw in training: ${[...unknown].slice(0, 10).join(", ")} (ignored in stories ` +
        "and questions; a question whose answer is one of them is counted as wrong)",
    );
  if (opts.json) {
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
  const tests = tasks.map((task) => {
    const examples = modelExamples(loadTestFile(dir, task).examples, model.config, model.vocab);
    const shape = deriveShape([examples], {
      memorySize: model.config.memorySize,
      sentenceLen: model.config.sentenceLen,
    });
    return { task, batch: vectorize(examples, model.vocab, shape) };
  });
  return { tests, errors: taskErrors(model.params, model.config.encoding, tests) };
}
