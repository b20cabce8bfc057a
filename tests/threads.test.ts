// Threads inside one training run (--threads): the weights depend on the seed only, not on the thread
// count. 1, 2 and 3 threads (a shared-memory kernel on worker threads) give bit-identical weights for the
// model variants whose backward passes differ (time rows, H, ReLU, layer-wise tying, supervised attention),
// and `memn2n train --threads N` writes the same model file for every N.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { withKernelThreads } from "../src/cli/threads.js";
import { parseBabi } from "../src/data/babi.js";
import { createHead } from "../src/model/candidate-head.js";
import { type Config, makeConfig } from "../src/model/config.js";
import { createParams, initParams, namedTensors } from "../src/model/params.js";
import { kernelThreadCount, WasmKernel } from "../src/model/wasm-kernel.js";
import { prepare } from "../src/train/prepare.js";
import { Trainer } from "../src/train/trainer.js";
import { Rng } from "../src/util/random.js";
import { BABI_EN, runCli, withTmpDir } from "./helpers.js";
import { randomBatch, randomCandidates } from "./model-helpers.js";

const TRAIN = readFileSync(join(BABI_EN, "qa2_two-supporting-facts_train.txt"), "utf8")
  .split("\n")
  .slice(0, 1200)
  .join("\n");

function weightsAfter(cfg: Partial<Config>): { weights: number[][]; losses: number[]; threads: number } {
  const c = makeConfig({ epochs: 3, lsEpochs: 2, lsRule: "fixed", ...cfg });
  const data = prepare([{ task: 2, train: parseBabi(TRAIN, "t").examples, test: [] }], c);
  const t = new Trainer(c, data.vocab.size, data.train, data.valid, 7);
  t.run();
  const p = t.params;
  return {
    threads: (t as unknown as { kernel: { threads: number } }).kernel.threads,
    weights: [...p.emb, ...p.time, ...(p.H ? [p.H] : [])].map((a) => Array.from(a)),
    losses: t.state.history.map((h) => h.trainLoss),
  };
}

const VARIANTS: [string, Partial<Config>][] = [
  ["PE TE LS RN (the paper's defaults)", {}],
  [
    "adjacent + H, ReLU, global clipping",
    { hopMap: true, nonlin: "relu", clip: "global", linearStart: false },
  ],
  ["layer-wise tying", { tying: "layerwise" }],
  ["supervised attention", { superviseAttention: 0.3 }],
];

test("1, 2 and 3 threads train bit-identical weights", async () => {
  for (const [name, cfg] of VARIANTS) {
    const one = await withKernelThreads(1, () => weightsAfter(cfg));
    for (const n of [2, 3]) {
      const many = await withKernelThreads(
        n,
        () => {
          assert.equal(kernelThreadCount(), n, "the run computes on the pool's threads");
          return weightsAfter(cfg);
        },
        false,
      );
      assert.equal(many.threads, n, `${name}: the kernel computed on ${n} threads`);
      assert.deepEqual(many.losses, one.losses, `${name}: ${n} threads, the losses`);
      assert.ok(
        many.weights.every((w, i) => w.every((x, k) => Object.is(x, one.weights[i][k]))),
        `${name}: ${n} threads, the weights`,
      );
    }
  }
});

test("the dialog model's candidate layer trains bit-identical weights on 1, 2 and 3 threads", async () => {
  const weights = () => {
    const V = 15;
    const shape = { vocabSize: V, dim: 9, timeSize: 6, hops: 2, tying: "adjacent" as const, temporal: false };
    const p = createParams(shape, "f32");
    initParams(p, new Rng(3), 0.3);
    const rng = new Rng(5);
    const batch = randomBatch(rng, V, 6, 5, 40);
    const k = new WasmKernel(p, "bow", undefined, createHead(randomCandidates(rng, batch, V, true, 7), V));
    const rows = Int32Array.from({ length: 32 }, (_, i) => (i * 3) % 40);
    const losses: number[] = [];
    for (let step = 0; step < 4; step++) {
      losses.push(k.run(batch, rows, 32, false, true, null).loss);
      k.step(0.05, 2, "per-matrix");
    }
    k.sync();
    return { threads: k.threads, losses, weights: namedTensors(p).map((t) => Array.from(t.data)) };
  };
  const one = await withKernelThreads(1, weights);
  for (const n of [2, 3]) {
    const many = await withKernelThreads(n, weights, false);
    assert.equal(many.threads, n);
    assert.deepEqual(many.losses, one.losses);
    assert.deepEqual(many.weights, one.weights);
  }
});

test("a kernel keeps to one thread where its first batches ran faster there, with the same weights", async () => {
  // Task 2's small model on 2 threads, left to choose: whichever it keeps, the weights are the 1-thread ones.
  const cfg = { linearStart: false } as const;
  const one = await withKernelThreads(1, () => weightsAfter(cfg));
  const chosen = await withKernelThreads(2, () => weightsAfter(cfg));
  assert.ok(chosen.threads === 1 || chosen.threads === 2);
  assert.deepEqual(chosen.weights, one.weights);
});

test("memn2n train --threads 1 and --threads 2 write the same model file", () => {
  withTmpDir((dir) => {
    const files = [1, 2].map((n) => {
      const out = join(dir, `t${n}.safetensors`);
      const r = runCli([
        "train",
        "--task",
        "2",
        "--epochs",
        "3",
        "--threads",
        String(n),
        "--quiet",
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return readFileSync(out);
    });
    assert.ok(files[0].equals(files[1]));
    const bad = runCli(["train", "--task", "2", "--threads", "0"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--threads: expected a whole number ≥ 1, got 0/);
  });
});
