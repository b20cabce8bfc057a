import assert from "node:assert/strict";
import { test } from "node:test";
import { tokenize } from "../src/text/tokenize.js";
import { NULL_ID, UNK_ID, Vocab } from "../src/text/vocab.js";

test("tokenize lower-cases, splits punctuation off and drops . and ?", () => {
  assert.deepEqual(tokenize("Mary moved to the bathroom."), ["mary", "moved", "to", "the", "bathroom"]);
  assert.deepEqual(tokenize("Where is Mary? "), ["where", "is", "mary"]);
  assert.deepEqual(tokenize("Is it red, or blue?"), ["is", "it", "red", ",", "or", "blue"]);
});

test("tokenize keeps words of other scripts whole", () => {
  assert.deepEqual(tokenize("सुमित कहाँ है?"), ["सुमित", "कहाँ", "है"]);
});

test("vocab reserves 0 for null and 1 for unknown, sorted otherwise", () => {
  const v = Vocab.build(["milk", "apple", "milk"]);
  assert.equal(v.size, 4);
  assert.equal(v.id("apple"), 2);
  assert.equal(v.id("milk"), 3);
  assert.equal(v.word(NULL_ID), "<nil>");
  const unknown: string[] = [];
  assert.equal(
    v.id("zebra", (w) => unknown.push(w)),
    UNK_ID,
  );
  assert.deepEqual(unknown, ["zebra"]);
});

test("vocab round-trips through its word list and rejects a malformed one", () => {
  const v = Vocab.build(["b", "a"]);
  assert.deepEqual(Vocab.fromWords(v.words).words, v.words);
  assert.throws(() => Vocab.fromWords(["a", "b"]), /must start with/);
  assert.throws(() => Vocab.fromWords(["<nil>", "<unk>", "a", "a"]), /repeated/);
});
