// `npm run bench:start`: how long a command takes from `node` to its exit, the built CLI as `npx memn2n`
// runs it (dist/cli): --version (nothing but starting), `ask` with the shipped joint model, and `lm next`
// with the shipped language model. Each runs RUNS times after one warm-up (its files in the page cache);
// the median is reported, wall and CPU (the process's own user + system time, which it writes as it exits).
// Writes bench/start-results.json and the "Command start" section of bench/RESULTS.md.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { machineLine, median, writeSection } from "./sections.js";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "run.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

const COMMANDS: { name: string; args: string[] }[] = [
  { name: "memn2n --version", args: ["--version"] },
  {
    name: 'memn2n ask --story examples/story.txt "Where is Mary?"',
    args: ["ask", "--story", "examples/story.txt", "Where is Mary?"],
  },
  { name: 'memn2n lm next "the stock market"', args: ["lm", "next", "the stock market"] },
];

const dir = mkdtempSync(join(tmpdir(), "memn2n-bench-start-"));
// Loaded first by each child: at exit it writes its CPU time (µs, user + system) to $BENCH_CPU_FILE.
const hook = join(dir, "cpu.mjs");
writeFileSync(
  hook,
  'import { writeFileSync } from "node:fs";\n' +
    'process.on("exit", () => { const u = process.cpuUsage(); writeFileSync(process.env.BENCH_CPU_FILE, String(u.user + u.system)); });\n',
);

function once(args: string[]): { wall: number; cpu: number } {
  const file = join(dir, "cpu.txt");
  const t = performance.now();
  const r = spawnSync(process.execPath, ["--import", hook, CLI, ...args], {
    cwd: ROOT,
    stdio: "ignore",
    env: { ...process.env, BENCH_CPU_FILE: file },
  });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`memn2n ${args.join(" ")}: exit ${r.status}`);
  return { wall, cpu: Number(readFileSync(file, "utf8")) / 1e6 };
}

try {
  const rows = COMMANDS.map(({ name, args }) => {
    once(args);
    const runs = Array.from({ length: RUNS }, () => once(args));
    const row = {
      name,
      wall: median(runs.map((r) => r.wall)),
      cpu: median(runs.map((r) => r.cpu)),
    };
    console.log(`${name}: median wall ${row.wall.toFixed(3)} s, CPU ${row.cpu.toFixed(3)} s`);
    return row;
  });
  const machine = machineLine();
  const date = new Date().toISOString().slice(0, 10);
  writeFileSync(
    join(ROOT, "bench", "start-results.json"),
    `${JSON.stringify({ date, machine, runs: RUNS, rows }, null, 2)}\n`,
  );
  writeSection("start", [
    "## Command start",
    "",
    `Made by \`npm run bench:start\` (bench/start.ts) on ${date}: ${machine}. The built CLI, as \`npx memn2n\``,
    `runs it; each command ${RUNS} times after one warm-up, the median. CPU is the process's own user and`,
    "system time. Only the commands that need them load the HTTP stack, Redis, the metrics, the charts and",
    "tar (tests/startup.test.ts checks it).",
    "",
    "| command | wall s | CPU s |",
    "|---|---:|---:|",
    ...rows.map((r) => `| \`${r.name}\` | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} |`),
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
