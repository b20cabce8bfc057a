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

/** Whether a version meets an engines range of the forms packages use ("^20.19.0 || >=22", ">=18", "20"). */
function accepts(range: string, version: string): boolean {
  const v = version.replace(/^v/, "").split(".").map(Number);
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  return range
    .replace(/(>=|<=|>|<|\^|~|=)\s+/g, "$1")
    .split("||")
    .some((alt) =>
      alt
        .trim()
        .split(/\s+/)
        .filter((c) => c !== "")
        .every((c) => {
          const m = /^(>=|>|<=|<|\^|~|=)?\s*v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(c);
          if (!m) return c === "*";
          const want = [Number(m[2]), Number(m[3]) || 0, Number(m[4]) || 0];
          const op = m[1] ?? (m[3] === undefined ? "major" : "=");
          const d = cmp(v, want);
          if (op === ">=") return d >= 0;
          if (op === ">") return d > 0;
          if (op === "<=") return d <= 0;
          if (op === "<") return d < 0;
          if (op === "^" || op === "major") return v[0] === want[0] && d >= 0;
          if (op === "~") return v[0] === want[0] && v[1] === want[1] && d >= 0;
          return d === 0;
        }),
    );
}

test("every package a user installs runs on the Node the package declares (engines)", () => {
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
  assert.equal(root.engines.node, ">=20");
  assert.ok(accepts("^20.19.0 || >=22.12.0", "20.20.2") && !accepts(">=22", "20.20.2"), "the checker works");
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>;
  };
  const bad: string[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    const node = Array.isArray(p.engines) ? undefined : p.engines?.node;
    if (path === "" || p.dev || !node) continue;
    // each production package accepts this Node (CI's) and Node 20 as it ships today
    if (!accepts(node, process.version) || !accepts(node, "20.20.0")) bad.push(`${path} (node ${node})`);
  }
  assert.deepEqual(bad, []);
});
