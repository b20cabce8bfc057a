// The PyTorch reference fixtures (tools/reference/memn2n_ref.py): loading them, and the weights and batch of a
// case as our types, for the tests that compare against them.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Batch, batchFromDense } from "../src/data/batch.js";
import { createParams, type DType, namedTensors, type Params } from "../src/model/params.js";
import { ROOT } from "./helpers.js";

export interface ReferenceCase {
  name: string;
  config: {
    V: number;
    d: number;
    M: number;
    J: number;
    n: number;
    timeSize: number;
    hops: number;
    encoding: "bow" | "pe";
    tying: "adjacent" | "layerwise";
    temporal: boolean;
    linear: boolean;
    /** ReLU after each hop. */
    relu?: boolean;
    /** Memory slots of the attention softmax (empty ones score 0). */
    slots?: number;
    /** H between hops under adjacent tying. */
    hopMap?: boolean;
    /** Weight of the attention's supervision by the supporting facts. */
    supervise?: number;
    superviseRest?: "free" | "last";
    superviseExtra?: "drop" | "spread";
    /** Relative time scores between hops (tensors R and Rv). */
    relativeTime?: boolean;
  };
  tensors: Record<string, { shape: number[]; data: number[] }>;
  batch: {
    memory: number[];
    memLen: number[];
    time: number[];
    query: number[];
    answer: number[];
    /** [n, maxSupporting] memory slots of the supporting facts, -1 for none. */
    supporting?: number[];
  };
  probs: number[];
  attention: number[];
  losses: number[];
  loss: number;
  grads: Record<string, number[]>;
}

export function referenceCases(): ReferenceCase[] {
  const dir = join(ROOT, "tests", "fixtures");
  return readdirSync(dir)
    .filter((f) => f.startsWith("reference-") && f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as ReferenceCase);
}

/** The case's weights in a parameter set of the given float type. */
export function caseParams(c: ReferenceCase, dtype: DType = "f32"): Params {
  const cfg = c.config;
  const p = createParams(
    {
      vocabSize: cfg.V,
      dim: cfg.d,
      timeSize: cfg.timeSize,
      hops: cfg.hops,
      tying: cfg.tying,
      temporal: cfg.temporal,
      ...(cfg.slots ? { slots: cfg.slots } : {}),
      ...(cfg.relu ? { relu: true } : {}),
      ...(cfg.hopMap ? { hopMap: true } : {}),
      ...(cfg.relativeTime ? { relTime: true } : {}),
    },
    dtype,
  );
  assert.deepEqual(
    namedTensors(p)
      .map((t) => t.name)
      .sort(),
    Object.keys(c.tensors).sort(),
  );
  for (const t of namedTensors(p)) t.data.set(c.tensors[t.name].data);
  return p;
}

export function caseBatch(c: ReferenceCase): Batch {
  const cfg = c.config;
  const parts = {
    n: cfg.n,
    memorySize: cfg.M,
    sentenceLen: cfg.J,
    memLen: c.batch.memLen,
    time: c.batch.time,
  };
  const batch = batchFromDense(c.batch.memory, parts, c.batch.query, c.batch.answer);
  if (c.batch.supporting) {
    batch.supporting = Int32Array.from(c.batch.supporting);
    batch.maxSupporting = c.batch.supporting.length / cfg.n;
  }
  return batch;
}

/** |ours - ref| <= rtol * max(|ref|, max |ref|) element by element: relative, with the tensor's scale as floor. */
export function assertClose(
  ours: ArrayLike<number>,
  ref: ArrayLike<number>,
  rtol: number,
  what: string,
): void {
  assert.equal(ours.length, ref.length, `${what}: length`);
  let scale = 1e-12;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]));
  for (let i = 0; i < ref.length; i++) {
    const tol = rtol * Math.max(Math.abs(ref[i]), scale);
    assert.ok(Math.abs(ours[i] - ref[i]) <= tol, `${what}[${i}]: ours ${ours[i]} vs reference ${ref[i]}`);
  }
}
