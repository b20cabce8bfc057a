// A seeded fuzzer: mutated bAbI files, model files and command lines. Every outcome must be success or one
// `error:` line naming the file and line (or the field) with a non-zero exit: never a stack trace, a hang,
// NaN output or a half-written file.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/api/model.js";
import { train } from "../src/api/train.js";
import { main } from "../src/cli/main.js";
import { parseBabi } from "../src/data/babi.js";
import { decodeUtf8 } from "../src/data/decode.js";
import { isResultLine, parseCandidates, parseDialogs } from "../src/data/dialog.js";
import { DataError } from "../src/data/errors.js";
import { modelFromText, modelToSafetensors } from "../src/model/file.js";
import { Rng } from "../src/util/random.js";
import { BABI_EN, safetensorsHeader, withSafetensorsHeader, withTmpDirAsync } from "./helpers.js";

const rng = new Rng(20261124);
const SEED_TEXT = readFileSync(join(BABI_EN, "qa1_single-supporting-fact_train.txt"), "utf8")
  .split("\n")
  .slice(0, 60)
  .join("\n");
const ALPHABET = ["\t", "\n", " ", "?", ".", "0", "1", "9", "-", "x", ",", "\r", "\u00e9"];

function mutateText(text: string): Uint8Array {
  let bytes = Buffer.from(text);
  const steps = 1 + rng.int(4);
  for (let s = 0; s < steps; s++) {
    const at = rng.int(Math.max(1, bytes.length));
    switch (rng.int(8)) {
      case 0:
        bytes[at] ^= 1 << rng.int(8);
        break;
      case 1:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([rng.int(256)]), bytes.subarray(at)]);
        break;
      case 2:
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from(ALPHABET[rng.int(ALPHABET.length)]),
          bytes.subarray(at),
        ]);
        break;
      case 3:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + rng.int(20))]);
        break;
      case 4:
        bytes = bytes.subarray(0, at);
        break;
      default: {
        const lines = bytes.toString("latin1").split("\n");
        const i = rng.int(lines.length);
        const j = rng.int(lines.length);
        if (rng.int(2)) [lines[i], lines[j]] = [lines[j], lines[i]];
        else lines.splice(i, 0, lines[j]);
        bytes = Buffer.from(lines.join("\n"), "latin1");
      }
    }
  }
  return bytes;
}

function mutateJson(value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) {
    const a = value.slice();
    if (a.length > 0 && rng.int(3) === 0) a[rng.int(a.length)] = mutateJson(a[rng.int(a.length)], depth + 1);
    else if (rng.int(2)) a.splice(rng.int(a.length + 1), 1);
    else a.push(pick([1e308, -1e308, "x", null, 0.5, 1e6, [], {}]));
    return a;
  }
  if (value && typeof value === "object") {
    const o: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(o);
    const k = keys[rng.int(keys.length)];
    const r = rng.int(4);
    if (r === 0) delete o[k];
    else if (r === 1) o[k] = pick([null, "oops", -1, 0, 1.5, true, [], {}, 1e300]);
    else o[k] = mutateJson(o[k], depth + 1);
    return o;
  }
  return pick([null, "oops", -1, 0, 1.5, true, 2 ** 31, 1e300, "pe", "adjacent"]);
}

function pick<T>(xs: T[]): T {
  return xs[rng.int(xs.length)];
}

function isOneLineDataError(e: unknown, file: string): boolean {
  return (
    e instanceof DataError &&
    e.message.startsWith(`${file}:`) &&
    !e.message.includes("\n") &&
    (e.line === null || (Number.isInteger(e.line) && e.line >= 1))
  );
}

