// The bAbI v1.2 format: `ID text` lines, a question line being `ID question<TAB>answer<TAB>supporting ids`.
// IDs restart at 1 for each story; a story holds several questions, and each question sees the statements
// of its story that come before it.

import { tokenize } from "../text/tokenize.js";
import { DataError } from "./errors.js";
import { checkLine, checkStoryLines, checkWords, DEFAULT_LIMITS, type Limits } from "./limits.js";

export interface Sentence {
  /** The line's id inside its story. */
  id: number;
  tokens: string[];
}

export interface Example {
  /** Index of the story in its file, from 0. */
  story: number;
  /** 1-based line of the question in its file, for messages. */
  line: number;
  /** The story's statements before the question, oldest first (questions are not statements). */
  sentences: Sentence[];
  question: string[];
  /** The answer as one class: `n,w` (task 19) and `apple,football` (task 8) are single answers. */
  answer: string;
  /** Ids of the supporting statements. */
  supporting: number[];
}

export interface BabiFile {
  examples: Example[];
  stories: number;
}

const LINE = /^(\d+) (.*)$/s;

export function parseBabi(text: string, file: string, limits: Limits = DEFAULT_LIMITS): BabiFile {
  if (text.trim().length === 0) throw new DataError(file, 1, "empty file: no stories in it");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();

  const examples: Example[] = [];
  let story: Sentence[] = [];
  let stories = 0;
  let prevId = 0;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    checkLine(raw, file, lineNo, limits);
    const m = LINE.exec(raw);
    if (!m) {
      const what = raw.trim() === "" ? "blank line" : "line does not start with a numeric id and a space";
      throw new DataError(file, lineNo, what);
    }
    const id = Number(m[1]);
    const body = m[2];
    if (body.includes("\0")) throw new DataError(file, lineNo, "a NUL byte: not a text file");
    if (id === 1) {
      story = [];
      stories++;
      prevId = 0;
    } else if (id !== prevId + 1) {
      const expected = prevId === 0 ? "1" : `${prevId + 1} or 1`;
      throw new DataError(file, lineNo, `id ${id} does not follow the previous id (expected ${expected})`);
    }
    prevId = id;

    if (!body.includes("\t")) {
      const tokens = tokenize(body);
      checkWords(tokens.length, file, lineNo, limits);
      checkStoryLines(story.length + 1, file, lineNo, limits);
      if (tokens.length === 0) throw new DataError(file, lineNo, "statement has no words");
      story.push({ id, tokens });
      continue;
    }

    const fields = body.split("\t");
    if (fields.length > 3) {
      throw new DataError(
        file,
        lineNo,
        `${fields.length} TAB-separated fields: a question line has 3 (question, answer, supporting ids)`,
      );
    }
    const [q, answerField, supportField] = fields;
    const question = tokenize(q);
    checkWords(question.length, file, lineNo, limits, "question");
    if (question.length === 0) throw new DataError(file, lineNo, "question has no words");
    const answer = (answerField ?? "").trim();
    if (answer === "") throw new DataError(file, lineNo, "question line without answer");
    const supporting: number[] = [];
    for (const s of (supportField ?? "").trim().split(/\s+/)) {
      if (s === "") continue;
      if (!/^\d+$/.test(s)) throw new DataError(file, lineNo, `supporting fact id "${s}" is not a number`);
      const sid = Number(s);
      if (!story.some((st) => st.id === sid)) {
        throw new DataError(file, lineNo, `supporting fact ${sid} is not an earlier statement of this story`);
      }
      supporting.push(sid);
    }
    examples.push({
      story: stories - 1,
      line: lineNo,
      sentences: story.slice(),
      question,
      answer,
      supporting,
    });
  }
  if (examples.length === 0) throw new DataError(file, lines.length, "no questions in file");
  return { examples, stories };
}

/** Every word a set of examples uses, answers included (answers are words of the output layer). */
export function* wordsOf(examples: Iterable<Example>): Generator<string> {
  for (const ex of examples) {
    for (const s of ex.sentences) yield* s.tokens;
    yield* ex.question;
    yield ex.answer;
  }
}
