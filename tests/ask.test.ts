import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/api/model.js";
import { train } from "../src/api/train.js";
import { BABI_EN, runCli, withTmpDir } from "./helpers.js";

const TRAIN = readFileSync(join(BABI_EN, "qa1_single-supporting-fact_train.txt"), "utf8");
const trained = train({ train: TRAIN, config: { epochs: 30, linearStart: false } });

test("Model.answer: answer, ranked answers, attention per hop over the sentences, unknown words", () => {
  const story = [
    "1 Daniel went to the kitchen.",
    "2 Sandra went to the garden.",
    "3 Daniel moved to the hallway.",
  ];
  const a = trained.model.answer(story, "Where is Daniel?", { topK: 4 });
  assert.equal(a.answer, "hallway");
  assert.equal(a.top.length, 4);
  assert.ok(Math.abs(a.top.reduce((s, t) => s + t.probability, 0) - 1) < 0.2);
  assert.equal(a.attention.length, 3);
  for (const hop of a.attention) {
    assert.equal(hop.length, 3);
    // The softmax also spreads over the memory's empty slots, so the sentences hold at most all of it;
    // this model puts nearly all of it on them.
    const sum = hop.reduce((s, x) => s + x, 0);
    assert.ok(sum <= 1 + 1e-9 && sum > 0.9, `attention sums to ${sum}`);
  }
  const b = trained.model.answer(["Daniel went to the moon."], "Where is Daniel?");
  assert.deepEqual(b.unknownWords, ["moon"]);
  assert.ok(Number.isFinite(b.probability));
});

test("Model.answer says it does not know when no word of the question, or of the story, is known", () => {
  const story = ["Daniel went to the kitchen.", "Sandra went to the garden."];
  assert.equal(trained.model.answer(story, "Where is Daniel?").dontKnow, null);
  // One known word is enough: the rule is "no known word", nothing calibrated.
  assert.equal(trained.model.answer(story, "Où est Daniel?").dontKnow, null);
  assert.equal(trained.model.answer(story, "Qu'est-ce que c'est?").dontKnow, "question");
  assert.equal(trained.model.answer(["Zorg zapped Quux."], "Where is Daniel?").dontKnow, "story");
});

test("Model.answer bounds its input before allocating: words, characters and sentences, the field named", () => {
  const long = Array.from({ length: 5000 }, () => "a").join(" ");
  const t0 = performance.now();
  assert.throws(
    () => trained.model.answer(["Daniel went home.", long], "Where is Daniel?"),
    /^FieldError: story\.1: a sentence of 5000 words, more than the limit of 200$/,
  );
  assert.throws(
    () => trained.model.answer(["Daniel went home."], `Where is ${long.slice(0, 999)}?`),
    /^FieldError: question: a question of 502 words, more than the limit of 200$/,
  );
  assert.throws(
    () => trained.model.answer(["x".repeat(20_001)], "Where is Daniel?"),
    /^FieldError: story\.0: 20001 characters, more than the limit of 10000$/,
  );
  assert.ok(performance.now() - t0 < 500, "refused at once");
  // The caller's limits replace the defaults.
  assert.throws(
    () =>
      trained.model.answer(["Daniel went to the kitchen."], "Where is Daniel?", {
        limits: { maxSentenceWords: 4 },
      }),
    /story\.0: a sentence of 5 words, more than the limit of 4/,
  );
  assert.throws(
    () => trained.model.answer(["a.", "b.", "c."], "Where is Daniel?", { limits: { maxStoryLines: 2 } }),
    /^FieldError: story: 3 sentences, more than the limit of 2$/,
  );
});

test("Model.answer's inside: u^{k+1} = u^k + o^k, o^k the attention-weighted read, shares adding up to 1", () => {
  const story = ["Daniel went to the kitchen.", "Sandra went to the garden.", "Daniel moved to the hallway."];
  const a = trained.model.answer(story, "Where is Daniel?");
  const { u, o, share } = a.inside;
  const d = trained.model.config.dim;
  assert.equal(u.length, 4);
  assert.equal(o.length, 3);
  assert.deepEqual(
    u.map((x) => x.length),
    [d, d, d, d],
  );
  for (let h = 0; h < 3; h++) {
    for (let k = 0; k < d; k++) assert.ok(Math.abs(u[h + 1][k] - (u[h][k] + o[h][k])) < 1e-9);
    assert.equal(share[h].length, 3);
    assert.ok(Math.abs(share[h].reduce((x, y) => x + y, 0) - 1) < 1e-9, `hop ${h + 1}`);
  }
  // The sentence the last hop reads is the one that gives most of its read-out.
  assert.equal(share[2].indexOf(Math.max(...share[2])), 2);
  assert.deepEqual([a.inside.hopMap, a.inside.relu], [false, false]);
});

