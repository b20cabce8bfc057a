import type { Command } from "commander";
import { type TaskStats, taskStats } from "../../data/stats.js";
import { ALL_TASKS, parseTaskList } from "../../data/tasks.js";
import { addDataOptions } from "../config-options.js";
import { findBabiDir, loadTask, MissingTaskFile } from "../datadir.js";
import { addLimitOptions, applyLimits } from "../limits.js";
import { formatTable } from "../table.js";

interface StatsOptions {
  data?: string;
  set: string;
  tasks?: string;
  json?: boolean;
}

export function registerData(program: Command): void {
  const data = program.command("data").description("inspect the bAbI data");
  const stats = data
    .command("stats")
    .description("per-task counts: questions, stories, vocabulary, longest story and sentence, answers");
  addDataOptions(stats)
    .option("--tasks <list>", "tasks to read, e.g. 1-20 or 1,4,12", "1-20")
    .option("--json", "print one JSON object as the last line");
  addLimitOptions(stats).action((opts: StatsOptions) => dataStats(opts));
}

function dataStats(opts: StatsOptions): void {
  applyLimits(opts as unknown as Record<string, unknown>);
  const dir = findBabiDir(opts.set, opts.data);
  const tasks = opts.tasks ? parseTaskList(opts.tasks, "--tasks") : ALL_TASKS;
  const stats: TaskStats[] = [];
  const skipped: { task: number; reason: string }[] = [];
  for (const task of tasks) {
    try {
      const t = loadTask(dir, task);
      stats.push(taskStats(task, t.train, t.test));
    } catch (e) {
      if (!(e instanceof MissingTaskFile)) throw e;
      skipped.push({ task, reason: e.message });
    }
  }
  const rows = stats.map((s) => [
    s.task,
    s.trainQuestions,
    s.testQuestions,
    s.trainStories,
    s.testStories,
    s.vocab,
    s.longestStory,
    s.longestSentence,
    s.answerClasses,
  ]);
  const header = ["task", "train q", "test q", "train stories", "test stories", "vocab", "longest story"];
  header.push("longest sentence", "answers");
  console.log(`data: ${dir}`);
  console.log(formatTable(header, rows));
  for (const s of skipped) console.log(`skipped: ${s.reason}`);
  // Outliers cost memory for every sentence (all are padded to the longest): say so before training.
  for (const s of stats) {
    if (s.longestSentence > Math.max(20, 4 * s.meanSentence)) {
      process.stderr.write(
        `warning: task ${s.task}: a sentence of ${s.longestSentence} words, against ${s.meanSentence.toFixed(1)} on average; ` +
          "every sentence is padded to it (--sentence-len N cuts sentences to N words)\n",
      );
    }
    if (s.longestStory > 1000) {
      process.stderr.write(
        `warning: task ${s.task}: a story of ${s.longestStory} statements; the memory keeps the last 50 (--memory-size)\n`,
      );
    }
  }
  if (opts.json) console.log(JSON.stringify({ dir, set: opts.set, tasks: stats, skipped }));
}
