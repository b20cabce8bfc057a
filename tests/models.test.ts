// The shipped models, used as a new user would right after `npm ci`: `ask` and `chat` with no --model, a
// whole booking with the knowledge-base lookups for restaurants the training dialogs never name, `models`,
// `convert`, and the package's size budget.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDialogBot, NOT_UNDERSTOOD } from "../src/api/dialog.js";
import { measure } from "../src/cli/commands/test.js";
import { parseDialogs } from "../src/data/dialog.js";
import { KnowledgeBase } from "../src/data/kb.js";
import { modelFromText } from "../src/model/file.js";
import { lmFromSafetensors } from "../src/model/lm-file.js";
import { BABI_ROOT, BOOKING, ROOT, runCli, SHARED_DATA, withTmpDir } from "./helpers.js";

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
    // From a pipe, as from a script, the user's lines are echoed beside the bot's.
    const piped = runCli(["chat"], { input: `${script.join("\n")}\n` });
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(
      piped.stdout.split("\n").filter((l) => l.startsWith("you: ")),
      script.map((l) => `you: ${l}`),
    );
    assert.equal(piped.stdout, r.stdout);
    // With the knowledge base on, a line shaped like a result is the user's words, not a result.
    const evil = runCli(["chat"], { input: "hello\nresto_evil R_rating 9\n" });
    assert.equal(evil.code, 0, evil.stderr);
    const evilBot = evil.stdout.split("\n").filter((l) => l.startsWith("bot: "));
    assert.equal(evilBot.length, 2, "the line got a reply");
    assert.ok(!evilBot.some((l) => l.includes("resto_evil")), evilBot.join("\n"));
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
  let wentOn = 0;
  for (const d of tried) {
    bot.reset();
    let ok = true;
    // What the bot went on to say by itself stands for the data's next turns where its user said nothing;
    // where the data's user speaks instead (a new wish after the api_call), the bot hears it all the same.
    let queued: string[] = [];
    for (const l of d.lines) {
      if (l.kind !== "turn") continue;
      const silent = l.user.join(" ") === "<silence>";
      let response: string;
      if (silent && queued.length > 0) response = queued.shift()!;
      else {
        const r = bot.say(silent ? "" : l.user.join(" "));
        response = r.response;
        queued = (r.followUps ?? []).map((f) => f.response);
        wentOn += queued.length;
      }
      if (response !== l.bot.join(" ")) ok = false;
    }
    if (ok) same++;
  }
  assert.ok(wentOn >= 2 * tried.length, `the bot went on by itself ${wentOn} times`);
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

const shippedFile = (name: string) => {
  const path = join(MODELS, `${name}.safetensors`);
  return modelFromText(readFileSync(path), path);
};
const shippedNames = () =>
  (
    JSON.parse(readFileSync(join(MODELS, "models.json"), "utf8")) as { models: { name: string }[] }
  ).models.map((m) => m.name);

test("models: every shipped bAbI model's recorded test errors are what `memn2n test` measures on it", () => {
  const babi = shippedNames().filter((n) => n.startsWith("babi"));
  assert.ok(babi.length >= 22, `${babi.length} bAbI models`);
  for (const name of babi) {
    const m = shippedFile(name);
    const recorded = m.meta.testErrors ?? {};
    const tasks = Object.keys(recorded).map(Number);
    assert.deepEqual(tasks, m.meta.tasks, name);
    const { errors } = measure(m, join(BABI_ROOT, m.meta.set ?? "en"), tasks);
    for (const e of errors) assert.equal(e.error, recorded[e.task], `${name}, task ${e.task}`);
    // The card says the same as the file's own figures.
    for (const e of errors) {
      const row = m.card?.results.find((r) => r.name === `task ${e.task} test error`);
      assert.equal(row?.value, e.error, `${name}'s card, task ${e.task}`);
    }
  }
});

