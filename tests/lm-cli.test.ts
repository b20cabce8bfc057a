// `memn2n lm`: real training on a slice of Penn Treebank, resume after a kill, test, next, and bad input.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { LanguageModel, loadLM, readLMCorpus } from "../src/api/lm.js";
import { lmProgressText, StepRate } from "../src/cli/commands/lm.js";
import { type LMResults, type LMRow, lmChart } from "../src/cli/lm-results.js";
import { plotter } from "../src/cli/results.js";
import { makeLMConfig } from "../src/model/config.js";
import { LM_TENSORS } from "../src/model/lm.js";
import { lmCheckpointFromBytes } from "../src/train/lm-checkpoint.js";
import {
  cliArgs,
  killWhen,
  postJson,
  ROOT,
  runCli,
  SHARED_DATA,
  serve,
  withTmpDir,
  withTmpDirAsync,
} from "./helpers.js";

/** The first lines of each PTB file, as a corpus folder of its own. */
function ptbSlice(dir: string, lines: { train: number; valid: number; test: number }): string {
  const out = join(dir, "ptb");
  mkdirSync(out, { recursive: true });
  for (const split of ["train", "valid", "test"] as const) {
    const text = readFileSync(join(SHARED_DATA, "ptb", `ptb.${split}.txt`), "utf8");
    writeFileSync(join(out, `ptb.${split}.txt`), `${text.split("\n").slice(0, lines[split]).join("\n")}\n`);
  }
  return out;
}

const SMALL = ["--hops", "2", "--memory", "12", "--dim", "24", "--batch-size", "32", "--lr", "0.05"];