test("the memory keeps only the most recent memorySize sentences", () => {
  const story = Array.from({ length: 60 }, (_, i) =>
    i % 2 ? "John went to the office." : "Mary went home.",
  );
  const a = trained.model.answer(story, "Where is John?");
  assert.equal(a.sentences.length, 50);
  assert.equal(a.attention[0].length, 50);
});

test("loadModel rejects a damaged model with the field named", () => {
  const json = trained.model.toJSON();
  const broken = { ...json, weights: { ...json.weights, E1: json.weights.E1.slice(1) } };
  assert.throws(() => loadModel(broken, "m.json"), /m\.json: weights\.E1: expected \d+ floats, got \d+/);
  assert.throws(() => loadModel("{", "m.json"), /m\.json: not valid JSON/);
});

test("memn2n ask on a model trained by memn2n train", () => {
  withTmpDir((dir) => {
    const model = join(dir, "m.json");
    const t = runCli([
      "train",
      "--task",
      "1",
      "--data",
      BABI_EN,
      "--epochs",
      "30",
      "--no-linear-start",
      "--out",
      model,
    ]);
    assert.equal(t.code, 0, t.stderr);
    const story = join(dir, "story.txt");
    writeFileSync(
      story,
      "Mary moved to the bathroom.\nJohn went to the hallway.\nMary travelled to the office.\n",
    );
    const text = runCli(["ask", "--model", model, "--story", story, "Where is Mary?"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^answer: office \(p = /);
    assert.match(text.stdout, /3 +Mary travelled to the office\. .*\*/);
    // --json: the answer is one JSON line, and nothing else.
    const r = runCli(["ask", "--model", model, "--story", story, "Where is Mary?", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1);
    const j = r.json as { answer: string; attention: number[][] };
    assert.equal(j.answer, "office");
    assert.equal(j.attention.length, 3);

    const s = runCli(["ask", "--model", model], {
      input:
        "Sandra went to the garden.\nWhere is Sandra?\nSandra went to the kitchen with a zebra.\nWhere is Sandra?\n",
    });
    assert.equal(s.code, 0, s.stderr);
    const answers = s.stdout.split("\n").filter((l) => l.startsWith("answer:"));
    assert.deepEqual(
      answers.map((l) => l.split(" ")[1]),
      ["garden", "kitchen"],
    );
    assert.match(s.stderr, /warning: words the model never saw, ignored: with, a, zebra/);

    const foreign = runCli(["ask", "--model", model, "--story", story, "Qu'est-ce que c'est?"]);
    assert.equal(foreign.code, 0, foreign.stderr);
    assert.equal(foreign.stdout, "I don't know: no word of the question is one the model knows\n");
    const fj = runCli(["ask", "--model", model, "--story", story, "Qu'est-ce que c'est?", "--json"]);
    assert.equal((fj.json as { dont_know: string }).dont_know, foreign.stdout.trim());

    writeFileSync(story, "Mary went home.\nWhere is Mary?\thome\t1\n");
    const bad = runCli(["ask", "--model", model, "--story", story, "Where is Mary?"]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      `error: ${story}:2: a question line (with a TAB) in a story; give the question as the argument\n`,
    );
  });
});

test("a layer-wise model with a ReLU after each hop learns task 1, and its file keeps the ReLU", () => {
  const config = { epochs: 15, linearStart: false, tying: "layerwise", nonlin: "relu", dim: 24 } as const;
  const relu = train({ train: TRAIN, config });
  assert.ok(relu.validError < 0.2, `validation error ${relu.validError}`);
  const json = relu.model.toJSON();
  assert.equal((json.config as { nonlin: string }).nonlin, "relu");
  const story = ["Mary moved to the bathroom.", "John went to the hallway.", "Mary went to the office."];
  const a = relu.model.answer(story, "Where is Mary?");
  const again = loadModel(JSON.stringify(json)).answer(story, "Where is Mary?");
  assert.equal(again.answer, a.answer);
  assert.equal(again.probability, a.probability);
  // Loaded without the ReLU, the same weights answer differently: the file's config is what restores it.
  const linear = loadModel(JSON.stringify({ ...json, config: { ...json.config, nonlin: "none" } }));
  assert.notEqual(linear.answer(story, "Where is Mary?").probability, a.probability);
});
