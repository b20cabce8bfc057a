// The knowledge-base lookup against the data's own dialogs, and the restaurant placeholders.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseCandidates, parseDialogs } from "../src/data/dialog.js";
import { DataError } from "../src/data/errors.js";
import { KnowledgeBase, withKbResults } from "../src/data/kb.js";
import {
  Placeholders,
  placeholderCandidates,
  toPlaceholders,
  withoutUnnamed,
} from "../src/data/placeholders.js";
import { SHARED_DATA } from "./helpers.js";

const DIR = join(SHARED_DATA, "dialog-babi");
const kb = KnowledgeBase.parse(readFileSync(join(DIR, "dialog-babi-kb-all.txt"), "utf8"), "kb.txt");
const trn = parseDialogs(
  readFileSync(join(DIR, "dialog-babi-task5-full-dialogs-trn.txt"), "utf8"),
  "trn.txt",
);

test("kb: every restaurant with its seven attributes", () => {
  assert.equal(kb.rows.length, 1200);
  assert.deepEqual(kb.attributes, [
    "R_cuisine",
    "R_location",
    "R_price",
    "R_rating",
    "R_phone",
    "R_address",
    "R_number",
  ]);
  assert.equal(kb.entityTypes().get("italian"), "cuisine");
  assert.throws(() => KnowledgeBase.parse("1 resto R_cuisine italian\n", "kb.txt"), /kb\.txt:1: expected/);
  assert.throws(
    () => KnowledgeBase.parse("1 a R_cuisine\tthai\n1 a R_price\tcheap\n1 b R_cuisine\tthai\n", "kb.txt"),
    (e: unknown) => e instanceof DataError && e.message === "kb.txt:3: b has no R_price",
  );
});

test("kb: the lookup returns what the training dialogs' API results hold, best rating first", () => {
  let calls = 0;
  for (const d of trn) {
    const i = d.lines.findIndex(
      (l, j) => l.kind === "turn" && l.bot[0] === "api_call" && d.lines[j + 1]?.kind === "result",
    );
    if (i < 0) continue;
    const call = d.lines[i];
    assert.ok(call.kind === "turn");
    const file = d.lines
      .slice(i + 1)
      .filter((l) => l.kind === "result")
      .map((l) => (l.kind === "result" ? l.tokens.join(" ") : ""));
    const looked = kb.lookup(call.bot)!.map((l) => l.toLowerCase());
    assert.deepEqual([...looked].sort(), [...file].sort(), `dialog at line ${d.line}`);
    // Each restaurant's lines in the data's order, restaurants by rating.
    const names = [...new Set(looked.map((l) => l.split(" ")[0]))];
    for (const n of names) {
      const own = (ls: string[]) => ls.filter((l) => l.startsWith(`${n} `));
      assert.deepEqual(own(looked), own(file));
    }
    const ratings = names.map((n) =>
      Number(looked.find((l) => l.startsWith(`${n} r_rating`))!.split(" ")[2]),
    );
    assert.deepEqual(
      ratings,
      [...ratings].sort((a, b) => b - a),
    );
    calls++;
  }
  assert.equal(calls, 1000);
  assert.equal(kb.lookup(["api_call", "italian"]), null);
  assert.deepEqual(kb.lookup(["api_call", "martian", "paris", "six", "cheap"]), []);
});

test("kb: replayed dialogs keep their turns and get the lookup's results where the file had results", () => {
  const replayed = withKbResults(trn.slice(0, 50), kb);
  replayed.forEach((d, i) => {
    const turns = (x: typeof d) => x.lines.filter((l) => l.kind === "turn");
    assert.deepEqual(turns(d), turns(trn[i]));
    const results = (x: typeof d) =>
      x.lines
        .filter((l) => l.kind === "result")
        .map((l) => (l.kind === "result" ? l.tokens.join(" ") : ""))
        .sort();
    assert.deepEqual(results(d), results(trn[i]));
  });
});

test("placeholders: restaurants ranked by rating, their phone and address with them", () => {
  const p = new Placeholders([
    ["resto_a_2stars", "r_rating", "2"],
    ["resto_b_7stars", "r_phone", "resto_b_7stars_phone"],
    ["resto_b_7stars", "r_rating", "7"],
    ["resto_c_5stars", "r_rating", "5"],
  ]);
  assert.equal(p.toModel("resto_b_7stars"), "resto@1");
  assert.equal(p.toModel("resto_c_5stars_address"), "resto@2_address");
  assert.equal(p.toModel("resto_a_2stars"), "resto@3");
  assert.equal(p.toModel("paris"), "paris");
  assert.equal(p.fromModel("resto@2_phone"), "resto_c_5stars_phone");
  assert.equal(p.fromModel("resto@4"), null);
  assert.equal(p.fromModel("italian"), "italian");
});

test("placeholders: a dialog and the candidates rewritten, one candidate per rank", () => {
  const d = toPlaceholders(trn[0]);
  const bot = d.lines.flatMap((l) => (l.kind === "turn" ? [l.bot.join(" ")] : []));
  assert.ok(bot.includes("what do you think of this option: resto@1"), bot.join("\n"));
  assert.ok(!d.lines.some((l) => (l.kind === "turn" ? l.bot : l.tokens).some((w) => /^resto_/.test(w))));
  const cands = parseCandidates(readFileSync(join(DIR, "dialog-babi-candidates.txt"), "utf8"), "c.txt");
  const names = new Set(kb.rows.map((r) => r[0]));
  const out = placeholderCandidates(cands, names, 6).map((c) => c.join(" "));
  const named = cands.filter((c) =>
    c.some((w) => names.has(w) || names.has(w.replace(/_(phone|address)$/, ""))),
  );
  assert.equal(out.length, cands.length - named.length + 3 * 6);
  for (let k = 1; k <= 6; k++) {
    for (const c of [
      `what do you think of this option: resto@${k}`,
      `here it is resto@${k}_phone`,
      `here it is resto@${k}_address`,
    ]) {
      assert.ok(out.includes(c), c);
    }
  }
});

test("placeholders: a copy of a dialog without the restaurants its bot never names", () => {
  // trn[0]: three restaurants, all proposed; trn[1]: the bot's first proposal is taken... find both kinds.
  const names = (d: (typeof trn)[number]) =>
    new Set(d.lines.flatMap((l) => (l.kind === "result" ? [l.tokens[0]] : [])));
  let shorter = 0;
  for (const d of trn.slice(0, 100)) {
    const w = withoutUnnamed(d);
    if (!w) continue;
    shorter++;
    const said = d.lines.flatMap((l) => (l.kind === "turn" ? l.bot : [])).join(" ");
    assert.ok(names(w).size < names(d).size);
    for (const n of names(w)) assert.ok(said.includes(n), `${n} is named by the bot`);
    for (const n of names(d)) if (!names(w).has(n)) assert.ok(!said.includes(n), `${n} is never named`);
    assert.deepEqual(
      w.lines.filter((l) => l.kind === "turn"),
      d.lines.filter((l) => l.kind === "turn"),
    );
  }
  assert.ok(shorter > 20, `${shorter} of 100`);
});
