import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { configFromOptions } from "../src/cli/config-options.js";
import { BABI_EN, runCli, withTmpDir } from "./helpers.js";

/** A small copy of task 1: the first stories of the real files. */
function sliceTask1(dir: string, lines: number): void {
  for (const part of ["train", "test"]) {
    const f = `qa1_single-supporting-fact_${part}.txt`;
    const text = readFileSync(join(BABI_EN, f), "utf8").split("\n").slice(0, lines).join("\n");
    writeFileSync(join(dir, f), `${text}\n`);
  }
}

interface TrainJson {
  task: number;
  config: { hops: number; dim: number; epochs: number };
  seed: number;
  epochs: number;
  train_error: number;
  valid_error: number;
  test_error: number;
  seconds: number;
}

test("train writes a model that test reads back with the same error; --json ends stdout", () => {
  withTmpDir((dir) => {
    sliceTask1(dir, 3000);
    const model = join(dir, "out", "m.json");
    const common = ["--data", dir, "--epochs", "25", "--no-linear-start", "--seed", "2"];
    const r = runCli(["train", "--task", "1", ...common, "--dim", "16", "--out", model, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as TrainJson;
    assert.equal(j.task, 1);
    assert.equal(j.config.dim, 16);
    assert.equal(j.epochs, 25);
    assert.equal(j.seed, 2);
    for (const k of ["train_error", "valid_error", "test_error", "seconds"] as const) {
      assert.equal(typeof j[k], "number", k);
    }
    assert.ok(j.test_error < 0.3, `test error ${j.test_error}`);
    const t = runCli(["test", "--model", model, "--data", dir, "--json"]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal((t.json as TrainJson).test_error, j.test_error);
    assert.match(t.stdout, /test err %/);
  });
});

test("repeats train several seeds and keep the best by validation error", () => {
  withTmpDir((dir) => {
    sliceTask1(dir, 450);
    const r = runCli([
      "train",
      "--task",
      "1",
      "--data",
      dir,
      "--epochs",
      "3",
      "--ls-epochs",
      "1",
      "--repeats",
      "3",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as TrainJson & { runs: { seed: number; valid_error: number }[] };
    assert.deepEqual(
      j.runs.map((x) => x.seed),
      [1, 2, 3],
    );
    assert.equal(j.valid_error, Math.min(...j.runs.map((x) => x.valid_error)));
  });
});

test("a bad model file gives one line naming the file and the field, exit 2", () => {
  withTmpDir((dir) => {
    const f = join(dir, "m.json");
    writeFileSync(f, JSON.stringify({ format: "memn2n-model", version: 1 }));
    const r = runCli(["test", "--model", f]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^error: ${f}: config: Required\\n$`));
    writeFileSync(f, "{not json");
    const r2 = runCli(["test", "--model", f]);
    assert.equal(r2.code, 2);
    assert.equal(r2.stderr, `error: ${f}: not valid JSON\n`);
  });
});

test("every encoding is accepted on the command line, and only those", () => {
  for (const e of ["pe-official", "pe", "bow"]) {
    const r = runCli(["train", "--task", "1", "--encoding", e, "--epochs", "0"]);
    assert.equal(r.code, 2, e);
    assert.match(r.stderr, /--epochs: must be a whole number of at least 1/, e);
  }
  const bad = runCli(["train", "--task", "1", "--encoding", "rnn"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Allowed choices are pe-official, pe, bow/);
});

test("bad options are refused with the option's name, exit 2", () => {
  const r = runCli(["train", "--task", "1", "--hops", "0"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "error: --hops: must be a whole number of at least 1, got 0\n");
  const r2 = runCli(["train", "--task", "1", "--lr", "fast"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /--lr <x>' argument 'fast' is invalid/);
  const r3 = runCli(["train", "--tasks", "1-2"]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /several tasks need --joint/);
});

test("the worker count does not change the result: 1 and 2 workers give the same runs and weights", () => {
  withTmpDir((dir) => {
    sliceTask1(dir, 900);
    const args = [
      "train",
      "--task",
      "1",
      "--data",
      dir,
      "--epochs",
      "4",
      "--ls-epochs",
      "2",
      "--repeats",
      "3",
    ];
    const a = runCli([...args, "--workers", "1", "--out", join(dir, "a.json"), "--json"]);
    const b = runCli([...args, "--workers", "2", "--out", join(dir, "b.json"), "--json"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const strip = (j: unknown) =>
      (j as { runs: { seconds?: number }[] }).runs.map(({ seconds: _, ...rest }) => rest);
    assert.deepEqual(strip(b.json), strip(a.json));
    const wa = JSON.parse(readFileSync(join(dir, "a.json"), "utf8"));
    const wb = JSON.parse(readFileSync(join(dir, "b.json"), "utf8"));
    assert.deepEqual(wb.weights, wa.weights);
  });
});

test("--joint takes the joint schedule of its set; an option given on the command line wins", () => {
  const single = configFromOptions({}, "en-10k");
  assert.equal(single.dim, 20);
  assert.equal(single.lsPatience, 15);
  const joint1k = configFromOptions({ joint: true }, "en");
  assert.deepEqual([joint1k.dim, joint1k.epochs, joint1k.annealEvery, joint1k.lsPatience], [50, 60, 15, 15]);
  const joint10k = configFromOptions({ joint: true }, "en-10k");
  assert.deepEqual(
    [joint10k.dim, joint10k.epochs, joint10k.annealEvery, joint10k.lsPatience],
    [50, 20, 5, 30],
  );
  const given = configFromOptions({ joint: true, lsPatience: 10, dim: 40 }, "en-10k");
  assert.deepEqual([given.dim, given.lsPatience, given.epochs], [40, 10, 20]);
});

test("--fallback-set trains a task whose training file the set lacks from another set's, and says so", () => {
  withTmpDir((dir) => {
    // A release with a 10k set that, like the project's copy, has task 3's test file but not its training file.
    const lines = (f: string, n: number) =>
      `${readFileSync(join(BABI_EN, f), "utf8").split("\n").slice(0, n).join("\n")}\n`;
    for (const set of ["en", "en-10k"]) mkdirSync(join(dir, set));
    for (const [t, name] of [
      [1, "single-supporting-fact"],
      [3, "three-supporting-facts"],
    ] as const) {
      for (const part of ["train", "test"]) {
        const f = `qa${t}_${name}_${part}.txt`;
        writeFileSync(join(dir, "en", f), lines(f, 400));
        if (!(t === 3 && part === "train")) writeFileSync(join(dir, "en-10k", f), lines(f, 400));
      }
    }
    const common = ["--joint", "--tasks", "1,3", "--set", "en-10k", "--data", dir, "--epochs", "3"];
    const missing = runCli(["train", ...common]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: task 3: no training file \(qa3_\*train\.txt\) in .*en-10k/);
    const same = runCli(["train", ...common, "--fallback-set", "en-10k"]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /^error: --fallback-set: en-10k is already the --set/);

    const model = join(dir, "m.json");
    const r = runCli(["train", ...common, "--fallback-set", "en", "--out", model, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(readFileSync(model, "utf8"));
    assert.equal(saved.meta.set, "en-10k");
    assert.deepEqual(saved.meta.trainSets, { 3: "en" });
    // Testing needs only the test files, so the saved model is tested on the 10k set's task 3 too.
    const t = runCli(["test", "--model", model, "--data", dir, "--json"]);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(
      (t.json as { test_errors: Record<string, number> }).test_errors,
      (r.json as { test_errors: Record<string, number> }).test_errors,
    );
    // --valid splits each task's training file again, task 3's from the set it was trained on: the questions
    // and errors are training's own, so their pooled error is the one training reported.
    const v = runCli(["test", "--model", model, "--data", dir, "--valid", "--json"]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /valid err %/);
    const vj = v.json as {
      valid_mean: number;
      valid_errors: Record<string, number>;
      valid_questions: Record<string, number>;
    };
    const n = [1, 3].map((task) => vj.valid_questions[task]);
    assert.ok(n[0] > 0 && n[1] > 0, JSON.stringify(vj));
    const wrong = [1, 3].map((task, i) => vj.valid_errors[task] * n[i]);
    assert.ok(Math.abs((wrong[0] + wrong[1]) / (n[0] + n[1]) - saved.meta.validError) < 1e-9);
    assert.ok(Math.abs(vj.valid_mean - (vj.valid_errors[1] + vj.valid_errors[3]) / 2) < 1e-12);

    const sweep = runCli(["babi", ...common, "--fallback-set", "en", "--out", join(dir, "sweep"), "--quiet"]);
    assert.equal(sweep.code, 0, sweep.stderr);
    const md = readFileSync(join(dir, "sweep.md"), "utf8");
    assert.match(md, /Task 3 was trained on the en set's training file \(en-10k has none\)/);
    assert.doesNotMatch(md, /skipped/);
  });
});

test("two files claiming one task's training file are an error naming both, not a silent pick by name", () => {
  withTmpDir((dir) => {
    sliceTask1(dir, 300);
    copyFileSync(join(dir, "qa1_single-supporting-fact_train.txt"), join(dir, "qa1_zz-poison_train.txt"));
    for (const args of [
      ["data", "stats", "--tasks", "1"],
      ["train", "--task", "1"],
    ]) {
      const r = runCli([...args, "--data", dir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^error: .*: task 1: two training files, qa1_single-supporting-fact_train\.txt and qa1_zz-poison_train\.txt: keep one\n$/,
      );
    }
  });
});

test("a shard says how many of the sweep's runs it takes; test says what it does with unseen answers", () => {
  withTmpDir((dir) => {
    sliceTask1(dir, 300);
    const shard = [
      "babi",
      "--tasks",
      "1",
      "--data",
      dir,
      "--repeats",
      "3",
      "--epochs",
      "1",
      "--no-linear-start",
    ];
    const r = runCli([...shard, "--shard", "1/2", "--out", join(dir, "s")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^2 of the sweep's 3 runs \(1 tasks × 3 seeds\) on /m);
    // A test file whose answers include one the training slice never had.
    const model = join(dir, "m.json");
    assert.equal(runCli(["train", "--task", "1", "--data", dir, "--epochs", "1", "--out", model]).code, 0);
    writeFileSync(
      join(dir, "qa1_single-supporting-fact_test.txt"),
      "1 Mary went to the moon.\n2 Where is Mary?\tmoon\t1\n",
    );
    const t = runCli(["test", "--model", model, "--data", dir]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(
      t.stdout,
      /words the model never saw in training: moon \(ignored in stories and questions; a question whose answer is one of them is counted as wrong\)/,
    );
    assert.match(t.stdout, /1 +1 +100\.0/);
  });
});
