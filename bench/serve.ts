// `npm run bench:serve`: the HTTP service under load. autocannon (programmatic) on loopback, 50
// connections, 10 s after a 3 s warm-up, against `memn2n serve` (the built CLI) with 1 and 2 workers:
// /v1/.../answer with the task-1 model and with the joint model, and /v2/.../infer with the task-1 model.
// Writes bench/serve-results.json and the "HTTP service" section of bench/RESULTS.md. The load generator
// runs on the same 2 cores as the server: the figures are what one machine does with both on it.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import { machineLine, writeSection } from "./sections.js";

const ROOT = join(import.meta.dirname, "..");
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 50;
const STORY = ["Mary moved to the bathroom.", "John went to the hallway.", "Mary travelled to the office."];

const scenarios = [
  {
    name: "/v1/models/task1/answer (babi-task-1)",
    path: "/v1/models/task1/answer",
    body: { story: STORY, question: "Where is Mary?" },
  },
  {
    name: "/v1/models/joint/answer (babi, joint)",
    path: "/v1/models/joint/answer",
    body: { story: STORY, question: "Where is Mary?" },
  },
  {
    name: "/v2/models/task1/infer (babi-task-1)",
    path: "/v2/models/task1/infer",
    body: {
      inputs: [
        { name: "story", shape: [3], datatype: "BYTES", data: STORY },
        { name: "question", shape: [1], datatype: "BYTES", data: ["Where is Mary?"] },
      ],
    },
  },
];

interface Row {
  scenario: string;
  workers: number;
  requests_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  non_2xx: number;
  requests: number;
}

async function startServer(workers: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin", "memn2n.js"),
      "serve",
      "--port",
      "0",
      "--workers",
      String(workers),
      "--log-level",
      "warn",
      "--model",
      "task1=babi-task-1",
      "--model",
      "joint=babi",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`memn2n serve exited ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.on("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function load(url: string, body: unknown, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    method: "POST",
    connections: CONNECTIONS,
    duration: seconds,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const rows: Row[] = [];
for (const workers of [1, 2]) {
  const server = await startServer(workers);
  try {
    for (const s of scenarios) {
      const url = `http://127.0.0.1:${server.port}${s.path}`;
      await load(url, s.body, 3);
      const r = await load(url, s.body, DURATION);
      const row: Row = {
        scenario: s.name,
        workers,
        requests_per_sec: Math.round(r.requests.average),
        p50_ms: r.latency.p50,
        p99_ms: r.latency.p99,
        errors: r.errors + r.timeouts,
        non_2xx: r.non2xx,
        requests: r.requests.total,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    await server.stop();
  }
}

const machine = machineLine();
const date = new Date().toISOString().slice(0, 10);
writeFileSync(
  join(ROOT, "bench", "serve-results.json"),
  `${JSON.stringify({ date, machine, duration_s: DURATION, connections: CONNECTIONS, rows }, null, 2)}\n`,
);
const section = writeSection("serve", [
  "## HTTP service",
  "",
  `Made by \`npm run bench:serve\` (bench/serve.ts) on ${date}: ${machine}. autocannon on loopback, ${CONNECTIONS}`,
  `connections, ${DURATION} s after a 3 s warm-up, against \`memn2n serve --workers N\`; the load generator`,
  "shares the machine's cores with the server. The same 3-sentence story and question in every request.",
  "",
  "| route | workers | requests/s | p50 ms | p99 ms | errors | non-2xx |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.workers} | ${r.requests_per_sec} | ${r.p50_ms} | ${r.p99_ms} | ${r.errors} | ${r.non_2xx} |`,
  ),
]);
console.log(section);
