// The TypeScript model against the independent PyTorch reference (tools/reference/memn2n_ref.py) on identical
// weights and batches. Tolerance: |ours - ref| <= 1e-5 * max(|ref|, max|ref tensor|) per element
// (relative 1e-5, with the tensor's scale as the floor), for float32 and float64 weights alike.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { batchFromDense } from "../src/data/batch.js";
import { createWorkspace, forwardExample, runRows } from "../src/model/memn2n.js";
import { createParams, type DType, namedTensors, zerosLike } from "../src/model/params.js";
import { ROOT } from "./helpers.js";

const RTOL = 1e-5;
const FIXTURES = join(ROOT, "tests", "fixtures");

interface Case {
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
  };
  tensors: Record<string, { shape: number[]; data: number[] }>;
  batch: { memory: number[]; memLen: number[]; time: number[]; query: number[]; answer: number[] };
  probs: number[];
  attention: number[];
  losses: number[];
  loss: number;
  grads: Record<string, number[]>;
}

function close(ours: ArrayLike<number>, ref: number[], what: string): void {
  assert.equal(ours.length, ref.length, `${what}: length`);
  const scale = Math.max(...ref.map(Math.abs), 1e-12);
  for (let i = 0; i < ref.length; i++) {
    const tol = RTOL * Math.max(Math.abs(ref[i]), scale);
    assert.ok(Math.abs(ours[i] - ref[i]) <= tol, `${what}[${i}]: ours ${ours[i]} vs reference ${ref[i]}`);
  }
}

const cases = readdirSync(FIXTURES)
  .filter((f) => f.startsWith("reference-") && f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as Case);

test("there are reference fixtures to check against", () => {
  assert.ok(cases.length >= 5);
});

for (const c of cases) {
  for (const dtype of ["f64", "f32"] as DType[]) {
    test(`matches the PyTorch reference: ${c.name} (${dtype})`, () => {
      const cfg = c.config;
      const p = createParams(
        {
          vocabSize: cfg.V,
          dim: cfg.d,
          timeSize: cfg.timeSize,
          hops: cfg.hops,
          tying: cfg.tying,
          temporal: cfg.temporal,
        },
        dtype,
      );
      const named = namedTensors(p);
      assert.deepEqual(named.map((t) => t.name).sort(), Object.keys(c.tensors).sort());
      for (const t of named) t.data.set(c.tensors[t.name].data);

      const batch = batchFromDense(
        c.batch.memory,
        { n: cfg.n, memorySize: cfg.M, sentenceLen: cfg.J, memLen: c.batch.memLen, time: c.batch.time },
        c.batch.query,
        c.batch.answer,
      );
      const ws = createWorkspace(p, cfg.encoding, cfg.M, cfg.J);
      const probs: number[] = [];
      const attention: number[] = [];
      const losses: number[] = [];
      for (let b = 0; b < cfg.n; b++) {
        losses.push(forwardExample(p, ws, batch, b, batch.time, b * cfg.M, cfg.linear));
        probs.push(...ws.probs);
        for (let h = 0; h < cfg.hops; h++) {
          for (let i = 0; i < cfg.M; i++) attention.push(i < batch.memLen[b] ? ws.p[h * ws.M + i] : 0);
        }
      }
      close(losses, c.losses, "loss");
      close(probs, c.probs, "probs");
      close(attention, c.attention, "attention");

      const g = zerosLike(p);
      const rows = Array.from({ length: cfg.n }, (_, i) => i);
      const r = runRows(p, ws, batch, rows, cfg.n, cfg.linear, g);
      close([r.loss], [c.loss], "total loss");
      for (const t of namedTensors(g)) close(t.data, c.grads[t.name], `grad ${t.name}`);
    });
  }
}
