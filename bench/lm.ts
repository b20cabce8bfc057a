// `npm run bench:lm`: the language model's speed. (1) The kernel's matrix multiply alone on the three
// products of the output layer (d = 150, V = 10,000, batch 128), one thread, in both builds (baseline SIMD;
// relaxed SIMD, whose multiply-adds are fused). (2) Whole training steps of Table 2's rows on 1 thread and on
// every core with the build the CLI runs (relaxed SIMD), and on every core with the baseline build: words/s,
// minutes an epoch (7,263 steps of 128), and GFLOP/s counted as the PyTorch reference counts them. (3) The
// same steps by the independent PyTorch reference (../shared/reference/memn2n_lm.py) on this CPU, at 1 thread and at every thread, the same 50 steps of 128
// targets drawn the same way: one run each, in the same sitting. Ceilings: the WebAssembly SIMD multiply-add
// loop and native sgemm (OpenBLAS). Writes bench/lm-results.json and the "lm" section of bench/RESULTS.md.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { withKernelThreads } from "../src/cli/threads.js";
import { createLMParams, initLMParams } from "../src/model/lm.js";
import { LMKernel } from "../src/model/lm-kernel.js";
import {
  WASM_BASE64,
  WASM_FUSED_BASE64,
  WASM_FUSED_SHARED_BASE64,
  WASM_SHARED_BASE64,
} from "../src/model/lm-wasm-bytes.js";
import { measurePeakGflops, preferFusedKernels, wasmAbort, wasmModules } from "../src/model/wasm-kernel.js";
import { Rng } from "../src/util/random.js";
import { machineLine, writeSection } from "./sections.js";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "..");
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
const PY = "/usr/bin/python3";
const REFERENCE = join(ROOT, "..", "shared", "reference", "memn2n_lm.py");
const PTB = join(ROOT, "..", "shared", "data", "ptb");
const V = 10_000;
const D = 150;
const B = 128;
const TRAIN_WORDS = 929_589;
const STEPS = Math.ceil(TRAIN_WORDS / B);
const ROWS = [
  { hops: 3, memory: 100 },
  { hops: 6, memory: 150 },
  { hops: 7, memory: 200 },
];

/** FLOPs per target word (a multiply-add is 2), as memn2n_lm.py's flops_per_word counts them. */
function flopsPerWord(hops: number, mem: number, dim: number, vocab: number, params: number, batch: number) {
  const build = mem * 2 * dim;
  const hopMm = 2 * mem * dim + 2 * mem * dim + 2 * dim * dim;
  const hopEw = 4 * mem + dim + Math.floor(dim / 2);
  const outMm = 2 * dim * vocab;
  const outEw = 4 * vocab;
  const fwd = build + hops * (hopMm + hopEw) + outMm + outEw;
  const bwd = 2 * (hops * hopMm + outMm) + hops * (6 * mem + dim) + 3 * vocab + mem * 2 * dim;
  return fwd + bwd + (4 * params) / batch;
}

interface GemmExports {
  setScratch(a: number, b: number, e: number): void;
  scratchFloats(): number;
  scratchSplit(w: number): number;
  heapBase(): number;
  gemm(...a: number[]): void;
}

function gemmBench(fused: boolean): { name: string; gflops: number }[] {
  const memory = new WebAssembly.Memory({ initial: 1200 });
  const mod = fused
    ? wasmModules(WASM_FUSED_BASE64, WASM_FUSED_SHARED_BASE64).own()
    : wasmModules(WASM_BASE64, WASM_SHARED_BASE64).own();
  const x = new WebAssembly.Instance(mod, {
    env: { memory, abort: wasmAbort },
  }).exports as unknown as GemmExports;
  let top = (x.heapBase() + 127) & ~127;
  const alloc = (floats: number) => {
    const p = top;
    top += Math.ceil((floats * 4) / 128) * 128;
    return p;
  };
  const s = alloc(x.scratchFloats());
  x.setScratch(s, s + x.scratchSplit(0) * 4, s + (x.scratchSplit(0) + x.scratchSplit(1)) * 4);
  const DP = 152;
  const f = new Float32Array(memory.buffer);
  const U = alloc(B * DP);
  const W = alloc(V * DP);
  const L = alloc(B * V);
  const DU = alloc(B * DP);
  const GW = alloc(V * DP);
  const rng = new Rng(1);
  for (let i = 0; i < f.length && i < top / 4; i++) f[i] = rng.next() - 0.5;
  const flops = 2 * B * DP * V;
  const time = (fn: () => void) => {
    fn();
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 20; r++) {
      const t = performance.now();
      fn();
      best = Math.min(best, performance.now() - t);
    }
    return flops / (best / 1000) / 1e9;
  };
  return [
    {
      name: "logits = U W^T (128 x 152 x 10000)",
      gflops: time(() => x.gemm(B, V, DP, U, DP, 1, W, 1, DP, L, V, 0)),
    },
    {
      name: "dU = dlogits W (128 x 10000 x 152)",
      gflops: time(() => x.gemm(B, DP, V, L, V, 1, W, DP, 1, DU, DP, 0)),
    },
    {
      name: "dW = dlogits^T U (10000 x 128 x 152)",
      gflops: time(() => x.gemm(V, DP, B, L, 1, V, U, DP, 1, GW, DP, 0)),
    },
  ];
}

