// The language model: the float64 reference against finite differences, and the WebAssembly kernel (one
// thread and two, its relaxed-SIMD build and its baseline one) against the reference.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { LMTraining, lmConfig, readLMCorpus, trainLM } from "../src/api/lm.js";
import { withKernelThreads } from "../src/cli/threads.js";
import {
  createLMParams,
  initLMParams,
  LM_TENSORS,
  type LMParams,
  type LMShape,
  lmBatchLoss,
  lmSgdStep,
  zerosLikeLM,
} from "../src/model/lm.js";
import { LMKernel } from "../src/model/lm-kernel.js";
import { preferFusedKernels } from "../src/model/wasm-kernel.js";
import { lineStarts } from "../src/train/lm.js";
import { Rng } from "../src/util/random.js";

// Both builds of the kernel: relaxed SIMD with fused multiply-adds (what the Node edges, which turn it on in
// Node 20, and current browsers run) and the baseline (older browsers). This file imports src/cli/threads.js,
// which turns relaxed SIMD on, so the fused build must be there.
const BUILDS = [true, false];

/** Whether this CPU has fused multiply-add (where the engine runs relaxed_madd as one); unknown: no. */
function hasFma(): boolean {
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return false;
  }
}

async function withBuild<T>(fused: boolean, fn: () => T | Promise<T>): Promise<T> {
  preferFusedKernels(fused);
  try {
    return await fn();
  } finally {
    preferFusedKernels(true);
  }
}

function randomModel(shape: LMShape, seed: number, dtype: "f32" | "f64", std = 0.3): LMParams {
  const p = createLMParams(shape, dtype);
  initLMParams(p, new Rng(seed), std);
  return p;
}

function randomWords(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V));
}

test("lm: every gradient of the float64 reference matches finite differences, masked windows included", () => {
  const shape: LMShape = { vocabSize: 11, dim: 6, memory: 5, hops: 3, linDim: 3, initHid: 0.1 };
  const p = randomModel(shape, 3, "f64");
  const words = randomWords(30, 11, 4);
  // positions 0..4 have part of their memory before the start of the text
  const positions = [0, 2, 5, 9, 17, 29];
  const g = zerosLikeLM(p);
  lmBatchLoss(p, words, positions, g);
  const eps = 1e-6;
  let checked = 0;
  for (const name of LM_TENSORS) {
    const w = p[name];
    for (let i = 0; i < w.length; i++) {
      const keep = w[i];
      w[i] = keep + eps;
      const up = lmBatchLoss(p, words, positions);
      w[i] = keep - eps;
      const down = lmBatchLoss(p, words, positions);
      w[i] = keep;
      const num = (up - down) / (2 * eps);
      assert.ok(
        Math.abs(num - g[name][i]) <= 1e-6 + 1e-5 * Math.abs(num),
        `${name}[${i}]: analytic ${g[name][i]}, numeric ${num}`,
      );
      checked++;
    }
  }
  assert.ok(checked > 200);
});

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  return worst;
}

// d = 30 pads to 32 floats a row; V = 70 leaves the matrix multiply's tiles ragged at every edge.
const KERNEL_SHAPE: LMShape = { vocabSize: 70, dim: 30, memory: 9, hops: 3, linDim: 15, initHid: 0.1 };
// d = 38 pads to 40: the hops' blocked products take one block of eight vectors and two single vectors;
// 150 units in memory 11 leave ragged groups of four rows; the first targets' memories are cut by the text's
// start, so the backward pass masks slots as well.
const RAGGED_SHAPE: LMShape = { vocabSize: 150, dim: 38, memory: 11, hops: 4, linDim: 19, initHid: 0.1 };
const RAGGED_POSITIONS = [2, 5, 10, 11, 40, 77, 123, 150, 188];

function kernelAgainstReference(
  fused: boolean,
  shape = KERNEL_SHAPE,
  positions: ArrayLike<number> = Int32Array.from({ length: 13 }, (_, i) => 9 + i * 14),
): { after: LMParams; loss: number; threads: number } {
  const ref = randomModel(shape, 7, "f64", 0.2);
  const f32 = createLMParams(shape, "f32");
  for (const name of LM_TENSORS) f32[name].set(ref[name]);
  for (const name of LM_TENSORS) ref[name].set(f32[name]); // the same float32-rounded weights on both sides
  const words = randomWords(200, shape.vocabSize, 8);
  const kernel = new LMKernel(f32, 16);
  try {
    assert.equal(kernel.fused, fused, "the kernel's build");
    // scoring masks the slots before the text's start
    const scored = [0, 1, 4, 9, 100];
    const want = lmBatchLoss(ref, words, scored);
    const got = kernel.score(words, scored);
    assert.ok(Math.abs(got - want) < 1e-4 * Math.abs(want), `score ${got} vs ${want}`);
    const g = zerosLikeLM(ref);
    const loss = lmBatchLoss(ref, words, positions, g);
    lmSgdStep(ref, g, 0.5, 3); // the norm is above 3: the clip acts
    const r = kernel.step(words, positions, 0.5, 3);
    assert.ok(r.norm > 3);
    assert.ok(Math.abs(r.loss - loss) < 1e-4 * loss, `loss ${r.loss} vs ${loss}`);
    kernel.sync();
    for (const name of LM_TENSORS) {
      const d = maxRelDiff(ref[name], f32[name]);
      assert.ok(d < 2e-5, `${name} after one step differs by ${d} of its largest weight`);
    }
    // a second step starts from the first one's weights (the sparse gradients were cleared); its rows take
    // the first step's positions in reverse, so a row whose memory is cut by the text's start now had a full
    // one before: what the first step left in its scratch must not reach this step's gradients
    const reversed = Array.from(positions).reverse();
    const g2 = zerosLikeLM(ref);
    lmBatchLoss(ref, words, reversed, g2);
    lmSgdStep(ref, g2, 0.5, 3);
    kernel.step(words, reversed, 0.5, 3);
    kernel.sync();
    for (const name of LM_TENSORS) assert.ok(maxRelDiff(ref[name], f32[name]) < 4e-5, name);
    return { after: f32, loss: r.loss, threads: kernel.threads };
  } finally {
    kernel.release();
  }
}

