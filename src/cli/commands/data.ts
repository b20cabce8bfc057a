import type { Command } from "commander";
import { type TaskStats, taskStats } from "../../data/stats.js";
import { ALL_TASKS, parseTaskList } from "../../data/tasks.js";
import { addDataOptions } from "../config-options.js";
import { findBabiDir, loadTask, MissingTaskFile } from "../datadir.js";
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
    .option("--json", "print one JSON object as the last line")
    .action((opts: StatsOptions) => dataStats(opts));
}

function dataStats(opts: StatsOptions): void {
  const dir = findBabiDir(opts.set, opts.data);
  const tasks = opts.tasks ? parseTaskList(opts.tasks) : ALL_TASKS;
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
  if (opts.json) console.log(JSON.stringify({ dir, set: opts.set, tasks: stats, skipped }));
}