interface OursRow {
  hops: number;
  memory: number;
  threads: number;
  fused: boolean;
  ms_per_step: number;
  words_per_sec: number;
  epoch_minutes: number;
  gflops: number;
}

async function oursRow(
  hops: number,
  memory: number,
  threads: number,
  steps: number,
  fused: boolean,
): Promise<OursRow> {
  preferFusedKernels(fused);
  return withKernelThreads(
    threads,
    () => {
      const p = createLMParams({ vocabSize: V, dim: D, memory, hops, linDim: D / 2, initHid: 0.1 });
      const rng = new Rng(1);
      initLMParams(p, rng, 0.05);
      // the text's words do not change the work: the same sizes, the same sparse rows on average
      const words = Int32Array.from({ length: 200_000 }, () => rng.int(V));
      const k = new LMKernel(p, B);
      const threadsUsed = k.threads;
      const pos = new Int32Array(B);
      const step = () => {
        for (let b = 0; b < B; b++) pos[b] = memory + rng.int(words.length - memory);
        k.step(words, pos, 0.01, 50);
      };
      for (let i = 0; i < 20; i++) step();
      const t = performance.now();
      for (let i = 0; i < steps; i++) step();
      const ms = (performance.now() - t) / steps;
      k.release();
      const params = V * 3 * D + memory * 2 * D + D * D;
      return {
        hops,
        memory,
        threads: threadsUsed,
        fused: k.fused,
        ms_per_step: ms,
        words_per_sec: (B * 1000) / ms,
        epoch_minutes: (ms * STEPS) / 60_000,
        gflops: (flopsPerWord(hops, memory, D, V, params, B) * B) / (ms / 1000) / 1e9,
      };
    },
    false,
  );
}

interface TorchRow {
  hops: number;
  memory: number;
  threads: number;
  words_per_sec: number;
  epoch_minutes: number;
  torch: string;
}

const hasTorch =
  existsSync(PY) && existsSync(REFERENCE) && spawnSync(PY, ["-c", "import torch"]).status === 0;

function torchRow(hops: number, memory: number, threads: number, steps: number): TorchRow {
  const r = spawnSync(
    PY,
    [
      REFERENCE,
      ...["--data", PTB, "--hops", String(hops), "--memory", String(memory), "--dim", String(D)],
      ...["--epochs", "1", "--device", "cpu", "--threads", String(threads), "--seed", "1"],
      ...["--max-train-words", String(steps * B), "--max-eval-words", "256"],
    ],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) throw new Error(`memn2n_lm.py failed: ${r.stderr.slice(-500)}`);
  const last = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
    words_per_s: number;
    torch_version: string;
  };
  return {
    hops,
    memory,
    threads,
    words_per_sec: last.words_per_s,
    epoch_minutes: TRAIN_WORDS / last.words_per_s / 60,
    torch: last.torch_version,
  };
}

function sgemm(threads: number): number | null {
  const r = spawnSync(PY, [join(ROOT, "tools/reference/sgemm_peak.py"), String(threads)], {
    encoding: "utf8",
  });
  if (r.status !== 0) return null;
  return (JSON.parse(r.stdout.trim()) as { gflops: number }).gflops;
}

