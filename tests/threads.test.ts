// Threads inside one training run (--threads): the weights depend on the seed only, not on the thread
// count. 1, 2 and 3 threads (a shared-memory kernel on worker threads) give bit-identical weights for the
// model variants whose backward passes differ (time rows, H, ReLU, layer-wise tying, supervised attention),
// and `memn2n train --threads N` writes the same model file for every N.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runDataOf } from "../src/api/train.js";
import { type Job, runJobs } from "../src/cli/pool.js";
import { spawnKernelThread, withKernelThreads } from "../src/cli/threads.js";
import { parseBabi } from "../src/data/babi.js";
import { createHead } from "../src/model/candidate-head.js";
import { type Config, makeConfig } from "../src/model/config.js";
import { KernelThreads } from "../src/model/kernel-threads.js";
import { createLMParams, initLMParams } from "../src/model/lm.js";
import { LMKernel } from "../src/model/lm-kernel.js";
import { createParams, initParams, namedTensors } from "../src/model/params.js";
import { kernelThreadCount, useKernelThreads, WasmKernel } from "../src/model/wasm-kernel.js";
import { prepare } from "../src/train/prepare.js";
import { type TrainEvent, Trainer } from "../src/train/trainer.js";
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
    weights: [...p.emb, ...p.time, ...(p.H ? [p.H] : []), ...(p.R ? [p.R] : [])].map((a) => Array.from(a)),
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
  [
    "relative time, supervised, ReLU + H",
    { relativeTime: true, superviseAttention: 0.3, hopMap: true, nonlin: "relu", linearStart: false },
  ],
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

/**
 * A small dialog model's kernel (the candidate layer) trained `steps` SGD steps on random dialogs; `before`
 * runs before each step. Returns the kernel's thread count after each step, the losses and the weights.
 */
function trainDialogKernel(steps: number, before?: (step: number, k: WasmKernel) => void) {
  const V = 15;
  const shape = { vocabSize: V, dim: 9, timeSize: 6, hops: 2, tying: "adjacent" as const, temporal: false };
  const p = createParams(shape, "f32");
  initParams(p, new Rng(3), 0.3);
  const rng = new Rng(5);
  const batch = randomBatch(rng, V, 6, 5, 40);
  const k = new WasmKernel(p, "bow", undefined, createHead(randomCandidates(rng, batch, V, true, 7), V));
  const rows = Int32Array.from({ length: 32 }, (_, i) => (i * 3) % 40);
  const losses: number[] = [];
  const threads: number[] = [];
  for (let step = 0; step < steps; step++) {
    before?.(step, k);
    losses.push(k.run(batch, rows, 32, false, true, null).loss);
    k.step(0.05, 2, "per-matrix");
    threads.push(k.threads);
  }
  k.sync();
  return { threads, losses, weights: namedTensors(p).map((t) => Array.from(t.data)) };
}

test("the dialog model's candidate layer trains bit-identical weights on 1, 2 and 3 threads", async () => {
  const one = await withKernelThreads(1, () => trainDialogKernel(4));
  for (const n of [2, 3]) {
    const many = await withKernelThreads(n, () => trainDialogKernel(4), false);
    assert.deepEqual(many.threads, [n, n, n, n]);
    assert.deepEqual(many.losses, one.losses);
    assert.deepEqual(many.weights, one.weights);
  }
});

test("a kernel made while another trains borrows its threads and hands them back on release", async () => {
  // A dialog kernel trains 6 steps; after 3, an LM kernel is made (it takes the helpers) and released. The
  // helpers must come back set up as before, their workspaces too: a helper writing where it has no
  // workspace would change the losses and weights, which must be the 1-thread ones.
  const during: number[] = [];
  const lend = (step: number, k: WasmKernel) => {
    if (step !== 3) return;
    const lm = createLMParams({ vocabSize: 20, dim: 8, memory: 5, hops: 2, linDim: 4, initHid: 0.1 }, "f32");
    initLMParams(lm, new Rng(1), 0.1);
    const borrower = new LMKernel(lm, 8);
    during.push(k.threads, borrower.threads);
    const text = Int32Array.from({ length: 40 }, (_, i) => i % 20);
    assert.ok(Number.isFinite(borrower.score(text, [5, 9, 30])));
    borrower.release();
  };
  const one = await withKernelThreads(1, () => trainDialogKernel(6));
  const lent = await withKernelThreads(2, () => trainDialogKernel(6, lend), false);
  // while the LM kernel has the helpers, the dialog kernel computes alone; after, on both again
  assert.deepEqual(during, [1, 2]);
  assert.deepEqual(lent.threads, [2, 2, 2, 2, 2, 2]);
  assert.deepEqual(lent.losses, one.losses);
  assert.deepEqual(lent.weights, one.weights);
});

