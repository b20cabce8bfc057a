// `memn2n serve`: a real server on an ephemeral port of 127.0.0.1, real HTTP requests. Every endpoint, the
// answers equal the library's bit for bit, conversations equal `memn2n chat`, fuzzed bodies and headers get
// only 4xx, the OpenAPI document validates, a failed reload keeps serving, SIGTERM lets requests finish.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, type IncomingMessage, request } from "node:http";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { loadModel } from "../src/api/model.js";
import { parseDuration } from "../src/cli/commands/serve.js";
import { LocalSessions, SessionLimitError } from "../src/server/sessions.js";
import { type Started, startServer } from "../src/server/start.js";
import { Rng } from "../src/util/random.js";
import { BOOKING, ROOT, runCli, serve, withTmpDirAsync } from "./helpers.js";

const MODELS = join(ROOT, "models");
const STORY = ["Mary moved to the bathroom.", "John went to the hallway.", "Mary travelled to the office."];

const settings = (over: Record<string, unknown> = {}) => ({
  models: [
    { name: "task1", file: join(MODELS, "babi-task-1.safetensors") },
    { name: "babi", file: join(MODELS, "babi.safetensors") },
    { name: "restaurant", file: join(MODELS, "restaurant.safetensors") },
  ],
  host: "127.0.0.1",
  port: 0,
  bodyLimit: 64 * 1024,
  maxSentenceChars: 1000,
  maxSessions: 3,
  sessionTtlMs: 60_000,
  logLevel: "silent",
  version: "test",
  ...over,
});

let server: Started;
let base: string;

before(async () => {
  server = await startServer(settings(), {
    sessions: new LocalSessions({ maxSessions: 3, ttlMs: 60_000 }),
    onSignal: false,
  });
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body:
      typeof body === "string" ? body : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(base + path, { headers });
  const type = r.headers.get("content-type") ?? "";
  return { status: r.status, body: type.includes("json") ? await r.json() : await r.text() };
}

test("serve: an answer over HTTP is Model.answer on the same input, bit for bit", async () => {
  const model = loadModel(readFileSync(join(MODELS, "babi-task-1.safetensors")));
  for (const q of ["Where is Mary?", "Where is John?"]) {
    const r = await post("/v1/models/task1/answer", { story: STORY, question: q, topK: 3 });
    assert.equal(r.status, 200);
    const a = model.answer(STORY, q, { topK: 3 });
    assert.deepEqual(r.body, {
      answer: a.answer,
      probability: a.probability,
      top: a.top,
      attention: a.attention,
      memory: a.sentences,
      truncated: 0,
      unknownWords: [],
      dontKnow: null,
    });
  }
  const asText = await post("/v1/models/babi/answer", {
    story: STORY.join("\n"),
    question: "Where is Mary?",
  });
  assert.equal(asText.body.answer, "office");
  // A story longer than the memory keeps the most recent sentences and says how many it dropped.
  const long = Array.from({ length: 80 }, (_, i) =>
    i % 2 ? "John went to the garden." : "Mary went to the kitchen.",
  );
  const r = await post("/v1/models/task1/answer", { story: long, question: "Where is John?" });
  assert.equal(r.body.memory.length, 50);
  assert.equal(r.body.truncated, 30);
  const unknown = await post("/v1/models/task1/answer", {
    story: ["Zorg went to the kitchen."],
    question: "Where is Zorg?",
  });
  assert.equal(unknown.status, 200);
  assert.deepEqual(unknown.body.unknownWords, ["zorg"]);
  assert.equal(unknown.body.dontKnow, null);
  // No word of the question known: the same "I don't know" as `memn2n ask` and the page, in a field.
  const foreign = await post("/v1/models/babi/answer", { story: STORY, question: "Qu'est-ce que c'est?" });
  assert.equal(foreign.status, 200);
  assert.equal(foreign.body.dontKnow, "I don't know: no word of the question is one the model knows");
  const v2 = await post("/v2/models/babi/infer", {
    inputs: [
      { name: "story", shape: [STORY.length], datatype: "BYTES", data: STORY },
      { name: "question", shape: [1], datatype: "BYTES", data: ["Qu'est-ce que c'est?"] },
    ],
  });
  const out = (v2.body.outputs as { name: string; data: unknown[] }[]).find((o) => o.name === "dont_know");
  assert.deepEqual(out?.data, [foreign.body.dontKnow]);
});

test("serve: a booking through /reply (client-kept) and through a session equals `memn2n chat`", async () => {
  await withTmpDirAsync(async (dir) => {
    const script = join(dir, "booking.txt");
    writeFileSync(script, `${BOOKING.join("\n")}\n`);
    const chat = runCli(["chat", "--model", "restaurant", "--script", script, "--json"]);
    assert.equal(chat.code, 0, chat.stderr);
    const expected = chat.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).bot as string);
    let history: string[] = [];
    const stateless: string[] = [];
    for (const user of BOOKING) {
      const r = await post("/v1/models/restaurant/reply", { history, user });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      stateless.push(
        r.body.response,
        ...(r.body.followUps ?? []).map((f: { response: string }) => f.response),
      );
      history = r.body.history;
    }
    assert.deepEqual(stateless, expected);
    assert.ok(
      history.some((l) => l.startsWith("resto_paris_cheap_italian_4stars R_phone")),
      "the lookup's lines",
    );
    const s = await post("/v1/sessions", { model: "restaurant" });
    assert.equal(s.status, 201);
    const kept: string[] = [];
    for (const user of BOOKING) {
      const r = await post(`/v1/sessions/${s.body.id}/reply`, { user });
      assert.equal(r.status, 200);
      kept.push(r.body.response, ...(r.body.followUps ?? []).map((f: { response: string }) => f.response));
    }
    assert.deepEqual(kept, expected);
    // A client that sends its JSON content type on every request, a body or not.
    const del = await fetch(`${base}/v1/sessions/${s.body.id}`, {
      method: "DELETE",
      headers: { "content-type": "application/json" },
    });
    assert.equal(del.status, 204);
    assert.equal((await post(`/v1/sessions/${s.body.id}/reply`, { user: "hi" })).status, 404);
  });
});

