// The Dialog bAbI reader: turns, API results, candidates, the knowledge base, and bad input named by file and
// line (exit 2 from the CLI).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CandidateSet, matchIndex } from "../src/data/candidates.js";
import {
  carryOnOf,
  dialogExamples,
  entitiesOfResults,
  opensSilent,
  parseCandidates,
  parseDialogs,
  responseShape,
  typedTokens,
} from "../src/data/dialog.js";
import { DataError } from "../src/data/errors.js";
import { parseKnowledgeBase } from "../src/data/kb.js";
import { ConfigError, dialogDefaults, makeConfig } from "../src/model/config.js";
import { prepareDialog } from "../src/train/dialog-prepare.js";
import { runCli, withTmpDir } from "./helpers.js";

const DIALOG = [
  "1 hi\thello what can i help you with today",
  "2 italian food in paris please\tok let me look into some options for you",
  "3 <SILENCE>\tapi_call italian paris four cheap",
  "4 resto_paris_1 R_cuisine italian",
  "5 resto_paris_1 R_rating 7",
  "6 \twhat do you think of this option: resto_paris_1",
  "",
  "1 hello\thello what can i help you with today",
  "",
].join("\n");

test("a dialog file parses into turns and API results; every turn is an example over what came before", () => {
  const dialogs = parseDialogs(DIALOG, "d.txt");
  assert.equal(dialogs.length, 2);
  assert.deepEqual(
    dialogs[0].lines.map((l) => l.kind),
    ["turn", "turn", "turn", "result", "result", "turn"],
  );
  const ex = dialogExamples(dialogs);
  assert.equal(ex.length, 5);
  assert.deepEqual(ex[0].sentences, []);
  assert.deepEqual(ex[2].question, ["<silence>"]);
  assert.equal(ex[2].answer, "api_call italian paris four cheap");
  // The last turn of dialog 1: an empty user utterance is silence; memory = 3 turns (6 lines) + 2 results.
  assert.deepEqual(ex[3].question, ["<silence>"]);
  assert.equal(ex[3].sentences.length, 8);
  assert.deepEqual(ex[3].sentences[0].tokens, ["hi", "$u", "#3"]);
  assert.deepEqual(ex[3].sentences[7].tokens, ["resto_paris_1", "r_rating", "7", "$r", "#1"]);
  assert.equal(ex[4].dialog, 1);
  assert.deepEqual(ex[4].sentences, []);
});

test("bad dialog, candidate and knowledge-base lines are errors naming file and line", () => {
  const cases: [string, number, RegExp][] = [
    ["1 hi\tok\n3 more\tok\n", 2, /id 3 does not follow/],
    ["1 hi\tok\nhello\tok\n", 2, /numeric id/],
    ["1 hi\t  \n", 1, /without a bot response/],
    ["2 hi\tok\n", 1, /expected 1/],
    ["   \n", 1, /empty file/],
    ["1 resto R_cuisine italian\n", 1, /no turns/],
  ];
  for (const [text, line, re] of cases) {
    assert.throws(
      () => parseDialogs(text, "bad.txt"),
      (e: unknown) => e instanceof DataError && e.file === "bad.txt" && e.line === line && re.test(e.message),
      text,
    );
  }
  assert.throws(() => parseCandidates("1 ok\nnope\n", "c.txt"), /c\.txt:2: candidate line/);
  assert.throws(() => parseKnowledgeBase("1 resto R_cuisine italian\n", "kb.txt"), /kb\.txt:1: expected/);
});

test("a response that is not a candidate is an error at its line", () => {
  const dialogs = parseDialogs(DIALOG, "d.txt");
  const split = { name: "trn", file: "d.txt", dialogs };
  const input = {
    task: 1,
    train: split,
    dev: split,
    tests: [],
    candidates: parseCandidates(
      "1 hello what can i help you with today\n1 ok let me look into some options for you\n",
      "c",
    ),
    entities: new Map<string, string>(),
  };
  assert.throws(
    () => prepareDialog(input, makeConfig(dialogDefaults()), false),
    /d\.txt:3: the bot's response is not among the candidates/,
  );
  // Question-match words are for bAbI questions; the dialog model has its match types.
  assert.throws(
    () => prepareDialog(input, makeConfig({ ...dialogDefaults(), matchQuestion: true }), false),
    (e: unknown) => e instanceof ConfigError && e.field === "matchQuestion" && /match-type/.test(e.message),
  );
});

