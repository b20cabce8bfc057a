// `memn2n babi` on a small slice: every (task, seed) run, the chosen run per task, and the three result files.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BABI_EN, runCli, withTmpDir } from "./helpers.js";

test("babi sweeps tasks and seeds and writes JSON, Markdown and SVG beside the paper's figures", () => {
  withTmpDir((dir) => {
    for (const f of ["qa1_single-supporting-fact", "qa20_agents-motivations"]) {
      for (const part of ["train", "test"]) {
        const text = readFileSync(join(BABI_EN, `${f}_${part}.txt`), "utf8")
          .split("\n")
          .slice(0, 1200)
          .join("\n");
        writeFileSync(join(dir, `${f}_${part}.txt`), `${text}\n`);
      }
    }
    const out = join(dir, "res", "sweep");
    const r = runCli([
      "babi",
      "--tasks",
      "1,3,20",
      "--data",
      dir,
      "--repeats",
      "2",
      "--epochs",
      "3",
      "--ls-epochs",
      "1",
      "--out",
      out,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = r.json as {
      tasks: { task: number; paper: number; seed: number }[];
      skipped: { task: number }[];
    };
    assert.deepEqual(
      j.tasks.map((t) => t.task),
      [1, 20],
    );
    assert.deepEqual(
      j.skipped.map((s) => s.task),
      [3],
    );
    assert.equal(j.tasks[0].paper, 0.0);
    const full = JSON.parse(readFileSync(`${out}.json`, "utf8"));
    assert.equal(full.runs.length, 4);
    assert.ok(full.runs.every((x: { seed: number }) => x.seed === 1 || x.seed === 2));
    const md = readFileSync(`${out}.md`, "utf8");
    assert.match(md, /\| 1 \| single-supporting-fact \| [\d.]+ \| 0\.0 \| [12] \|/);
    assert.match(md, /\| 3 \| three-supporting-facts \| skipped/);
    assert.match(md, /Command: `memn2n babi --tasks 1,3,20/);
    assert.match(readFileSync(`${out}.svg`, "utf8"), /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });
});
