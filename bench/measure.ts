// Measures one configuration in its own process (so that its peak RSS is its own) and prints one JSON line.
// Used by bench/run.ts; run alone: node --import tsx bench/measure.ts '{"name":"t1","tasks":[1],"joint":false}'
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Model } from "../src/api/model.js";
import { trainedModel } from "../src/api/train.js";
import { withKernelThreads } from "../src/cli/threads.js";
import { parseBabi } from "../src/data/babi.js";
import type { Batch } from "../src/data/batch.js";
import { type Config, jointDefaults, makeConfig } from "../src/model/config.js";
import { prepare } from "../src/train/prepare.js";
import { Trainer } from "../src/train/trainer.js";

export interface MeasureSpec {
  name: string;
  tasks: number[];
  joint: boolean;
  set?: string;
  /** Threads of the second measurement (one training run on that many threads). */
  threads: number;
  epochs: number;
  /** Only build the data and train one epoch: for peak memory. */
  rssOnly?: boolean;
  exportTo?: string;
}

const spec = JSON.parse(process.argv[2]) as MeasureSpec;
const DATA = join(
  import.meta.dirname ?? ".",
  "..",
  "..",
  "shared",
  "data",
  "babi",
  "tasks_1-20_v1-2",
  spec.set ?? "en",
);

function load(task: number) {
  const files = readdirSync(DATA).filter((f) => f.startsWith(`qa${task}_`));
  const read = (part: string) => {
    const f = files.find((x) => x.endsWith(`${part}.txt`));
    return f ? parseBabi(readFileSync(join(DATA, f), "utf8"), f).examples : null;
  };
  return { task, train: read("train"), test: read("test") };
}

const tasks = spec.tasks.map(load).filter((t) => t.train && t.test) as {
  task: number;
  train: never[];
  test: never[];
}[];
// Measured in the softmax phase (linear start has the same cost per example).
const cfg: Config = makeConfig({
  ...(spec.joint ? jointDefaults((spec.set ?? "en") === "en-10k") : {}),
  // The softmax phase, without random noise: what the PyTorch peer trains too.
  linearStart: false,
  randomNoise: false,
});
const data = prepare(tasks, cfg);
const train = data.train;

const trainer = new Trainer(cfg, data.vocab.size, train, data.valid, 1);
if (spec.rssOnly) {
  trainer.runEpoch();
  print({ name: spec.name, examples: train.n, vocab: data.vocab.size, peak_rss_mb: rssMb() });
  process.exit(0);
}

if (spec.exportTo) {
  writeFileSync(
    spec.exportTo,
    JSON.stringify({
      config: cfg,
      n: train.n,
      M: train.memorySize,
      J: train.sentenceLen,
      V: data.vocab.size,
      sentences: Array.from(train.sentences),
      memory: Array.from(train.memory),
      memLen: Array.from(train.memLen),
      time: Array.from(train.time),
      query: Array.from(train.query),
      answer: Array.from(train.answer),
    }),
  );
}

// One thread: training passes only, then whole epochs (with the validation pass).
/**
 * Training examples per second of one run, settled: after a second of training (the engine has optimised
 * the kernels in every thread, and a kernel on threads has chosen between one and all), the best of 3
 * timings of `epochs` training passes.
 */
function throughput(t: Trainer): number {
  const warm = performance.now() + 1000;
  while (performance.now() < warm) t.trainPass(false, cfg.lr);
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    for (let e = 0; e < spec.epochs; e++) t.trainPass(false, cfg.lr);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return (spec.epochs * train.n) / best;
}

const oneThread = throughput(trainer);
const t0 = performance.now();
for (let e = 0; e < spec.epochs; e++) trainer.runEpoch();
const epochMs = (performance.now() - t0) / spec.epochs;
const threaded =
  spec.threads > 1
    ? await withKernelThreads(spec.threads, () =>
        throughput(new Trainer(cfg, data.vocab.size, train, data.valid, 1)),
      )
    : oneThread;

const model = new Model(trainedModel(cfg, data, { ...fakeRun(), params: trainer.params }, spec.tasks));
const questions = tasks
  .flatMap((t) => t.test as { sentences: { tokens: string[] }[]; question: string[] }[])
  .slice(0, 400);
const lat: number[] = [];
for (const q of questions) {
  const story = q.sentences.map((s) => s.tokens.join(" "));
  const question = q.question.join(" ");
  const s = performance.now();
  model.answer(story, question);
  lat.push(performance.now() - s);
}
lat.sort((a, b) => a - b);

print({
  name: spec.name,
  examples: train.n,
  memory_slots: train.memorySize,
  sentence_len: train.sentenceLen,
  vocab: data.vocab.size,
  dim: cfg.dim,
  train_examples_per_sec_1_thread: oneThread,
  train_examples_per_sec_threads: threaded,
  threads: spec.threads,
  ms_per_epoch: epochMs,
  answers_per_sec: lat.length / (lat.reduce((a, b) => a + b, 0) / 1000),
  p50_ms: lat[lat.length >> 1],
  flops_per_example: flopsPerExample(train, cfg, data.vocab.size),
  peak_rss_mb: rssMb(),
});

function fakeRun() {
  return {
    seed: 1,
    epochs: spec.epochs,
    lsEpochs: 0,
    trainError: 0,
    validError: 0,
    validLoss: 0,
    history: [],
  };
}

function rssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function print(x: unknown): void {
  process.stdout.write(`${JSON.stringify(x)}\n`);
}

/**
 * Floating-point operations per training example, counted from the data: the forward pass (embedding every
 * memory with each memory matrix, the hops, the answer layer) and a backward pass counted as twice that.
 */
function flopsPerExample(b: Batch, c: Config, V: number): number {
  const d = c.dim;
  const K = c.hops;
  const memMatrices = c.tying === "adjacent" ? K + 1 : 2;
  let total = 0;
  for (let e = 0; e < b.n; e++) {
    let words = 0;
    for (let i = 0; i < b.memLen[e]; i++) {
      const row = b.memory[e * b.memorySize + i];
      for (let j = 0; j < b.sentenceLen && b.sentences[row * b.sentenceLen + j] !== 0; j++) words++;
    }
    let q = 0;
    while (q < b.sentenceLen && b.query[e * b.sentenceLen + q] !== 0) q++;
    const n = b.memLen[e];
    const fwd =
      2 * d * q + memMatrices * (2 * d * words + d * n) + K * (4 * n * d + 3 * n + d) + 2 * V * d + 3 * V;
    total += 3 * fwd;
  }
  return total / b.n;
}