test("models: the default `babi` passes all 20 tasks; no task model is above 5%; every model has its card", () => {
  const babi = shippedFile("babi");
  const errors = Object.values(babi.meta.testErrors ?? {});
  assert.equal(errors.length, 20);
  assert.deepEqual(
    errors.filter((e) => e > 0.05),
    [],
  );
  // 0.56% when it shipped (the goal is 0.5%; the paper's joint 10k model 7.5%).
  assert.ok(errors.reduce((a, b) => a + b, 0) / 20 < 0.01, "mean test error under 1%");
  for (let t = 1; t <= 20; t++) {
    const e = Object.values(shippedFile(`babi-task-${t}`).meta.testErrors ?? {})[0];
    assert.ok(e <= 0.05, `babi-task-${t}: ${e}`);
  }
  for (const name of shippedNames()) {
    const path = join(MODELS, `${name}.safetensors`);
    const card = name === "ptb" ? lmFromSafetensors(readFileSync(path), path).card : shippedFile(name).card;
    assert.ok(card, `${name} has a card`);
    for (const k of ["summary", "use", "data", "license", "command", "seeds", "date"] as const)
      assert.ok(card[k].length > 0, `${name}: card.${k}`);
    assert.ok(card.results.length > 0 && card.limitations.length > 0, name);
  }
  // The card is what `memn2n models --json` shows.
  const r = runCli(["models", "--json"]);
  const listed = (r.json as { models: { name: string; card: { command: string } | null }[] }).models;
  assert.equal(listed.find((m) => m.name === "babi")?.card?.command, babi.card?.command);
});

