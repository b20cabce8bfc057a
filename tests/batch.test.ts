import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBabi, wordsOf } from "../src/data/babi.js";
import { deriveShape, selectRows, vectorize } from "../src/data/batch.js";
import { splitByStory } from "../src/data/split.js";
import { UNK_ID, Vocab } from "../src/text/vocab.js";

const TEXT = [
  "1 Mary moved to the bathroom.",
  "2 John went to the hallway.",
  "3 Mary went back to the kitchen.",
  "4 Where is Mary?\tkitchen\t3",
  "5 John moved to the garden.",
  "6 Where is John?\tgarden\t5",
  "7 Where is Mary?\tkitchen\t3",
  "",
].join("\n");

test("vectorize lays out memory oldest-first with newest-first time indices", () => {
  const f = parseBabi(TEXT, "t.txt");
  const vocab = Vocab.build(wordsOf(f.examples));
  const shape = deriveShape([f.examples], { memorySize: 50, sentenceLen: 0 });
  assert.deepEqual(shape, { memorySize: 4, sentenceLen: 6 });
  const b = vectorize(f.examples, vocab, shape);
  const { memorySize: M, sentenceLen: J } = shape;
  assert.equal(b.n, 3);
  assert.deepEqual([...b.memLen], [3, 4, 4]);
  // Question 1: three statements, the newest (slot 2) has time 0.
  assert.deepEqual([...b.time.subarray(0, 3)], [2, 1, 0]);
  const words = (arr: Int32Array, off: number) =>
    [...arr.subarray(off, off + J)].filter((x) => x !== 0).map((x) => vocab.word(x));
  const slot = (q: number, i: number) => words(b.sentences, b.memory[q * M + i] * J);
  assert.deepEqual(slot(0, 0), ["mary", "moved", "to", "the", "bathroom"]);
  assert.deepEqual(slot(1, 3), ["john", "moved", "to", "the", "garden"]);
  // Statements shared by questions of a story are stored once: four distinct statements, plus the empty row.
  assert.equal(b.sentences.length, 5 * J);
  assert.equal(b.memory[0], b.memory[M]);
  assert.deepEqual(words(b.query, 2 * J), ["where", "is", "mary"]);
  assert.equal(vocab.word(b.answer[1]), "garden");
  // Supporting fact 3 of question 1 sits in slot 2; of question 2, fact 5 is slot 3.
  assert.equal(b.supporting[0], 2);
  assert.equal(b.supporting[1 * b.maxSupporting], 3);
});

test("the memory keeps only the most recent M statements", () => {
  const f = parseBabi(TEXT, "t.txt");
  const vocab = Vocab.build(wordsOf(f.examples));
  const b = vectorize(f.examples, vocab, { memorySize: 2, sentenceLen: 6 });
  assert.deepEqual([...b.memLen], [2, 2, 2]);
  const J = 6;
  // Question 3 keeps statements 3 and 5; supporting fact 3 is slot 0.
  assert.equal(vocab.word(b.sentences[b.memory[2 * 2 + 1] * J + 4]), "garden");
  assert.equal(b.supporting[2 * b.maxSupporting], 0);
  // With one slot, question 3 keeps only statement 5, so its supporting fact 3 was dropped (-1).
  const one = vectorize(f.examples, vocab, { memorySize: 1, sentenceLen: 6 });
  assert.equal(one.supporting[1 * one.maxSupporting], 0);
  assert.equal(one.supporting[2 * one.maxSupporting], -1);
});

test("unknown words map to the unknown id and are counted", () => {
  const f = parseBabi(TEXT, "t.txt");
  const vocab = Vocab.build(["where", "is", "mary", "kitchen"]);
  const b = vectorize(f.examples, vocab, { memorySize: 4, sentenceLen: 6 });
  assert.equal(b.sentences[b.memory[0] * 6], vocab.id("mary"));
  assert.equal(b.sentences[b.memory[0] * 6 + 1], UNK_ID);
  // "moved" stands once in the first memory and twice in each of the two later ones.
  assert.equal(b.unknown.get("moved"), 5);
  assert.equal(b.answer[1], UNK_ID);
});

test("selectRows copies the chosen examples", () => {
  const f = parseBabi(TEXT, "t.txt");
  const vocab = Vocab.build(wordsOf(f.examples));
  const b = vectorize(f.examples, vocab, { memorySize: 4, sentenceLen: 6 });
  const s = selectRows(b, [2, 0]);
  assert.equal(s.n, 2);
  assert.equal(s.answer[0], b.answer[2]);
  assert.deepEqual([...s.query.subarray(6, 12)], [...b.query.subarray(0, 6)]);
  assert.equal(s.memLen[1], 3);
});

test("the validation split is by story, about the fraction asked, and fixed by its seed", () => {
  const lines: string[] = [];
  for (let s = 0; s < 200; s++) {
    lines.push(
      "1 Mary went home.",
      `2 Where is Mary?\thome\t1`,
      "3 John went out.",
      `4 Where is John?\tout\t3`,
    );
  }
  const { examples } = parseBabi(lines.join("\n"), "many.txt");
  const a = splitByStory(examples, 0.1, 7);
  const b = splitByStory(examples, 0.1, 7);
  const c = splitByStory(examples, 0.1, 8);
  assert.equal(a.valid.length, 40);
  assert.equal(a.train.length, 360);
  assert.deepEqual(
    a.valid.map((e) => e.line),
    b.valid.map((e) => e.line),
  );
  assert.notDeepEqual(
    a.valid.map((e) => e.line),
    c.valid.map((e) => e.line),
  );
  const validStories = new Set(a.valid.map((e) => e.story));
  assert.ok(a.train.every((e) => !validStories.has(e.story)));
});