test("a kernel keeps to one thread where its first batches ran faster there, with the same weights", async () => {
  // Task 2's small model on 2 threads, left to choose: whichever it keeps, the weights are the 1-thread ones.
  const cfg = { linearStart: false } as const;
  const one = await withKernelThreads(1, () => weightsAfter(cfg));
  const chosen = await withKernelThreads(2, () => weightsAfter(cfg));
  assert.ok(chosen.threads === 1 || chosen.threads === 2);
  assert.deepEqual(chosen.weights, one.weights);
});

test("a run takes in the threads its budget grows to between batches, with the same weights", async () => {
  const cfg = makeConfig({ epochs: 6, linearStart: false });
  const data = prepare([{ task: 2, train: parseBabi(TRAIN, "t").examples, test: [] }], cfg);
  const train = (onEpoch: (t: Trainer) => Promise<void> | void) => async () => {
    const seen: number[] = [];
    const t = new Trainer(cfg, data.vocab.size, data.train, data.valid, 7, (e) => {
      if (e.type === "epoch") seen.push(e.threads);
    });
    while (!t.state.done) {
      t.runEpoch();
      await onEpoch(t);
    }
    return { seen, weights: namedTensors(t.params).map((x) => Array.from(x.data)) };
  };
  const one = await withKernelThreads(
    1,
    train(() => {}),
  );
  const cells = new Int32Array(new SharedArrayBuffer(4)).fill(1);
  const pool = KernelThreads.growing(3, spawnKernelThread, { cells, index: 0 });
  pool.adaptive = false;
  useKernelThreads(pool);
  try {
    const grown = await train(async (t) => {
      // After the first epoch the budget rises to 3; the helpers start on their own threads, and the run
      // takes them in at a batch once they are up (here it waits for them, to see the change within 6 epochs).
      if (t.state.epoch === 1) {
        Atomics.store(cells, 0, 3);
        const give = Date.now() + 30_000;
        while (pool.size < 3 && Date.now() < give) {
          await new Promise((r) => setTimeout(r, 20));
          pool.poll();
        }
      }
    })();
    assert.equal(grown.seen[0], 1, "the first epoch ran on one thread");
    assert.equal(grown.seen.at(-1), 3, "the last epochs ran on three");
    assert.deepEqual(grown.weights, one.weights);
  } finally {
    useKernelThreads(null);
    pool.release();
    pool.close();
  }
});

test("a sweep's last run takes the cores of the runs that have finished, with the same weights", async () => {
  const data = runDataOf(
    prepare([{ task: 2, train: parseBabi(TRAIN, "t").examples, test: [] }], makeConfig({})),
  );
  // Two short runs first, then a long one: it starts when a short one ends, and gets the other's core
  // once that one ends too.
  const job = (epochs: number, seed: number): Job => ({
    cfg: makeConfig({ epochs, linearStart: false }),
    seed,
    data,
  });
  const jobs = [job(2, 1), job(2, 2), job(600, 3)];
  const threads: number[][] = [[], [], []];
  const onEvent = (j: number, e: TrainEvent) => {
    if (e.type === "epoch") threads[j].push(e.threads);
  };
  const alone = await runJobs(jobs, 1, {}, 1);
  const swept = await runJobs(jobs, 2, { onEvent }, 2, false);
  assert.deepEqual(threads[2].slice(0, 1), [1], "the last run starts on one thread");
  assert.equal(threads[2].at(-1), 2, "and ends on two");
  swept.forEach((r, i) => {
    const a = namedTensors(alone[i].run.params).map((t) => Array.from(t.data));
    assert.deepEqual(
      namedTensors(r.run.params).map((t) => Array.from(t.data)),
      a,
      `run ${i}: the same weights`,
    );
  });
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
