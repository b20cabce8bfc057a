// The shipped models, used as a new user would right after `npm ci`: `ask` and `chat` with no --model, a
// whole booking with the knowledge-base lookups for restaurants the training dialogs never name, `models`,
// `convert`, and the package's size budget.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDialogBot } from "../src/api/dialog.js";
import { parseDialogs } from "../src/data/dialog.js";
import { BOOKING, ROOT, runCli, SHARED_DATA, withTmpDir } from "./helpers.js";

const MODELS = join(ROOT, "models");
const DIALOG = join(SHARED_DATA, "dialog-babi");

test("models: `ask` with no --model answers from the shipped joint model", () => {
  withTmpDir((dir) => {
    const story = join(dir, "s.txt");
    writeFileSync(
      story,
      "Mary moved to the bathroom.\nJohn went to the hallway.\nMary travelled to the office.\n",
    );
    const r = runCli(["ask", "--story", story, "Where is Mary?", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.json as { answer: string }).answer, "office");
    const john = runCli(["ask", "--model", "babi-task-1", "--story", story, "Where is John?", "--json"]);
    assert.equal((john.json as { answer: string }).answer, "hallway");
  });
});

test("models: `chat` books a table by itself, for restaurants the training dialogs never name", () => {
  const trn = readFileSync(join(DIALOG, "dialog-babi-task5-full-dialogs-trn.txt"), "utf8");
  for (const r of ["resto_paris_cheap_italian_4stars", "resto_paris_cheap_italian_3stars"]) {
    assert.ok(!trn.includes(r), `${r} occurs in the training dialogs`);
  }
  const script = BOOKING;
  withTmpDir((dir) => {
    const file = join(dir, "booking.txt");
    writeFileSync(file, `${script.join("\n")}\n`);
    const r = runCli(["chat", "--script", file]);
    assert.equal(r.code, 0, r.stderr);
    const bot = r.stdout.split("\n").filter((l) => l.startsWith("bot: "));
    assert.deepEqual(bot, [
      "bot: hello what can i help you with today",
      "bot: i'm on it",
      "bot: any preference on a type of cuisine",
      "bot: ok let me look into some options for you",
      "bot: api_call italian paris six cheap",
      "bot: what do you think of this option: resto_paris_cheap_italian_4stars",
      "bot: sure let me find an other option for you",
      "bot: what do you think of this option: resto_paris_cheap_italian_3stars",
      "bot: great let me do the reservation",
      "bot: here it is resto_paris_cheap_italian_3stars_phone",
      "bot: is there anything i can help you with",
      "bot: you're welcome",
    ]);
    const api = r.stdout.split("\n").filter((l) => l.startsWith("api: "));
    assert.equal(api.length, 14, "two restaurants, seven lines each");
    assert.equal(
      api[0],
      "api: resto_paris_cheap_italian_4stars R_phone resto_paris_cheap_italian_4stars_phone",
    );
    // Without the lookup the bot waits for results that never come.
    const bare = runCli(["chat", "--script", file, "--no-kb"]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.ok(!bare.stdout.includes("api: "));
    assert.ok(!bare.stdout.includes("resto_paris_cheap_italian_4stars"));
  });
});

test("models: the restaurant bot replays the test dialogs, API results and all, from its own lookups", () => {
  const bot = loadDialogBot(readFileSync(join(MODELS, "restaurant.safetensors")), "restaurant");
  const dialogs = parseDialogs(
    readFileSync(join(DIALOG, "dialog-babi-task5-full-dialogs-tst.txt"), "utf8"),
    "tst",
  );
  let same = 0;
  const tried = dialogs.slice(0, 30);
  for (const d of tried) {
    bot.reset();
    let ok = true;
    for (const l of d.lines) {
      if (l.kind !== "turn") continue;
      const user = l.user.join(" ") === "<silence>" ? "" : l.user.join(" ");
      const r = bot.say(user);
      if (r.response !== l.bot.join(" ")) ok = false;
    }
    if (ok) same++;
  }
  assert.ok(same >= tried.length - 1, `${same} of ${tried.length} dialogs replayed exactly`);
});

test("models: `memn2n models` lists every shipped model with its figures, within the size budget", () => {
  const r = runCli(["models", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const listed = (r.json as { models: { name: string; bytes: number; figures: Record<string, number> }[] })
    .models;
  const names = listed.map((m) => m.name);
  for (const n of [
    "babi",
    "restaurant",
    "dstc2",
    ...Array.from({ length: 20 }, (_, i) => `babi-task-${i + 1}`),
  ]) {
    assert.ok(names.includes(n), `${n} is shipped`);
  }
  for (const m of listed) assert.ok(Object.keys(m.figures).length > 0, `${m.name} has test figures`);
  const pack = JSON.parse(
    execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" }),
  ) as { files: { path: string; size: number }[] }[];
  const models = pack[0].files.filter((f) => f.path.startsWith("models/"));
  const bytes = models.reduce((a, f) => a + f.size, 0);
  assert.ok(models.some((f) => f.path === "models/restaurant.safetensors"));
  assert.ok(!models.some((f) => f.path.startsWith("models/build/")));
  assert.ok(bytes <= 15 * 1024 * 1024, `models/ is ${bytes} bytes in the package`);
});

test("models: `convert` to JSON and back gives the shipped file's bytes; an unknown name is one error line", () => {
  withTmpDir((dir) => {
    const json = join(dir, "m.json");
    const st = join(dir, "m.safetensors");
    assert.equal(runCli(["convert", "babi-task-1", json]).code, 0);
    assert.equal(runCli(["convert", json, st]).code, 0);
    assert.deepEqual(readFileSync(st), readFileSync(join(MODELS, "babi-task-1.safetensors")));
  });
  const r = runCli(["ask", "--model", "babi-task-99", "Where is Mary?"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^error: --model: babi-task-99: no such file, nor a shipped model of that name \(shipped: babi, /,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1);
});
