// From parsed dialogs to what training needs: one example per turn, a vocabulary from the training dialogs
// (and, with candidateWords, the candidates' words: the output space is known before training), the
// candidate set, and vectorized
// batches whose answers are candidate indices. The dev set is the validation set: the dialog tasks come
// with one, so nothing is held out of the training dialogs.

import { type Batch, deriveShape, type Shape, vectorize } from "../data/batch.js";
import { CandidateSet, matchIndex } from "../data/candidates.js";
import { type Dialog, type DialogExample, dialogExamples, entitiesOfResults } from "../data/dialog.js";
import { DataError } from "../data/errors.js";
import type { KnowledgeBase } from "../data/kb.js";
import { checkCount } from "../data/limits.js";
import {
  mostRestaurants,
  placeholderCandidates,
  placeholderEntities,
  toPlaceholders,
  withoutUnnamed,
} from "../data/placeholders.js";
import { type CandidateTable, candidateTable } from "../model/candidate-head.js";
import { type Config, ConfigError } from "../model/config.js";
import { Vocab } from "../text/vocab.js";
import { type Bounds, checkRun, NO_BOUNDS } from "./footprint.js";

export interface DialogSplit {
  /** Name in reports: trn, dev, tst, tst-OOV. */
  name: string;
  /** File name, for error messages. */
  file: string;
  dialogs: Dialog[];
}

export interface DialogInput {
  task: number;
  train: DialogSplit;
  dev: DialogSplit;
  tests: DialogSplit[];
  candidates: string[][];
  /** Entity word -> type, from the knowledge base (or the API results of the training dialogs). */
  entities: Map<string, string>;
  /** Tasks 1-5: the restaurants the bot's API calls are answered from. */
  kb?: KnowledgeBase;
  /** Set by withPlaceholders: the restaurants are placeholders of these many ranks. */
  placeholders?: number;
}

export interface DialogTest {
  task: number;
  name: string;
  batch: Batch;
  /** [n] the dialog each example belongs to, for per-dialog accuracy. */
  dialogOf: Int32Array;
}

export interface PreparedDialog {
  vocab: Vocab;
  candidates: CandidateSet;
  table: CandidateTable;
  shape: Shape;
  train: Batch;
  valid: Batch;
  tests: DialogTest[];
}

/**
 * A task from its parsed parts. The entity types come from the knowledge base, or, where a task has none
 * (DSTC2, task 6), from the API results of its training dialogs.
 */
export function dialogInputOf(parts: Omit<DialogInput, "entities">): DialogInput {
  return { ...parts, entities: parts.kb ? parts.kb.entityTypes() : entitiesOfResults(parts.train.dialogs) };
}

export function prepareDialog(
  input: DialogInput,
  cfg: Config,
  matchType: boolean,
  bounds: Bounds = NO_BOUNDS,
): PreparedDialog {
  if (cfg.matchQuestion) {
    throw new ConfigError(
      "matchQuestion",
      "is for bAbI questions; a dialog model marks entities with its match-type features instead",
    );
  }
  const set = new CandidateSet(input.candidates, input.entities);
  const train = dialogExamples(input.train.dialogs);
  const extra = [
    ...(matchType ? set.typeWords() : []),
    ...(cfg.candidateWords ? input.candidates.flat() : []),
  ];
  const vocab = Vocab.build(dialogWords(train, extra));
  const splits = [input.train, input.dev, ...input.tests].map((s) => ({
    split: s,
    examples: s === input.train ? train : dialogExamples(s.dialogs),
  }));
  const shape = deriveShape(
    splits.map((s) => s.examples),
    { memorySize: cfg.memorySize, sentenceLen: cfg.sentenceLen },
  );
  checkCount("maxCandidates", set.size, bounds.limits);
  checkRun(
    splits.map((s) => s.examples),
    shape,
    vocab.size,
    cfg,
    bounds,
    input.candidates.reduce((n, c) => n + c.length, 0),
  );
  const batchOf = (s: (typeof splits)[number]) =>
    dialogBatch(s.split, s.examples, vocab, set, shape, matchType);
  return {
    vocab,
    candidates: set,
    table: candidateTableOf(set, vocab, matchType),
    shape,
    train: batchOf(splits[0]),
    valid: batchOf(splits[1]),
    tests: splits.slice(2).map((s) => ({
      task: input.task,
      name: s.split.name,
      batch: batchOf(s),
      dialogOf: Int32Array.from(s.examples.map((e) => e.dialog)),
    })),
  };
}

