import assert from "node:assert/strict";
import { test } from "node:test";
import { PAPER_COLUMNS, paperColumn } from "../src/eval/paper.js";

test("each 1k column's per-task figures give the paper's mean and failed count", () => {
  for (const c of PAPER_COLUMNS.filter((x) => x.set === "en")) {
    const e = c.errors as number[];
    assert.equal(e.length, 20, c.name);
    const mean = e.reduce((a, b) => a + b, 0) / 20;
    assert.ok(Math.abs(mean - c.mean) < 0.05, `${c.name}: mean ${mean} vs ${c.mean}`);
    assert.equal(e.filter((x) => x > 5).length, c.failed, c.name);
  }
});

test("a configuration finds its paper column", () => {
  const base = {
    set: "en",
    joint: false,
    encoding: "pe" as const,
    linearStart: true,
    randomNoise: true,
    tying: "adjacent" as const,
    nonlin: "none" as const,
  };
  assert.equal(paperColumn(base)?.name, "MemN2N PE LS RN");
  assert.equal(paperColumn({ ...base, joint: true })?.name, "MemN2N PE LS RN joint");
  assert.equal(
    paperColumn({ ...base, encoding: "bow", linearStart: false, randomNoise: false })?.name,
    "MemN2N BoW",
  );
  assert.equal(paperColumn({ ...base, set: "en-10k" })?.mean, 6.6);
  assert.equal(paperColumn({ ...base, linearStart: false, randomNoise: true }), undefined);
  // the paper's columns are adjacent tying without a nonlinearity: other models have none to stand beside
  assert.equal(paperColumn({ ...base, tying: "layerwise" }), undefined);
  assert.equal(paperColumn({ ...base, nonlin: "relu" }), undefined);
  // question-match words change what the model reads: not the paper's MemN2N
  assert.equal(paperColumn({ ...base, matchQuestion: true }), undefined);
  // trained with the supporting facts: beside Memory Networks with strong supervision (6.7% mean, 4 failed)
  const strong = paperColumn({ ...base, superviseAttention: 1 });
  assert.deepEqual(
    [strong?.name, strong?.mean, strong?.failed, strong?.errors[2]],
    ["MemNN (strong supervision)", 6.7, 4, 0],
  );
  assert.equal(paperColumn({ ...base, superviseAttention: 1, set: "en-10k" }), undefined);
  assert.equal(paperColumn({ ...base, superviseAttention: 1, matchQuestion: true })?.mean, 6.7);
});
