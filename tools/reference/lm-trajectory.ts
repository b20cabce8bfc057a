// Runs our language-model kernel from the PyTorch reference's initial weights over the reference's own batches
// (both written by lm_trajectory.py), scoring the validation text at the same steps, and prints the two curves
// side by side. Same weights, same targets in the same order, same lr and clip: what differs is only float
// rounding (and where it leads), so the curves tell whether the two implement the same recipe.
//
//   node --import tsx tools/reference/lm-trajectory.ts DIR [--threads N] [--markdown FILE] [--reference-log FILE]
//
// --reference-log: the JSON lines of `memn2n_lm.py --seed S` (one per epoch), for a DIR written with
// `lm_trajectory.py --no-train --seed S`: that run took the very steps DIR holds, so its epochs stand for the
// reference's curve without training it again.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withKernelThreads } from "../../src/cli/threads.js";
import { readLMCorpus } from "../../src/data/ptb.js";
import { createLMParams, LM_TENSORS } from "../../src/model/lm.js";
import { LMKernel } from "../../src/model/lm-kernel.js";
import { scoreText } from "../../src/train/lm.js";

interface Meta {
  hops: number;
  memory: number;
  dim: number;
  batch: number;
  lr: number;
  max_grad_norm: number;
  steps: number;
  every: number;
  eval_words: number;
  seed: number;
  vocab_size: number;
  train_words: number;
  /** Written by --no-train: the weights and batches only (absent in folders written before the flag). */
  no_train?: boolean;
  torch: string;
  threads: number;
}

interface Row {
  step: number;
  valid_ppl: number;
  train_ppl: number | null;
  seconds: number;
}

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) {
  console.error("usage: lm-trajectory.ts DIR [--threads N] [--markdown FILE] [--reference-log FILE]");
  process.exit(2);
}
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i > 0 ? args[i + 1] : undefined;
};
const threads = Number(flag("--threads") ?? 2);
const markdown = flag("--markdown");

const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as Meta;
const jsonLines = (path: string) =>
  readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const refRows: Row[] = existsSync(join(dir, "reference.jsonl"))
  ? (jsonLines(join(dir, "reference.jsonl")) as unknown as Row[])
  : [];
// the last step lm_trajectory.py itself trained the reference to (0: none); rows after it come from the log
const ownLast = Math.max(0, ...refRows.map((r) => r.step));
const stepsPerEpoch = Math.ceil(meta.train_words / meta.batch);
const refLog = flag("--reference-log");
if (refLog)
  for (const r of jsonLines(refLog))
    if (
      typeof r.epoch === "number" &&
      r.epoch * stepsPerEpoch <= meta.steps &&
      !r.partial &&
      !refRows.some((x) => x.step === (r.epoch as number) * stepsPerEpoch)
    )
      refRows.push({
        step: r.epoch * stepsPerEpoch,
        valid_ppl: r.valid_ppl as number,
        train_ppl: r.train_ppl as number,
        seconds: r.elapsed_s as number,
      });
refRows.sort((a, b) => a.step - b.step);
if (refRows.length === 0) {
  console.error(`${dir} holds no reference curve (reference.jsonl): give --reference-log`);
  process.exit(2);
}
const data = join(import.meta.dirname, "..", "..", "..", "shared", "data", "ptb");
const file = (s: string): [string, string] => {
  const p = join(data, `ptb.${s}.txt`);
  return [p, readFileSync(p, "utf8")];
};
const corpus = readLMCorpus({ train: file("train"), valid: file("valid"), test: file("test") });
// The weights are indexed by word id, so both sides must number the words alike.
const theirs = readFileSync(join(dir, "vocab.txt"), "utf8").trimEnd().split("\n");
const differ = theirs.findIndex((w, i) => corpus.vocab.words[i] !== w);
if (theirs.length !== corpus.vocab.size || differ >= 0) {
  console.error(
    `the vocabularies differ (sizes ${theirs.length} and ${corpus.vocab.size}; first at id ${differ})`,
  );
  process.exit(1);
}

