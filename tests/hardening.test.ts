// What a hostile first hour with the CLI found (issue 19): each case failed before its fix.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { parseBabi } from "../src/data/babi.js";
import { parseDialogs } from "../src/data/dialog.js";
import { BABI_EN, cliArgs, postJson, ROOT, runCli, serve, withTmpDir, withTmpDirAsync } from "./helpers.js";

/** Runs the CLI with stdout read until the first line, then closed, as `| head -1` does. */
function headOne(
  args: string[],
  input?: string,
): Promise<{ code: number | null; first: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cliArgs(...args), {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) child.stdout.destroy();
    });
    child.stdin.on("error", () => {});
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
    child.on("exit", (code) => resolve({ code, first: out.split("\n")[0], stderr }));
  });
}

test("a closed output pipe ends the command quietly, exit 0", async () => {
  await withTmpDirAsync(async (dir) => {
    const story = join(dir, "s.txt");
    writeFileSync(story, "Mary moved to the bathroom.\n");
    const ask = await headOne(
      ["ask", "--model", "babi-task-1", "--story", story],
      "Where is Mary?\n".repeat(5000),
    );
    assert.equal(ask.code, 0, ask.stderr);
    assert.equal(ask.first, "answer: bathroom (p = 1.000)");
    assert.doesNotMatch(ask.stderr, /EPIPE|\n\s+at /);
    const script = join(dir, "long.txt");
    writeFileSync(script, "hello\n".repeat(3000));
    // --show-attention: more output per line, so the pipe fills (and breaks) sooner.
    const chat = await headOne(["chat", "--script", script, "--show-attention"]);
    assert.equal(chat.code, 0, chat.stderr);
    assert.doesNotMatch(chat.stderr, /EPIPE|\n\s+at /);
  });
});

test("ask --json reading stdin: every answer is one JSON line", () => {
  const r = runCli(["ask", "--model", "babi-task-1", "--json"], {
    input: "Mary moved to the bathroom.\nWhere is Mary?\nJohn went to the hallway.\nWhere is John?\n",
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).answer),
    ["bathroom", "hallway"],
  );
});

