// Interrupted training: a process killed with SIGKILL mid-run resumes from its checkpoint and ends with the
// same weights as a run that was never interrupted. And a diverging run stops with a clear message while its
// last good checkpoint stays.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BABI_EN, killAtEpoch, runCli, withTmpDir, withTmpDirAsync } from "./helpers.js";

function task1(dir: string): void {
  for (const part of ["train", "test"]) {
    const f = `qa1_single-supporting-fact_${part}.txt`;
    writeFileSync(join(dir, f), readFileSync(join(BABI_EN, f)));
  }
}

test("a training run killed with SIGKILL resumes to the same final weights", async () => {
  await withTmpDirAsync(async (dir) => {
    task1(dir);
    const args = [
      "train",
      "--task",
      "1",
      "--data",
      dir,
      "--epochs",
      "24",
      "--ls-rule",
      "fixed",
      "--ls-epochs",
      "3",
    ];
    args.push("--repeats", "2", "--quiet");
    const a = runCli([...args, "--out", join(dir, "a.json")]);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(!existsSync(join(dir, "a.json.ckpt")), "the checkpoint is removed once the model is written");

    const out = join(dir, "b.json");
    const ckpt = `${out}.ckpt`;
    // Kill it a few epochs in (both runs train at once, on two worker threads).
    const killedAt = await killAtEpoch([...args, "--out", out], ckpt, 5);
    assert.ok(killedAt >= 5 && killedAt < 27, `killed at epoch ${killedAt}`);
    assert.ok(!existsSync(out), "no model was written before the kill");

    const r = runCli([...args, "--out", out, "--resume"]);
    assert.equal(r.code, 0, r.stderr);
    const wa = JSON.parse(readFileSync(join(dir, "a.json"), "utf8"));
    const wb = JSON.parse(readFileSync(out, "utf8"));
    assert.deepEqual(wb.weights, wa.weights);
    assert.deepEqual(wb.meta, wa.meta);
  });
});

test("resume refuses a checkpoint made with other options", () => {
  withTmpDir((dir) => {
    task1(dir);
    const out = join(dir, "m.json");
    writeFileSync(`${out}.ckpt`, JSON.stringify({ key: { config: { hops: 2 } } }));
    const r = runCli(["train", "--task", "1", "--data", dir, "--out", out, "--resume"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --resume: .*m\.json\.ckpt was made with a different hops/);
  });
});

test("train refuses a sweep's checkpoint, whose finished runs have no weights", () => {
  withTmpDir((dir) => {
    task1(dir);
    const args = ["train", "--task", "1", "--data", dir, "--epochs", "1", "--ls-epochs", "1", "--quiet"];
    const made = runCli([...args, "--json"]);
    assert.equal(made.code, 0, made.stderr);
    const { config } = made.json as { config: Record<string, unknown> };
    const out = join(dir, "m.json");
    const figures = {
      seed: 1,
      epochs: 2,
      lsEpochs: 1,
      trainError: 0.5,
      validError: 0.5,
      validLoss: 1,
      history: [],
    };
    writeFileSync(
      `${out}.ckpt`,
      JSON.stringify({
        format: "memn2n-checkpoint",
        version: 1,
        key: { config, tasks: [1], set: "en" },
        done: [{ runIndex: 0, run: figures, tests: [], testError: 0.5, seconds: 1 }],
        inFlight: [],
      }),
    );
    const r = runCli([...args, "--out", out, "--resume"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*m\.json\.ckpt: done\.0\.run\.params: missing/);
    assert.ok(!existsSync(out), "no model was written");
  });
});

test("a diverging run stops naming the epoch, and keeps its last good checkpoint", () => {
  withTmpDir((dir) => {
    task1(dir);
    const out = join(dir, "m.json");
    const r = runCli([
      "train",
      "--task",
      "1",
      "--data",
      dir,
      "--out",
      out,
      "--ls-rule",
      "fixed",
      "--ls-epochs",
      "2",
      "--ls-lr",
      "0.001",
      "--lr",
      "1e30",
      "--max-grad-norm",
      "1e300",
      "--quiet",
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: training diverged: the loss became NaN or infinite in epoch 3 \(seed 1\)/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.ok(!existsSync(out));
    const ckpt = JSON.parse(readFileSync(`${out}.ckpt`, "utf8"));
    assert.equal(ckpt.inFlight[0].state.epoch, 2);
    assert.ok(
      Object.values(ckpt.inFlight[0].weights as Record<string, number[]>).every((w) =>
        w.every(Number.isFinite),
      ),
    );
  });
});
