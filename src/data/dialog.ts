// The Dialog bAbI format (Bordes et al. 2017): `ID user<TAB>bot` turns, IDs restarting at 1 for each dialog
// and dialogs separated by a blank line; `<SILENCE>` stands for a user who said nothing; a line without a
// TAB is one result of the last API call (`ID entity R_attribute value`). The candidate file lists every
// response the bot may give (`ID text`), and the knowledge base (tasks 1-5) holds `ID entity R_attr<TAB>value`.
//
// The text is already tokenized (lower-case words split by spaces in tasks 1-5; task 6 keeps case and
// punctuation), so a dialog line is split on white space and lower-cased, and a bot line is matched to its
// candidate by that token sequence.
//
// A turn becomes one example: the memory is the conversation before it (each user and bot utterance and each
// API result, marked with its speaker and how many turns ago it was said, as extra words), the query is the
// user's utterance, the answer is the bot's response among the candidates.

import type { Example, Sentence } from "./babi.js";
import { DataError } from "./errors.js";
import { checkLine, checkStoryLines, checkWords, DEFAULT_LIMITS, type Limits } from "./limits.js";

/** Speaker words added to every memory line. */
export const USER_WORD = "$u";
export const BOT_WORD = "$r";
/** What a user who said nothing says (the data's `<SILENCE>`, lower-cased). */
export const SILENCE = "<silence>";
/** Time words: `#1` marks the last turn before the query, `#2` the one before, and so on. */
export const timeWord = (turnsAgo: number): string => `#${turnsAgo}`;

export function dialogTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t.length > 0);
}

/** One line of a dialog: a turn (user, then bot) or an API result. */
export type DialogLine =
  | { kind: "turn"; line: number; user: string[]; bot: string[] }
  | { kind: "result"; line: number; tokens: string[] };

export interface Dialog {
  /** 1-based line of the dialog's first line. */
  line: number;
  lines: DialogLine[];
}

const LINE = /^(\d+) (.*)$/s;

export function parseDialogs(text: string, file: string, limits: Limits = DEFAULT_LIMITS): Dialog[] {
  if (text.trim().length === 0) throw new DataError(file, 1, "empty file: no dialogs in it");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const dialogs: Dialog[] = [];
  let current: Dialog | null = null;
  let prevId = 0;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    checkLine(raw, file, lineNo, limits);
    if (raw.trim() === "") {
      current = null;
      prevId = 0;
      continue;
    }
    const m = LINE.exec(raw);
    if (!m) throw new DataError(file, lineNo, "line does not start with a numeric id and a space");
    const id = Number(m[1]);
    if (id === 1) {
      current = { line: lineNo, lines: [] };
      dialogs.push(current);
    } else if (current === null || id !== prevId + 1) {
      const expected = prevId === 0 ? "1" : `${prevId + 1} or 1`;
      throw new DataError(file, lineNo, `id ${id} does not follow the previous id (expected ${expected})`);
    }
    prevId = id;
    const body = m[2];
    const tab = body.indexOf("\t");
    if (body.includes("\0")) throw new DataError(file, lineNo, "a NUL byte: not a text file");
    if (tab < 0) {
      // A line without a TAB is an API result, `entity R_attribute value` (task 6 also writes
      // `api_call no result`); anything else is a turn that lost its TAB, and would silently lose the turn.
      const tokens = dialogTokens(body);
      if (!isResultLine(tokens)) {
        throw new DataError(
          file,
          lineNo,
          "neither a turn (`ID user<TAB>bot`) nor an API result (`ID entity R_attribute value`): a TAB missing?",
        );
      }
      checkStoryLines(current!.lines.length + 1, file, lineNo, limits, "dialog");
      current!.lines.push({ kind: "result", line: lineNo, tokens });
      continue;
    }
    if (body.indexOf("\t", tab + 1) >= 0) {
      throw new DataError(file, lineNo, "more than one TAB: a turn is `ID user<TAB>bot`");
    }
    // A few turns of task 6 have nothing before the TAB: the user said nothing, as <SILENCE> says elsewhere.
    const said = dialogTokens(body.slice(0, tab));
    checkWords(said.length, file, lineNo, limits, "user utterance");
    const user = said.length > 0 ? said : [SILENCE];
    const bot = dialogTokens(body.slice(tab + 1));
    checkWords(bot.length, file, lineNo, limits, "bot utterance");
    if (bot.length === 0) throw new DataError(file, lineNo, "turn without a bot response after the TAB");
    checkStoryLines(current!.lines.length + 1, file, lineNo, limits, "dialog");
    current!.lines.push({ kind: "turn", line: lineNo, user, bot });
  }
  if (!dialogs.some((d) => d.lines.some((l) => l.kind === "turn"))) {
    throw new DataError(file, lines.length, "no turns (ID user<TAB>bot lines) in file");
  }
  return dialogs;
}

/** The shape of an API result line, as tokens: `entity r_attribute value`, or `api_call no result`. */
export function isResultLine(tokens: string[]): boolean {
  if (tokens.length !== 3) return false;
  return (
    tokens[1].startsWith("r_") || (tokens[0] === "api_call" && tokens[1] === "no" && tokens[2] === "result")
  );
}

