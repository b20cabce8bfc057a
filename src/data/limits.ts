// Bounds on every size a data file decides, checked as the file is read, before anything is allocated for
// it: a line's length, a sentence's words, the vocabulary, the candidate responses. Each has a default far
// above what the real data needs (bAbI: 15 words a sentence; Dialog bAbI: 79 words, 525 characters a line)
// and a CLI option that raises it; the error names both.

import { DataError, FieldError } from "./errors.js";

export interface Limits {
  /** Characters in one line of a data file. */
  maxLineChars: number;
  /** Words in one sentence, question, utterance or candidate. */
  maxSentenceWords: number;
  /** Words in the vocabulary a model is built with. */
  maxVocab: number;
  /** Candidate responses of a dialog task. */
  maxCandidates: number;
  /** Lines of one story (bAbI) or one dialog. */
  maxStoryLines: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxLineChars: 10_000,
  maxSentenceWords: 200,
  maxVocab: 200_000,
  maxCandidates: 100_000,
  maxStoryLines: 100_000,
};

/** The CLI option that raises each limit. */
export const LIMIT_FLAGS: Record<keyof Limits, string> = {
  maxLineChars: "--max-line-chars",
  maxSentenceWords: "--max-sentence-words",
  maxVocab: "--max-vocab",
  maxCandidates: "--max-candidates",
  maxStoryLines: "--max-story-lines",
};

/** A story or dialog that has grown past its bound (checked at each of its lines). */
export function checkStoryLines(
  count: number,
  file: string,
  line: number,
  limits: Limits,
  what = "story",
): void {
  if (count > limits.maxStoryLines) {
    throw new DataError(
      file,
      line,
      `a ${what} of more than ${limits.maxStoryLines} lines (${LIMIT_FLAGS.maxStoryLines} raises it)`,
    );
  }
}

export function checkLine(raw: string, file: string, line: number, limits: Limits): void {
  if (raw.length > limits.maxLineChars) {
    throw new DataError(
      file,
      line,
      `a line of ${raw.length} characters, more than the limit of ${limits.maxLineChars} (${LIMIT_FLAGS.maxLineChars} raises it)`,
    );
  }
}

export function checkWords(
  words: number,
  file: string,
  line: number,
  limits: Limits,
  what = "sentence",
): void {
  if (words > limits.maxSentenceWords) {
    throw new DataError(
      file,
      line,
      `a ${what} of ${words} words, more than the limit of ${limits.maxSentenceWords} (${LIMIT_FLAGS.maxSentenceWords} raises it)`,
    );
  }
}

export function checkCount(key: "maxVocab" | "maxCandidates", count: number, limits: Limits): void {
  if (count > limits[key]) {
    const what = key === "maxVocab" ? "vocabulary" : "candidates";
    throw new FieldError(
      what,
      `${count} ${key === "maxVocab" ? "words" : "responses"}, more than the limit of ${limits[key]} (${LIMIT_FLAGS[key]} raises it)`,
    );
  }
}

/**
 * One line of text a caller hands the library (a story's sentence, a question, a user's line), checked
 * before anything is allocated for it: its characters first, then its words. Returns its tokens; `field`
 * names it in the error, which reads the same in the terminal, over HTTP and in the page.
 */
export function checkText(
  text: string,
  field: string,
  limits: Limits,
  tokenize: (text: string) => string[],
  what = "sentence",
): string[] {
  if (text.length > limits.maxLineChars) {
    throw new FieldError(field, `${text.length} characters, more than the limit of ${limits.maxLineChars}`);
  }
  const tokens = tokenize(text);
  if (tokens.length > limits.maxSentenceWords) {
    throw new FieldError(
      field,
      `a ${what} of ${tokens.length} words, more than the limit of ${limits.maxSentenceWords}`,
    );
  }
  return tokens;
}

/** A story or conversation handed in as lines: at most maxStoryLines of them. */
export function checkLineCount(count: number, field: string, limits: Limits, what = "sentences"): void {
  if (count > limits.maxStoryLines) {
    throw new FieldError(field, `${count} ${what}, more than the limit of ${limits.maxStoryLines}`);
  }
}
