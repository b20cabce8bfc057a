import assert from "node:assert/strict";
import { test } from "node:test";
import type { Example, Sentence } from "../src/data/babi.js";
import { matchQuestions, matchWord } from "../src/data/question-match.js";
import { makeConfig } from "../src/model/config.js";
import { prepare } from "../src/train/prepare.js";

const sentence = (id: number, text: string): Sentence => ({ id, tokens: text.split(" ") });

function example(sentences: Sentence[], question: string, answer = "yes"): Example {
  return { story: 0, line: 1, sentences, question: question.split(" "), answer, supporting: [1] };
}

test("memory words that occur in the question become the match word of their first place in it", () => {
  const facts = [sentence(1, "the triangle is above the red square"), sentence(2, "mary went home")];
  const [ex] = matchQuestions([example(facts, "is the red square below the triangle")], 50);
  assert.deepEqual(ex.sentences[0].tokens, ["#q2", "#q7", "#q1", "above", "#q2", "#q3", "#q4"]);
  assert.equal(ex.sentences[0].id, 1);
  // Untouched statements, the question and the input stay as they were.
  assert.equal(ex.sentences[1], facts[1]);
  assert.deepEqual(ex.question, "is the red square below the triangle".split(" "));
  assert.deepEqual(facts[0].tokens, "the triangle is above the red square".split(" "));
  assert.equal(matchWord(12), "#q12");
});

test("questions that rewrite a statement alike share one rewriting; others get their own", () => {
  const s = sentence(1, "the box is bigger than the chest");
  const [a, b, c] = matchQuestions(
    [
      example([s], "is the box bigger than the chest"),
      example([s], "is the box bigger than the chest"),
      example([s], "does the chest fit in the box"),
    ],
    50,
  );
  assert.equal(a.sentences[0], b.sentences[0]);
  assert.notEqual(a.sentences[0], c.sentences[0]);
  assert.deepEqual(c.sentences[0].tokens, ["#q2", "#q7", "is", "bigger", "than", "#q2", "#q3"]);
});

test("a question longer than the model knows leaves the words past its match words as they are", () => {
  const [ex] = matchQuestions([example([sentence(1, "a b c")], "c b a")], 50, (w) => w !== "#q3");
  assert.deepEqual(ex.sentences[0].tokens, ["a", "#q2", "#q1"]);
});

test("prepare gives the vocabulary the match words of training, and test questions only those", () => {
  const train = Array.from({ length: 20 }, (_, i) => ({
    ...example([sentence(1, `x${i} is in the kitchen`)], `where is x${i}`, "kitchen"),
    story: i,
  }));
  // Its 5th word has no match word in training: it stays itself, and counts as unknown like any new word.
  const test = [example([sentence(1, "y is in the hall with z")], "where is y with z", "hall")];
  const cfg = makeConfig({ matchQuestion: true });
  const data = prepare([{ task: 1, train, test }], cfg);
  // "is" and the name are the question's 2nd and 3rd words; "where" is in no statement.
  assert.deepEqual(
    data.vocab.words.filter((w) => w.startsWith("#")),
    ["#q2", "#q3"],
  );
  const words = (id: number) => data.vocab.word(id);
  const t = data.tests[0].batch;
  const row = t.memory[0];
  const J = t.sentenceLen;
  assert.deepEqual(Array.from(t.sentences.subarray(row * J, row * J + 7), words), [
    "#q3",
    "#q2",
    "in",
    "the",
    "<unk>",
    "<unk>",
    "<unk>",
  ]);
  assert.deepEqual([...t.unknown.keys()].sort(), ["hall", "with", "y", "z"]);
  // Off, nothing changes.
  const plain = prepare([{ task: 1, train, test }], makeConfig());
  assert.ok(!plain.vocab.words.some((w) => w.startsWith("#")));
});

test("statements older than the memory holds are never read, and stay as they are", () => {
  const facts = [sentence(1, "mary went home"), sentence(2, "mary went out"), sentence(3, "mary slept")];
  const [ex] = matchQuestions([example(facts, "where is mary")], 2);
  assert.equal(ex.sentences[0], facts[0]);
  assert.deepEqual(
    ex.sentences.slice(1).map((s) => s.tokens[0]),
    ["#q3", "#q3"],
  );
});
