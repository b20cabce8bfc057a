// The files a sweep leaves in results/: <name>.json (every run), <name>.md (the table beside the paper's
// figures) and <name>.svg (per-task error against the paper's, drawn with Observable Plot).

import { TASK_NAMES } from "../data/tasks.js";
import { FAIL_THRESHOLD } from "../eval/paper.js";
import type { Config } from "../model/config.js";
import { writeFileAtomic } from "./fsutil.js";
import { pct } from "./table.js";

export interface SweepRun {
  task: number | "joint";
  seed: number;
  epochs: number;
  ls_epochs: number;
  train_error: number;
  valid_error: number;
  test_error: number;
  test_errors: Record<string, number>;
  seconds: number;
}

export interface SweepResult {
  name: string;
  command: string;
  set: string;
  joint: boolean;
  config: Config;
  paper_column: string | null;
  /** Per task: the chosen run's test error and the paper's. */
  tasks: { task: number; name: string; seed: number; test_error: number; paper: number | null }[];
  skipped: { task: number; reason: string }[];
  mean_error: number;
  failed: number;
  paper_mean: number | null;
  paper_failed: number | null;
  seeds: number[];
  wall_seconds: number;
  workers: number;
  machine: string;
  date: string;
  notes: string[];
  runs: SweepRun[];
}

export function summarize(tasks: SweepResult["tasks"]): { mean: number; failed: number } {
  const mean = tasks.reduce((s, t) => s + t.test_error, 0) / Math.max(1, tasks.length);
  return { mean, failed: tasks.filter((t) => t.test_error > FAIL_THRESHOLD).length };
}

export async function writeResults(base: string, r: SweepResult): Promise<string[]> {
  writeFileAtomic(`${base}.json`, `${JSON.stringify(r, null, 1)}\n`);
  writeFileAtomic(`${base}.md`, markdown(r));
  writeFileAtomic(`${base}.svg`, await chart(r));
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}

export function markdown(r: SweepResult): string {
  const lines: string[] = [];
  lines.push(`# ${r.name}: bAbI ${r.set}${r.joint ? ", joint" : ", single task"}`);
  lines.push("");
  lines.push(`Command: \`${r.command}\``);
  lines.push("");
  lines.push(
    `Test error % of the run chosen by ${r.config.selectBy === "valid" ? "validation" : "training"} error among ` +
      `${r.config.repeats} (seeds ${r.seeds[0]}..${r.seeds[r.seeds.length - 1]}), beside the paper's` +
      `${r.paper_column ? ` "${r.paper_column}"` : ""} figure. A task fails above ${pct(FAIL_THRESHOLD)}%.`,
  );
  lines.push("");
  lines.push("| task | name | ours | paper | seed |");
  lines.push("|---:|---|---:|---:|---:|");
  for (const t of r.tasks) {
    lines.push(
      `| ${t.task} | ${t.name} | ${pct(t.test_error)} | ${t.paper === null ? "–" : t.paper.toFixed(1)} | ${t.seed} |`,
    );
  }
  for (const s of r.skipped) lines.push(`| ${s.task} | ${TASK_NAMES[s.task]} | skipped | | |`);
  const paperMean = r.paper_mean === null ? "–" : r.paper_mean.toFixed(1);
  lines.push(`| | **mean error** | **${pct(r.mean_error)}** | ${paperMean} | |`);
  lines.push(`| | **failed tasks** | **${r.failed}** | ${r.paper_failed ?? "–"} | |`);
  lines.push("");
  if (r.skipped.length > 0) {
    lines.push(
      `The mean is over the ${r.tasks.length} tasks run; skipped: ${r.skipped.map((s) => `task ${s.task} (${s.reason})`).join("; ")}.`,
    );
    lines.push("");
  }
  const split = r.config.splitSeed ?? r.seeds[0];
  const t0 = r.tasks[0];
  if (t0) {
    const which = r.joint ? `--tasks ${r.tasks.map((t) => t.task).join(",")} --joint` : `--task ${t0.task}`;
    lines.push(
      `Every run's validation split was drawn with seed ${split}, so the options of the command above with ` +
        `\`${which} --seed ${t0.seed} --split-seed ${split} --repeats 1\` given to \`memn2n train\` retrain the run ` +
        `chosen for ${r.joint ? "the joint model" : `task ${t0.task}`} (likewise for the others, with their seeds).`,
    );
    lines.push("");
  }
  lines.push(`Wall time ${duration(r.wall_seconds)} on ${r.machine}, ${r.workers} worker(s), ${r.date}.`);
  lines.push("");
  lines.push(`Config: \`${JSON.stringify(r.config)}\``);
  lines.push("");
  for (const n of r.notes) lines.push(`- ${n}`);
  lines.push("");
  lines.push(
    `![per-task test error: ours blue, the paper's grey, 5% failure line dashed](${baseName(r.name)}.svg)`,
  );
  lines.push("");
  return lines.join("\n");
}

function baseName(name: string): string {
  return name.split("/").pop() ?? name;
}

export async function chart(r: SweepResult): Promise<string> {
  const { Plot, draw } = await plotter();
  const data = r.tasks.flatMap((t) => [
    { task: t.task, who: "memn2n", error: 100 * t.test_error },
    ...(t.paper === null ? [] : [{ task: t.task, who: "paper", error: t.paper }]),
  ]);
  return draw({
    width: 760,
    height: 320,
    marginLeft: 50,
    x: { axis: null },
    y: { label: "test error %", grid: true, domain: [0, 100] },
    color: { legend: false, domain: ["memn2n", "paper"], range: ["#1f77b4", "#bbbbbb"] },
    fx: { label: "task" },
    marks: [
      Plot.barY(data, { fx: "task", x: "who", y: "error", fill: "who" }),
      Plot.ruleY([100 * FAIL_THRESHOLD], { stroke: "#d62728", strokeDasharray: "4,3" }),
    ],
  });
}

export interface Plotter {
  Plot: typeof import("@observablehq/plot");
  /** One chart as the text of a standalone SVG file. */
  draw(options: import("@observablehq/plot").PlotOptions): string;
}

/** Observable Plot and a DOM to draw in, loaded once for any number of charts. */
export async function plotter(): Promise<Plotter> {
  // Loaded only to draw: with a DOM they are most of what every command would take to start.
  const [Plot, { parseHTML }] = await Promise.all([import("@observablehq/plot"), import("linkedom")]);
  const { document } = parseHTML("<html><body></body></html>");
  return {
    Plot,
    draw(options) {
      const svg = Plot.plot({ ...options, document: document as unknown as Document }) as unknown as {
        outerHTML: string;
        setAttribute(k: string, v: string): void;
      };
      svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
      return `${svg.outerHTML}\n`;
    },
  };
}

/** Seconds as a reader wants them: "47 s" for short sweeps, "12.3 min" for long ones. */
export function duration(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(seconds < 10 ? 1 : 0)} s` : `${(seconds / 60).toFixed(1)} min`;
}
