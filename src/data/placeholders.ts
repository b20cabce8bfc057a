// Restaurants as placeholders ranked by rating. A restaurant's name (and its phone, address, ... which are
// the name with a suffix) is a word the model has seen only if that restaurant occurs in the training
// dialogs, and only 322 of the knowledge base's 1,200 do: the others cannot be proposed. Rewritten into
// `resto@1` (the best-rated restaurant of the conversation's API results), `resto@1_phone`, `resto@2`, ...
// before the model sees a conversation, and back in its replies, every restaurant is one the model knows,
// and "propose the best one first, then the next" is what the data's bot does.

import type { Dialog, DialogLine } from "./dialog.js";

export const PLACEHOLDER = "resto@";
/** A placeholder word: its rank, and what follows the restaurant's name (`_phone`, ...). */
const PLACEHOLDER_WORD = /^resto@(\d+)(_\w+)?$/;

/** The rank a placeholder word names (`resto@3_phone`: 3), or 0 for any other word. */
export function placeholderRank(word: string): number {
  const m = PLACEHOLDER_WORD.exec(word);
  return m ? Number(m[1]) : 0;
}
const RATING = "r_rating";

/** A conversation's restaurants and their ranks, from its API result lines (tokens: entity r_attr value). */
export class Placeholders {
  private readonly toRank = new Map<string, number>();
  private readonly names: string[] = [];

  constructor(results: string[][]) {
    const rating = new Map<string, number>();
    const order: string[] = [];
    for (const r of results) {
      if (r.length < 3) continue;
      const entity = r[0];
      if (!rating.has(entity)) {
        order.push(entity);
        rating.set(entity, Number.NEGATIVE_INFINITY);
      }
      if (r[1] === RATING && Number.isFinite(Number(r[2]))) rating.set(entity, Number(r[2]));
    }
    const ranked = order.map((e, i) => ({ e, i, r: rating.get(e)! })).sort((a, b) => b.r - a.r || a.i - b.i);
    ranked.forEach(({ e }, k) => {
      this.toRank.set(e, k + 1);
      this.names.push(e);
    });
  }

  get size(): number {
    return this.names.length;
  }

  /** A word as the model sees it: a restaurant (or its name plus a suffix) becomes its placeholder. */
  toModel(word: string): string {
    const r = splitName(word, (w) => this.toRank.has(w));
    return r ? `${PLACEHOLDER}${this.toRank.get(r.name)}${r.suffix}` : word;
  }

  /** A word of the model's reply as the user sees it; null for a placeholder no restaurant holds. */
  fromModel(word: string): string | null {
    const m = PLACEHOLDER_WORD.exec(word);
    if (!m) return word;
    const name = this.names[Number(m[1]) - 1];
    return name === undefined ? null : name + (m[2] ?? "");
  }
}

/** The API result lines of a dialog, as token lists. */
function resultsOf(lines: DialogLine[]): string[][] {
  return lines.flatMap((l) => (l.kind === "result" ? [l.tokens] : []));
}

/** A dialog with its restaurants rewritten into placeholders (ranked over all of its API results). */
export function toPlaceholders(d: Dialog): Dialog {
  const p = new Placeholders(resultsOf(d.lines));
  const map = (ws: string[]) => ws.map((w) => p.toModel(w));
  return {
    line: d.line,
    lines: d.lines.map((l) =>
      l.kind === "result" ? { ...l, tokens: map(l.tokens) } : { ...l, user: map(l.user), bot: map(l.bot) },
    ),
  };
}

/**
 * The dialog without the API results of the restaurants its bot never names (the lowest-rated ones, since
 * the bot proposes best first), or null when it names them all. The data's API calls return three to six
 * restaurants, while most of the knowledge base's calls return one or two: these copies teach the model
 * the shorter lists.
 */
export function withoutUnnamed(d: Dialog): Dialog | null {
  const said = new Set(d.lines.flatMap((l) => (l.kind === "turn" ? l.bot : [])));
  const named = (entity: string) => [...said].some((w) => w === entity || w.startsWith(`${entity}_`));
  const lines = d.lines.filter((l) => l.kind !== "result" || named(l.tokens[0]));
  return lines.length < d.lines.length && lines.some((l) => l.kind === "result") ? { ...d, lines } : null;
}

/** How many restaurants the API results of a dialog name at most. */
export function mostRestaurants(dialogs: Dialog[]): number {
  let most = 0;
  for (const d of dialogs) most = Math.max(most, new Placeholders(resultsOf(d.lines)).size);
  return most;
}

/**
 * The candidate responses for a placeholder model: each candidate that names one restaurant (as in
 * `here it is resto_x_phone`) becomes one candidate per rank 1..ranks; the others stay as they are.
 * `restaurants` are the known restaurant names (the knowledge base's, or those the dialogs' results name).
 */
export function placeholderCandidates(
  candidates: string[][],
  restaurants: Set<string>,
  ranks: number,
): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const add = (c: string[]) => {
    const key = c.join(" ");
    if (seen.has(key)) return;
    seen.add(key);
    out.push(c);
  };
  const templates: string[][] = [];
  for (const c of candidates) {
    const named = c.map((w) => restaurantOf(w, restaurants));
    const which = new Set(named.filter((n) => n !== null).map((n) => n!.name));
    if (which.size !== 1) {
      add(c);
      continue;
    }
    templates.push(c.map((w, i) => (named[i] ? `${PLACEHOLDER}{k}${named[i]!.suffix}` : w)));
  }
  for (const t of templates) {
    for (let k = 1; k <= ranks; k++) add(t.map((w) => w.replace("{k}", String(k))));
  }
  return out;
}

/** The placeholder forms of the entity words, with the type of the word they stand for (match types). */
export function placeholderEntities(
  entities: Map<string, string>,
  restaurants: Set<string>,
  ranks: number,
): Map<string, string> {
  const out = new Map(entities);
  for (const [word, type] of entities) {
    const r = restaurantOf(word, restaurants);
    if (!r || r.suffix === "") continue;
    for (let k = 1; k <= ranks; k++) out.set(`${PLACEHOLDER}${k}${r.suffix}`, type);
  }
  return out;
}

function restaurantOf(word: string, restaurants: Set<string>): { name: string; suffix: string } | null {
  return splitName(word, (w) => restaurants.has(w));
}

/** A restaurant's name and what follows it (`_phone`, `_post_code`, or nothing), longest name first. */
function splitName(word: string, isName: (w: string) => boolean): { name: string; suffix: string } | null {
  if (isName(word)) return { name: word, suffix: "" };
  for (let cut = word.lastIndexOf("_"); cut > 0; cut = word.lastIndexOf("_", cut - 1)) {
    if (isName(word.slice(0, cut))) return { name: word.slice(0, cut), suffix: word.slice(cut) };
  }
  return null;
}