test("lm: both builds of the WebAssembly kernel match the float64 reference in scores and SGD steps", async () => {
  for (const fused of BUILDS)
    await withBuild(fused, () => {
      kernelAgainstReference(fused);
      kernelAgainstReference(fused, RAGGED_SHAPE, RAGGED_POSITIONS);
    });
});

test("lm: each build gives the same bits on one thread and on two, and the two builds differ", async () => {
  for (const [shape, positions] of [
    [KERNEL_SHAPE, undefined],
    [RAGGED_SHAPE, RAGGED_POSITIONS],
  ] as const) {
    const losses: number[] = [];
    for (const fused of BUILDS) {
      const one = await withBuild(fused, () => kernelAgainstReference(fused, shape, positions));
      const two = await withBuild(fused, () =>
        withKernelThreads(2, () => kernelAgainstReference(fused, shape, positions), false),
      );
      assert.equal(one.threads, 1);
      assert.equal(two.threads, 2);
      assert.equal(one.loss, two.loss);
      for (const name of LM_TENSORS) assert.deepEqual(one.after[name], two.after[name], name);
      losses.push(one.loss);
    }
    // on a machine without FMA the engine may run relaxed_madd unfused, and then the builds agree
    if (hasFma()) assert.notEqual(losses[0], losses[1], "the fused build rounds once per multiply-add");
  }
});

interface TorchFixture {
  shape: LMShape;
  words: number[];
  positions: number[];
  weights: Record<string, number[]>;
  loss: number;
  grads: Record<string, number[]>;
  lr: number;
  maxNorm: number;
  afterStep: Record<string, number[]>;
  evalMeanLoss: number;
  evalTargets: number;
}

function torchFixture(): TorchFixture {
  return JSON.parse(readFileSync(new URL("./fixtures/lm-torch.json", import.meta.url), "utf8"));
}

function fromFixture(f: TorchFixture, dtype: "f32" | "f64"): LMParams {
  const p = createLMParams(f.shape, dtype);
  for (const name of LM_TENSORS) p[name].set(f.weights[name]);
  return p;
}

test("lm: the float64 reference equals the independent PyTorch model (loss, gradients, one clipped step, scoring)", () => {
  const f = torchFixture();
  const p = fromFixture(f, "f64");
  const words = Int32Array.from(f.words);
  const g = zerosLikeLM(p);
  const loss = lmBatchLoss(p, words, f.positions, g);
  assert.ok(Math.abs(loss - f.loss) < 1e-10 * f.loss, `loss ${loss} vs ${f.loss}`);
  for (const name of LM_TENSORS) assert.ok(maxRelDiff(f.grads[name], g[name]) < 1e-9, `gradient of ${name}`);
  lmSgdStep(p, g, f.lr, f.maxNorm);
  for (const name of LM_TENSORS)
    assert.ok(maxRelDiff(f.afterStep[name], p[name]) < 1e-9, `${name} after the step`);
  const all = Array.from({ length: f.evalTargets }, (_, t) => t);
  const mean = lmBatchLoss(fromFixture(f, "f64"), words, all) / f.evalTargets;
  assert.ok(Math.abs(mean - f.evalMeanLoss) < 1e-10, `scoring ${mean} vs ${f.evalMeanLoss}`);
});

test("lm: the float32 kernel (both builds) equals the PyTorch model to float32 precision", async () => {
  for (const fused of BUILDS) await withBuild(fused, () => kernelAgainstTorch(fused));
});

