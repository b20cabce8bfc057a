// How language models do on what a person types: each target of the first lines of the validation text scored
// with only its own sentence in memory (an <eos>, then the words before it in the line), as `lm next` and the
// page read a prompt. Training draws its targets where the memory is full, so a short memory is a case the
// model never met; this measures how far each model carries over to it, to choose the one to ship.
//
//   node --import tsx tools/lm/sentence-context.ts [--lines 200] [--data ../shared/data/ptb] MODEL...
//
// MODEL: a shipped name (ptb) or a .safetensors file. Prints, per model, the perplexity of those targets, how
// often its likeliest word is the target, and how often its likeliest word is <unk>.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadLM } from "../../src/api/lm.js";
import { lmForwardRow, lmWindow } from "../../src/model/lm.js";

const { values, positionals } = parseArgs({
  options: {
    lines: { type: "string", default: "200" },
    data: { type: "string", default: "../shared/data/ptb" },
  },
  allowPositionals: true,
});
if (positionals.length === 0) {
  console.error("usage: sentence-context.ts [--lines N] [--data DIR] MODEL...");
  process.exit(2);
}
const lines = readFileSync(join(values.data!, "ptb.valid.txt"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .slice(0, Number(values.lines));
for (const name of positionals) {
  const file = existsSync(name) ? name : join(import.meta.dirname, "../../models", `${name}.safetensors`);
  const m = loadLM(readFileSync(file), file);
  const p = m.file.params;
  const index = new Map(m.vocab.words.map((w, i) => [w, i]));
  const unk = index.get("<unk>")!;
  let nll = 0;
  let n = 0;
  let right = 0;
  let unkFirst = 0;
  for (const line of lines) {
    // id 0 is <eos>: the line starts after one and ends with one
    const ids = Int32Array.from([
      0,
      ...line
        .trim()
        .split(/\s+/)
        .map((w) => index.get(w) ?? unk),
      0,
    ]);
    for (let t = 1; t < ids.length; t++) {
      const { ctx, lo } = lmWindow(ids, t, p.memory);
      const probs = lmForwardRow(p, ctx, lo, 0).probs;
      let best = 0;
      for (let v = 1; v < probs.length; v++) if (probs[v] > probs[best]) best = v;
      nll -= Math.log(probs[ids[t]]);
      n++;
      if (best === ids[t]) right++;
      if (best === unk) unkFirst++;
    }
  }
  console.log(
    `${name} (${p.hops} hops, memory ${p.memory}): ${n} targets of ${lines.length} lines, perplexity ${Math.exp(nll / n).toFixed(1)}, ` +
      `likeliest word right ${((100 * right) / n).toFixed(1)}%, <unk> likeliest ${((100 * unkFirst) / n).toFixed(1)}%`,
  );
}