test("ask: a story longer than the memory says what it dropped and keeps the sentence numbers", () => {
  withTmpDir((dir) => {
    const story = join(dir, "long.txt");
    const lines = Array.from({ length: 500 }, (_, i) =>
      i === 499 ? "Mary went to the garden." : "John went to the kitchen.",
    );
    writeFileSync(story, `${lines.join("\n")}\n`);
    const r = runCli(["ask", "--model", "babi-task-1", "--story", story, "Where is Mary?"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /note: the model's memory holds 50 sentences; the 450 before sentence 451 were dropped/,
    );
    assert.match(r.stdout, /\n451 +John went to the kitchen\./);
    assert.match(r.stdout, /\n500 +Mary went to the garden\./);
    assert.doesNotMatch(r.stdout, /\n {0,2}1 +John/);
  });
});

test("ask with no story is an error, not an answer; after :clear too", () => {
  const r = runCli(["ask", "--model", "babi-task-1", "Where is Mary?"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: story: no sentences/);
  const s = runCli(["ask", "--model", "babi-task-1"], {
    input: "Mary moved to the bathroom.\nWhere is Mary?\n:clear\nWhere is Mary?\n",
  });
  assert.equal(s.code, 2);
  assert.equal(s.stdout.split("\n").filter((l) => l.startsWith("answer:")).length, 1);
  assert.match(s.stderr, /error: story: no sentences/);
});

test("binary or non-UTF-8 stories, scripts and stdin are refused at their line", () => {
  withTmpDir((dir) => {
    const bin = join(dir, "bin.txt");
    writeFileSync(bin, Buffer.from([0x68, 0x69, 0x0a, 0xff, 0xfe, 0x00, 0x0a]));
    const chat = runCli(["chat", "--script", bin]);
    assert.equal(chat.code, 2);
    assert.match(chat.stderr, /^error: .*bin\.txt:2: not valid UTF-8 text\n$/);
    const story = runCli(["ask", "--model", "babi-task-1", "--story", bin, "Where is Mary?"]);
    assert.equal(story.code, 2);
    assert.match(story.stderr, /^error: .*bin\.txt:2: not valid UTF-8 text\n$/);
    const nul = join(dir, "nul.txt");
    writeFileSync(nul, "Mary went home.\nJohn\0 went out.\n");
    const n = runCli(["ask", "--model", "babi-task-1", "--story", nul, "Where is Mary?"]);
    assert.equal(n.code, 2);
    assert.match(n.stderr, /nul\.txt:2: a NUL byte/);
  });
});

test("options that exclude each other are refused", () => {
  const r = runCli(["train", "--task", "1", "--tasks", "2"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "error: --task and --tasks: give one\n");
  for (const [args, message] of [
    [["chat", "--kb", "kb.txt", "--no-kb"], "--kb and --no-kb"],
    [["train", "--task", "1", "--resume", "--force", "--out", "m.json"], "--resume and --force"],
    [["train", "--task", "1", "--linear-start", "--no-linear-start"], "--linear-start and --no-linear-start"],
    [
      ["dialog", "train", "--task", "1", "--no-match-type", "--match-type"],
      "--match-type and --no-match-type",
    ],
  ] as const) {
    const x = runCli([...args]);
    assert.equal(x.code, 2);
    assert.equal(x.stderr, `error: ${message}: give one\n`);
  }
});

test("a dialog line without its TAB, a bAbI line with a fourth field or a NUL byte is refused at its line", () => {
  assert.throws(
    () =>
      parseDialogs("1 hello\thello what can i help you with today\n2 i want a table i'm on it\n", "d.txt"),
    /^DataError: d\.txt:2: neither a turn .* nor an API result/,
  );
  assert.throws(() => parseDialogs("1 hi\tthere\tand more\n", "d.txt"), /d\.txt:1: more than one TAB/);
  assert.throws(() => parseDialogs("1 hi\0\tthere\n", "d.txt"), /d\.txt:1: a NUL byte/);
  const ok = parseDialogs(
    "1 hi\tapi_call x y\n2 api_call no result\n3 resto_a R_rating 3\n4 <SILENCE>\tok\n",
    "d.txt",
  );
  assert.equal(ok[0].lines.filter((l) => l.kind === "result").length, 2);
  assert.throws(
    () => parseBabi("1 Mary went home.\n2 Where is Mary?\thome\t1\textra\n", "q.txt"),
    /q\.txt:2: 4 TAB-separated fields/,
  );
  assert.throws(
    () => parseBabi("1 Mary went\0 home.\n2 Where is Mary?\thome\t1\n", "q.txt"),
    /q\.txt:1: a NUL byte/,
  );
});

test("train says where the model went; an interrupted run's checkpoint is not overwritten without --force", () => {
  withTmpDir((dir) => {
    const args = ["train", "--task", "1", "--data", BABI_EN, "--epochs", "1", "--no-linear-start"];
    const none = runCli(args);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /note: no --out given: the model was not kept/);
    const out = join(dir, "m.safetensors");
    writeFileSync(`${out}.ckpt`, "{}");
    const refused = runCli([...args, "--out", out]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: .*m\.safetensors\.ckpt: the checkpoint of an interrupted run is there: --resume continues it, --force starts over\n$/,
    );
    const forced = runCli([...args, "--out", out, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /model written to .*m\.safetensors/);
  });
});

test("messages: --version, unknown sets, a file for --data, backwards task lists, bad URLs, float32 overflow", () => {
  assert.match(runCli(["--version"]).stdout, /^\d+\.\d+\.\d+\n$/);
  const set = runCli(["data", "stats", "--set", "xx"]);
  assert.equal(set.code, 2);
  assert.equal(set.stderr, 'error: --set: unknown set "xx" (the sets are en, en-10k, hn, shuffled)\n');
  withTmpDir((dir) => {
    const file = join(dir, "story.txt");
    writeFileSync(file, "Mary went home.\n");
    const data = runCli(["data", "stats", "--data", file]);
    assert.equal(data.code, 2);
    assert.match(data.stderr, /^error: --data .*story\.txt: a file, not a folder/);
    const env = runCli(["data", "stats"], { env: { MEMN2N_DATA: join(dir, "nonexistent") } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /^error: MEMN2N_DATA=.*nonexistent: no such folder\n$/);
    const big = JSON.parse(readFileSync(join(ROOT, "tests", "fixtures", "tiny-model.json"), "utf8"));
    big.weights.E1[5] = 1e200;
    writeFileSync(join(dir, "big.json"), JSON.stringify(big));
    for (const cmd of [
      ["test", "--data", BABI_EN],
      ["ask", "Where is Mary?"],
    ]) {
      const r = runCli([cmd[0], "--model", join(dir, "big.json"), ...cmd.slice(1)]);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, /big\.json: weights\.E1: value 5 is not a finite float32\n$/);
    }
  });
  const back = runCli(["train", "--tasks", "5-1", "--joint"]);
  assert.equal(back.code, 2);
  assert.match(back.stderr, /tasks: "5-1" runs backwards \(write 1-5\)/);
  const url = runCli(["download", "--url", "notaurl"]);
  assert.equal(url.code, 2);
  assert.equal(url.stderr, "error: --url: not an http(s) URL: notaurl\n");
  const help = runCli(["dialog", "train", "--help"]).stdout;
  assert.doesNotMatch(help, /with --joint|joint 1k/);
  // Dialog turns have no supporting facts, so the strong-supervision options are the bAbI commands' only.
  assert.doesNotMatch(help, /--supervise-|--match-question/);
  assert.match(runCli(["train", "--help"]).stdout, /--supervise-tasks <list>/);
  assert.match(help, /--no-attend-empty +turn --attend-empty off/);
  assert.doesNotMatch(runCli(["train", "--help"]).stdout, /--candidate-words/);
});

test("every size a file decides has a bound, checked before anything is allocated for it", () => {
  withTmpDir((dir) => {
    const words = Array.from({ length: 200_000 }, (_, i) => `w${i % 50}`).join(" ");
    const good = readFileSync(join(BABI_EN, "qa1_single-supporting-fact_train.txt"), "utf8")
      .split("\n")
      .slice(0, 30);
    const write = (lines: string[]) => {
      writeFileSync(join(dir, "qa1_x_train.txt"), `${lines.join("\n")}\n`);
      writeFileSync(join(dir, "qa1_x_test.txt"), `${good.join("\n")}\n`);
    };
    write([`1 ${words}.`, ...good.slice(1)]);
    const args = ["train", "--task", "1", "--data", dir, "--epochs", "1", "--no-linear-start"];
    const line = runCli(args);
    assert.equal(line.code, 2);
    assert.match(
      line.stderr,
      /^error: .*qa1_x_train\.txt:1: a line of \d+ characters, more than the limit of 10000 \(--max-line-chars raises it\)\n$/,
    );
    const sentence = runCli([...args, "--max-line-chars", "2000000"]);
    assert.equal(sentence.code, 2);
    assert.match(
      sentence.stderr,
      /qa1_x_train\.txt:1: a sentence of 200000 words, more than the limit of 200 \(--max-sentence-words raises it\)/,
    );
    // Raised, the shapes say what the run would take, and it is refused with the figure.
    const memory = runCli([
      ...args,
      "--max-line-chars",
      "2000000",
      "--max-sentence-words",
      "300000",
      "--max-memory-gb",
      "0.05",
    ]);
    assert.equal(memory.code, 2);
    assert.match(
      memory.stderr,
      /^error: memory: the run needs about \d+ MB \(data .* sentences of 200000 words\)\), more than the 52 MB it may take \(--max-memory-gb/,
    );
    // The same file with sentences cut trains.
    const cut = runCli([
      ...args,
      "--max-line-chars",
      "2000000",
      "--max-sentence-words",
      "300000",
      "--sentence-len",
      "10",
    ]);
    assert.equal(cut.code, 0, cut.stderr);
    write(good);
    const story = runCli(["data", "stats", "--data", dir, "--tasks", "1", "--max-story-lines", "3"]);
    assert.equal(story.code, 2);
    assert.match(
      story.stderr,
      /qa1_x_train\.txt:\d+: a story of more than 3 lines \(--max-story-lines raises it\)\n$/,
    );
    const vocab = runCli([...args, "--max-vocab", "5"]);
    assert.equal(vocab.code, 2);
    assert.match(
      vocab.stderr,
      /^error: vocabulary: \d+ words, more than the limit of 5 \(--max-vocab raises it\)\n$/,
    );
    write([`1 ${words.split(" ").slice(0, 150).join(" ")}.`, ...good.slice(1)]);
    const outlier = runCli(["data", "stats", "--data", dir, "--tasks", "1"]);
    assert.equal(outlier.code, 0, outlier.stderr);
    assert.match(outlier.stderr, /warning: task 1: a sentence of 150 words, against [\d.]+ on average/);
    writeFileSync(join(dir, "qa1_x_train.txt"), Buffer.alloc(2 * 2 ** 20, 0x41));
    const big = runCli(["data", "stats", "--data", dir, "--tasks", "1", "--max-file-mb", "1"]);
    assert.equal(big.code, 2);
    assert.match(
      big.stderr,
      /qa1_x_train\.txt: 2 MB, more than the limit of 1 MB \(--max-file-mb raises it\)/,
    );
  });
});

test("tables and progress: the option a message is about, linear start without a made-up total, no validation as '-'", () => {
  const t = runCli(["train", "--task", "99"]);
  assert.equal(t.stderr, 'error: --task: "99" is outside the tasks 1 to 20\n');
  const r = runCli([
    "train",
    "--task",
    "1",
    "--data",
    BABI_EN,
    "--epochs",
    "2",
    "--ls-epochs",
    "3",
    "--ls-rule",
    "fixed",
    "--valid-fraction",
    "0",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /seed 1 epoch 1 \(linear start\) lr/);
  assert.match(r.stderr, /seed 1 epoch 5\/5 lr/);
  assert.doesNotMatch(r.stderr, /epoch 1\/5/);
  assert.match(r.stdout, /seed +epochs +train err % +valid err % +test err % +seconds +kept\n/);
  assert.match(r.stdout, /\n +1 +5 +[\d.]+ +- +[\d.]+ +[\d.]+ +chosen\n/);
});

test("serve --workers 2: parallel replies to one session all land, in order; the rate limit is one count across workers", async () => {
  const s = await serve(["--workers", "2", "--model", "restaurant", "--model", "babi", "--rate-limit", "30"]);
  try {
    const post = (path: string, body: unknown) => postJson(s.base, path, body);
    const created = (await (await post("/v1/sessions", { model: "restaurant" })).json()) as { id: string };
    const users = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "hello" : "i love british food"));
    const replies = await Promise.all(
      users.map((user) => post(`/v1/sessions/${created.id}/reply`, { user })),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      users.map(() => 200),
    );
    const bodies = (await Promise.all(replies.map((r) => r.json()))) as { lines: string[]; length: number }[];
    // each reply read every line before it: 20 different transcript lengths, and the transcript holds every
    // line each reply added, each user's line among them
    const lengths = bodies.map((b) => b.length).sort((a, b) => a - b);
    assert.equal(new Set(lengths).size, 20, String(lengths));
    const t = (await (await fetch(`${s.base}/v1/sessions/${created.id}`)).json()) as { lines: string[] };
    assert.equal(t.lines.length, lengths[19]);
    assert.equal(t.lines.filter((l) => (users as string[]).includes(l.split("\t")[0])).length, 20);
    for (const b of bodies) assert.ok(b.lines.length >= 1);
    // 30 requests a minute from this client, whichever worker answers: 22 so far
    const more = await Promise.all(
      Array.from({ length: 60 }, () =>
        post("/v1/models/babi/answer", { story: ["Mary went home."], question: "Where is Mary?" }),
      ),
    );
    const statuses = more.map((r) => r.status);
    assert.equal(statuses.filter((c) => c !== 429).length, 30 - 22, statuses.join(","));
    const limited = (await more.find((r) => r.status === 429)!.json()) as {
      error: { field: string; message: string };
    };
    assert.equal(limited.error.field, "rate");
    assert.match(limited.error.message, /^more than 30 requests a minute from this client: try again in /);
  } finally {
    await s.stop();
  }
});

test("serve: a body over the limit sent whole (no Expect) always gets its 413, never a reset", async () => {
  const s = await serve(["--model", "babi", "--no-page"]);
  try {
    const outcomes: string[] = [];
    for (let t = 0; t < 20; t++) {
      outcomes.push(
        await new Promise<string>((resolve) => {
          const sock = connect({ host: "127.0.0.1", port: s.port });
          let head = "";
          sock.on("connect", () => {
            sock.write(
              "POST /v1/models/babi/answer HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 3145728\r\n\r\n",
            );
            const chunk = Buffer.alloc(64 * 1024, 0x20);
            let sent = 0;
            const pump = () => {
              while (sent < 3145728) {
                sent += chunk.length;
                if (!sock.write(chunk)) {
                  sock.once("drain", pump);
                  return;
                }
              }
            };
            pump();
          });
          sock.on("data", (d) => {
            head += d;
          });
          sock.on("error", () => {});
          sock.on("close", () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? "reset"));
        }),
      );
    }
    assert.deepEqual(
      outcomes,
      outcomes.map(() => "413"),
    );
  } finally {
    await s.stop();
  }
});