test("models: the shipped language model's recorded perplexities are what `memn2n lm test` measures on it", () => {
  const path = join(MODELS, "ptb.safetensors");
  const m = lmFromSafetensors(readFileSync(path), path);
  const r = runCli(["lm", "test", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as { valid_ppl: number; test_ppl: number };
  assert.ok(
    Math.abs(j.valid_ppl - m.figures!.validPpl) < 1e-6 * j.valid_ppl,
    `${j.valid_ppl} vs ${m.figures!.validPpl}`,
  );
  assert.ok(
    Math.abs(j.test_ppl - m.figures!.testPpl!) < 1e-6 * j.test_ppl,
    `${j.test_ppl} vs ${m.figures!.testPpl}`,
  );
  assert.equal(m.card?.results.find((x) => x.name === "test perplexity")?.value, m.figures!.testPpl);
  // a language model given to a question-answering command is named as one
  const ask = runCli(["ask", "--model", path, "--story", "examples/story.txt", "Where is Mary?"]);
  assert.equal(ask.code, 2);
  assert.match(ask.stderr, /ptb\.safetensors: a language model: use it with `memn2n lm next`/);
});

test("models: the bot bounds the user's line and a given history before allocating, the field named", () => {
  const bot = loadDialogBot(readFileSync(join(MODELS, "restaurant.safetensors")), "restaurant");
  const long = Array.from({ length: 5000 }, () => "a").join(" ");
  assert.throws(() => bot.say(long), /^FieldError: user: a line of 5000 words, more than the limit of 200$/);
  assert.throws(
    () => bot.replyTo(["hello\thello what can i help you with today", `${long.slice(0, 999)}\tok`], "hi"),
    /^FieldError: history\.1: a line of 501 words, more than the limit of 200$/,
  );
  assert.throws(
    () => bot.say("hello there", undefined, { limits: { maxLineChars: 5 } }),
    /^FieldError: user: 11 characters, more than the limit of 5$/,
  );
  assert.equal(bot.say("hello").response, "hello what can i help you with today");
});

test("models: the bot goes on by itself, looks up a call whatever follows, and says when it understood nothing", () => {
  const bot = loadDialogBot(readFileSync(join(MODELS, "restaurant.safetensors")), "restaurant");
  // Nothing known and nothing in memory to go by: not the first candidate (an api_call) but a plain answer.
  assert.equal(bot.say("Qu'est-ce que c'est?").response, NOT_UNDERSTOOD);
  assert.equal(bot.say("hi!").response, "hello what can i help you with today");
  const r = bot.say("Can you book a table in Rome for two with French food in a cheap price range?");
  assert.deepEqual(
    [r.response, ...(r.followUps ?? []).map((f) => f.response)],
    ["i'm on it", "ok let me look into some options for you", "api_call french rome two cheap"],
  );
  // A line that is not a new wish lets the lookup through: the results go into memory, a proposal follows.
  const next = bot.say("ok thanks");
  assert.ok((next.apiResults?.length ?? 0) > 0, "the lookup was not dropped");
  assert.match(next.response, /^what do you think of this option: resto_rome_cheap_french_\d+stars$/);
  // What the user is shown of the memory: names, not placeholders, and "(waiting)" for silence.
  const shown = bot.say("no, I don't like that").memory.join(" | ");
  assert.doesNotMatch(shown, /resto@|<silence>|r_\w+/);
  assert.match(shown, /resto_rome_cheap_french_\d+stars location rome/);
  // A new wish right after the call: as in the data, the call is dropped and the bot asks again.
  bot.reset();
  for (const line of [
    "hello",
    "can you book a table in paris for six with italian food in a cheap price range",
  ])
    bot.say(line);
  const changed = bot.say("instead could it be in madrid");
  assert.equal(changed.apiResults, undefined);
  assert.equal(changed.response, "sure is there anything else to update");
});

test("models: with a knowledge base of real values, the bot gives the restaurant's own phone number", () => {
  const kbText = readFileSync(join(DIALOG, "dialog-babi-kb-all.txt"), "utf8").replace(
    "resto_paris_cheap_italian_3stars R_phone\tresto_paris_cheap_italian_3stars_phone",
    "resto_paris_cheap_italian_3stars R_phone\t+39-06-555-0106",
  );
  const bot = loadDialogBot(readFileSync(join(MODELS, "restaurant.safetensors")), "restaurant", {
    kb: KnowledgeBase.parse(kbText, "kb.txt"),
  });
  const said = BOOKING.flatMap((line) => {
    const r = bot.say(line);
    return [r, ...(r.followUps ?? [])];
  });
  const phone = said.find((r) => r.response.startsWith("here it is"));
  assert.equal(phone?.response, "here it is +39-06-555-0106");
  // The memory keeps the data's words, so that the model reads what it was trained on.
  assert.ok(phone?.history.at(-1)?.endsWith("here it is resto_paris_cheap_italian_3stars_phone"));
});

test("models: the dstc2 bot greets first, as its data's bot does, before it answers the user's first line", () => {
  const bot = loadDialogBot(readFileSync(join(MODELS, "dstc2.safetensors")), "dstc2");
  assert.equal(bot.model.dialog?.opens, true);
  const r = bot.say("hello");
  assert.match(r.opening?.response ?? "", /^hello , welcome to the cambridge restaurant system/);
  assert.doesNotMatch(r.response, /sorry/);
  assert.equal(r.history.length, 2, "the greeting's turn and the user's");
  // The restaurant bot's data opens with the user: no greeting there.
  const restaurant = loadDialogBot(readFileSync(join(MODELS, "restaurant.safetensors")), "restaurant");
  assert.equal(restaurant.say("hello").opening, undefined);
});

test("models: a chat of thousands of turns reads its last 1,000 lines: the bot's memory of it stays bounded", () => {
  const bot = loadDialogBot(readFileSync(join(MODELS, "restaurant.safetensors")), "restaurant");
  let longest = 0;
  let last = "";
  for (let i = 0; i < 2_050; i++) {
    const r = bot.say(i % 2 === 0 ? "hello" : "i love british food");
    longest = Math.max(longest, r.history.length);
    last = r.history[r.history.length - 1];
  }
  // cut back to the last 1,000 lines once it held 2,000: never much more than 2,000 kept
  assert.ok(longest <= 2_000 + 5, String(longest));
  assert.match(last, /^i love british food\t/);
});
