// The core must run unchanged in a browser: nothing under these folders may import a Node API.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./helpers.js";

const CORE = ["text", "data", "model", "train", "eval", "api", "util"];
const NODE_IMPORT =
  /(?:from\s+|import\s*\(\s*|require\s*\(\s*)["'](node:[^"']+|fs|path|os|child_process|worker_threads|process|url|http|crypto|stream|zlib)["']/;

function files(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out = out.concat(files(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

test("core folders import no Node API and use no process global", () => {
  const offenders: string[] = [];
  for (const layer of CORE) {
    let list: string[] = [];
    try {
      list = files(join(ROOT, "src", layer));
    } catch {
      continue;
    }
    for (const f of list) {
      const src = readFileSync(f, "utf8");
      if (NODE_IMPORT.test(src) || /\bprocess\.|\bBuffer\./.test(src)) offenders.push(f);
    }
  }
  assert.deepEqual(offenders, []);
});

test("the checker itself catches a Node import", () => {
  assert.ok(NODE_IMPORT.test('import { readFileSync } from "node:fs";'));
  assert.ok(NODE_IMPORT.test("import fs from 'fs';"));
  assert.ok(!NODE_IMPORT.test('import { Vocab } from "../text/vocab.js";'));
});

test("the page imports the core through its public face only, and holds no copy of it", () => {
  const offenders: string[] = [];
  for (const f of files(join(ROOT, "web", "src"))) {
    const src = readFileSync(f, "utf8");
    for (const m of src.matchAll(/from\s+["']([^"']+)["']/g)) {
      const spec = m[1];
      if (spec.startsWith("../") && spec !== "../../src/index.js") offenders.push(`${f}: ${spec}`);
    }
    // The model's maths lives in src/model; the page has none of its own.
    if (/\b(softmax|backward|forwardExample)\s*\(/.test(src)) offenders.push(`${f}: model code`);
  }
  assert.deepEqual(offenders, []);
});