test("lm train learns a slice of PTB, and test and next use the model it writes", () => {
  withTmpDir((dir) => {
    const data = ptbSlice(dir, { train: 1500, valid: 150, test: 150 });
    const out = join(dir, "lm.safetensors");
    const r = runCli([
      ...["lm", "train", "--data", data, ...SMALL, "--epochs", "3", "--steps-per-epoch", "300"],
      ...["--out", out, "--json", "--threads", "2"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      epochs: number;
      valid_ppl: number;
      test_ppl: number;
      history: { validPpl: number }[];
    };
    assert.equal(j.epochs, 3);
    // a vocabulary of thousands of words: untrained, the perplexity is about its size; trained, far below
    const m = loadLM(readFileSync(out), out);
    assert.ok(m.vocab.size > 2000, `vocabulary ${m.vocab.size}`);
    assert.ok(j.history[2].validPpl < j.history[0].validPpl, JSON.stringify(j.history));
    assert.ok(j.valid_ppl < m.vocab.size / 4, `valid ppl ${j.valid_ppl}`);
    assert.ok(!existsSync(`${out}.ckpt`), "the checkpoint of a finished run is removed");
    const t = runCli(["lm", "test", "--model", out, "--data", data, "--json"]);
    assert.equal(t.code, 0, t.stderr);
    const tj = t.json as { valid_ppl: number; test_ppl: number };
    assert.ok(Math.abs(tj.valid_ppl - j.valid_ppl) < 1e-6 * j.valid_ppl, `${tj.valid_ppl} vs ${j.valid_ppl}`);
    assert.ok(Math.abs(tj.test_ppl - j.test_ppl) < 1e-6 * j.test_ppl);
    const n = runCli(["lm", "next", "--model", out, "--json", "the", "stock", "market", "zzyzx"]);
    assert.equal(n.code, 0, n.stderr);
    const nj = n.json as {
      top: { word: string; p: number }[];
      attention: number[][];
      context: string[];
      unknown: string[];
    };
    assert.equal(nj.top.length, 10);
    assert.ok(nj.top.every((w, i) => i === 0 || w.p <= nj.top[i - 1].p));
    assert.deepEqual(nj.unknown, ["zzyzx"]);
    // what is typed starts a sentence: it follows a line end
    assert.deepEqual(nj.context, ["<eos>", "the", "stock", "market", "<unk>"]);
    assert.equal(nj.attention.length, 2);
    for (const hop of nj.attention) {
      assert.equal(hop.length, 5);
      assert.ok(Math.abs(hop.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    }
    const human = runCli(["lm", "next", "--model", out, "the", "stock"]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /hop 2/);
    // --init goes on from the model: one step at a tiny lr (with sentence-only memories) leaves its figure
    const more = ["--epochs", "1", "--steps-per-epoch", "1", "--lr", "1e-9", "--sentence-memory", "0.5"];
    const ft = runCli([
      "lm",
      "train",
      "--data",
      data,
      ...SMALL,
      ...more,
      "--init",
      out,
      "--json",
      "--threads",
      "1",
    ]);
    assert.equal(ft.code, 0, ft.stderr);
    const fv = (ft.json as { history: { validPpl: number }[] }).history[0].validPpl;
    assert.ok(Math.abs(fv - j.valid_ppl) < 1e-5 * j.valid_ppl, `${fv} vs ${j.valid_ppl}`);
    const wrong = runCli([
      "lm",
      "train",
      "--data",
      data,
      ...SMALL,
      "--hops",
      "3",
      "--init",
      out,
      "--threads",
      "1",
    ]);
    assert.equal(wrong.code, 2);
    assert.equal(wrong.stderr.trim(), "error: --init: the model has hops 2, the run 3");
  });
});

test("lm train killed mid-epoch resumes from its checkpoint to the same weights as a run never stopped", async () => {
  await withTmpDirAsync(async (dir) => {
    const data = ptbSlice(dir, { train: 1500, valid: 60, test: 60 });
    // one epoch long enough that the first checkpoint (after a second) falls inside it
    const args = ["lm", "train", "--data", data, ...SMALL, "--epochs", "1", "--steps-per-epoch", "2500"];
    const whole = join(dir, "whole.safetensors");
    assert.equal(runCli([...args, "--threads", "1", "--out", whole, "--quiet"]).code, 0);
    const cut = join(dir, "cut.safetensors");
    const ckpt = `${cut}.ckpt`;
    await killWhen([...args, "--threads", "1", "--out", cut, "--save-every", "1"], () => existsSync(ckpt));
    const c = lmCheckpointFromBytes(readFileSync(ckpt), ckpt);
    assert.ok(
      c.state.epoch === 0 && c.state.step > 0 && c.state.step < 2500,
      `killed at step ${c.state.step}`,
    );
    assert.ok(!existsSync(cut));
    const again = runCli([...args, "--threads", "1", "--out", cut]);
    assert.equal(again.code, 2, "a checkpoint is there: refuse to start over silently");
    assert.match(again.stderr, /--resume/);
    // resumed on two threads: the same bits as on one
    const r = runCli([...args, "--threads", "2", "--out", cut, "--resume", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const a = loadLM(readFileSync(whole), whole);
    const b = loadLM(readFileSync(cut), cut);
    for (const name of LM_TENSORS) assert.deepEqual(a.file.params[name], b.file.params[name], name);
    assert.deepEqual(a.file.figures?.history, b.file.figures?.history);
  });
});

test("lm train: bad text stops at its file and line with exit 2", () => {
  withTmpDir((dir) => {
    const data = join(dir, "ptb");
    mkdirSync(data);
    const write = (train: string | Uint8Array) => {
      writeFileSync(join(data, "ptb.train.txt"), train);
      writeFileSync(join(data, "ptb.valid.txt"), " a b c\n");
      writeFileSync(join(data, "ptb.test.txt"), " a b c\n");
    };
    const train = (...extra: string[]) => runCli(["lm", "train", "--data", data, "--epochs", "1", ...extra]);
    write(` a b\n c ${"x".repeat(101)}\n`);
    let r = train();
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: .*ptb\.train\.txt:2: a word of 101 characters, more than the limit of 100\n$/,
    );
    write("");
    r = train();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*ptb\.train\.txt: no words: the file is empty\n$/);
    write(new Uint8Array([0x20, 0x61, 0x0a, 0x20, 0x00, 0x01, 0xff, 0x0a]));
    r = train();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*ptb\.train\.txt:2: .*(UTF-8|binary)/);
    write(" a b c d e f g\n");
    r = train("--max-vocab", "5");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*ptb\.train\.txt:1: more than 5 distinct words \(--max-vocab\)\n$/);
    r = train("--hops", "0");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --hops: must be a whole number from 1 to 64, got 0\n$/);
    const model = join(dir, "bad.safetensors");
    writeFileSync(model, "not a model");
    r = runCli(["lm", "next", "--model", model, "hello"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*bad\.safetensors: /);
  });
});

test("lm train stops on SIGTERM between steps, writing a checkpoint to go on from", async () => {
  await withTmpDirAsync(async (dir) => {
    const data = ptbSlice(dir, { train: 500, valid: 20, test: 20 });
    const out = join(dir, "lm.safetensors");
    const child = spawn(
      process.execPath,
      [
        ...cliArgs("lm", "train", "--data", data, ...SMALL),
        ...["--steps-per-epoch", "1000000", "--out", out, "--threads", "1", "--save-every", "1"],
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    // once the checkpoint of the first interval is there, training is under way
    const until = Date.now() + 60_000;
    while (!existsSync(`${out}.ckpt`) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      /stopped \(SIGTERM\) at epoch 0 step \d+; checkpoint .*lm\.safetensors\.ckpt: --resume goes on/,
    );
    const c = lmCheckpointFromBytes(readFileSync(`${out}.ckpt`), "ckpt");
    assert.ok(c.state.step > 0);
  });
});

test("lm run trains its rows into a results file beside the paper's, with the reference's curve beside ours", () => {
  withTmpDir((dir) => {
    const data = ptbSlice(dir, { train: 800, valid: 40, test: 40 });
    const ref = join(dir, "ref.jsonl");
    writeFileSync(
      ref,
      `${JSON.stringify({ epoch: 1, train_ppl: 900.5, valid_ppl: 700.25 })}\n${JSON.stringify({ epoch: 2, train_ppl: 500, valid_ppl: 450 })}\n${JSON.stringify({ best_valid_ppl: 450, test_ppl_at_best_valid: 440.5 })}\n`,
    );
    const results = join(dir, "results", "lm.md");
    const row = ["lm", "run", "--rows", "3x100", "--data", data, "--dim", "16", "--epochs", "2"];
    const small = [...row, "--steps-per-epoch", "20", "--work", join(dir, "work"), "--results", results];
    const r = runCli([...small, "--reference-curve", ref, "--threads", "1", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const md = readFileSync(results, "utf8");
    assert.match(
      md,
      /\| 3 × 100 \| 1 \| 2 \| [\d.]+, [\d.]+, –, –, – \| [\d.]+ \(\d\) \| \*\*[\d.]+\*\* \| 122 \|/,
    );
    assert.match(
      md,
      /Command: `memn2n lm run --rows 3x100 --dim 16 --epochs 2 --steps-per-epoch 20 --work \S+ --results \S+lm\.md`/,
    );
    assert.match(md, /test perplexity 440\.5 at its best epoch/);
    assert.match(md, /\| 1 \| 0\.0100 \| [\d.]+ \| [\d.]+ \| 900\.5 \| 700\.3 \|/);
    const json = JSON.parse(readFileSync(join(dir, "results", "lm.json"), "utf8"));
    assert.equal(json.rows[0].finished, true);
    assert.ok(json.rows[0].testPpl > 1);
    // run again: a finished row is not trained again, nor one written before a config field existed
    const again = runCli([...small, "--threads", "1", "--quiet"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "results", "lm.json"), "utf8")), json);
    const older = structuredClone(json);
    delete older.rows[0].config.sentenceMemory;
    writeFileSync(join(dir, "results", "lm.json"), JSON.stringify(older));
    const third = runCli([...small, "--threads", "1", "--quiet"]);
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(
      JSON.parse(readFileSync(join(dir, "results", "lm.json"), "utf8")).rows[0].seconds,
      json.rows[0].seconds,
    );
    // another recipe for the same row and seed is refused: it would overwrite the finished run
    const other = runCli([...small, "--sentence-memory", "0.5", "--threads", "1", "--quiet"]);
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /has a finished 3x100 run of seed 1 made with another config \(sentenceMemory 0 there, 0\.5 here\): give this one its own --results and --work\n$/,
    );
    const kept = JSON.parse(readFileSync(join(dir, "results", "lm.json"), "utf8"));
    assert.equal(kept.rows[0].seconds, json.rows[0].seconds);
    writeFileSync(join(dir, "results", "lm.json"), '{"rows": [{"config": {"hops": -1}}]}');
    const bad = runCli([...small, "--threads", "1", "--quiet"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: \S+lm\.json: not a results file of lm run \(config\.hops: /);
  });
});

test("lm run --repeats runs each row with successive seeds and names the best by validation, as the paper picks", () => {
  withTmpDir((dir) => {
    const data = ptbSlice(dir, { train: 800, valid: 40, test: 40 });
    const results = join(dir, "lm.md");
    const work = join(dir, "work");
    const base = ["lm", "run", "--rows", "2x10", "--data", data, "--dim", "8", "--epochs", "1"];
    const cmd = [...base, "--steps-per-epoch", "5", "--work", work, "--results", results, "--threads", "1"];
    const r = runCli([...cmd, "--seed", "4", "--repeats", "3", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(dir, "lm.json"), "utf8")) as {
      rows: {
        name: string;
        finished: boolean;
        validPpl: number;
        testPpl: number;
        config: { seed: number };
      }[];
    };
    assert.deepEqual(
      json.rows.map((x) => [x.name, x.config.seed, x.finished]),
      [
        ["2x10", 4, true],
        ["2x10", 5, true],
        ["2x10", 6, true],
      ],
    );
    // different seeds, different runs
    assert.equal(new Set(json.rows.map((x) => x.validPpl)).size, 3);
    for (const seed of [5, 6]) assert.ok(existsSync(join(work, `2x10-seed${seed}.safetensors`)));
    const best = json.rows.reduce((a, b) => (b.validPpl < a.validPpl ? b : a));
    const md = readFileSync(results, "utf8");
    assert.match(md, /## 2 hops, memory 10, seed 6/);
    // the chart beside the markdown: three runs, the pick dark
    assert.match(md, /\n!\[Validation perplexity by epoch[^\]]*\]\(lm\.svg\)\n/);
    assert.deepEqual(linesByColour(readFileSync(join(dir, "lm.svg"), "utf8")), {
      "#9ecae1": 2,
      "#1f77b4": 1,
    });
    const line = md.split("\n").find((l) => l.startsWith("| 2 × 10 | 3 (4, 5, 6) |"));
    assert.ok(line, md);
    assert.equal(
      line,
      `| 2 × 10 | 3 (4, 5, 6) | ${best.validPpl.toFixed(1)} (${best.config.seed}) | **${best.testPpl.toFixed(1)}** | – |`,
    );
    // the finished runs are not trained again; one more repeat trains only the new seed
    const more = runCli([...cmd, "--seed", "4", "--repeats", "4"]);
    assert.equal(more.code, 0, more.stderr);
    assert.equal((more.stderr.match(/lm 2x10 seed \d+ epoch 1:/g) ?? []).join(), "lm 2x10 seed 7 epoch 1:");
    const after = JSON.parse(readFileSync(join(dir, "lm.json"), "utf8")) as typeof json;
    assert.deepEqual(after.rows.slice(0, 3), json.rows);
    assert.equal(runCli([...cmd, "--repeats", "0"]).code, 2);
    // a row of one run is listed in the summary too, beside the rows of several
    const other = runCli([...cmd.map((a) => (a === "2x10" ? "2x8" : a)), "--quiet"]);
    assert.equal(other.code, 0, other.stderr);
    const one = (JSON.parse(readFileSync(join(dir, "lm.json"), "utf8")) as typeof json).rows.find(
      (x) => x.name === "2x8",
    );
    assert.ok(one);
    const summary = readFileSync(results, "utf8");
    assert.ok(summary.includes("| 2 × 10 | 4 (4, 5, 6, 7) |"), summary);
    assert.ok(
      summary.includes(
        `| 2 × 8 | 1 (1) | ${one.validPpl.toFixed(1)} (1) | **${one.testPpl.toFixed(1)}** | – |`,
      ),
      summary,
    );
    // a run recorded as unfinished whose checkpoint is gone starts over, and says so; the same seed
    // retraces the same run
    const lost = {
      ...after,
      rows: after.rows.map((x) => (x.config.seed === 5 ? { ...x, finished: false } : x)),
    };
    writeFileSync(join(dir, "lm.json"), JSON.stringify(lost));
    const again = runCli([...cmd, "--seed", "5"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /lm 2x10 seed 5: \S+lm\.json has 1 epoch of this run but \S+2x10-seed5\.ckpt is not there: starting it over from epoch 1/,
    );
    const redone = JSON.parse(readFileSync(join(dir, "lm.json"), "utf8")) as typeof json;
    const five = (j: typeof json) => j.rows.find((x) => x.config.seed === 5)!;
    assert.equal(five(redone).finished, true);
    assert.equal(five(redone).validPpl, five(json).validPpl);
  });
});

test("lm run --prune-after stops a run that validation shows cannot win its row, and goes on to the next seed", () => {
  withTmpDir((dir) => {
    const data = ptbSlice(dir, { train: 800, valid: 40, test: 40 });
    const results = join(dir, "lm.md");
    const work = join(dir, "work");
    const base = ["lm", "run", "--rows", "2x10", "--data", data, "--dim", "8", "--epochs", "3"];
    const cmd = [...base, "--steps-per-epoch", "20", "--work", work, "--results", results, "--threads", "1"];
    const read = () =>
      (
        JSON.parse(readFileSync(join(dir, "lm.json"), "utf8")) as {
          rows: {
            config: { seed: number };
            finished: boolean;
            epochs: number;
            validPpl: number;
            history: { validPpl: number }[];
            pruned?: { epoch: number; seed: number; validPpl: number; margin: number };
          }[];
        }
      ).rows;
    // seed 1 runs to the end first: the row's leader. After one epoch, seeds 2 and 3 are far above its
    // third epoch's perplexity, so with no margin each stops there and the next seed starts.
    const prune = ["--prune-after", "1", "--prune-margin", "0"];
    const r = runCli([...cmd, "--repeats", "3", ...prune]);
    assert.equal(r.code, 0, r.stderr);
    const [one, two, three] = read();
    assert.deepEqual([one.finished, one.epochs, one.pruned], [true, 3, undefined]);
    for (const run of [two, three]) {
      assert.equal(run.finished, false);
      assert.equal(run.epochs, 1);
      assert.ok(run.validPpl > one.validPpl, `${run.validPpl} vs the leader's ${one.validPpl}`);
      assert.deepEqual(run.pruned, { epoch: 1, after: 1, margin: 0, seed: 1, validPpl: one.validPpl });
      assert.ok(
        existsSync(join(work, `2x10-seed${run.config.seed}.ckpt`)),
        "the stopped run keeps its checkpoint",
      );
    }
    assert.match(
      r.stderr,
      /lm 2x10 seed 2: stopped \(--prune-after 1: its best validation perplexity, [\d.]+, is more than 0 above seed 1's finished [\d.]+\) at epoch 1 step 0/,
    );
    const md = readFileSync(results, "utf8");
    assert.match(md, /\| stopped behind seed 1 \(--prune-after\) \|/);
    assert.match(
      md,
      /Stopped by validation \(`--prune-after`\).*2 × 10 seed 2 \(epoch 1, valid [\d.]+\); 2 × 10 seed 3 \(epoch 1/,
    );
    assert.ok(md.includes("| 2 × 10 | 1 (1) |"), "the summary picks among finished runs only");
    // the same command again trains nothing: the stopped runs stay stopped
    const again = runCli([...cmd, "--repeats", "3", ...prune]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /epoch \d+:/);
    assert.match(
      again.stderr,
      /lm 2x10 seed 2: stopped at epoch 1 \(--prune-after 1: .*\): not trained further/,
    );
    // without --prune-after, a stopped run goes on from its checkpoint to the end
    const on = runCli([...cmd, "--seed", "2", "--repeats", "1", "--quiet"]);
    assert.equal(on.code, 0, on.stderr);
    const resumed = read().find((x) => x.config.seed === 2)!;
    assert.deepEqual([resumed.finished, resumed.epochs, resumed.pruned], [true, 3, undefined]);
    assert.equal(resumed.history[0].validPpl, two.history[0].validPpl);
    // a margin without the epoch, or not a number: one line, exit 2
    const bad = runCli([...cmd, "--prune-margin", "1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --prune-margin: give --prune-after too\n$/);
    const nan = runCli([...cmd, "--prune-after", "2", "--prune-margin", "lots"]);
    assert.equal(nan.code, 2);
    assert.match(
      nan.stderr,
      /^error: --prune-margin: expected a perplexity ≥ 0 \(e\.g\. 1\.5\), got lots\n$/,
    );
    // digits that overflow to Infinity would never prune: refused too
    const huge = runCli([...cmd, "--prune-after", "2", "--prune-margin", "9".repeat(400)]);
    assert.equal(huge.code, 2);
    assert.match(
      huge.stderr,
      /^error: --prune-margin: expected a perplexity ≥ 0 \(e\.g\. 1\.5\), got 9{400}\n$/,
    );
  });
});

test("lm run: a row stopped part way reports its test perplexity at the best validation epoch so far", async () => {
  await withTmpDirAsync(async (dir) => {
    const data = ptbSlice(dir, { train: 800, valid: 40, test: 40 });
    const results = join(dir, "lm.md");
    const work = join(dir, "work");
    const args = ["lm", "run", "--rows", "2x10", "--data", data, "--dim", "8", "--epochs", "3"];
    const cmd = [
      ...args,
      "--steps-per-epoch",
      "1500",
      "--work",
      work,
      "--results",
      results,
      "--threads",
      "1",
    ];
    // stop it once its first epoch is over: the signal is heard between steps, after that epoch's record
    const firstEpoch = async () => {
      const child = spawn(process.execPath, cliArgs(...cmd), {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString();
        if (!child.killed && /lm 2x10 epoch 1:/.test(stderr)) child.kill("SIGTERM");
      });
      assert.equal(await exited, 0, stderr);
      return stderr;
    };
    await firstEpoch();
    const read = () => JSON.parse(readFileSync(join(dir, "lm.json"), "utf8")).rows[0];
    const part = read();
    assert.equal(part.finished, false);
    assert.equal(part.epochs, 1);
    assert.equal(part.testEpoch, 1);
    assert.equal(part.bestEpoch, 1);
    assert.match(
      readFileSync(results, "utf8"),
      new RegExp(`\\| ${part.testPpl.toFixed(1)} \\(so far\\) \\|`),
    );
    // the figure is the test text's perplexity under the checkpoint's best weights (the CLI's kernel
    // build may fuse its multiply-adds where this process's does not: to 1e-4)
    const c = lmCheckpointFromBytes(readFileSync(join(work, "2x10.ckpt")), "ckpt");
    assert.equal(c.state.bestEpoch, 1);
    const text = (split: string) => readFileSync(join(data, `ptb.${split}.txt`), "utf8");
    const corpus = readLMCorpus({
      train: ["train", text("train")],
      valid: ["valid", text("valid")],
      test: ["test", text("test")],
    });
    const want = new LanguageModel({ config: c.config, vocab: c.vocab, params: c.best }).perplexity(
      corpus.test,
    );
    assert.ok(Math.abs(part.testPpl - want) < 1e-4 * want, `${part.testPpl} vs ${want}`);
    // its checkpoint gone, the run starts over: the figure so far is the new run's, not the one recorded
    const json = JSON.parse(readFileSync(join(dir, "lm.json"), "utf8"));
    json.rows[0].testPpl = 12345;
    writeFileSync(join(dir, "lm.json"), JSON.stringify(json));
    rmSync(join(work, "2x10.ckpt"));
    assert.match(await firstEpoch(), /is not there: starting it over from epoch 1/);
    assert.equal(read().testPpl, part.testPpl);
    // going on to the end: the row's test figure is that of its best epoch
    const r = runCli([...cmd, "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    const done = read();
    assert.equal(done.finished, true);
    assert.equal(done.epochs, 3);
    assert.equal(done.testEpoch, done.bestEpoch);
    if (done.bestEpoch === 1) assert.equal(done.testPpl, part.testPpl);
    assert.doesNotMatch(readFileSync(results, "utf8"), /so far\) \|/);
  });
});

test("serve: POST /v1/lm/ptb/next gives what `memn2n lm next` gives; a bad field is a 400 naming it", async () => {
  const s = await serve(["--model", "babi", "--no-page"]);
  try {
    const post = (path: string, body: unknown) => postJson(s.base, path, body);
    const r = await post("/v1/lm/ptb/next", { text: "the stock market", topK: 5 });
    assert.equal(r.status, 200);
    const http = (await r.json()) as { top: { word: string; p: number }[]; attention: number[][] };
    const cli = runCli(["lm", "next", "--top", "5", "--json", "the stock market"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(http, cli.json);
    assert.equal((await post("/v1/lm/nope/next", { text: "a" })).status, 404);
    const bad = await post("/v1/lm/ptb/next", { text: 3 });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { field: string } }).error.field, "text");
  } finally {
    await s.stop();
  }
});

/** The <path>s drawn in each line colour of a chart: one per run (a run's line in one facet is one path). */
function linesByColour(svg: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of svg.matchAll(/<g [^>]*stroke="(#[0-9a-f]+)" fill="none">((?:<path [^>]*\/>)+)<\/g>/g))
    out[m[1]] = (out[m[1]] ?? 0) + (m[2].match(/<path /g) ?? []).length;
  return out;
}

test("results/lm-ptb.svg: a validation curve a run, the row's pick dark, the paper's and the reference's figures beside", async () => {
  const run = (hops: number, memory: number, seed: number, curve: number[], finished: boolean): LMRow => ({
    name: `${hops}x${memory}`,
    config: makeLMConfig({ hops, memory, seed }),
    command: "memn2n lm run",
    finished,
    epochs: curve.length,
    seconds: 60 * curve.length,
    threads: 2,
    machine: "2 cores",
    history: curve.map((validPpl, i) => ({ epoch: i + 1, lr: 0.01, trainPpl: validPpl - 50, validPpl })),
    validPpl: Math.min(...curve),
    testPpl: Math.min(...curve) - 7,
    bestEpoch: curve.indexOf(Math.min(...curve)) + 1,
    date: "2026-12-06",
  });
  const r: LMResults = {
    rows: [
      run(3, 100, 1, [400, 200, 150, 136, 135], true),
      run(3, 100, 2, [380, 190, 140, 133, 132], true), // the row's pick: the lower validation
      run(3, 100, 3, [390, 195, 139, 131], false), // lower still, but not finished: not the pick
      run(6, 150, 1, [450, 210, 140, 125, 124], true),
    ],
  };
  const svg = lmChart(r, await plotter());
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.deepEqual(linesByColour(svg), { "#9ecae1": 2, "#1f77b4": 2 });
  for (const label of ["3 × 100", "6 × 150", "paper 129", "paper 121", "reference 138", "reference 123.7"])
    assert.ok(svg.includes(`>${label}<`), label);
  // the axis starts below the lowest figure drawn (the paper's 121) and stops short of the first epochs'
  const ticks = [...svg.matchAll(/aria-label="y-axis tick label".*?<\/g><\/g>/gs)].join("");
  assert.ok(!/>400</.test(ticks) && />130</.test(ticks), ticks);
});

test("the progress line's rate: words a second over the last half minute, so a pause stops counting after it", () => {
  const rate = new StepRate(128);
  rate.reset(1000, 0); // a run resumed at step 1000
  assert.equal(rate.add(1000, 5), 0); // no step yet: no rate
  // 32 steps every second: 4096 words a second
  let r = 0;
  for (let t = 1; t <= 60; t++) r = rate.add(1000 + 32 * t, t * 1000);
  assert.equal(r, 4096);
  // the machine sleeps for 10 minutes between two calls
  const slept = rate.add(1000 + 32 * 61, 661_000);
  assert.ok(slept < 100, `the call after the pause counts it: ${slept}`);
  for (let t = 662; t <= 690; t++) r = rate.add(1000 + 32 * (t - 600), t * 1000);
  assert.ok(r < 4096, "within the half minute after the pause it still counts");
  r = rate.add(1000 + 32 * 91, 691_000);
  assert.equal(r, 4096, "half a minute on, the pause is out of the window");
  rate.reset(9000, 700_000); // a new epoch starts after the validation pass
  assert.equal(rate.add(9032, 701_000), 4096);
});

test("the progress line: the epoch's steps, the training rate and the time to the epoch's end", () => {
  const line = (step: number, wordsPerSecond: number, validPpl = 141.5) =>
    lmProgressText({
      label: "lm 3x100 seed 2",
      epoch: 12,
      step,
      steps: 7263,
      wordsPerSecond,
      batch: 128,
      lr: 0.00667,
      validPpl,
    });
  const mid = line(4608, 4751);
  assert.match(mid, /^lm 3x100 seed 2 epoch 13 \|█{19}░{11}\| step 4608\/7263 4751 words\/s/);
  // (7263 - 4608) steps of 128 words at 4751 words/s: 71.5 s
  assert.match(mid, /words\/s · 72 s to the epoch's end · lr 0\.00667 · valid ppl 141\.5$/);
  assert.match(line(0, 5000), /3\.1 min to the epoch's end/);
  // no rate yet (the first steps of a run): no guess at the time left, and no validation figure before the first
  const first = line(0, 0, Number.NaN);
  assert.doesNotMatch(first, /epoch's end/);
  assert.match(first, /valid ppl -$/);
  assert.match(line(7263, 5000), /\|█{30}\| step 7263\/7263 .* 0\.0 s to the epoch's end/);
});
