// The docs' library example, run as written (with "memn2n" pointing at this checkout's source), and the
// README's quick start.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, runCli, withTmpDir } from "./helpers.js";

test("the library example of docs/library.md runs and answers", () => {
  const readme = readFileSync(join(ROOT, "docs", "library.md"), "utf8");
  const block = /## Library[\s\S]*?```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "docs/library.md has a js example under ## Library");
  const code = block[1].replace('from "memn2n"', `from ${JSON.stringify(join(ROOT, "src", "index.ts"))}`);
  withTmpDir((dir) => {
    const file = join(dir, "example.mts");
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ["--import", "tsx", file], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^office 0\.\d\d|^office 1\.00/);
    const lastHop = lines[1].split(" ").map(Number);
    assert.equal(lastHop.indexOf(Math.max(...lastHop)), 2);
    assert.equal(lines[2], "hallway");
  });
});

test("the README's quick start answers from the shipped model, as it says", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "README has a sh block under ## Quick start");
  const first = block[1].split("\n")[0];
  const m = /^npm ci && npx memn2n (.*?)\s+# .*: (\w+)$/.exec(first);
  assert.ok(m, first);
  const args = m[1].match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"|"$/g, ""));
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^answer: ${m[2]} `));
  assert.equal(block[1].split("\n")[1].split("#")[0].trim(), "npm test");
});