/**
 * The task with its restaurants rewritten into placeholders ranked by rating, in every split and in the
 * candidates; the ranks go as far as the most restaurants one dialog's API results name. The training set
 * also gets, for each dialog whose bot leaves restaurants unnamed, a copy without them (withoutUnnamed).
 */
export function withPlaceholders(input: DialogInput): DialogInput {
  const splits = [input.train, input.dev, ...input.tests];
  const restaurants = new Set(input.kb?.rows.map((r) => r[0]) ?? []);
  for (const s of splits) {
    for (const d of s.dialogs) for (const l of d.lines) if (l.kind === "result") restaurants.add(l.tokens[0]);
  }
  const ranks = Math.max(1, ...splits.map((s) => mostRestaurants(s.dialogs)));
  const convert = (s: DialogSplit): DialogSplit => ({ ...s, dialogs: s.dialogs.map(toPlaceholders) });
  const shorter = input.train.dialogs.flatMap((d) => withoutUnnamed(d) ?? []);
  return {
    ...input,
    train: convert({ ...input.train, dialogs: [...input.train.dialogs, ...shorter] }),
    dev: convert(input.dev),
    tests: input.tests.map(convert),
    candidates: placeholderCandidates(input.candidates, restaurants, ranks),
    entities: placeholderEntities(input.entities, restaurants, ranks),
    placeholders: ranks,
  };
}

/** The answer layer's view of the candidates: their words, and the match-type words, as vocabulary ids. */
export function candidateTableOf(set: CandidateSet, vocab: Vocab, matchType: boolean): CandidateTable {
  const typeWords = matchType ? set.typeWords().map((w) => vocab.id(w)) : [];
  return candidateTable(set.wordIds(vocab), typeWords);
}

/** The batch of a split's turns, answers as candidate indices; a response that is no candidate is an error. */
export function dialogBatch(
  split: DialogSplit,
  examples: DialogExample[],
  vocab: Vocab,
  set: CandidateSet,
  shape: Shape,
  matchType: boolean,
  unanswerable: "error" | "wrong" = "error",
): Batch {
  const answerId = (ex: DialogExample) => {
    const c = set.indexOf(ex.response);
    // -1 matches no candidate: the turn counts as answered wrong.
    if (c < 0 && unanswerable === "wrong") return -1;
    if (c < 0) throw new DataError(split.file, ex.line, "the bot's response is not among the candidates");
    return c;
  };
  const batch = vectorize(examples, vocab, shape, (ex) => answerId(ex as DialogExample));
  if (matchType) batch.match = matchIndex(set, examples);
  return batch;
}

/** A test set for a trained model: its own vocabulary and candidates, the model's memory size. */
export function dialogTestSet(
  task: number,
  split: DialogSplit,
  vocab: Vocab,
  set: CandidateSet,
  cfg: Config,
  matchType: boolean,
  unanswerable: "error" | "wrong" = "error",
): DialogTest {
  const examples = dialogExamples(split.dialogs);
  const shape = deriveShape([examples], { memorySize: cfg.memorySize, sentenceLen: cfg.sentenceLen });
  return {
    task,
    name: split.name,
    batch: dialogBatch(split, examples, vocab, set, shape, matchType, unanswerable),
    dialogOf: Int32Array.from(examples.map((e) => e.dialog)),
  };
}

/** The words of training turns: memories, queries and responses, and any extra words the model needs. */
function* dialogWords(examples: DialogExample[], extra: string[]): Generator<string> {
  yield* extra;
  for (const ex of examples) {
    for (const s of ex.sentences) yield* s.tokens;
    yield* ex.question;
    yield* ex.response;
  }
}
