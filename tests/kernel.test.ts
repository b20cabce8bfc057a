// The WebAssembly SIMD kernel against the float64 reference kernel, and against the PyTorch fixtures.
// Tolerance: float32 arithmetic, so relative 1e-4 (with the tensor's scale as the floor).
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHead } from "../src/model/candidate-head.js";
import { JsKernel } from "../src/model/kernel.js";
import { createParams, initParams, namedTensors } from "../src/model/params.js";
import { WasmKernel, wasmAvailable } from "../src/model/wasm-kernel.js";
import { Rng } from "../src/util/random.js";
import { randomBatch, randomCandidates } from "./model-helpers.js";
import { assertClose, caseBatch, caseParams, referenceCases } from "./reference-cases.js";

const RTOL = 1e-4;

const close = (ours: ArrayLike<number>, ref: ArrayLike<number>, what: string) =>
  assertClose(ours, ref, RTOL, what);

test("WebAssembly SIMD is available here", () => {
  assert.ok(wasmAvailable());
});

for (const tying of ["adjacent", "layerwise"] as const) {
  // With relative time the time rows are 5 for memories of 6 slots: R's rows (2T = 10 floats) are padded,
  // and the oldest slots share a time row.
  for (const [encoding, temporal, linear, hops, dim, slots, relu, hopMap, relTime = false] of [
    ["pe-official", true, false, 3, 20, undefined, false, false],
    ["bow", false, true, 1, 5, undefined, false, false],
    ["pe", false, false, 2, 6, undefined, false, false],
    ["pe-official", true, true, 3, 50, undefined, false, false],
    ["pe-official", true, false, 3, 20, 9, false, false],
    ["pe-official", true, false, 3, 10, 9, true, false],
    ["pe-official", true, true, 2, 7, undefined, true, false],
    ["pe-official", true, false, 3, 10, 9, true, true],
    ["pe-official", true, false, 3, 20, 9, true, true, true],
    ["pe-official", true, true, 2, 7, undefined, false, false, true],
    ["bow", false, false, 3, 10, undefined, false, false, true],
  ] as const) {
    if (hopMap && tying === "layerwise") continue;
    const name =
      `${tying}${hopMap ? " + H" : ""} ${encoding}${temporal ? " TE" : ""}${linear ? " LS" : ""} ${hops} hops d=${dim}` +
      (slots ? ` attend over ${slots} slots` : "") +
      (relu ? " ReLU" : "") +
      (relTime ? " relative time" : "");
    test(`wasm kernel matches the reference kernel: ${name}`, () => {
      const timeSize = relTime ? 5 : 6;
      const shape = { vocabSize: 13, dim, timeSize, hops, tying, temporal, slots, relu, hopMap, relTime };
      const a = createParams(shape, "f32");
      initParams(a, new Rng(7), 0.3);
      const b = createParams(shape, "f32");
      initParams(b, new Rng(7), 0.3);
      const batch = randomBatch(new Rng(9), 13, 6, 5, 12);
      const js = new JsKernel(a, encoding);
      const wa = new WasmKernel(b, encoding);
      const rows = Int32Array.from({ length: 12 }, (_, i) => (i * 5) % 12);
      const noisy = Int32Array.from({ length: 12 * 6 }, (_, i) => (i * 7) % 6);
      for (const clip of ["global", "per-matrix"] as const) {
        const rj = js.run(batch, rows, 12, linear, true, noisy);
        const rw = wa.run(batch, rows, 12, linear, true, noisy);
        close([rw.loss], [rj.loss], "loss");
        assert.equal(rw.errors, rj.errors);
        js.step(0.05, 2, clip);
        wa.step(0.05, 2, clip);
      }
      wa.sync();
      const ta = namedTensors(a);
      for (const [i, t] of namedTensors(b).entries()) close(t.data, ta[i].data, t.name);
    });
  }
}

// Evaluating a whole validation set is one run of thousands of rows: it used to get a gradient buffer for
// every slice of 8 rows whether or not it computed gradients (2 GiB for the joint 10k model at d = 150, an
// address past 2 GiB, and "memory access out of bounds").
test("an evaluation pass of many rows takes no gradient buffers, and gives the reference kernel's loss", () => {
  const shape = {
    vocabSize: 2000,
    dim: 100,
    timeSize: 6,
    hops: 3,
    tying: "adjacent" as const,
    temporal: true,
  };
  const a = createParams(shape, "f32");
  initParams(a, new Rng(5), 0.1);
  const b = createParams(shape, "f32");
  initParams(b, new Rng(5), 0.1);
  const n = 4000;
  const batch = randomBatch(new Rng(6), 2000, 6, 5, n);
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const wa = new WasmKernel(b, "pe-official");
  const rw = wa.run(batch, rows, n, false, false, null);
  const rj = new JsKernel(a, "pe-official").run(batch, rows, n, false, false, null);
  close([rw.loss], [rj.loss], "loss");
  assert.equal(rw.errors, rj.errors);
  // A slice's gradients are 4 embeddings of 2000 x 100 floats, 3.2 MB: buffers for 500 slices, 1.6 GB.
  assert.ok(wa.memoryBytes < 64 * 2 ** 20, `${(wa.memoryBytes / 2 ** 20).toFixed(0)} MiB`);
  // A training batch still gets its slices' buffers (4 slices of 32 rows), and the same gradients.
  const js = new JsKernel(a, "pe-official");
  close(
    [wa.run(batch, rows, 32, false, true, null).loss],
    [js.run(batch, rows, 32, false, true, null).loss],
    "loss",
  );
  wa.step(0.05, 40, "global");
  js.step(0.05, 40, "global");
  wa.sync();
  const ta = namedTensors(a);
  for (const [i, t] of namedTensors(b).entries()) close(t.data, ta[i].data, t.name);
});