test("match types: a candidate's entity that also appears in the conversation lights its type word", () => {
  const kb = parseKnowledgeBase(
    "1 resto_a R_cuisine\titalian\n2 resto_a R_location\tparis\n3 resto_b R_cuisine\tfrench\n4 resto_b R_location\tparis\n",
    "kb",
  );
  const set = new CandidateSet(
    [["api_call", "italian", "paris"], ["api_call", "french", "paris"], ["hello"]],
    kb,
  );
  assert.deepEqual(set.types, ["cuisine", "location"]);
  const conv = {
    sentences: [{ id: 1, tokens: ["i", "want", "italian", "food"] }],
    question: ["in", "paris"],
  };
  // italian (cuisine) -> candidate 0; paris (location) -> candidates 0 and 1; nothing for "hello".
  assert.deepEqual(set.matches([...conv.sentences[0].tokens, ...conv.question]), [
    [0, 0],
    [0, 1],
    [1, 1],
  ]);
  const m = matchIndex(set, [conv, { sentences: [], question: ["hi"] }]);
  assert.deepEqual(Array.from(m.off), [0, 3, 3]);
  const fromResults = entitiesOfResults(parseDialogs(DIALOG, "d"));
  assert.equal(fromResults.get("italian"), "cuisine");
  assert.equal(fromResults.get("7"), "rating");
});

test("CLI: a broken dialog file is one error line with file and line, exit 2", () => {
  withTmpDir((dir) => {
    writeFileSync(join(dir, "dialog-babi-task1-API-calls-trn.txt"), "1 hi\tok\n5 x\ty\n");
    writeFileSync(join(dir, "dialog-babi-task1-API-calls-dev.txt"), "1 hi\tok\n");
    writeFileSync(join(dir, "dialog-babi-candidates.txt"), "1 ok\n");
    writeFileSync(join(dir, "dialog-babi-kb-all.txt"), "1 resto R_cuisine\titalian\n");
    const r = runCli(["dialog", "train", "--task", "1", "--data", dir, "--epochs", "1"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*dialog-babi-task1-API-calls-trn\.txt:2: id 5 does not follow/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const bad = runCli(["dialog", "train", "--task", "9", "--data", dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--task: the dialog tasks are 1 to 6/);
  });
});

test("carry-on: the bot lines the data's user always answers with silence, counted by their shape", () => {
  const dialogs = parseDialogs(
    [0, 1, 2]
      .map((i) =>
        [
          "1 hi\thello what can i help you with today",
          `2 ${["italian", "french", "indian"][i]} food please\ti'm on it`,
          "3 <SILENCE>\tok let me look into some options for you",
          `4 <SILENCE>\tapi_call ${["italian", "french", "indian"][i]} paris`,
          // Once the user speaks after the api_call: it is not one the user always lets pass.
          i === 0
            ? "5 instead could it be in rome\tsure is there anything else to update"
            : "5 <SILENCE>\tok",
        ].join("\n"),
      )
      .join("\n\n"),
    "t",
  );
  const types = new Map([
    ["italian", "cuisine"],
    ["french", "cuisine"],
    ["indian", "cuisine"],
    ["paris", "location"],
  ]);
  assert.equal(responseShape(["api_call", "french", "paris"], types), "api_call <cuisine> <location>");
  assert.deepEqual(
    carryOnOf(dialogs, (r) => responseShape(r, types)),
    ["i'm on it", "ok let me look into some options for you"],
  );
  // Counted line by line, each api_call is seen once only: too few to go by.
  assert.deepEqual(carryOnOf(dialogs), ["i'm on it", "ok let me look into some options for you"]);
  assert.deepEqual(carryOnOf(dialogs, undefined, 4), []);
});

test("typed lines: punctuation at a word's ends is split off and kept only where the vocabulary has it", () => {
  const known = new Set(["hello", "i'm", "?", "food", "option:"]);
  const has = (w: string) => known.has(w);
  assert.deepEqual(typedTokens("Hello!", has), ["hello"]);
  assert.deepEqual(typedTokens("hello.  I'm  hungry, food?", has), ["hello", "i'm", "hungry", "food", "?"]);
  assert.deepEqual(typedTokens("(food) option:", has), ["food", "option:"]);
  assert.deepEqual(typedTokens("!!!", has), []);
});

test("opening: whether every dialog of the data opens with the bot speaking first", () => {
  const silent = parseDialogs(
    "1 <SILENCE>\thello welcome\n2 cheap please\tok\n\n1 <SILENCE>\thello welcome\n",
    "t",
  );
  assert.equal(opensSilent(silent), true);
  const mixed = parseDialogs("1 <SILENCE>\thello welcome\n\n1 hi\thello welcome\n", "t");
  assert.equal(opensSilent(mixed), false);
});
