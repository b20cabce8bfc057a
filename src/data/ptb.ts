// Text for the language model (Penn Treebank, Mikolov's version): words split on white space, an `<eos>` after
// every line, ids in order of first appearance over the files read (train, valid, test: the official code's
// and the PyTorch reference's rule), `<eos>` first. Every bound is checked as the text is read, so a hostile
// file stops at its first bad line with `<file>:<line>: what`.

import { DataError } from "./errors.js";

export const EOS = "<eos>";
export const UNK = "<unk>";

export interface LMTextLimits {
  /** The longest word, in characters. */
  maxWordChars: number;
  /** The most distinct words over every file read. */
  maxVocab: number;
  /** The most words (with the `<eos>`s) one file may hold. */
  maxWords: number;
}

export const LM_TEXT_LIMITS: Readonly<LMTextLimits> = Object.freeze({
  maxWordChars: 100,
  maxVocab: 100_000,
  maxWords: 50_000_000,
});

/** The word <-> id map of a language model; ids in order of first appearance, `<eos>` = 0. */
export class LMVocab {
  readonly words: string[] = [EOS];
  private readonly ids = new Map<string, number>([[EOS, 0]]);

  static from(words: readonly string[]): LMVocab {
    const v = new LMVocab();
    if (words[0] !== EOS) throw new Error(`a language model's vocabulary starts with ${EOS}`);
    for (const w of words.slice(1)) v.add(w);
    return v;
  }

  get size(): number {
    return this.words.length;
  }

  id(word: string): number | undefined {
    return this.ids.get(word);
  }

  add(word: string): number {
    let i = this.ids.get(word);
    if (i === undefined) {
      i = this.words.length;
      this.words.push(word);
      this.ids.set(word, i);
    }
    return i;
  }
}

/**
 * The word ids of one file's text, adding its new words to `vocab` (pass `grow` false to refuse them instead:
 * a text scored by a trained model). `file` names the file in errors.
 */
export function readLMText(
  text: string,
  file: string,
  vocab: LMVocab,
  limits: LMTextLimits = LM_TEXT_LIMITS,
  grow = true,
): Int32Array {
  let ids = new Int32Array(1024);
  let n = 0;
  const push = (id: number, line: number) => {
    if (n === ids.length) {
      if (n >= limits.maxWords)
        throw new DataError(file, line, `more than ${limits.maxWords} words (the limit)`);
      const bigger = new Int32Array(Math.min(limits.maxWords, n * 2));
      bigger.set(ids);
      ids = bigger;
    }
    ids[n++] = id;
  };
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (hasBinary(line))
      throw new DataError(
        file,
        lineNo,
        "binary data, not text (a control character or a byte that is not UTF-8)",
      );
    for (const w of line.split(/\s+/)) {
      if (w === "") continue;
      if (w.length > limits.maxWordChars)
        throw new DataError(
          file,
          lineNo,
          `a word of ${w.length} characters, more than the limit of ${limits.maxWordChars}`,
        );
      let id = vocab.id(w);
      if (id === undefined) {
        if (!grow) throw new DataError(file, lineNo, `"${w}" is not in the model's vocabulary`);
        if (vocab.size >= limits.maxVocab)
          throw new DataError(file, lineNo, `more than ${limits.maxVocab} distinct words (--max-vocab)`);
        id = vocab.add(w);
      }
      push(id, lineNo);
    }
    push(0, lineNo);
  }
  if (n === 0 || n === lineNo) throw new DataError(file, null, "no words: the file is empty");
  return ids.slice(0, n);
}

/** A control character (other than tab and the line breaks) or U+FFFD, what undecodable bytes become. */
function hasBinary(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0b && c !== 0x0c) || c === 0xfffd) return true;
  }
  return false;
}

/** The three files of a language-modelling corpus over one vocabulary. */
export interface LMCorpus {
  vocab: LMVocab;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
}

/** Reads train, valid and test in that order (the order the vocabulary's ids follow). */
export function readLMCorpus(
  files: { train: [string, string]; valid: [string, string]; test: [string, string] },
  limits: LMTextLimits = LM_TEXT_LIMITS,
): LMCorpus {
  const vocab = new LMVocab();
  const train = readLMText(files.train[1], files.train[0], vocab, limits);
  const valid = readLMText(files.valid[1], files.valid[0], vocab, limits);
  const test = readLMText(files.test[1], files.test[0], vocab, limits);
  return { vocab, train, valid, test };
}

/**
 * The ids of words a user typed, for a trained model: unknown words become `<unk>` where the vocabulary has
 * it (PTB's way), and are listed; a line break is an `<eos>`.
 */
export function wordsToIds(
  text: string,
  vocab: LMVocab,
): { ids: number[]; words: string[]; unknown: string[] } {
  const ids: number[] = [];
  const words: string[] = [];
  const unknown: string[] = [];
  const unk = vocab.id(UNK);
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    for (const raw of line.trim().split(/\s+/)) {
      if (raw === "") continue;
      const w = raw.toLowerCase();
      const id = vocab.id(w) ?? vocab.id(raw);
      if (id !== undefined) {
        ids.push(id);
        words.push(vocab.words[id]);
      } else {
        unknown.push(raw);
        if (unk !== undefined) {
          ids.push(unk);
          words.push(UNK);
        }
      }
    }
    if (i < lines.length - 1) {
      ids.push(0);
      words.push(EOS);
    }
  });
  return { ids, words, unknown };
}