// The dialog model's answer layer (a softmax over candidate responses), with and without match types.
for (const tying of ["adjacent", "layerwise"] as const) {
  for (const match of [false, true]) {
    for (const hops of [1, 3]) {
      const name = `candidate head, bow ${tying}${match ? " + match type" : ""} ${hops} hop(s)`;
      test(`wasm kernel matches the reference kernel: ${name}`, () => {
        const V = 15;
        const shape = { vocabSize: V, dim: 9, timeSize: 6, hops, tying, temporal: false };
        const a = createParams(shape, "f32");
        initParams(a, new Rng(3), 0.3);
        const b = createParams(shape, "f32");
        initParams(b, new Rng(3), 0.3);
        const rng = new Rng(11 + hops);
        const batch = randomBatch(rng, V, 6, 5, 20);
        const table = randomCandidates(rng, batch, V, match, 7);
        const head = createHead(table, V);
        const js = new JsKernel(a, "bow", head);
        const wa = new WasmKernel(b, "bow", undefined, createHead(table, V));
        const rows = Int32Array.from({ length: 20 }, (_, i) => (i * 7) % 20);
        for (let step = 0; step < 3; step++) {
          const rj = js.run(batch, rows, 20, false, true, null);
          const rw = wa.run(batch, rows, 20, false, true, null);
          close([rw.loss], [rj.loss], "loss");
          assert.equal(rw.errors, rj.errors);
          js.step(0.05, 2, "per-matrix");
          wa.step(0.05, 2, "per-matrix");
        }
        wa.sync();
        const ta = namedTensors(a);
        for (const [i, t] of namedTensors(b).entries()) close(t.data, ta[i].data, t.name);
      });
    }
  }
}

for (const c of referenceCases()) {
  test(`wasm kernel matches the PyTorch reference: ${c.name}`, () => {
    const cfg = c.config;
    const p = caseParams(c);
    const before = namedTensors(p).map((t) => Float64Array.from(t.data));
    const batch = caseBatch(c);
    const k = new WasmKernel(p, cfg.encoding, {
      weight: cfg.supervise ?? 0,
      last: cfg.superviseRest === "last",
      spread: cfg.superviseExtra === "spread",
    });
    const rows = Int32Array.from({ length: cfg.n }, (_, i) => i);
    const r = k.run(batch, rows, cfg.n, cfg.linear, true, null);
    close([r.loss], [c.loss], "loss");
    // A step of lr 1 without clipping moves each weight by minus its gradient.
    k.step(1, 1e30, "global");
    k.sync();
    for (const [i, t] of namedTensors(p).entries()) {
      const g = Array.from(t.data, (w, j) => before[i][j] - w);
      close(g, c.grads[t.name], `grad ${t.name}`);
    }
  });
}

for (const [last, spread] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  for (const slots of [undefined, 9]) {
    test(`wasm kernel matches the reference kernel: supervised attention (rest ${last ? "last" : "free"}${spread ? ", extra facts spread" : ""})${slots ? ` over ${slots} slots` : ""}`, () => {
      const shape = {
        vocabSize: 13,
        dim: 10,
        timeSize: 6,
        hops: 3,
        tying: "adjacent" as const,
        temporal: true,
        slots,
      };
      const a = createParams(shape, "f32");
      initParams(a, new Rng(7), 0.3);
      const b = createParams(shape, "f32");
      initParams(b, new Rng(7), 0.3);
      const batch = randomBatch(new Rng(9), 13, 6, 5, 12);
      const rng = new Rng(3);
      // Up to five facts for three hops, so that spread has some to share.
      batch.maxSupporting = 5;
      batch.supporting = new Int32Array(60).fill(-1);
      for (let e = 0; e < 12; e++)
        for (let k = 0; k < e % 6; k++) batch.supporting[e * 5 + k] = rng.int(batch.memLen[e]);
      const supervision = { weight: 0.5, last, spread };
      const js = new JsKernel(a, "pe-official", null, supervision);
      const wa = new WasmKernel(b, "pe-official", supervision);
      const rows = Int32Array.from({ length: 12 }, (_, i) => i);
      for (let step = 0; step < 2; step++) {
        const rj = js.run(batch, rows, 12, false, true, null);
        const rw = wa.run(batch, rows, 12, false, true, null);
        close([rw.loss], [rj.loss], "loss");
        js.step(0.05, 2, "per-matrix");
        wa.step(0.05, 2, "per-matrix");
      }
      wa.sync();
      const ta = namedTensors(a);
      for (const [i, t] of namedTensors(b).entries()) close(t.data, ta[i].data, t.name);
    });
  }
}
