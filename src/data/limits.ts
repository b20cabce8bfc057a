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
