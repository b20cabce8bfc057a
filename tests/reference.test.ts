// The TypeScript model against the independent PyTorch reference (tools/reference/memn2n_ref.py) on identical
// weights and batches. Tolerance: |ours - ref| <= 1e-5 * max(|ref|, max|ref tensor|) per element
// (relative 1e-5, with the tensor's scale as the floor), for float32 and float64 weights alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWorkspace, forwardExample, runRows } from "../src/model/memn2n.js";
import { type DType, namedTensors, zerosLike } from "../src/model/params.js";
import { assertClose, caseBatch, caseParams, referenceCases } from "./reference-cases.js";

const RTOL = 1e-5;
const cases = referenceCases();
const close = (ours: ArrayLike<number>, ref: number[], what: string) => assertClose(ours, ref, RTOL, what);

test("there are reference fixtures to check against", () => {
  assert.ok(cases.length >= 5);
});

for (const c of cases) {
  for (const dtype of ["f64", "f32"] as DType[]) {
    test(`matches the PyTorch reference: ${c.name} (${dtype})`, () => {
      const cfg = c.config;
      const p = caseParams(c, dtype);
      const batch = caseBatch(c);
      const ws = createWorkspace(p, cfg.encoding, cfg.M, cfg.J);
      ws.supervise = cfg.supervise ?? 0;
      ws.superviseLast = cfg.superviseRest === "last";
      ws.superviseSpread = cfg.superviseExtra === "spread";
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
