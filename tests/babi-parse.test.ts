import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseBabi } from "../src/data/babi.js";
import { decodeUtf8 } from "../src/data/decode.js";
import { DataError } from "../src/data/errors.js";
import { runCli, withTmpDir } from "./helpers.js";

const GOOD = [
  "1 Mary moved to the bathroom.",
  "2 John went to the hallway.",
  "3 Where is Mary? \tbathroom\t1",
  "4 Daniel went back to the hallway.",
  "5 Where is Daniel?\thallway\t4",
  "1 Sandra travelled to the office.",
  "2 What is Sandra carrying?\tapple,football\t1",
  "",
].join("\n");

test("parses stories, questions, answers and supporting facts", () => {
  const f = parseBabi(GOOD, "good.txt");
  assert.equal(f.stories, 2);
  assert.equal(f.examples.length, 3);
  const [q1, q2, q3] = f.examples;
  assert.deepEqual(
    q1.sentences.map((s) => s.id),
    [1, 2],
  );
  assert.deepEqual(q1.question, ["where", "is", "mary"]);
  assert.equal(q1.answer, "bathroom");
  assert.deepEqual(q1.supporting, [1]);
  // Questions are not statements: the second question sees statements 1, 2 and 4.
  assert.deepEqual(
    q2.sentences.map((s) => s.id),
    [1, 2, 4],
  );
  assert.equal(q2.line, 5);
  assert.equal(q3.story, 1);
  assert.equal(q3.answer, "apple,football");
  assert.deepEqual(
    q3.sentences.map((s) => s.tokens.join(" ")),
    ["sandra travelled to the office"],
  );
});

const BAD: [string, string, RegExp][] = [
  ["no id", "1 Mary went home.\nMary went home.\n", /^f\.txt:2: line does not start with a numeric id/],
  ["id out of order", "1 Mary went home.\n3 John left.\n", /^f\.txt:2: id 3 does not follow the previous id/],
  ["first id not 1", "2 Mary went home.\n", /^f\.txt:1: id 2 does not follow the previous id \(expected 1\)/],
  [
    "question without answer",
    "1 Mary went home.\n2 Where is Mary?\t\t1\n",
    /^f\.txt:2: question line without answer/,
  ],
  [
    "question, no tab fields",
    "1 Mary went home.\n2 Where is Mary?\t\n",
    /^f\.txt:2: question line without answer/,
  ],
  ["empty file", "", /^f\.txt:1: empty file/],
  ["blank line inside", "1 Mary went home.\n\n2 Where is Mary?\thome\t1\n", /^f\.txt:2: blank line/],
  [
    "bad supporting id",
    "1 Mary went home.\n2 Where is Mary?\thome\tx\n",
    /^f\.txt:2: supporting fact id "x"/,
  ],
  [
    "supporting id not earlier",
    "1 Mary went.\n2 Where is Mary?\thome\t5\n",
    /^f\.txt:2: supporting fact 5 is not/,
  ],
  ["no questions", "1 Mary went home.\n", /^f\.txt:1: no questions in file/],
];

for (const [name, text, pattern] of BAD) {
  test(`bad input: ${name}`, () => {
    assert.throws(
      () => parseBabi(text, "f.txt"),
      (e: unknown) => e instanceof DataError && pattern.test(e.message),
    );
  });
}

test("a non-UTF-8 byte is reported with its line", () => {
  const bytes = new Uint8Array([
    ...Buffer.from("1 Mary went home.\n2 Where is "),
    0xff,
    ...Buffer.from("?\thome\t1\n"),
  ]);
  assert.throws(
    () => decodeUtf8(bytes, "f.txt"),
    (e: unknown) => e instanceof DataError && e.message === "f.txt:2: not valid UTF-8 text",
  );
});

test("the CLI reports a malformed file as one line with file and line, exit 2", () => {
  withTmpDir((dir) => {
    writeFileSync(
      join(dir, "qa1_x_train.txt"),
      "1 Mary went home.\n2 Where is Mary?\thome\t1\nbroken line\n",
    );
    writeFileSync(join(dir, "qa1_x_test.txt"), GOOD);
    const r = runCli(["data", "stats", "--data", dir, "--tasks", "1"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `error: ${join(dir, "qa1_x_train.txt")}:3: line does not start with a numeric id and a space\n`,
    );
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });
});

test("the CLI reports a non-UTF-8 file with file and line, exit 2", () => {
  withTmpDir((dir) => {
    writeFileSync(join(dir, "qa1_x_train.txt"), GOOD);
    writeFileSync(join(dir, "qa1_x_test.txt"), Buffer.from([0x31, 0x20, 0xc3, 0x28, 0x0a]));
    const r = runCli(["data", "stats", "--data", dir, "--tasks", "1"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `error: ${join(dir, "qa1_x_test.txt")}:1: not valid UTF-8 text\n`);
  });
});

test("the CLI rejects a missing data folder and a bad option with exit 2", () => {
  const r = runCli(["data", "stats", "--data", "/nonexistent/memn2n"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: --data \/nonexistent\/memn2n: no such folder\n$/);
  const r2 = runCli(["data", "stats", "--tasks", "0-30"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /^error: --tasks: "0-30" is outside the tasks 1 to 20/);
  const r3 = runCli(["data", "stats", "--frobnicate"]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /unknown option '--frobnicate'/);
});