test("serve: sessions are bounded (least recently used first out)", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await post("/v1/sessions", { model: "restaurant" })).body.id);
  assert.equal((await post(`/v1/sessions/${ids[0]}/reply`, { user: "hello" })).status, 404);
  assert.equal((await post(`/v1/sessions/${ids[3]}/reply`, { user: "hello" })).status, 200);
  assert.equal((await post("/v1/sessions", { model: "task1" })).status, 400);
});

test("serve: the model listing, the Open Inference Protocol, metrics and the OpenAPI document", async () => {
  const list = await get("/v1/models");
  assert.deepEqual(
    list.body.models.map((m: { name: string; kind: string }) => [m.name, m.kind]),
    [
      ["task1", "babi"],
      ["babi", "babi"],
      ["restaurant", "dialog"],
    ],
  );
  const one = await get("/v1/models/restaurant");
  assert.equal(one.body.candidates > 100, true);
  assert.equal(one.body.knowledgeBase, 1200);
  assert.equal((await get("/v1/models/nope")).status, 404);
  assert.deepEqual((await get("/v2")).body.name, "memn2n");
  assert.deepEqual((await get("/v2/health/live")).body, { live: true });
  assert.deepEqual((await get("/v2/health/ready")).body, { ready: true });
  assert.deepEqual((await get("/v2/models/task1/ready")).body, { name: "task1", ready: true });
  const meta = await get("/v2/models/task1");
  assert.deepEqual(
    meta.body.inputs.map((i: { name: string }) => i.name),
    ["story", "question"],
  );
  const infer = await post("/v2/models/task1/infer", {
    id: "r1",
    inputs: [
      { name: "story", shape: [3], datatype: "BYTES", data: STORY },
      { name: "question", shape: [1], datatype: "BYTES", data: ["Where is Mary?"] },
    ],
  });
  assert.equal(infer.status, 200);
  const a = loadModel(readFileSync(join(MODELS, "babi-task-1.safetensors"))).answer(STORY, "Where is Mary?");
  const out = Object.fromEntries(infer.body.outputs.map((o: { name: string }) => [o.name, o]));
  assert.deepEqual(out.answer.data, [a.answer]);
  assert.deepEqual(out.probability.data, [Math.fround(a.probability)]);
  assert.deepEqual(out.attention.shape, [3, 3]);
  assert.deepEqual(out.attention.data, a.attention.flat().map(Math.fround));
  assert.equal(infer.body.id, "r1");
  const dialog = await post("/v2/models/restaurant/infer", {
    inputs: [{ name: "user", shape: [1], datatype: "BYTES", data: ["hello"] }],
  });
  assert.equal(dialog.body.outputs[0].data[0], "hello what can i help you with today");
  const bad = await post("/v2/models/task1/infer", {
    inputs: [{ name: "question", shape: [1], datatype: "FP32", data: [1] }],
  });
  assert.equal(bad.status, 400);
  assert.equal(typeof bad.body.error, "string");
  const metrics = await get("/metrics");
  assert.match(
    metrics.body,
    /memn2n_http_requests_total\{method="POST",route="\/v1\/models\/:name\/answer",status="200"\} \d+/,
  );
  assert.match(metrics.body, /memn2n_http_request_duration_seconds_bucket/);
  assert.match(metrics.body, /memn2n_models_loaded\{kind="dialog"\} 1/);
  const doc = (await get("/openapi.json")).body;
  await SwaggerParser.validate(structuredClone(doc));
  const paths = Object.keys(doc.paths);
  for (const p of [
    "/v1/health",
    "/v1/models",
    "/v1/models/{name}",
    "/v1/models/{name}/answer",
    "/v1/models/{name}/reply",
    "/v1/sessions",
    "/v1/sessions/{id}/reply",
    "/v1/sessions/{id}",
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/{name}",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/infer",
    "/metrics",
    "/admin/reload",
  ]) {
    assert.ok(paths.includes(p), `${p} in the OpenAPI document`);
  }
  assert.equal((await get("/docs/")).status, 200);
});

