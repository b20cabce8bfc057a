// What a command loads to start: the HTTP stack, Redis, the metrics, the charts and tar load only in the
// commands that use them, so `memn2n ask` does not pay for `serve`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cliArgs, ROOT, withTmpDir } from "./helpers.js";

const HEAVY = ["fastify", "ioredis", "prom-client", "@observablehq/plot", "linkedom", "tar"];

function packagesOf(dir: string, name: string, args: string[]): Set<string> {
  const record = join(dir, `${name}.txt`);
  const r = spawnSync(
    process.execPath,
    ["--import", join(ROOT, "tests", "record-packages.mjs"), ...cliArgs(...args)],
    { encoding: "utf8", cwd: ROOT, env: { ...process.env, MEMN2N_RECORD_PACKAGES: record } },
  );
  assert.equal(r.status, 0, r.stderr);
  return new Set(existsSync(record) ? readFileSync(record, "utf8").trim().split("\n") : []);
}

test("startup: ask, lm next, serve --help and --version load none of serve's, the charts' or download's packages", () => {
  withTmpDir((dir) => {
    const runs: [string, string[]][] = [
      ["version", ["--version"]],
      ["ask", ["ask", "--story", "examples/story.txt", "Where is Mary?"]],
      ["lm-next", ["lm", "next", "the stock market"]],
      ["serve-help", ["serve", "--help"]],
    ];
    for (const [name, args] of runs) {
      const loaded = packagesOf(dir, name, args);
      // the recorder sees the packages the CLI does need
      assert.ok(loaded.has("commander"), `${name}: ${[...loaded]}`);
      assert.deepEqual(
        HEAVY.filter((p) => loaded.has(p)),
        [],
        name,
      );
    }
  });
});
