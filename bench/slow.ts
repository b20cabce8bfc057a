// `npm run bench:slow`: the HTTP service under slow clients. 2,000 connections, 50 from each of 40 loopback
// addresses (127.0.0.2 ...; the per-client cap is 50), each sending a body that announces 900,000 bytes and
// trickles one byte a second; meanwhile a client at 127.0.0.1 asks /v1/health and answers questions. The run
// is bounded: the server's request timeout (30 s by default; 10 s here) ends the slow bodies with a 408, and
// the bench stops by itself. Writes the "slow" section of bench/RESULTS.md.
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { machineLine, writeSection } from "./sections.js";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "..");
const CLIENTS = 40;
const PER_CLIENT = 50;
const TIMEOUT_S = 10;

const server = spawn(
  process.execPath,
  [
    ...["--import", "tsx", join(ROOT, "src/cli/run.ts"), "serve", "--port", "0", "--workers", "1"],
    ...["--model", "babi", "--no-page", "--log-level", "error", "--request-timeout", `${TIMEOUT_S}s`],
    // the process cap above the load (the default is 2,000): what is measured is the health route beside it
    ...["--max-connections", String(CLIENTS * PER_CLIENT + 100)],
  ],
  { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
);
const port = await new Promise<number>((resolve, reject) => {
  let out = "";
  server.on("exit", (c) => reject(new Error(`serve exited ${c}`)));
  server.stdout!.on("data", (d) => {
    out += d;
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
});
const base = `http://127.0.0.1:${port}`;

let open = 0;
let refused = 0;
const statuses = new Map<string, number>();
const sockets: Socket[] = [];
const opened = performance.now();
await Promise.all(
  Array.from({ length: CLIENTS * PER_CLIENT }, (_, i) => {
    return new Promise<void>((resolve) => {
      const s = connect({
        host: "127.0.0.1",
        port,
        localAddress: `127.0.0.${2 + Math.floor(i / PER_CLIENT)}`,
      });
      sockets.push(s);
      let head = "";
      s.on("connect", () => {
        open++;
        s.write(
          "POST /v1/models/babi/answer HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 900000\r\n\r\n{",
        );
        resolve();
      });
      s.on("data", (d) => {
        head += d.toString();
      });
      s.on("error", () => {
        refused++;
        resolve();
      });
      s.on("close", () => {
        open--;
        const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "closed without a response";
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      });
    });
  }),
);
const trickle = setInterval(() => {
  for (const s of sockets) if (!s.destroyed) s.write(" ");
}, 1000);
const openAtStart = open;

// Health and answers from 127.0.0.1 while they trickle.
const health: number[] = [];
const answers: number[] = [];
let failures = 0;
const until = performance.now() + (TIMEOUT_S - 2) * 1000;
while (performance.now() < until) {
  const t0 = performance.now();
  try {
    const h = await fetch(`${base}/v1/health`);
    if (h.status !== 200) failures++;
    await h.text();
    health.push(performance.now() - t0);
    const t1 = performance.now();
    const a = await fetch(`${base}/v1/models/babi/answer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ story: ["Mary moved to the bathroom."], question: "Where is Mary?" }),
    });
    if (a.status !== 200) failures++;
    await a.text();
    answers.push(performance.now() - t1);
  } catch {
    failures++;
  }
  await new Promise((r) => setTimeout(r, 50));
}
const openDuring = open;
// The request timeout ends every slow body: wait for it, bounded.
const deadline = performance.now() + (TIMEOUT_S + 10) * 1000;
while (open > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
clearInterval(trickle);
const seconds = (performance.now() - opened) / 1000;
for (const s of sockets) s.destroy();
server.kill("SIGTERM");

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const date = new Date().toISOString().slice(0, 10);
const machine = machineLine();
const section = writeSection("slow", [
  "## Slow clients",
  "",
  `Made by \`npm run bench:slow\` (bench/slow.ts) on ${date}: ${machine}. \`memn2n serve --workers 1\` with`,
  `\`--request-timeout ${TIMEOUT_S}s\` and \`--max-connections ${CLIENTS * PER_CLIENT + 100}\`; ${CLIENTS * PER_CLIENT} connections from ${CLIENTS} loopback`,
  `addresses (${PER_CLIENT} each, the per-client cap), each announcing a 900,000-byte body and sending a byte a second.`,
  "",
  `- Connections open once all had connected: ${openAtStart} (refused: ${refused}); still open after ${TIMEOUT_S - 2} s of requests: ${openDuring}.`,
  `- Meanwhile, from 127.0.0.1: ${health.length} health checks, p50 ${pct(health, 0.5).toFixed(1)} ms, p99 ${pct(health, 0.99).toFixed(1)} ms; ${answers.length} answers, p50 ${pct(answers, 0.5).toFixed(1)} ms, p99 ${pct(answers, 0.99).toFixed(1)} ms; ${failures} failed.`,
  `- How the slow connections ended: ${[...statuses].map(([k, v]) => `${v} × ${k}`).join(", ")}; the last closed ${seconds.toFixed(1)} s after the first opened.`,
]);
console.log(section);
process.exit(failures === 0 && openAtStart === CLIENTS * PER_CLIENT ? 0 : 1);