test("serve: bad input is a 4xx naming the field", async () => {
  const cases: [string, unknown, number, string][] = [
    ["/v1/models/task1/answer", { story: STORY }, 400, "question"],
    ["/v1/models/task1/answer", { story: 3, question: "x" }, 400, "story"],
    ["/v1/models/task1/answer", { story: STORY, question: "  " }, 400, "question"],
    ["/v1/models/task1/answer", { story: STORY, question: "x", extra: 1 }, 400, "extra"],
    ["/v1/models/task1/answer", { story: ["a".repeat(1001)], question: "x" }, 400, "story.0"],
    ["/v1/models/task1/answer", { story: STORY, question: "x", topK: 0 }, 400, "topK"],
    ["/v1/models/restaurant/answer", { story: STORY, question: "x" }, 400, "name"],
    ["/v1/models/task1/reply", { user: "hi" }, 400, "name"],
    ["/v1/models/nope/answer", { story: STORY, question: "x" }, 404, "name"],
    ["/v1/models/restaurant/reply", { user: "hi", history: ["not a turn"] }, 400, "history.0"],
    ["/v1/models/restaurant/reply", { user: "hi", history: [1] }, 400, "history.0"],
    ["/v1/models/task1/answer", "{not json", 400, "body"],
    ["/v1/models/task1/answer", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 400, "body"],
    [
      "/v1/models/task1/answer",
      JSON.stringify({ story: ["x".repeat(900)], question: "x".repeat(70_000) }),
      413,
      "body",
    ],
  ];
  for (const [path, body, status, field] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.field, field, JSON.stringify(r.body));
  }
  const wrongType = await post("/v1/models/task1/answer", "story=x", {
    "content-type": "application/x-www-form-urlencoded",
  });
  assert.equal(wrongType.status, 415);
});

