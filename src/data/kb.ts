// The restaurant knowledge base of Dialog bAbI tasks 1-5, and the lookup that answers the bot's API calls
// with it, so that a booking runs without anyone typing the restaurants in.
//
// What the lookup returns follows the data's own dialogs (checked over every API call of task 5's trn, dev
// and tst files): the restaurants are exactly the rows whose cuisine, location, party size and price equal
// the call's four arguments, and each restaurant's seven attribute lines come in the order R_phone,
// R_cuisine, R_address, R_location, R_number, R_price, R_rating. The data lists the restaurants themselves
// in no fixed order (every permutation occurs; the same call is listed differently in different dialogs);
// the most frequent order, best rating first, is the one written here. (The OOV test dialogs were made from
// another knowledge base: their results disagree with this file's party sizes in every dialog.)

import { type Dialog, type DialogLine, dialogTokens } from "./dialog.js";
import { DataError } from "./errors.js";
import { checkLine, DEFAULT_LIMITS, type Limits } from "./limits.js";

/** What an `api_call` names, in the order of its arguments. */
export const CALL_FIELDS = ["R_cuisine", "R_location", "R_number", "R_price"];
/** The order of a restaurant's attribute lines in the data's dialogs. */
export const RESULT_ORDER = [
  "R_phone",
  "R_cuisine",
  "R_address",
  "R_location",
  "R_number",
  "R_price",
  "R_rating",
];

export class KnowledgeBase {
  private readonly col: Map<string, number>;
  /** The columns of CALL_FIELDS, or null when this knowledge base lacks one (it then answers no call). */
  private readonly callCols: number[] | null;
  /** The columns of a restaurant's result lines, in the data's order. */
  private readonly resultCols: [string, number][];

  /** rows: [entity, value of attributes[0], value of attributes[1], ...], in the file's order. */
  constructor(
    readonly attributes: string[],
    readonly rows: string[][],
  ) {
    this.col = new Map(attributes.map((a, i) => [a, i + 1]));
    const cols = CALL_FIELDS.map((f) => this.col.get(f));
    this.callCols = cols.every((c) => c !== undefined) ? (cols as number[]) : null;
    this.resultCols = [
      ...RESULT_ORDER.filter((a) => this.col.has(a)),
      ...attributes.filter((a) => !RESULT_ORDER.includes(a)),
    ].map((a) => [a, this.col.get(a)!]);
  }

  /** Whether the tokens are an `api_call` this knowledge base answers (without looking anything up). */
  answers(call: string[]): boolean {
    return this.callCols !== null && call[0] === "api_call" && call.length === CALL_FIELDS.length + 1;
  }

  /** A knowledge base file: `ID entity R_attribute<TAB>value` lines, every entity with every attribute. */
  static parse(text: string, file: string, limits: Limits = DEFAULT_LIMITS): KnowledgeBase {
    const attributes: string[] = [];
    const byEntity = new Map<string, Map<string, string>>();
    const firstLine = new Map<string, number>();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      checkLine(lines[i], file, i + 1, limits);
      const raw = lines[i].trim();
      if (raw === "") continue;
      const m = /^\d+ (\S+) (R_\w+)\t(.+)$/.exec(raw);
      if (!m) throw new DataError(file, i + 1, "expected `ID entity R_attribute<TAB>value`");
      const [, entity, attr, value] = m;
      if (!attributes.includes(attr)) attributes.push(attr);
      const row = byEntity.get(entity) ?? new Map<string, string>();
      if (row.has(attr)) throw new DataError(file, i + 1, `${entity} has ${attr} twice`);
      row.set(attr, value);
      byEntity.set(entity, row);
      if (!firstLine.has(entity)) firstLine.set(entity, i + 1);
    }
    if (byEntity.size === 0) throw new DataError(file, 1, "no entities in file");
    const rows: string[][] = [];
    for (const [entity, row] of byEntity) {
      const missing = attributes.find((a) => !row.has(a));
      if (missing) throw new DataError(file, firstLine.get(entity)!, `${entity} has no ${missing}`);
      rows.push([entity, ...attributes.map((a) => row.get(a)!)]);
    }
    return new KnowledgeBase(attributes, rows);
  }

  /** Entity word -> type (`R_cuisine` -> "cuisine", ...): what the match-type features use. */
  entityTypes(): Map<string, string> {
    const out = new Map<string, string>();
    for (const row of this.rows) {
      this.attributes.forEach((attr, i) => {
        const type = attr.toLowerCase().replace(/^r_/, "");
        for (const w of dialogTokens(row[i + 1])) if (!out.has(w)) out.set(w, type);
      });
    }
    return out;
  }

  /**
   * The API result lines (`entity R_attribute value`) answering an `api_call cuisine location party price`
   * (tokens), or null when the tokens are not such a call.
   */
  lookup(call: string[]): string[] | null {
    if (!this.answers(call)) return null;
    const cols = this.callCols!;
    const rating = this.col.get("R_rating");
    const found = this.rows.filter((row) => cols.every((c, i) => row[c].toLowerCase() === call[i + 1]));
    const ranked = found
      .map((row, i) => ({ row, i, r: rating ? Number(row[rating]) : 0 }))
      .sort((a, b) => b.r - a.r || a.i - b.i);
    return ranked.flatMap(({ row }) => this.resultCols.map(([a, c]) => `${row[0]} ${a} ${row[c]}`));
  }
}

/** Entity word -> type (`R_cuisine` -> "cuisine", ...) from a knowledge base file. */
export function parseKnowledgeBase(text: string, file: string): Map<string, string> {
  return KnowledgeBase.parse(text, file).entityTypes();
}

/**
 * The dialogs with the API results the file gives replaced by the knowledge base's answer to the call
 * before them: how a bot that books by itself sees its conversations. (Calls the user interrupts, which the
 * file gives no results for, get none here either.)
 */
export function withKbResults(dialogs: Dialog[], kb: KnowledgeBase): Dialog[] {
  return dialogs.map((d) => {
    const lines: DialogLine[] = [];
    d.lines.forEach((l, i) => {
      if (l.kind === "result") return;
      lines.push(l);
      const next = d.lines[i + 1];
      if (l.bot[0] !== "api_call" || next?.kind !== "result") return;
      for (const r of kb.lookup(l.bot) ?? []) {
        lines.push({ kind: "result", line: next.line, tokens: dialogTokens(r) });
      }
    });
    return { line: d.line, lines };
  });
}
