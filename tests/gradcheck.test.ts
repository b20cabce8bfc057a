// Finite-difference checks of every parameter tensor's gradient, for each encoding (BoW, the paper's PE, the
// official code's PE), tying, with and without
// temporal encoding and linear start, with 1 and 3 hops; and the dialog model's answer layer over candidate
// responses, with and without match-type words. Float64 weights, central differences.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHead } from "../src/model/candidate-head.js";
import type { Encoding } from "../src/model/config.js";
import { createWorkspace, runRows } from "../src/model/memn2n.js";
import { namedTensors, zerosLike } from "../src/model/params.js";
import { Rng } from "../src/util/random.js";
import { randomBatch, randomCandidates, tinyModel } from "./model-helpers.js";

const EPS = 1e-6;
const TOL = 1e-6;

for (const encoding of ["bow", "pe", "pe-official"] as const) {
  for (const tying of ["adjacent", "layerwise"] as const) {
    for (const temporal of [false, true]) {
      for (const linear of [false, true]) {
        for (const hops of [1, 3]) {
          const name = `${encoding} ${tying}${temporal ? " TE" : ""}${linear ? " LS" : ""} ${hops} hop(s)`;
          test(`gradient check: ${name}`, () => checkGradients(encoding, tying, temporal, linear, hops));
        }
      }
    }
  }
}

for (const encoding of ["bow", "pe-official"] as const) {
  for (const hops of [1, 3]) {
    const name = `${encoding} adjacent TE ${hops} hop(s), softmax over empty slots too`;
    test(`gradient check: ${name}`, () =>
      checkGradients(encoding, "adjacent", true, false, hops, { slots: 7 }));
  }
}

for (const [tying, hopMap] of [
  ["adjacent", false],
  ["adjacent", true],
  ["layerwise", false],
] as const) {
  for (const hops of [1, 3]) {
    const name = `pe-official ${tying}${hopMap ? " + H" : ""} TE ${hops} hop(s), ReLU after each hop`;
    test(`gradient check: ${name}`, () =>
      checkGradients("pe-official", tying, true, false, hops, { relu: true, hopMap }));
  }
}

// Spread needs more facts than hops: with one hop, the example with two facts has them.
for (const [spread, hopsList] of [
  [false, [1, 3]],
  [true, [1]],
] as const) {
  for (const last of [false, true]) {
    for (const slots of [undefined, 7]) {
      for (const hops of hopsList) {
        const name = `pe-official adjacent TE ${hops} hop(s), supervised attention (rest ${last ? "last" : "free"}${spread ? ", extra facts spread" : ""})${slots ? ", empty slots" : ""}`;
        test(`gradient check: ${name}`, () =>
          checkGradients("pe-official", "adjacent", true, false, hops, {
            slots,
            supervise: { weight: 0.7, last, spread },
          }));
      }
    }
  }
}

// Relative time: R's gradient, and what hop h's scores send back into hop h-1's attention.
for (const [linear, extra] of [
  [false, {}],
  [true, {}],
  [false, { slots: 7, relu: true, hopMap: true, supervise: { weight: 0.7, last: false, spread: false } }],
] as const) {
  // One hop of this tiny model leaves its ReLU with nothing clipped, which the check refuses.
  for (const hops of "relu" in extra ? [3] : [1, 3]) {
    const name = `pe-official adjacent TE ${hops} hop(s), relative time${linear ? " LS" : ""}${"relu" in extra ? ", ReLU + H, empty slots, supervised" : ""}`;
    test(`gradient check: ${name}`, () =>
      checkGradients("pe-official", "adjacent", true, linear, hops, { ...extra, relTime: true }));
  }
}

for (const tying of ["adjacent", "layerwise"] as const) {
  for (const match of [false, true]) {
    for (const hops of [1, 3]) {
      const name = `candidate head, bow ${tying}${match ? " + match type" : ""} ${hops} hop(s)`;
      test(`gradient check: ${name}`, () =>
        checkGradients("bow", tying, false, false, hops, { dialog: { match } }));
    }
  }
}