test("serve: 1,000 fuzzed bodies and headers get only 4xx, and a good request still works after each", async () => {
  const rng = new Rng(20261201);
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)];
  const good = { story: STORY, question: "Where is Mary?" };
  const values = () =>
    pick<unknown>([
      null,
      0,
      -1,
      1.5,
      1e308,
      true,
      "",
      "x",
      [],
      {},
      [1, 2],
      ["a", 3],
      { a: 1 },
      "é\u0000",
      "\ud800",
    ]);
  const mutate = (v: unknown, depth = 0): unknown => {
    if (depth > 2 || rng.int(4) === 0) return values();
    if (Array.isArray(v)) return rng.int(2) ? [...v, mutate(v[0], depth + 1)] : v.slice(1);
    if (v && typeof v === "object") {
      const o = { ...(v as Record<string, unknown>) };
      const keys = Object.keys(o);
      const r = rng.int(4);
      if (r === 0 && keys.length > 0) delete o[pick(keys)];
      else if (r === 1) o[pick(["extra", "Story", "__proto__", "topK"])] = values();
      else if (keys.length > 0) {
        const k = pick(keys);
        o[k] = mutate(o[k], depth + 1);
      }
      return o;
    }
    return values();
  };
  const paths = [
    "/v1/models/task1/answer",
    "/v1/models/restaurant/reply",
    "/v1/sessions",
    "/v2/models/task1/infer",
    "/v2/models/restaurant/infer",
    "/v1/models/%2e%2e/answer",
    "/v1/sessions/x/reply",
  ];
  let tried = 0;
  for (let i = 0; i < 1000; i++) {
    const kind = rng.int(6);
    let body: string | Uint8Array;
    if (kind === 0) body = JSON.stringify(good).slice(0, rng.int(60));
    else if (kind === 1) body = "[".repeat(1 + rng.int(50_000));
    else if (kind === 2)
      body = JSON.stringify({ story: Array(5000 + rng.int(20000)).fill("x"), question: "q" });
    else if (kind === 3)
      body = new Uint8Array([
        ...Buffer.from('{"story":["'),
        rng.int(256),
        0xc3,
        ...Buffer.from('"],"question":"q"}'),
      ]);
    else body = JSON.stringify(mutate(rng.int(2) ? good : { history: ["hello\thi"], user: "x", inputs: [] }));
    const headers: Record<string, string> = {
      "content-type": pick([
        "application/json",
        "application/json",
        "text/plain",
        "application/json; charset=utf-8",
        "",
        "multipart/form-data",
      ]),
    };
    if (rng.int(8) === 0) headers.authorization = pick(["Bearer x", "", "Basic a"]);
    if (headers["content-type"] === "") delete headers["content-type"];
    const r = await fetch(base + pick(paths), {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : Buffer.from(body),
    });
    const text = await r.text();
    assert.ok(r.status < 500, `${r.status} for ${String(body).slice(0, 100)}: ${text.slice(0, 200)}`);
    assert.ok(!/\n\s+at /.test(text), "no stack trace");
    if (r.status >= 400) assert.ok(JSON.parse(text).error, text);
    const ok = await post("/v1/models/task1/answer", good);
    assert.equal(ok.status, 200);
    tried++;
  }
  assert.equal(tried, 1000);
});