test("fuzz: readers, model files and the command line", async (t) => {
  let tried = 0;

  // 1. bAbI files: parse, or a DataError at file:line.
  for (let i = 0; i < 700; i++) {
    const bytes = mutateText(SEED_TEXT);
    try {
      const f = parseBabi(decodeUtf8(bytes, "f.txt"), "f.txt");
      assert.ok(f.examples.every((e) => e.answer.length > 0 && e.question.length > 0));
    } catch (e) {
      assert.ok(isOneLineDataError(e, "f.txt"), `unexpected: ${(e as Error).stack}`);
    }
    tried++;
  }

  // 1b. Dialog files: parse (every line a turn or an API result of the data's shape), or a DataError at
  // file:line; the seeds hold turns, API results and `api_call no result`, mutated as text.
  const DIALOG_SEED =
    "1 hello\thello what can i help you with today\n2 <SILENCE>\tapi_call italian paris six cheap\n" +
    "3 resto_a R_rating 4\n4 resto_a R_phone resto_a_phone\n5 api_call no result\n6 ok\tyou're welcome\n\n" +
    "1 hi\thello what can i help you with today\n";
  for (let i = 0; i < 300; i++) {
    const bytes = mutateText(DIALOG_SEED);
    try {
      const ds = parseDialogs(decodeUtf8(bytes, "d.txt"), "d.txt");
      for (const d of ds) {
        for (const l of d.lines) {
          if (l.kind === "result") assert.ok(isResultLine(l.tokens), l.tokens.join(" "));
          else assert.ok(l.bot.length > 0 && l.user.length > 0);
        }
      }
    } catch (e) {
      assert.ok(isOneLineDataError(e, "d.txt"), `unexpected: ${(e as Error).stack}`);
    }
    tried++;
  }

  // 1c. Size bounds: lines and sentences of random lengths against random limits, in bAbI and dialog files.
  // Parsed files keep within the limits; anything over is a DataError at file:line naming the option.
  for (let i = 0; i < 200; i++) {
    const limits = {
      maxLineChars: 20 + rng.int(400),
      maxSentenceWords: 1 + rng.int(40),
      maxVocab: 1000,
      maxCandidates: 1 + rng.int(5),
      maxStoryLines: 1 + rng.int(3),
    };
    const words = (n: number) => Array.from({ length: n }, (_, k) => `w${k % 7}`).join(" ");
    const n = rng.int(60);
    const babi = `1 Mary ${words(n)}.\n2 Where is Mary?\tw1\t1\n`;
    const dialog = `1 ${words(n)}\thello there\n2 <SILENCE>\t${words(1 + rng.int(60))}\n`;
    const cands = Array.from({ length: 1 + rng.int(8) }, (_, k) => `1 reply ${k} ${words(rng.int(50))}`).join(
      "\n",
    );
    for (const [file, parse] of [
      ["b.txt", () => parseBabi(babi, "b.txt", limits)],
      ["d.txt", () => parseDialogs(dialog, "d.txt", limits)],
      ["c.txt", () => parseCandidates(cands, "c.txt", limits)],
    ] as const) {
      try {
        parse();
        const text = file === "b.txt" ? babi : file === "d.txt" ? dialog : cands;
        assert.ok(text.split("\n").every((l) => l.length <= limits.maxLineChars));
      } catch (e) {
        assert.ok(isOneLineDataError(e, file), `unexpected: ${(e as Error).stack}`);
        assert.match(
          (e as Error).message,
          /--max-(line-chars|sentence-words|candidates|story-lines) raises it/,
        );
      }
      tried++;
    }
  }

  // 2. Model files: load and answer with finite numbers, or a DataError naming the field.
  const { model } = train({ train: SEED_TEXT, config: { epochs: 2, linearStart: false, dim: 6, hops: 2 } });
  const good = model.toJSON();
  for (let i = 0; i < 300; i++) {
    const mutated = rng.int(5) === 0 ? mutateText(JSON.stringify(good)).toString() : mutateJson(good);
    try {
      const m = loadModel(mutated as object | string, "m.json");
      const a = m.answer(["Mary went to the kitchen."], "Where is Mary?");
      assert.ok(Number.isFinite(a.probability) && a.attention.flat().every(Number.isFinite));
    } catch (e) {
      const ok = isOneLineDataError(e, "m.json") || isOneLineDataError(e, "model");
      assert.ok(ok, `unexpected: ${(e as Error).stack}`);
    }
    tried++;
  }

  // 2b. safetensors model files: bytes flipped, inserted, cut; the header length, offsets, dtypes, tensors and
  // metadata mutated. Load and answer, or a DataError naming the field.
  const goodSt = modelToSafetensors(modelFromText(good, "good"));
  const { header, dataStart } = safetensorsHeader(goodSt);
  const n = dataStart - 8;
  const reheader = withSafetensorsHeader;
  for (let i = 0; i < 300; i++) {
    let bytes: Uint8Array;
    const kind = rng.int(4);
    if (kind === 0) bytes = mutateText(Buffer.from(goodSt).toString("latin1"));
    else if (kind === 1) {
      bytes = goodSt.slice();
      new DataView(bytes.buffer).setBigUint64(
        0,
        BigInt(pick([0, 1, n - 1, n + 1, goodSt.length, 2 ** 40, 2 ** 53])),
        true,
      );
    } else {
      const h = mutateJson(header) as Record<string, unknown>;
      if (kind === 3 && h && typeof h === "object") {
        const meta = { ...(header.__metadata__ as Record<string, string>) };
        const keys = Object.keys(meta);
        const k = keys[rng.int(keys.length)];
        meta[k] = rng.int(2)
          ? JSON.stringify(mutateJson(JSON.parse(meta[k] === "memn2n-model" ? '"x"' : meta[k])))
          : "{";
        h.__metadata__ = meta;
      }
      bytes = reheader(
        h,
        goodSt.subarray(8 + n, 8 + n + (rng.int(3) === 0 ? rng.int(goodSt.length) : goodSt.length)),
      );
    }
    try {
      const m = loadModel(bytes, "m.safetensors");
      const a = m.answer(["Mary went to the kitchen."], "Where is Mary?");
      assert.ok(Number.isFinite(a.probability) && a.attention.flat().every(Number.isFinite));
    } catch (e) {
      assert.ok(isOneLineDataError(e, "m.safetensors"), `unexpected: ${(e as Error).stack}`);
    }
    tried++;
  }

  // 3. The CLI in-process: mutated data files and argument lists.
  await withTmpDirAsync(async (dir) => {
    const data = join(dir, "data");
    mkdirSync(data);
    const out = join(dir, "out");
    mkdirSync(out);
    writeFileSync(join(out, "m.json"), JSON.stringify(good));
    writeFileSync(join(out, "m.safetensors"), goodSt);
    const pool = [
      ["data", "stats"],
      ["train", "--task", "1", "--epochs", "1", "--ls-epochs", "1", "--out", join(out, "t.json")],
      ["test", "--model", join(out, "m.json")],
      ["--data", data],
      ["--tasks", "1"],
      ["--task", pick(["1", "0", "x", "1-3", ""])],
      ["--hops", pick(["0", "2", "-1", "x", "1e3"])],
      ["--dim", pick(["4", "0", "nan"])],
      ["--encoding", pick(["pe", "bow", "rnn"])],
      ["--json"],
      ["--set", pick(["en", "nope"])],
      ["--lr", pick(["0.01", "-1", "inf", "NaN"])],
      ["--frobnicate"],
      [
        "--model",
        pick([
          join(out, "m.json"),
          join(out, "m.safetensors"),
          join(dir, "missing.json"),
          join(data, "qa1_x_train.txt"),
          "no-such-shipped-model",
        ]),
      ],
    ];
    for (let i = 0; i < 160; i++) {
      writeFileSync(join(data, "qa1_x_train.txt"), mutateText(SEED_TEXT));
      writeFileSync(join(data, "qa1_x_test.txt"), i % 3 === 0 ? mutateText(SEED_TEXT) : SEED_TEXT);
      const argv = [...pool[rng.int(3)], "--data", data];
      const extra = 1 + rng.int(3);
      for (let k = 0; k < extra; k++) argv.push(...pool[3 + rng.int(pool.length - 3)]);
      if (rng.int(4) === 0) argv.splice(rng.int(argv.length), 1);
      const r = await runInProcess(argv);
      if (r.code === 0) {
        assert.ok(!/\bNaN\b/.test(r.stdout), `NaN in output of ${argv.join(" ")}`);
      } else {
        const errLines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
        assert.equal(errLines.length, 1, `${argv.join(" ")}: ${r.stderr}`);
        assert.ok(!/\n\s+at /.test(r.stderr), `stack trace for ${argv.join(" ")}: ${r.stderr}`);
      }
      assert.deepEqual(
        readdirSync(out).filter((f) => f.includes(".tmp-")),
        [],
        "no half-written files",
      );
      tried++;
    }
  });

  t.diagnostic(`fuzz inputs tried: ${tried}`);
  console.log(`fuzz inputs tried: ${tried}`);
  assert.ok(tried >= 1000);
});

async function runInProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  const log = console.log;
  process.stdout.write = ((s: string) => {
    stdout += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    stderr += s;
    return true;
  }) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => {
    stdout += `${a.join(" ")}\n`;
  };
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    console.log = log;
  }
}