function checkGradients(
  encoding: Encoding,
  tying: "adjacent" | "layerwise",
  temporal: boolean,
  linear: boolean,
  hops: number,
  opts: {
    dialog?: { match: boolean };
    slots?: number;
    relu?: boolean;
    hopMap?: boolean;
    supervise?: { weight: number; last: boolean; spread: boolean };
    relTime?: boolean;
  } = {},
) {
  const { dialog, slots, relu = false, hopMap = false, supervise, relTime = false } = opts;
  const rng = new Rng(hops * 31 + encoding.length + (temporal ? 3 : 0) + (linear ? 1 : 0));
  const V = 9;
  const M = 4;
  const J = 4;
  const p = tinyModel({ V, d: 5, M, J, hops, tying, temporal, hopMap, relTime }, 11);
  p.slots = slots;
  p.relu = relu;
  // Random noise gives some slots a later time row than their position: check through a noisy time too.
  const batch = randomBatch(rng, V, M, J, 3);
  const noisy = new Int32Array(3 * M);
  for (let i = 0; i < noisy.length; i++) noisy[i] = rng.int(M);
  const rows = [0, 1, 2];
  const head = dialog ? createHead(randomCandidates(rng, batch, V, dialog.match, 6), V) : null;
  const ws = createWorkspace(p, encoding, M, J, head);
  if (supervise) {
    // Two supporting facts per example, or one, or none; a hop past them is free or on the last.
    batch.maxSupporting = 2;
    batch.supporting = new Int32Array(3 * 2).fill(-1);
    for (let b = 0; b < 3; b++) {
      const facts = b % 3;
      for (let k = 0; k < facts; k++) batch.supporting[b * 2 + k] = rng.int(batch.memLen[b]);
    }
    const free = runRows(p, ws, batch, [0, 1, 2], 3, linear, null, null).loss;
    ws.supervise = supervise.weight;
    ws.superviseLast = supervise.last;
    ws.superviseSpread = supervise.spread;
    assert.ok(
      runRows(p, ws, batch, [0, 1, 2], 3, linear, null, null).loss > free,
      "the supervision adds a loss",
    );
  }
  const loss = () => runRows(p, ws, batch, rows, 3, linear, null, noisy).loss;

  const g = zerosLike(p);
  runRows(p, ws, batch, rows, 3, linear, g, noisy);
  const grads = namedTensors(g);
  let checked = 0;
  let maxErr = 0;
  namedTensors(p).forEach((t, ti) => {
    const isWordMatrix = t.rows === V && t.name !== "H";
    for (let i = 0; i < t.data.length; i++) {
      if (isWordMatrix && i < 2 * t.cols) {
        assert.equal(grads[ti].data[i], 0, `${t.name}[${i}]: reserved rows get no gradient`);
        continue;
      }
      const numeric = numericAt(p, ti, i, loss);
      const analytic = grads[ti].data[i];
      const err = Math.abs(numeric - analytic) / Math.max(1, Math.abs(numeric) + Math.abs(analytic));
      maxErr = Math.max(maxErr, err);
      assert.ok(err < TOL, `${t.name}[${i}]: analytic ${analytic} vs numeric ${numeric}`);
      checked++;
    }
  });
  assert.ok(checked >= 70, `checked ${checked} entries`);
  if (relu) {
    // The ReLU must be live: some state units clipped to zero, some passed.
    runRows(p, ws, batch, rows, 3, linear, null, noisy);
    const state = ws.u.subarray(p.dim);
    assert.ok(state.some((x) => x === 0) && state.some((x) => x > 0), "the ReLU clips some units, not all");
  }
  // The check must be able to fail: a wrong gradient is caught.
  grads[0].data[2 * 5 + 1] += 1e-3;
  assert.ok(Math.abs(grads[0].data[11] - numericAt(p, 0, 11, loss)) > TOL);
}

/**
 * Six candidates of up to three words (unknown and padding included) and two match-type words; each example
 * answers with a candidate, and with `match` a few random (candidate, type) pairs light up per example.
 */
function numericAt(p: ReturnType<typeof tinyModel>, ti: number, i: number, loss: () => number): number {
  const t = namedTensors(p)[ti];
  const orig = t.data[i];
  t.data[i] = orig + EPS;
  const up = loss();
  t.data[i] = orig - EPS;
  const down = loss();
  t.data[i] = orig;
  return (up - down) / (2 * EPS);
}