test("serve: with --token every route but the health checks needs it; rate limits answer 429", async () => {
  const s = await startServer(settings({ token: "s3cret", rateLimit: 5 }), {
    sessions: new LocalSessions({ maxSessions: 10, ttlMs: 60_000 }),
    onSignal: false,
  });
  const url = `http://127.0.0.1:${s.port}`;
  try {
    assert.equal((await fetch(`${url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal((await fetch(`${url}/v1/health`)).status, 200);
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    const auth = { authorization: "Bearer s3cret" };
    assert.equal((await fetch(`${url}/v1/models`, { headers: auth })).status, 200);
    // The scheme is case-insensitive (RFC 7235); a 401 says which scheme it wants.
    assert.equal(
      (await fetch(`${url}/v1/models`, { headers: { authorization: "bearer s3cret" } })).status,
      200,
    );
    const denied = await fetch(`${url}/v1/models`, { headers: { authorization: "Bearer wrong" } });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("www-authenticate") ?? "", /^Bearer realm="memn2n"/);
    let limited: Response | null = null;
    for (let i = 0; i < 10 && !limited; i++) {
      const r = await fetch(`${url}/v1/models`, { headers: auth });
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, "429 after 5 requests a minute");
    assert.ok(limited.headers.get("retry-after"));
    assert.equal((await limited.json()).error.field, "rate");
  } finally {
    await s.close();
  }
});

test("serve: --cors with --token works from a browser: preflights pass, DELETE is allowed, /docs opens", async () => {
  const s = await startServer(settings({ token: "s3cret", cors: "https://app.example" }), {
    sessions: new LocalSessions({ maxSessions: 10, ttlMs: 60_000 }),
    onSignal: false,
  });
  const url = `http://127.0.0.1:${s.port}`;
  try {
    // A browser's preflight never carries the token.
    const pre = await fetch(`${url}/v1/sessions/abc`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "DELETE",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /DELETE/);
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization/i);
    assert.equal((await fetch(`${url}/docs`, { redirect: "manual" })).status < 400, true);
    // The request itself still needs the token.
    assert.equal((await fetch(`${url}/v1/sessions/abc`, { method: "DELETE" })).status, 401);
  } finally {
    await s.close();
  }
});

test("serve: with --token, a model of one's own is not handed out to the page's open routes", async () => {
  const s = await startServer(
    settings({
      token: "s3cret",
      models: [
        { name: "babi-task-1", file: join(MODELS, "babi-task-1.safetensors"), shipped: true },
        { name: "private", file: join(MODELS, "babi-task-2.safetensors") },
      ],
    }),
    { sessions: new LocalSessions({ maxSessions: 10, ttlMs: 60_000 }), onSignal: false },
  );
  const url = `http://127.0.0.1:${s.port}`;
  try {
    assert.equal((await fetch(`${url}/models/private.safetensors`)).status, 404);
    const listed = (await (await fetch(`${url}/models/models.json`)).json()) as {
      models: { name: string }[];
    };
    assert.deepEqual(
      listed.models.map((m) => m.name),
      ["babi-task-1"],
    );
    assert.equal((await fetch(`${url}/models/babi-task-1.safetensors`)).status, 200);
    // Through the API, with the token, it answers as any other.
    const r = await fetch(`${url}/v1/models/private`, { headers: { authorization: "Bearer s3cret" } });
    assert.equal(r.status, 200);
  } finally {
    await s.close();
  }
});

test("serve: a reload that fails keeps the old model serving", async () => {
  await withTmpDirAsync(async (dir) => {
    const file = join(dir, "m.safetensors");
    copyFileSync(join(MODELS, "babi-task-1.safetensors"), file);
    const s = await startServer(settings({ models: [{ name: "m", file }], token: "t" }), {
      sessions: new LocalSessions({ maxSessions: 10, ttlMs: 60_000 }),
      onSignal: false,
    });
    const url = `http://127.0.0.1:${s.port}`;
    const ask = () =>
      fetch(`${url}/v1/models/m/answer`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer t" },
        body: JSON.stringify({ story: STORY, question: "Where is Mary?" }),
      });
    const reload = () =>
      fetch(`${url}/admin/reload`, { method: "POST", headers: { authorization: "Bearer t" } });
    try {
      assert.equal((await ask()).status, 200);
      writeFileSync(file, "{broken");
      const r = await reload();
      assert.equal(r.status, 422);
      assert.match((await r.json()).error.message, /m\.safetensors: not valid JSON/);
      const still = await ask();
      assert.equal(still.status, 200);
      assert.equal((await still.json()).answer, "office");
      copyFileSync(join(MODELS, "babi.safetensors"), file);
      assert.equal((await reload()).status, 200);
      assert.equal((await (await ask()).json()).answer, "office");
      assert.equal(
        (await fetch(`${url}/v1/models/m`, { headers: { authorization: "Bearer t" } }).then((x) => x.json()))
          .config.dim,
        100,
      );
    } finally {
      await s.close();
    }
  });
});

test("serve: the command: a bad model file is one error line and exit 2; SIGTERM under load lets every request finish", async () => {
  await withTmpDirAsync(async (dir) => {
    const bad = join(dir, "bad.safetensors");
    writeFileSync(bad, new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 0x7b]));
    const r = runCli(["serve", "--model", `x=${bad}`, "--port", "0"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: .*bad\.safetensors: header length: 9 bytes, but only 1 follow the length\n$/,
    );
  });
  const { child, port, stderr } = await serve(["--workers", "2", "--model", "babi-task-1"]);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const body = JSON.stringify({ story: STORY, question: "Where is Mary?" });
  // Requests in flight when SIGTERM comes: headers and half the body sent, the rest after the signal.
  const halfSent = Array.from({ length: 20 }, () => {
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/models/babi-task-1/answer",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    const done = new Promise<{ status: number; answer: string }>((resolve, reject) => {
      req.on("response", (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, answer: JSON.parse(text).answer }));
      });
      req.on("error", reject);
    });
    req.write(body.slice(0, 20));
    return { req, done };
  });
  // And load besides: complete requests on fresh connections until the server stops taking them.
  const one = () =>
    new Promise<{ status: number; error: string | null }>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/models/babi-task-1/answer",
          agent: false,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, error: null }));
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => resolve({ status: 0, error: e.code ?? e.message }));
      req.end(body);
    });
  const load = Array.from({ length: 200 }, (_, i) => new Promise((r) => setTimeout(r, i % 50)).then(one));
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  for (const h of halfSent) h.req.end(body.slice(20));
  const finished = await Promise.all(halfSent.map((h) => h.done));
  assert.deepEqual(
    finished.map((f) => [f.status, f.answer]),
    finished.map(() => [200, "office"]),
    "every request in flight at SIGTERM completed",
  );
  const loaded = await Promise.all(load);
  assert.ok(loaded.filter((x) => x.status === 200).length > 0);
  for (const x of loaded)
    assert.ok(x.status === 200 || x.status === 503 || x.error !== null, JSON.stringify(x));
  assert.equal(await exited, 0, stderr());
});