/** The candidate responses of a candidate file, as token lists, in file order, each once. */
export function parseCandidates(text: string, file: string, limits: Limits = DEFAULT_LIMITS): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    checkLine(lines[i], file, i + 1, limits);
    const raw = lines[i].trim();
    if (raw === "") continue;
    const m = LINE.exec(raw);
    if (!m) throw new DataError(file, i + 1, "candidate line does not start with a numeric id and a space");
    const tokens = dialogTokens(m[2]);
    checkWords(tokens.length, file, i + 1, limits, "candidate");
    if (tokens.length === 0) throw new DataError(file, i + 1, "candidate has no words");
    const key = tokens.join(" ");
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(tokens);
    if (out.length > limits.maxCandidates) {
      throw new DataError(
        file,
        i + 1,
        `more than the limit of ${limits.maxCandidates} candidates (--max-candidates raises it)`,
      );
    }
  }
  if (out.length === 0) throw new DataError(file, 1, "no candidates in file");
  return out;
}

/** The entity types of API results seen in dialogs (task 6 has no knowledge-base file of its own). */
export function entitiesOfResults(dialogs: Dialog[], into = new Map<string, string>()): Map<string, string> {
  for (const d of dialogs) {
    for (const l of d.lines) {
      if (l.kind === "result" && l.tokens.length === 3 && l.tokens[1].startsWith("r_")) {
        addEntity(into, l.tokens[2], l.tokens[1]);
      }
    }
  }
  return into;
}

function addEntity(map: Map<string, string>, value: string, attribute: string): void {
  const type = attribute.toLowerCase().replace(/^r_/, "");
  for (const w of dialogTokens(value)) if (!map.has(w)) map.set(w, type);
}

/** A turn to answer: its memory, the user's words and the bot's response (tokens). */
export interface DialogExample extends Example {
  /** Index of the dialog in its file. */
  dialog: number;
  response: string[];
}

/**
 * Examples of every turn of the dialogs. The memory of a turn holds the earlier utterances and API results;
 * each gets its speaker word and the time word of its turn, counted back from the query.
 */
export function dialogExamples(dialogs: Dialog[]): DialogExample[] {
  const out: DialogExample[] = [];
  dialogs.forEach((d, di) => {
    const history: { tokens: string[]; turn: number }[] = [];
    let turn = 0;
    for (const l of d.lines) {
      if (l.kind === "result") {
        history.push({ tokens: [...l.tokens, BOT_WORD], turn });
        continue;
      }
      turn++;
      out.push({
        story: di,
        dialog: di,
        line: l.line,
        sentences: memoryOf(history, turn),
        question: l.user,
        answer: l.bot.join(" "),
        response: l.bot,
        supporting: [],
      });
      history.push({ tokens: [...l.user, USER_WORD], turn });
      history.push({ tokens: [...l.bot, BOT_WORD], turn });
    }
  });
  return out;
}

/** The memory sentences of a conversation as seen from turn `now`. */
export function memoryOf(history: { tokens: string[]; turn: number }[], now: number): Sentence[] {
  return history.map((h, i) => ({ id: i + 1, tokens: [...h.tokens, timeWord(now - h.turn)] }));
}

/** A user's turn that says nothing: the data's `<SILENCE>`. */
function isSilent(user: string[]): boolean {
  return user.length === 1 && user[0] === SILENCE;
}

/**
 * The bot lines after which the data's user always says nothing: `<SILENCE>` follows every one of them that
 * is followed by a turn at all (and there are at least `least` such), as after "i'm on it" or an
 * `api_call`. A bot goes on by itself after these rather than wait for an empty line. Lines are counted by
 * their `shape` (e.g. with entities as their types, so that every api_call counts as one).
 */
export function carryOnOf(
  dialogs: Dialog[],
  shape: (response: string[]) => string = (r) => r.join(" "),
  least = 3,
): string[] {
  const seen = new Map<string, { silent: number; spoken: number }>();
  for (const d of dialogs) {
    let last: string | null = null;
    for (const l of d.lines) {
      if (l.kind !== "turn") continue;
      if (last !== null) {
        const c = seen.get(last) ?? { silent: 0, spoken: 0 };
        if (isSilent(l.user)) c.silent++;
        else c.spoken++;
        seen.set(last, c);
      }
      last = shape(l.bot);
    }
  }
  return [...seen]
    .filter(([, c]) => c.spoken === 0 && c.silent >= least)
    .map(([r]) => r)
    .sort();
}

/** Marks the data's tokenizer splits off a word's ends as words of their own ("hello!" -> "hello", "!"). */
const EDGE_PUNCT = /^([.,!?;:"()]*)(.*?)([.,!?;:"()]*)$/s;

/**
 * A line a person typed, tokenized as the data's text is: lower-cased words split on white space, with
 * punctuation at a word's ends split off, and kept only where the vocabulary has it as a word (task 6 writes
 * "?" and "," as words; tasks 1-5 have none). Apostrophes and underscores inside words stay ("i'm").
 */
export function typedTokens(text: string, known: (word: string) => boolean): string[] {
  const out: string[] = [];
  for (const t of dialogTokens(text)) {
    if (known(t)) {
      out.push(t);
      continue;
    }
    const [, pre, word, post] = EDGE_PUNCT.exec(t)!;
    for (const p of pre) if (known(p)) out.push(p);
    if (word) out.push(word);
    for (const p of post) if (known(p)) out.push(p);
  }
  return out;
}

/** A response with each entity word written as its type (`api_call <cuisine> <location> ...`). */
export function responseShape(response: string[], entityType: ReadonlyMap<string, string>): string {
  return response.map((w) => (entityType.has(w) ? `<${entityType.get(w)}>` : w)).join(" ");
}

/** Whether the data's dialogs all open with the bot speaking first, the user silent (task 6's greeting). */
export function opensSilent(dialogs: Dialog[]): boolean {
  return (
    dialogs.length > 0 &&
    dialogs.every((d) => {
      const first = d.lines.find((l) => l.kind === "turn");
      return first?.kind === "turn" && isSilent(first.user);
    })
  );
}