function kernelAgainstTorch(fused: boolean): void {
  const f = torchFixture();
  const p = fromFixture(f, "f32");
  const words = Int32Array.from(f.words);
  const kernel = new LMKernel(p, 16);
  try {
    assert.equal(kernel.fused, fused, "the kernel's build");
    let total = 0;
    for (let t = 0; t < f.evalTargets; t += 16) {
      const pos = Array.from({ length: Math.min(16, f.evalTargets - t) }, (_, i) => t + i);
      total += kernel.score(words, pos);
    }
    assert.ok(Math.abs(total / f.evalTargets - f.evalMeanLoss) < 1e-5, "scoring");
    const r = kernel.step(words, f.positions, f.lr, f.maxNorm);
    assert.ok(Math.abs(r.loss - f.loss) < 1e-5 * f.loss, `loss ${r.loss} vs ${f.loss}`);
    kernel.sync();
    // tolerance: relative to each tensor's largest weight
    for (const name of LM_TENSORS)
      assert.ok(maxRelDiff(f.afterStep[name], p[name]) < 1e-6, `${name} after the step`);
  } finally {
    kernel.release();
  }
}

test("lm: a memory cut at a row's sentence start is the memory of the text from there (score and step, same bits)", () => {
  // With starts, row b reads no word before starts[b]: the same as the row at t - s of the text cut at s.
  const shape = KERNEL_SHAPE;
  const words = randomWords(400, shape.vocabSize, 9);
  // [target, start]; the memory is 9 words, so every start but the last's cuts it
  const rows = [
    [150, 145],
    [260, 258],
    [399, 391],
    [200, 199],
    [30, 2],
  ];
  const p = randomModel(shape, 7, "f32", 0.2);
  const kernel = new LMKernel(p, 16);
  try {
    const cut = rows.map(([t, s]) => kernel.score(words.subarray(s), [t - s]));
    const starts = rows.map(([t, s]) => kernel.score(words, [t], 1, [s]));
    assert.deepEqual(starts, cut);
    // a cut can only shorten a memory: a start before the window leaves it whole
    assert.equal(kernel.score(words, [300], 1, [5]), kernel.score(words, [300]));
  } finally {
    kernel.release();
  }
  const [t, s] = rows[0];
  const stepped = (w: Int32Array, pos: number, start?: number) => {
    const q = randomModel(shape, 7, "f32", 0.2);
    const k = new LMKernel(q, 16);
    try {
      k.step(w, [pos], 0.5, 3, start === undefined ? undefined : [start]);
      k.sync();
    } finally {
      k.release();
    }
    return LM_TENSORS.map((n) => Array.from(q[n]));
  };
  assert.deepEqual(stepped(words, t, s), stepped(words.subarray(s), t - s));
  assert.notDeepEqual(stepped(words, t, s), stepped(words, t));
});

test("lm: lineStarts gives each word's sentence start, from the <eos> before it", () => {
  // <eos> is id 0
  assert.deepEqual(
    Array.from(lineStarts(Int32Array.from([5, 6, 0, 7, 8, 0, 0, 9]))),
    [0, 0, 0, 2, 2, 2, 5, 6],
  );
});

test("lm: the test figure of a run's best epoch so far leaves the training's kernel its threads", async () => {
  const text = `${Array.from({ length: 60 }, () => " the cat sat on the mat\n a dog ran in the park").join("\n")}\n`;
  const corpus = readLMCorpus({
    train: ["train.txt", text],
    valid: ["valid.txt", " the cat sat on the mat\n".repeat(5)],
    test: ["test.txt", " a dog ran in the park\n".repeat(5)],
  });
  await withKernelThreads(
    2,
    () => {
      const run = new LMTraining(corpus, lmConfig({ hops: 2, memory: 4, dim: 16, linDim: 8, epochs: 1 }));
      try {
        while (run.advance(64) === null);
        assert.equal(run.trainer.kernel.threads, 2);
        const ppl = run.bestTestPerplexity();
        assert.ok(ppl > 1 && Number.isFinite(ppl), String(ppl));
        assert.equal(run.trainer.kernel.threads, 2, "the training kept its threads");
        assert.equal(ppl, run.model(0, true).file.figures?.testPpl);
      } finally {
        run.release();
      }
    },
    false,
  );
});

test("lm: trainLM learns a tiny corpus in one call and next() ranks what followed in it", () => {
  // two sentences, over and over: after "the cat" comes "sat"
  const text = `${Array.from({ length: 200 }, () => " the cat sat on the mat\n a dog ran in the park").join("\n")}\n`;
  const corpus = readLMCorpus({
    train: ["train.txt", text],
    // long enough that most targets have a full memory, as every training target has
    valid: ["valid.txt", " the cat sat on the mat\n a dog ran in the park\n".repeat(5)],
    test: ["test.txt", " a dog ran in the park\n the cat sat on the mat\n".repeat(5)],
  });
  const epochs: number[] = [];
  const m = trainLM(
    corpus,
    { hops: 2, memory: 6, dim: 16, epochs: 6, batchSize: 16, lr: 0.01, seed: 3 },
    { onEpoch: (e) => epochs.push(e.validPpl) },
  );
  assert.equal(epochs.length, 6);
  assert.ok(epochs[5] < epochs[0] && epochs[5] < 3, String(epochs));
  assert.equal(m.next("a dog ran in the park\nthe cat", 3).top[0].word, "sat");
  assert.equal(m.next("the cat sat on the mat\na dog ran in the", 3).top[0].word, "park");
  assert.ok((m.file.figures?.testPpl ?? 99) < 3);
});