test("serve: sessions expire after their time to live, and the least recently used go first", async () => {
  let now = 0;
  const store = new LocalSessions({ maxSessions: 2, ttlMs: 1000 }, () => now);
  const a = await store.create("m", "x");
  const b = await store.create("m", "x");
  now = 500;
  assert.ok(await store.transcript(a.id), "a, used at 500");
  const c = await store.create("m", "x");
  assert.equal(await store.transcript(b.id), null, "b, the least recently used, made room for c");
  now = 1400;
  assert.ok(await store.transcript(c.id), "c, unused for 900 ms");
  assert.ok(await store.transcript(a.id), "a, unused for 900 ms");
  now = 2500;
  assert.equal(await store.transcript(a.id), null, "a, unused for 1100 ms: expired");
  store.sweep();
  assert.equal(store.size, 0, "the sweep drops c too");
});

test("serve: the memory store is bounded per client and in bytes; a reply reads its window and appends", async () => {
  const store = new LocalSessions({ maxSessions: 100, ttlMs: 60_000, perClient: 2, maxBytes: 10_000 });
  const a = await store.create("m", "10.0.0.1");
  await store.create("m", "10.0.0.1");
  await assert.rejects(store.create("m", "10.0.0.1"), SessionLimitError);
  const other = await store.create("m", "10.0.0.2");
  assert.ok(other.id, "another client is not held back by the first");
  assert.equal(await store.delete(a.id), true);
  const again = await store.create("m", "10.0.0.1");
  const held = await store.acquire(again.id, 3);
  assert.deepEqual(held?.lines, []);
  await store.release(again.id, ["1", "2", "3", "4"]);
  const next = await store.acquire(again.id, 3);
  assert.deepEqual(next?.lines, ["2", "3", "4"]);
  assert.equal(next?.length, 4);
  await store.release(again.id, ["5"]);
  assert.deepEqual((await store.transcript(again.id))?.lines, ["1", "2", "3", "4", "5"]);
  // 10,000 bytes: a session of long lines pushes the least recently used out, then its own oldest lines
  const big = await store.create("m", "10.0.0.3");
  await store.acquire(big.id, 1);
  await store.release(
    big.id,
    Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(200, "x")),
  );
  assert.ok(store.totalBytes <= 10_000, String(store.totalBytes));
  assert.equal(await store.transcript(again.id), null, "the least recently used went first");
  const kept = (await store.transcript(big.id))!.lines;
  assert.ok(
    kept.length > 0 && kept.length < 40 && kept[kept.length - 1].startsWith("39"),
    String(kept.length),
  );
  // turns are taken in order: the second acquire waits for the first release
  const order: string[] = [];
  const first = await store.acquire(big.id, 1);
  const second = store.acquire(big.id, 1).then((s) => order.push(`second saw ${s?.lines[0]?.slice(0, 3)}`));
  await new Promise((r) => setTimeout(r, 20));
  order.push("first releases");
  await store.release(first!.id, ["new"]);
  await second;
  assert.deepEqual(order, ["first releases", "second saw new"]);
});