const params = createLMParams({
  vocabSize: meta.vocab_size,
  dim: meta.dim,
  memory: meta.memory,
  hops: meta.hops,
  linDim: Math.floor(meta.dim / 2),
  initHid: 0.1,
});
for (const name of LM_TENSORS) {
  const bytes = readFileSync(join(dir, `${name}.f32`));
  const src = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (src.length !== params[name].length) throw new Error(`${name}.f32 holds ${src.length} floats`);
  params[name].set(src);
}
const posBytes = readFileSync(join(dir, "positions.i32"));
const positions = new Int32Array(posBytes.buffer, posBytes.byteOffset, posBytes.byteLength / 4);
const B = meta.batch;
const valid = meta.eval_words > 0 ? corpus.valid.slice(0, meta.eval_words) : corpus.valid;

const ours = await withKernelThreads(threads, () => {
  const kernel = new LMKernel(params, B);
  const rows: Row[] = [];
  const t0 = performance.now();
  let loss = 0;
  let last = 0;
  const score = (step: number) => {
    const row: Row = {
      step,
      valid_ppl: Math.exp(scoreText(kernel, valid)),
      train_ppl: step > last ? Math.exp(loss / ((step - last) * B)) : null,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    loss = 0;
    last = step;
  };
  try {
    const wanted = new Set(refRows.map((r) => r.step));
    score(0);
    for (let s = 0; s < meta.steps; s++) {
      loss += kernel.step(
        corpus.train,
        positions.subarray(s * B, (s + 1) * B),
        meta.lr,
        meta.max_grad_norm,
      ).loss;
      if (wanted.has(s + 1)) score(s + 1);
    }
  } finally {
    kernel.release();
  }
  return rows;
});

// where the reference's rows came from: this folder's own run of lm_trajectory.py, the log of memn2n_lm.py, or both
function curveSource(): string {
  const ownText = `lm_trajectory.py's run on ${meta.threads} thread${meta.threads > 1 ? "s" : ""}`;
  if (!refLog) return ` (${ownText})`;
  const logText = `the log of memn2n_lm.py's own run with seed ${meta.seed} (${refLog})`;
  return ownLast > 0
    ? ` (its curve: ${ownText} up to step ${ownLast}, then ${logText})`
    : ` (its curve: ${logText})`;
}
const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(2)}%`;
const lines = [
  "# The language model's training curve against the PyTorch reference's, from the same weights over the same batches",
  "",
  `Made by \`node --import tsx tools/reference/lm-trajectory.ts ${args.join(" ")}\`, over the weights and batches ` +
    `\`tools/reference/lm_trajectory.py --out ${dir} --steps ${meta.steps} --seed ${meta.seed}` +
    `${meta.no_train ? " --no-train" : ""}\` wrote ` +
    `(${new Date().toISOString().slice(0, 10)}).`,
  "",
  `From the reference's initial weights (seed ${meta.seed}), over its ${meta.steps.toLocaleString("en")} batches ` +
    `of ${B} targets, at lr ${meta.lr} with the clip at ${meta.max_grad_norm}: ${meta.hops} hops, memory ` +
    `${meta.memory}, d ${meta.dim}. Both in float32; the reference on torch ${meta.torch}` +
    `${curveSource()}, ` +
    `ours on ${threads} thread${threads > 1 ? "s" : ""}. Validation perplexity over ${valid.length.toLocaleString("en")} words; train ` +
    "perplexity of the batches since the row before.",
  "",
  "| step | epoch | valid ppl, ours | valid ppl, reference | difference | train ppl, ours | train ppl, reference | difference |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const r of refRows) {
  const o = ours.find((x) => x.step === r.step);
  if (!o) continue;
  const train =
    o.train_ppl !== null && r.train_ppl !== null
      ? `${o.train_ppl.toFixed(1)} | ${r.train_ppl.toFixed(1)} | ${pct(o.train_ppl, r.train_ppl)}`
      : "– | – | –";
  lines.push(
    `| ${r.step} | ${(r.step / stepsPerEpoch).toFixed(2)} | ${o.valid_ppl.toFixed(2)} | ${r.valid_ppl.toFixed(2)} | ` +
      `${pct(o.valid_ppl, r.valid_ppl)} | ${train} |`,
  );
}
console.log(lines.join("\n"));
if (markdown) writeFileSync(markdown, `${lines.join("\n")}\n`);
