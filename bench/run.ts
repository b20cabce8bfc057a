// `npm run bench`: our training and answering speed on the paper's configurations, beside the PyTorch
// reference (tools/reference/) measured in the same run on the same data when /usr/bin/python3 has torch.
// Writes bench/results.json and bench/RESULTS.md. Speed is measured here only, never in tests.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { measurePeakGflops } from "../src/model/wasm-kernel.js";
import type { MeasureSpec } from "./measure.js";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "..");
const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());
const PY = "/usr/bin/python3";
const ALL = Array.from({ length: 20 }, (_, i) => i + 1);

interface Ours {
  name: string;
  examples: number;
  vocab: number;
  dim: number;
  memory_slots: number;
  sentence_len: number;
  train_examples_per_sec_1_thread: number;
  train_examples_per_sec_parallel: number;
  ms_per_epoch: number;
  answers_per_sec: number;
  p50_ms: number;
  flops_per_example: number;
  peak_rss_mb: number;
}

interface Torch {
  threads: number;
  ms_per_epoch: number;
  train_examples_per_sec: number;
  p50_ms: number;
  answers_per_sec: number;
  torch: string;
}

function measure(spec: MeasureSpec): Ours {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(HERE, "measure.ts"), JSON.stringify(spec)], {
    encoding: "utf8",
    cwd: ROOT,
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`measure ${spec.name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const hasTorch = existsSync(PY) && spawnSync(PY, ["-c", "import torch"]).status === 0;
function torch(args: string[]): Torch | { gflops: number } {
  const out = execFileSync(PY, [join(ROOT, "tools/reference/train_ref.py"), ...args], {
    encoding: "utf8",
    cwd: join(ROOT, "tools/reference"),
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

const configs: { spec: Omit<MeasureSpec, "workers">; torchEpochs: number }[] = [
  {
    spec: {
      name: "task 1, single (d=20, 3 hops, PE TE RN)",
      tasks: [1],
      joint: false,
      epochs: 40,
      parallelEpochs: 300,
    },
    torchEpochs: 3,
  },
  {
    spec: {
      name: "task 3, single (d=20, 3 hops, PE TE RN)",
      tasks: [3],
      joint: false,
      epochs: 10,
      parallelEpochs: 60,
    },
    torchEpochs: 2,
  },
  {
    spec: {
      name: "joint 1-20, 1k (d=50, 3 hops, PE TE RN)",
      tasks: ALL,
      joint: true,
      epochs: 2,
      parallelEpochs: 4,
    },
    torchEpochs: 1,
  },
];

/** The HTTP service's section (bench/serve.ts writes it) survives a rewrite of the training figures. */
function keepServeSection(md: string): string {
  const path = join(HERE, "RESULTS.md");
  const old = existsSync(path) ? readFileSync(path, "utf8") : "";
  const serve = /<!-- serve:begin -->[\s\S]*<!-- serve:end -->/.exec(old)?.[0];
  return serve ? `${md.trimEnd()}\n\n${serve}\n` : md;
}

if (process.argv.includes("--report-only")) {
  // Rewrites RESULTS.md from the figures already in results.json (no measuring).
  const saved = JSON.parse(readFileSync(join(HERE, "results.json"), "utf8"));
  writeFileSync(join(HERE, "RESULTS.md"), keepServeSection(report(saved)));
  process.exit(0);
}

const tmp = mkdtempSync(join(tmpdir(), "memn2n-bench-"));
const rows: { config: string; ours: Ours; torch1: Torch | null; torchW: Torch | null }[] = [];
try {
  for (const c of configs) {
    const exportTo = join(tmp, "data.json");
    process.stderr.write(`measuring ${c.spec.name} ...\n`);
    const ours = measure({ ...c.spec, workers: WORKERS, exportTo });
    let torch1: Torch | null = null;
    let torchW: Torch | null = null;
    if (hasTorch) {
      process.stderr.write(`  PyTorch reference ...\n`);
      torch1 = torch([exportTo, "1", String(c.torchEpochs)]) as Torch;
      torchW = WORKERS === 1 ? torch1 : (torch([exportTo, String(WORKERS), String(c.torchEpochs)]) as Torch);
    }
    rows.push({ config: c.spec.name, ours, torch1, torchW });
  }
  process.stderr.write("measuring peak memory of joint training on all the 10k data ...\n");
  const rss10k = measure({
    name: "joint 1-20, 10k",
    tasks: ALL,
    joint: true,
    set: "en-10k",
    workers: 1,
    epochs: 1,
    rssOnly: true,
  });
  // The machine's float32 ceiling: a register-bound SIMD multiply-add loop on one thread, times the workers
  // (PyTorch's matmul, measured too, reaches far less here).
  const simdPeak = measurePeakGflops(2) * WORKERS;
  const torchPeak = hasTorch ? (torch(["--peak", String(WORKERS)]) as { gflops: number }).gflops : null;
  const peak = Math.max(simdPeak, torchPeak ?? 0);

  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const results = {
    date: new Date().toISOString(),
    machine,
    workers: WORKERS,
    command: "npm run bench",
    torch: rows[0]?.torch1?.torch ?? null,
    float32_peak_gflops: peak,
    simd_peak_gflops: simdPeak,
    torch_matmul_gflops: torchPeak,
    configs: rows.map((r) => ({
      ...r,
      ratio_train_same_threads: r.torchW
        ? r.ours.train_examples_per_sec_parallel / r.torchW.train_examples_per_sec
        : null,
      ratio_train_1_thread: r.torch1
        ? r.ours.train_examples_per_sec_1_thread / r.torch1.train_examples_per_sec
        : null,
      ratio_p50: r.torch1 ? r.torch1.p50_ms / r.ours.p50_ms : null,
      gflops: (r.ours.train_examples_per_sec_parallel * r.ours.flops_per_example) / 1e9,
      fraction_of_peak: peak
        ? (r.ours.train_examples_per_sec_parallel * r.ours.flops_per_example) / 1e9 / peak
        : null,
    })),
    joint_10k_peak_rss_mb: rss10k.peak_rss_mb,
    joint_10k_examples: rss10k.examples,
  };
  writeFileSync(join(HERE, "results.json"), `${JSON.stringify(results, null, 1)}\n`);
  const md = keepServeSection(report(results));
  writeFileSync(join(HERE, "RESULTS.md"), md);
  process.stdout.write(md);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

function report(r: {
  date: string;
  machine: string;
  workers: number;
  torch: string | null;
  float32_peak_gflops: number | null;
  simd_peak_gflops: number;
  torch_matmul_gflops: number | null;
  configs: {
    config: string;
    ours: Ours;
    torch1: Torch | null;
    torchW: Torch | null;
    ratio_train_same_threads: number | null;
    ratio_train_1_thread: number | null;
    ratio_p50: number | null;
    gflops: number;
    fraction_of_peak: number | null;
  }[];
  joint_10k_peak_rss_mb: number;
  joint_10k_examples: number;
}): string {
  const f = (x: number | null | undefined, digits = 0) =>
    x === null || x === undefined ? "–" : x.toFixed(digits);
  const L: string[] = [];
  L.push("# Speed");
  L.push("");
  L.push(`Made by \`npm run bench\` on ${r.date.slice(0, 10)}: ${r.machine}; ${r.workers} worker thread(s);`);
  L.push(
    `PyTorch reference ${r.torch ?? "not available"} (tools/reference/train_ref.py, idiomatic batched PyTorch, float32).`,
  );
  L.push(
    "Training is measured in the softmax phase, batch 32, loss summed, per-matrix clipping; answering is one",
  );
  L.push(
    "question at a time (ours through `Model.answer`, from text; PyTorch on the already vectorized question).",
  );
  L.push("");
  L.push(
    "| configuration | examples | ours ex/s (1 thread) | PyTorch ex/s (1 thread) | ratio | ours ex/s (" +
      r.workers +
      " workers) | PyTorch ex/s (" +
      r.workers +
      " threads) | ratio | ours ms/epoch | PyTorch ms/epoch |",
  );
  L.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of r.configs) {
    L.push(
      `| ${c.config} | ${c.ours.examples} | ${f(c.ours.train_examples_per_sec_1_thread)} | ${f(c.torch1?.train_examples_per_sec)} | ` +
        `${f(c.ratio_train_1_thread, 1)}× | ${f(c.ours.train_examples_per_sec_parallel)} | ${f(c.torchW?.train_examples_per_sec)} | ` +
        `**${f(c.ratio_train_same_threads, 1)}×** | ${f(c.ours.ms_per_epoch, 1)} | ${f(c.torchW?.ms_per_epoch, 1)} |`,
    );
  }
  L.push("");
  L.push(
    "| configuration | ours answers/s | ours p50 ms | PyTorch p50 ms | ratio | FLOPs / training example | GFLOP/s | share of float32 peak | peak RSS MB |",
  );
  L.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of r.configs) {
    L.push(
      `| ${c.config} | ${f(c.ours.answers_per_sec)} | ${f(c.ours.p50_ms, 3)} | ${f(c.torch1?.p50_ms, 3)} | ${f(c.ratio_p50, 1)}× | ` +
        `${f(c.ours.flops_per_example)} | ${f(c.gflops, 2)} | ${c.fraction_of_peak === null ? "–" : `${(100 * c.fraction_of_peak).toFixed(1)}%`} | ${f(c.ours.peak_rss_mb)} |`,
    );
  }
  L.push("");
  L.push(
    `Float32 peak of this machine: ${f(r.float32_peak_gflops, 1)} GFLOP/s, from a register-bound WebAssembly SIMD ` +
      `multiply-add loop (${f(r.simd_peak_gflops / r.workers, 1)} per thread × ${r.workers}); PyTorch's 1024×1024 ` +
      `float32 matmul reaches ${f(r.torch_matmul_gflops, 1)} GFLOP/s with ${r.workers} threads here.`,
  );
  L.push(
    `Joint training on all the 10k data (${r.joint_10k_examples} training questions, one epoch): peak RSS ${f(r.joint_10k_peak_rss_mb)} MB.`,
  );
  L.push("");
  const sweep = join(ROOT, "results", "pe-ls-rn-1k.json");
  if (existsSync(sweep)) {
    const sw = JSON.parse(readFileSync(sweep, "utf8"));
    L.push(
      `The whole 1k Table 1 protocol (${sw.tasks.length} tasks × ${sw.config.repeats} repeats, PE LS RN, every run to ` +
        `the end of its schedule) took ${(sw.wall_seconds / 60).toFixed(1)} min of wall time with ${sw.workers} workers ` +
        `(\`${sw.command}\`, results/pe-ls-rn-1k.md).`,
    );
    L.push("");
  }
  L.push(
    "FLOPs per example are counted from the data (every memory embedded with each of the K+1 tied matrices,",
  );
  L.push("the hops, the answer layer) with the backward pass taken as twice the forward.");
  L.push("");
  return L.join("\n");
}