test("serve: --session-ttl takes a time from 1s to a week, and refuses 0", () => {
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("90"), 90_000);
  assert.throws(() => parseDuration("0"), /^UsageError: --session-ttl: at least 1s, got 0$/);
  assert.throws(() => parseDuration("500ms"), /at least 1s/);
  assert.throws(() => parseDuration("169h"), /at most 168h/);
  assert.throws(() => parseDuration("soon"), /expected a time such as 30m/);
});

test("serve: while draining, a request in flight is answered with Connection: close", async () => {
  const s = await startServer(settings(), {
    sessions: new LocalSessions({ maxSessions: 10, ttlMs: 60_000 }),
    onSignal: false,
  });
  const agent = new Agent({ keepAlive: true });
  try {
    const body = JSON.stringify({ story: ["Mary went to the office."], question: "Where is Mary?" });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: s.port,
          method: "POST",
          path: "/v1/models/babi/answer",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        resolve,
      );
      req.on("error", reject);
      // Half the body, then the drain begins, then the rest: the request is in flight throughout.
      req.write(body.slice(0, 10));
      setTimeout(() => {
        void s.close();
        setTimeout(() => req.end(body.slice(10)), 100);
      }, 100);
    });
    res.resume();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.connection, "close");
  } finally {
    agent.destroy();
    await s.close();
  }
});

test("serve --host 0.0.0.0: the reachable addresses, and a warning when no token guards them", async () => {
  const s = await serve(["--host", "0.0.0.0", "--model", "t1=models/babi-task-1.safetensors", "--no-page"]);
  try {
    assert.equal((await fetch(`${s.base}/v1/health`)).status, 200);
    for (let i = 0; i < 50 && !s.stderr().includes("warning:"); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(
      s.stderr(),
      /warning: --host 0\.0\.0\.0 takes requests from every network .* without --token/,
    );
  } finally {
    await s.stop();
  }
});

test("serve --token-file: the token from a file's first line, so that it never sits in argv", async () => {
  await withTmpDirAsync(async (dir) => {
    const file = join(dir, "token");
    writeFileSync(file, "s3cret\n");
    const s = await serve([
      "--token-file",
      file,
      "--model",
      "t1=models/babi-task-1.safetensors",
      "--no-page",
    ]);
    try {
      assert.equal((await fetch(`${s.base}/v1/models`)).status, 401);
      assert.equal(
        (await fetch(`${s.base}/v1/models`, { headers: { authorization: "Bearer s3cret" } })).status,
        200,
      );
    } finally {
      await s.stop();
    }
    writeFileSync(file, "\n");
    const empty = runCli(["serve", "--token-file", file]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^error: --token-file .*: the first line is empty$/m);
    const both = runCli(["serve", "--token", "x", "--token-file", file]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--token-file: give the token one way/);
  });
});

test("serve: a body announced over the limit with Expect: 100-continue gets its 413 before it is sent", async () => {
  const status = await new Promise<{ code: number; body: string; continued: boolean }>((resolve, reject) => {
    let continued = false;
    const req = request({
      host: "127.0.0.1",
      port: server.port,
      method: "POST",
      path: "/v1/models/babi/answer",
      headers: { "content-type": "application/json", "content-length": 2_000_000, expect: "100-continue" },
    });
    req.on("continue", () => {
      continued = true;
      req.end("x".repeat(2_000_000));
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ code: res.statusCode ?? 0, body, continued }));
    });
    req.on("error", reject);
    req.flushHeaders();
  });
  assert.equal(status.code, 413);
  assert.equal(status.continued, false, "no 100 Continue for a body that will be refused");
  assert.equal(JSON.parse(status.body).error.field, "body");
});

