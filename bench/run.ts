// `npm run bench`: one training run of ours against one run of a PyTorch MemN2N, on the same data, with the
// same protocol (the softmax phase, batch 32, loss summed, per-matrix clipping), in the same sitting: ours on
// 1 thread and on every core (--threads), PyTorch (tools/reference/train_ref.py) at 1 and at every thread,
// the ratio taken against PyTorch's better setting. Ceilings: the WebAssembly SIMD multiply-add loop and this
// machine's native sgemm (OpenBLAS, tools/reference/sgemm_peak.py). Writes bench/results.json and
// bench/RESULTS.md. Speed is measured here only, never in tests.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { measurePeakGflops } from "../src/model/wasm-kernel.js";
import type { MeasureSpec } from "./measure.js";
import { machineLine, otherSections } from "./sections.js";

const HERE = import.meta.dirname;
const ROOT = join(HERE, "..");
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
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
  train_examples_per_sec_threads: number;
  threads: number;
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
function python(script: string, args: string[]): unknown {
  const out = execFileSync(PY, [join(ROOT, "tools/reference", script), ...args], {
    encoding: "utf8",
    cwd: join(ROOT, "tools/reference"),
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

const configs: { spec: Omit<MeasureSpec, "threads">; torchEpochs: number }[] = [
  {
    spec: {
      name: "task 1 (d=20, 3 hops, PE TE)",
      tasks: [1],
      joint: false,
      epochs: 100,
    },
    torchEpochs: 3,
  },
  {
    spec: {
      name: "task 2 (d=20, 3 hops, PE TE)",
      tasks: [2],
      joint: false,
      epochs: 50,
    },
    torchEpochs: 3,
  },
  {
    spec: {
      name: "task 3 (d=20, 3 hops, PE TE)",
      tasks: [3],
      joint: false,
      epochs: 25,
    },
    torchEpochs: 3,
  },
  {
    spec: {
      name: "joint 1-20, 1k (d=50, 3 hops, PE TE)",
      tasks: ALL,
      joint: true,
      epochs: 1,
    },
    torchEpochs: 1,
  },
];

/** The sections other benches write (the HTTP service, the web page, ...) survive a rewrite of this one's. */
function keepSections(md: string): string {
  return [md.trimEnd(), ...otherSections(["serve", "web", "lm", "slow", "start"])].join("\n\n") + "\n";
}

if (process.argv.includes("--report-only")) {
  // Rewrites RESULTS.md from the figures already in results.json (no measuring).
  const saved = JSON.parse(readFileSync(join(HERE, "results.json"), "utf8"));
  writeFileSync(join(HERE, "RESULTS.md"), keepSections(report(saved)));
  process.exit(0);
}

type Row = {
  config: string;
  ours: Ours;
  torch1: Torch | null;
  torchN: Torch | null;
};

const tmp = mkdtempSync(join(tmpdir(), "memn2n-bench-"));
const rows: Row[] = [];
try {
  for (const c of configs) {
    const exportTo = join(tmp, "data.json");
    process.stderr.write(`measuring ${c.spec.name} ...\n`);
    const ours = measure({ ...c.spec, threads: THREADS, exportTo });
    let torch1: Torch | null = null;
    let torchN: Torch | null = null;
    if (hasTorch) {
      process.stderr.write("  PyTorch ...\n");
      torch1 = python("train_ref.py", [exportTo, "1", String(c.torchEpochs)]) as Torch;
      torchN =
        THREADS === 1
          ? torch1
          : (python("train_ref.py", [exportTo, String(THREADS), String(c.torchEpochs)]) as Torch);
    }
    rows.push({ config: c.spec.name, ours, torch1, torchN });
  }
  process.stderr.write("measuring peak memory of joint training on all the 10k data ...\n");
  const rss10k = measure({
    name: "joint 1-20, 10k",
    tasks: ALL,
    joint: true,
    set: "en-10k",
    threads: 1,
    epochs: 1,
    rssOnly: true,
  });
  process.stderr.write("measuring the ceilings ...\n");
  const simd1 = measurePeakGflops(2);
  const sgemm = (n: number) => {
    try {
      return (python("sgemm_peak.py", [String(n)]) as { gflops: number }).gflops;
    } catch {
      return null;
    }
  };
  const sgemm1 = existsSync(PY) ? sgemm(1) : null;
  const sgemmN = existsSync(PY) ? (THREADS === 1 ? sgemm1 : sgemm(THREADS)) : null;
  const machine = machineLine();
  const results = {
    date: new Date().toISOString(),
    machine,
    threads: THREADS,
    command: "npm run bench",
    torch: rows[0]?.torch1?.torch ?? null,
    simd_gflops_1_thread: simd1,
    simd_gflops_threads: simd1 * THREADS,
    sgemm_gflops_1_thread: sgemm1,
    sgemm_gflops_threads: sgemmN,
    configs: rows.map((r) => {
      const torchBest = best(r.torch1, r.torchN);
      const gflopsN = (r.ours.train_examples_per_sec_threads * r.ours.flops_per_example) / 1e9;
      return {
        ...r,
        torch_best_threads: torchBest?.threads ?? null,
        ratio_1_thread: torchBest
          ? r.ours.train_examples_per_sec_1_thread / torchBest.train_examples_per_sec
          : null,
        ratio_threads: torchBest
          ? r.ours.train_examples_per_sec_threads / torchBest.train_examples_per_sec
          : null,
        second_thread: r.ours.train_examples_per_sec_threads / r.ours.train_examples_per_sec_1_thread,
        ratio_p50: r.torch1 ? r.torch1.p50_ms / r.ours.p50_ms : null,
        gflops_threads: gflopsN,
        share_of_simd: gflopsN / (simd1 * THREADS),
        share_of_sgemm: sgemmN ? gflopsN / sgemmN : null,
      };
    }),
    joint_10k_peak_rss_mb: rss10k.peak_rss_mb,
    joint_10k_examples: rss10k.examples,
  };
  writeFileSync(join(HERE, "results.json"), `${JSON.stringify(results, null, 1)}\n`);
  const md = keepSections(report(results));
  writeFileSync(join(HERE, "RESULTS.md"), md);
  process.stdout.write(md);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** PyTorch at its better thread count. */
function best(a: Torch | null, b: Torch | null): Torch | null {
  if (!a || !b) return a ?? b;
  return b.train_examples_per_sec > a.train_examples_per_sec ? b : a;
}

interface Results {
  date: string;
  machine: string;
  threads: number;
  torch: string | null;
  simd_gflops_1_thread: number;
  simd_gflops_threads: number;
  sgemm_gflops_1_thread: number | null;
  sgemm_gflops_threads: number | null;
  configs: (Row & {
    torch_best_threads: number | null;
    ratio_1_thread: number | null;
    ratio_threads: number | null;
    second_thread: number;
    ratio_p50: number | null;
    gflops_threads: number;
    share_of_simd: number;
    share_of_sgemm: number | null;
  })[];
  joint_10k_peak_rss_mb: number;
  joint_10k_examples: number;
}

function report(r: Results): string {
  const f = (x: number | null | undefined, digits = 0) =>
    x === null || x === undefined ? "–" : x.toFixed(digits);
  const pctOf = (x: number | null) => (x === null ? "–" : `${(100 * x).toFixed(1)}%`);
  const N = r.threads;
  const L: string[] = [];
  L.push("# Speed");
  L.push("");
  L.push(
    `Made by \`npm run bench\` on ${r.date.slice(0, 10)}: ${r.machine}; PyTorch ${r.torch ?? "not available"}.`,
  );
  L.push("");
  L.push("One training run against one PyTorch run, on the same data, in the same sitting, with the same");
  L.push("protocol: the softmax phase (no linear start), no random noise, batch 32, the loss summed, each");
  L.push("matrix's gradient clipped on its own, float32. Ours is one `memn2n train` run on 1 thread and on");
  L.push(
    `${N} threads (\`--threads ${N}\`, data-parallel over each batch; the weights are the same for every`,
  );
  L.push(
    "thread count). PyTorch is tools/reference/train_ref.py (batched, padded, the tied matrices applied to",
  );
  L.push(`the memory once per batch, no Python loop over examples) at 1 and at ${N} threads; **the ratio is`);
  L.push("taken against PyTorch's better setting**. Examples/s are over whole training passes, best of 3;");
  L.push("ours after a second of training, so that a run on threads has chosen between one and all.");
  L.push("");
  L.push(
    `| configuration | examples | PyTorch ex/s, 1 thread | PyTorch ex/s, ${N} threads | ours ex/s, 1 thread | ours ex/s, ${N} threads | ours ÷ best PyTorch, 1 thread | ours ÷ best PyTorch, ${N} threads | from the 2nd thread |`,
  );
  L.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of r.configs) {
    L.push(
      `| ${c.config} | ${c.ours.examples} | ${f(c.torch1?.train_examples_per_sec)} | ${f(c.torchN?.train_examples_per_sec)} | ` +
        `${f(c.ours.train_examples_per_sec_1_thread)} | ${f(c.ours.train_examples_per_sec_threads)} | ` +
        `${f(c.ratio_1_thread, 1)}× | **${f(c.ratio_threads, 1)}×** | ${f(c.second_thread, 2)}× |`,
    );
  }
  L.push("");
  L.push(
    `| configuration | FLOPs / training example | ours GFLOP/s, ${N} threads | share of the SIMD loop | share of native sgemm | ours answers/s | ours p50 ms | PyTorch p50 ms | peak RSS MB |`,
  );
  L.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const c of r.configs) {
    L.push(
      `| ${c.config} | ${f(c.ours.flops_per_example)} | ${f(c.gflops_threads, 2)} | ${pctOf(c.share_of_simd)} | ${pctOf(c.share_of_sgemm)} | ` +
        `${f(c.ours.answers_per_sec)} | ${f(c.ours.p50_ms, 3)} | ${f(c.torch1?.p50_ms, 3)} | ${f(c.ours.peak_rss_mb)} |`,
    );
  }
  L.push("");
  L.push("Ceilings of this machine, float32:");
  L.push(
    `- a register-bound WebAssembly SIMD multiply-add loop: ${f(r.simd_gflops_1_thread, 1)} GFLOP/s per thread, ${f(r.simd_gflops_threads, 1)} on ${N};`,
  );
  L.push(
    `- native sgemm (OpenBLAS \`cblas_sgemm\`, 2048×2048, tools/reference/sgemm_peak.py): ${f(r.sgemm_gflops_1_thread, 1)} GFLOP/s on 1 thread, ${f(r.sgemm_gflops_threads, 1)} on ${N}.`,
  );
  L.push(
    "Our kernels are gathers and scatters of embedding rows (d = 20 here), not matrix products: the native sgemm figure is the machine's physical limit, which they do not approach.",
  );
  L.push(
    `Joint training on all the 10k data (${r.joint_10k_examples} training questions, one epoch): peak RSS ${f(r.joint_10k_peak_rss_mb)} MB.`,
  );
  L.push("");
  L.push("FLOPs per example are counted from the data (every memory embedded with each of the K+1 tied");
  L.push("matrices, the hops, the answer layer) with the backward pass taken as twice the forward.");
  L.push("");
  return L.join("\n");
}
