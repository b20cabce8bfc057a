// Counts on the real bAbI files in ../shared/data, through the CLI as a user runs it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BABI_ROOT, runCli } from "./helpers.js";

interface StatsJson {
  tasks: { task: number; trainQuestions: number; testQuestions: number; trainStories: number }[];
  skipped: { task: number; reason: string }[];
}

// Stories per training file, from ../shared/data/README.md.
const EN_STORIES = [
  200, 200, 200, 1000, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 250, 1000, 125, 198, 1000, 94,
];

test("data stats: en has 1000 train and 1000 test questions for each of the 20 tasks", () => {
  const r = runCli(["data", "stats", "--data", BABI_ROOT, "--set", "en", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as StatsJson;
  assert.equal(j.tasks.length, 20);
  assert.deepEqual(j.skipped, []);
  for (const t of j.tasks) {
    assert.equal(t.trainQuestions, 1000, `task ${t.task}`);
    assert.equal(t.testQuestions, 1000, `task ${t.task}`);
    assert.equal(t.trainStories, EN_STORIES[t.task - 1], `task ${t.task}`);
  }
  assert.match(r.stdout, /^ +1 +1000 +1000 +200 +200 /m);
});

test("data stats: en-10k has 10000 train questions for 19 tasks and marks task 3 missing", () => {
  const r = runCli(["data", "stats", "--data", BABI_ROOT, "--set", "en-10k", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json as StatsJson;
  assert.deepEqual(
    j.tasks.map((t) => t.task),
    [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
  );
  for (const t of j.tasks) {
    assert.equal(t.trainQuestions, 10000, `task ${t.task}`);
    assert.equal(t.testQuestions, 1000, `task ${t.task}`);
  }
  assert.equal(j.skipped.length, 1);
  assert.equal(j.skipped[0].task, 3);
  assert.match(r.stdout, /skipped: task 3: no training file .*missing from this copy/);
});

test("loading the missing 10k task 3 alone still reports it as skipped, not a crash", () => {
  const r = runCli(["data", "stats", "--data", BABI_ROOT, "--set", "en-10k", "--tasks", "3"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /skipped: task 3/);
});

test("without --data the data is found through MEMN2N_DATA", () => {
  const r = runCli(["data", "stats", "--tasks", "1", "--json"], { env: { MEMN2N_DATA: BABI_ROOT } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.json as StatsJson).tasks[0].trainQuestions, 1000);
});

test("with no data anywhere the message says where it looked", () => {
  const r = runCli(["data", "stats", "--data", "/tmp"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: no bAbI data found for set "en"\. Looked in:/);
  assert.match(r.stderr, /memn2n download/);
});
