// Conversations in a real Redis (Debian's redis-server, started here on a free port): shared by two workers,
// kept across a server killed mid-conversation; a conversation far longer than the memory goes on at the
// same cost; a Redis that is not there is one error line.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LocalSessions } from "../src/server/sessions.js";
import { startServer } from "../src/server/start.js";
import { BOOKING, postJson, ROOT, runCli, type Served, serve } from "./helpers.js";

const MODELS = join(ROOT, "models");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let redis: ChildProcess;
let url: string;

before(async () => {
  const port = await freePort();
  redis = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    redis.once("exit", (c) => reject(new Error(`redis-server exited ${c}: ${out}`)));
    redis.stdout!.on("data", (d) => {
      out += d;
      if (/Ready to accept connections/.test(out)) resolve();
    });
  });
  url = `redis://127.0.0.1:${port}`;
});
after(() => {
  redis?.kill("SIGKILL");
});

// biome-ignore lint/suspicious/noExplicitAny: the JSON of several routes
async function post(base: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await postJson(base, path, body);
  return { status: r.status, body: await r.json() };
}

test("sessions in Redis: a conversation goes on after the server is killed and started again", async () => {
  const args = ["--workers", "2", "--model", "restaurant", "--sessions", url];
  let s: Served = await serve(args);
  const id = (await post(s.base, "/v1/sessions", { model: "restaurant" })).body.id as string;
  const said: string[] = [];
  const replyTo = async (base: string, user: string) => {
    const r = await post(base, `/v1/sessions/${id}/reply`, { user });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    said.push(r.body.response, ...(r.body.followUps ?? []).map((f: { response: string }) => f.response));
    return r.body as { lines: string[]; length: number };
  };
  let length = 0;
  for (const user of BOOKING.slice(0, 3)) length = (await replyTo(s.base, user)).length;
  s.child.kill("SIGKILL");
  await new Promise((r) => s.child.once("exit", r));
  // started again, on one worker: the conversation lives in Redis, not in any process
  s = await serve(["--workers", "1", ...args.slice(2)]);
  try {
    for (const user of BOOKING.slice(3)) {
      const r = await replyTo(s.base, user);
      assert.ok(r.length > length, "the transcript grows on from where it was");
      length = r.length;
    }
    // the same booking as `memn2n chat` in one go: nothing was lost across the restart
    const chat = runCli(["chat", "--model", "restaurant"], { input: `${BOOKING.join("\n")}\n` });
    assert.equal(chat.code, 0, chat.stderr);
    assert.ok(
      said.every((line) => chat.stdout.includes(line)),
      said.join(" | "),
    );
    assert.ok(
      said.some((l) => /_phone\b/.test(l)),
      said.join(" | "),
    );
    const t = await fetch(`${s.base}/v1/sessions/${id}`);
    const transcript = (await t.json()) as { lines: string[] };
    assert.equal(transcript.lines.length, length);
  } finally {
    await s.stop();
  }
});

test("sessions in Redis: each client may hold --max-sessions-per-client; an unreachable Redis is one error", async () => {
  // a database of its own: the first test's sessions count against this client in database 0
  const s = await serve([
    "--model",
    "restaurant",
    "--sessions",
    `${url}/1`,
    "--max-sessions-per-client",
    "2",
  ]);
  try {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await post(s.base, "/v1/sessions", { model: "restaurant" })).status);
    assert.deepEqual(codes, [201, 201, 429]);
  } finally {
    await s.stop();
  }
  const closed = await freePort();
  const r = runCli([
    "serve",
    "--port",
    "0",
    "--model",
    "restaurant",
    "--sessions",
    `redis://127.0.0.1:${closed}`,
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: --sessions: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ /);
  const bad = runCli(["serve", "--port", "0", "--sessions", "postgres://x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --sessions: memory or redis:\/\/HOST:PORT/);
});

test("a conversation of 10,000 lines goes on: the bot re-reads its last 1,000 lines, the reply returns the new lines", async () => {
  const store = new LocalSessions({ maxSessions: 10, ttlMs: 60_000 });
  const server = await startServer(
    {
      models: [{ name: "restaurant", file: `${MODELS}/restaurant.safetensors` }],
      host: "127.0.0.1",
      port: 0,
      bodyLimit: 1 << 20,
      maxSentenceChars: 1000,
      maxSessions: 10,
      sessionTtlMs: 60_000,
      logLevel: "warn",
      version: "test",
    },
    { sessions: store, onSignal: false },
  );
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const id = (await post(base, "/v1/sessions", { model: "restaurant" })).body.id as string;
    await store.acquire(id, 0);
    await store.release(
      id,
      Array.from({ length: 10_500 }, () => "hello\thello what can i help you with today"),
    );
    const t0 = performance.now();
    const r = await post(base, `/v1/sessions/${id}/reply`, { user: "i love british food" });
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.history, undefined, "a session's reply does not send the whole transcript back");
    assert.ok(r.body.lines.length >= 1 && r.body.lines[0].startsWith("i love british food\t"), r.body.lines);
    assert.equal(r.body.length, 10_500 + r.body.lines.length);
    assert.ok(JSON.stringify(r.body).length < 20_000, "the reply's size does not grow with the transcript");
    assert.ok(ms < 2000, `${ms} ms`);
  } finally {
    await server.close();
  }
});