test("serve: a trickling body and a silent connection are cut off; one client's connections are capped", async () => {
  const s = await startServer(
    settings({ limits: { requestTimeoutMs: 600, headersTimeoutMs: 300, maxConnectionsPerClient: 5 } }),
    { sessions: new LocalSessions({ maxSessions: 10, ttlMs: 60_000 }), onSignal: false },
  );
  const connect = (localAddress = "127.0.0.1") =>
    new Promise<Socket>((resolve, reject) => {
      const c = createConnection({ host: "127.0.0.1", port: s.port, localAddress }, () => resolve(c));
      c.on("error", reject);
    });
  const closed = (c: Socket) => new Promise<void>((r) => (c.destroyed ? r() : c.once("close", () => r())));
  try {
    // Content-Length 60000 (under the body limit), then one byte: a 408 after the request timeout, and the
    // connection ends.
    const slow = await connect();
    let got = "";
    slow.on("data", (d) => {
      got += d;
    });
    slow.write(
      "POST /v1/models/babi/answer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 60000\r\n\r\n{",
    );
    const t0 = Date.now();
    await closed(slow);
    assert.ok(Date.now() - t0 < 3000, "cut off within the timeout");
    assert.match(got, /^HTTP\/1\.1 408/);
    // A connection that sends nothing ends after the headers' timeout.
    const silent = await connect();
    await closed(silent);
    // One client address (127.0.0.2) holding five connections gets no sixth; another address still answers.
    const held = await Promise.all(Array.from({ length: 8 }, () => connect("127.0.0.2")));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(held.filter((c) => c.destroyed).length, 3);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/v1/health`)).status, 200);
    for (const c of held) c.destroy();
  } finally {
    await s.close();
  }
});

test("serve: a bad or over-long URL is a 4xx in the one error shape, naming the url", async () => {
  for (const [path, status, method] of [
    [`/v1/models/${"x".repeat(150)}`, 414, "GET"],
    ["/data/%", 400, "GET"],
    [`/v1/sessions/${"a".repeat(200)}`, 414, "DELETE"],
    [`/no/such/${"b".repeat(5000)}`, 404, "GET"],
  ] as const) {
    const r = await fetch(`${base}${path}`, { method });
    const body = await r.json();
    assert.equal(r.status, status, `${path.slice(0, 20)}: ${JSON.stringify(body)}`);
    assert.deepEqual(Object.keys(body), ["error"], path);
    assert.equal(body.error.field, "url", path);
    assert.equal(typeof body.error.message, "string");
    assert.ok(body.error.message.length <= 200, "the message does not echo a huge URL");
  }
});

test("serve /v2: a sentence over --max-sentence-chars, an input given twice and an output not there are 400s", async () => {
  const infer = (inputs: unknown[], outputs?: unknown[]) =>
    post("/v2/models/babi/infer", { inputs, ...(outputs ? { outputs } : {}) });
  const story = (data: string[]) => ({ name: "story", shape: [data.length], datatype: "BYTES", data });
  const question = { name: "question", shape: [1], datatype: "BYTES", data: ["Where is Mary?"] };
  const long = await infer([story(["x".repeat(1500)]), question]);
  // The protocol's error shape: {"error": "<field>: <message>"}.
  assert.equal(long.status, 400);
  assert.match(long.body.error, /^inputs\.story\.data\.0: longer than 1000 characters$/);
  const twice = await infer([story(["Mary went home."]), question, question]);
  assert.equal(twice.status, 400);
  assert.match(twice.body.error, /^inputs\.question: given twice$/);
  const nothing = await infer([story(["Mary went home."]), question], [{ name: "logits" }]);
  assert.equal(nothing.status, 400);
  assert.match(nothing.body.error, /^outputs\.logits: not an output of this model/);
  const ok = await infer([story(["Mary went home."]), question], [{ name: "answer" }]);
  assert.equal(ok.status, 200);
});

test("serve: blank lines of a story do not count toward its sentence limit", async () => {
  const story = `Mary went to the office.${"\n".repeat(10_500)}John went home.`;
  const r = await post("/v1/models/babi/answer", { story, question: "Where is Mary?" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.memory, ["Mary went to the office.", "John went home."]);
});