const quick = process.argv.includes("--quick");
const ourSteps = quick ? 50 : 300;
const torchSteps = quick ? 10 : 50;
const simd1 = measurePeakGflops(2);
const gemmBase = gemmBench(false);
const gemmFused = gemmBench(true);
const gemm = gemmBase.map((g, i) => ({ name: g.name, gflops: g.gflops, fused_gflops: gemmFused[i].gflops }));
const ours: OursRow[] = [];
for (const row of ROWS) {
  ours.push(await oursRow(row.hops, row.memory, 1, ourSteps, true));
  if (THREADS > 1) ours.push(await oursRow(row.hops, row.memory, THREADS, ourSteps, true));
  if (THREADS > 1) ours.push(await oursRow(row.hops, row.memory, THREADS, ourSteps, false));
}
if (!ours.some((o) => o.fused)) throw new Error("the relaxed-SIMD build did not run: this Node rejects it");
const torch: TorchRow[] = [];
if (hasTorch) {
  for (const row of ROWS.slice(0, 2)) {
    torch.push(torchRow(row.hops, row.memory, 1, torchSteps));
    if (THREADS > 1) torch.push(torchRow(row.hops, row.memory, THREADS, torchSteps));
  }
}
const sgemm1 = existsSync(PY) ? sgemm(1) : null;
const sgemmN = existsSync(PY) && THREADS > 1 ? sgemm(THREADS) : sgemm1;
const machine = machineLine();
const date = new Date().toISOString().slice(0, 10);
const results = {
  date,
  machine,
  threads: THREADS,
  simd_loop_gflops_1_thread: simd1,
  sgemm_gflops_1_thread: sgemm1,
  sgemm_gflops_threads: sgemmN,
  gemm,
  ours,
  torch,
};
writeFileSync(join(HERE, "lm-results.json"), `${JSON.stringify(results, null, 2)}\n`);

const f1 = (x: number) => x.toFixed(1);
const bestTorch = (hops: number, memory: number) =>
  torch
    .filter((t) => t.hops === hops && t.memory === memory)
    .sort((a, b) => b.words_per_sec - a.words_per_sec)[0];
const section = writeSection("lm", [
  "## Language model (Penn Treebank, the paper's section 5)",
  "",
  `Made by \`npm run bench:lm\` (bench/lm.ts) on ${date}: ${machine}. d = 150, V = 10,000, batch 128; an epoch is`,
  `${STEPS} steps. Ours: ${ourSteps} timed steps after 20 of warm-up. PyTorch: the independent reference`,
  `(../shared/reference/memn2n_lm.py, torch ${torch[0]?.torch ?? "not installed"}, Debian's, over ${sgemm1 ? "OpenBLAS" : "the reference BLAS"}) on the`,
  `first ${torchSteps * B} training words (${torchSteps} steps), its own words/s; each at 1 thread and at ${THREADS}, one run each.`,
  "GFLOP/s counts the FLOPs the reference counts (a multiply-add is 2; backward and the update included).",
  "",
  "The kernel has two builds: baseline WebAssembly SIMD, and relaxed SIMD, whose `relaxed_madd` the engine",
  "runs as one fused multiply-add on this CPU. The CLI, the server and current browsers run the relaxed build;",
  "the baseline is for runtimes without relaxed SIMD.",
  "",
  "The matrix multiply alone (one thread; the output layer's three products):",
  "",
  "| product | GFLOP/s, baseline | GFLOP/s, relaxed (fused) | fused: share of the SIMD loop | fused: share of native sgemm |",
  "|---|---:|---:|---:|---:|",
  ...gemm.map(
    (g) =>
      `| ${g.name} | ${f1(g.gflops)} | ${f1(g.fused_gflops)} | ${((100 * g.fused_gflops) / simd1).toFixed(0)}% | ${sgemm1 ? `${((100 * g.fused_gflops) / sgemm1).toFixed(0)}%` : "–"} |`,
  ),
  "",
  "Whole training steps:",
  "",
  "| hops × memory | build | threads | ms / step | words/s | minutes / epoch | GFLOP/s | PyTorch words/s (best setting) | ratio |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ...ours.map((o) => {
    const t = bestTorch(o.hops, o.memory);
    return (
      `| ${o.hops} × ${o.memory} | ${o.fused ? "relaxed" : "baseline"} | ${o.threads} | ${f1(o.ms_per_step)} | ${o.words_per_sec.toFixed(0)} | ${o.epoch_minutes.toFixed(2)} | ` +
      `${f1(o.gflops)} | ${t ? `${t.words_per_sec.toFixed(0)} (${t.threads} thread${t.threads > 1 ? "s" : ""})` : "–"} | ${t ? `${(o.words_per_sec / t.words_per_sec).toFixed(1)}×` : "–"} |`
    );
  }),
  "",
  `Ceilings, float32: the WebAssembly SIMD multiply-add loop ${f1(simd1)} GFLOP/s a thread (${f1(simd1 * THREADS)} on ${THREADS});`,
  `native sgemm (OpenBLAS, 2048²) ${sgemm1 ? f1(sgemm1) : "–"} on 1 thread, ${sgemmN ? f1(sgemmN) : "–"} on ${THREADS}.`,
  "The SIMD loop is a chain of dependent multiply-adds (baseline SIMD: a multiply, then an add), so a blocked",
  "product with independent sums can pass it; native sgemm (512-bit fused multiply-adds, against WebAssembly's",
  "128 bits) is the machine's real limit.",
]);
console.log(section);
