// `memn2n download` against a local HTTP server on 127.0.0.1 serving archives built here: a good one, one
// corrupted in transit, and one whose file does not match the shipped checksum. Nothing half-written stays.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as tar from "tar";
import { BABI_EN, cliArgs, ROOT, withTmpDirAsync } from "./helpers.js";

const TRAIN = "qa1_single-supporting-fact_train.txt";
const TEST = "qa1_single-supporting-fact_test.txt";
const archives = new Map<string, Buffer>();
let server: Server;
let base: string;

before(async () => {
  const good = await buildInTmp(false);
  const badFile = await buildInTmp(true);
  const corrupted = Buffer.from(good);
  corrupted[corrupted.length >> 1] ^= 0xff;
  archives.set("/good.tgz", good);
  archives.set("/corrupted.tgz", corrupted);
  archives.set("/badfile.tgz", badFile);
  archives.set("/poison.tgz", await buildInTmp(false, true));
  archives.set("/zeros.tgz", await zeros());
  server = createServer((req, res) => {
    const body = archives.get(req.url ?? "");
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => server.close());

/** 12 MB that does not compress (tar itself refuses ratios over 1000; this one is under any such guard). */
function zeros(): Promise<Buffer> {
  return withTmpDirAsync(async (dir) => {
    const en = join(dir, "tasks_1-20_v1-2", "en");
    mkdirSync(en, { recursive: true });
    writeFileSync(join(en, TRAIN), randomBytes(12 * 2 ** 20));
    await tar.c({ gzip: true, cwd: dir, file: join(dir, "z.tgz") }, ["tasks_1-20_v1-2"]);
    return readFileSync(join(dir, "z.tgz"));
  });
}

function buildInTmp(corruptFile: boolean, poison = false): Promise<Buffer> {
  return withTmpDirAsync(async (dir) => {
    const en = join(dir, "tasks_1-20_v1-2", "en");
    mkdirSync(en, { recursive: true });
    copyFileSync(join(BABI_EN, TRAIN), join(en, TRAIN));
    copyFileSync(join(BABI_EN, TEST), join(en, TEST));
    if (corruptFile)
      writeFileSync(join(en, TRAIN), `${readFileSync(join(en, TRAIN), "utf8")}1 An extra line.\n`);
    writeFileSync(join(dir, "tasks_1-20_v1-2", "NOTES.txt"), "not in the checksum list\n");
    // a later-sorting file that claims task 1's training data
    if (poison)
      writeFileSync(join(en, "qa1_zz-poison_train.txt"), "1 Mary went home.\n2 Where is Mary?\thome\t1\n");
    await tar.c({ gzip: true, cwd: dir, file: join(dir, "a.tgz") }, ["tasks_1-20_v1-2"]);
    return readFileSync(join(dir, "a.tgz"));
  });
}

/** Runs the CLI asynchronously (the server lives in this process, so spawnSync would block it). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cliArgs(...args), {
      cwd: ROOT,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const lastLine = (s: string) => s.trimEnd().split("\n").pop() ?? "";
/** A checksum list naming just the two files the test archives hold (the package's names them all). */
const twoFiles = (dir: string) => {
  const path = join(dir, "two.sha256");
  const lines = readFileSync(join(ROOT, "checksums", "data.sha256"), "utf8")
    .split("\n")
    .filter((l) => l.endsWith(`/en/${TRAIN}`) || l.endsWith(`/en/${TEST}`));
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
};
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("downloads, checks every listed file and the archive, and unpacks into the cache", async () => {
  await withTmpDirAsync(async (cache) => {
    const good = archives.get("/good.tgz")!;
    const r = await cli([
      "download",
      "--cache",
      cache,
      "--url",
      `${base}/good.tgz`,
      "--sha256",
      sha(good),
      "--checksums",
      twoFiles(cache),
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(j.verified, 2);
    assert.deepEqual(j.dropped, ["babi/tasks_1-20_v1-2/NOTES.txt"]);
    assert.ok(
      !existsSync(join(cache, "babi", "tasks_1-20_v1-2", "NOTES.txt")),
      "an unlisted file is left out",
    );
    assert.match(r.stderr, /1 not listed there left out \(babi\/tasks_1-20_v1-2\/NOTES\.txt\)/);
    assert.equal(j.sha256, sha(good));
    assert.match(r.stderr, /downloaded 100%/);
    const dest = join(cache, "babi", "tasks_1-20_v1-2", "en", TRAIN);
    assert.deepEqual(readFileSync(dest), readFileSync(join(BABI_EN, TRAIN)));
    assert.deepEqual(readdirSync(cache).sort(), ["babi", "two.sha256"]);
    // The cache is one of the places the data is looked for.
    const s = await cli(["data", "stats", "--data", cache, "--tasks", "1", "--json"]);
    assert.equal(s.code, 0, s.stderr);
  });
});

test("an archive corrupted in transit fails its checksum and leaves nothing behind", async () => {
  await withTmpDirAsync(async (cache) => {
    const want = sha(archives.get("/good.tgz")!);
    const r = await cli(["download", "--cache", cache, "--url", `${base}/corrupted.tgz`, "--sha256", want]);
    assert.equal(r.code, 2);
    assert.match(
      lastLine(r.stderr),
      /^error: .*corrupted\.tgz: checksum mismatch: expected SHA-256 [0-9a-f]{64}, got [0-9a-f]{64}$/,
    );
    assert.deepEqual(readdirSync(cache), []);
  });
});

test("a file that differs from the shipped checksum list is refused, and the old data is kept", async () => {
  await withTmpDirAsync(async (cache) => {
    const list = twoFiles(cache);
    const ok = await cli(["download", "--cache", cache, "--url", `${base}/good.tgz`, "--checksums", list]);
    assert.equal(ok.code, 0, ok.stderr);
    const r = await cli(["download", "--cache", cache, "--url", `${base}/badfile.tgz`, "--checksums", list]);
    assert.equal(r.code, 2);
    assert.match(
      lastLine(r.stderr),
      /^error: babi\/tasks_1-20_v1-2\/en\/qa1_single-supporting-fact_train\.txt: checksum mismatch/,
    );
    assert.deepEqual(readdirSync(cache).sort(), ["babi", "two.sha256"]);
    assert.ok(existsSync(join(cache, "babi", "tasks_1-20_v1-2", "en", TEST)));
  });
});

test("an archive that holds part of the data set is refused: every listed file must be there", async () => {
  await withTmpDirAsync(async (cache) => {
    const r = await cli(["download", "--cache", cache, "--url", `${base}/good.tgz`]);
    assert.equal(r.code, 2);
    assert.match(
      lastLine(r.stderr),
      /good\.tgz: the archive lacks \d+ of the \d+ files the checksum list names \(first: babi\/tasks_1-20_v1-2\/[^)]+\)$/,
    );
    assert.deepEqual(readdirSync(cache), []);
  });
});

test("a file posing as task 1's is left out, and an archive that unpacks past the bound is refused", async () => {
  await withTmpDirAsync(async (cache) => {
    const r = await cli([
      ...[
        "download",
        "--cache",
        cache,
        "--url",
        `${base}/poison.tgz`,
        "--checksums",
        twoFiles(cache),
        "--json",
      ],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      JSON.parse(lastLine(r.stdout)).dropped.includes("babi/tasks_1-20_v1-2/en/qa1_zz-poison_train.txt"),
    );
    const s = await cli(["data", "stats", "--data", cache, "--tasks", "1", "--json"]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /"trainQuestions":1000\b/);
    const z = await cli([
      "download",
      "--cache",
      cache,
      "--url",
      `${base}/zeros.tgz`,
      "--max-unpacked-mb",
      "8",
    ]);
    assert.equal(z.code, 2);
    assert.match(
      lastLine(z.stderr),
      /zeros\.tgz: the archive unpacks to \d+ MB, more than --max-unpacked-mb 8$/,
    );
    assert.ok(
      existsSync(join(cache, "babi", "tasks_1-20_v1-2", "en", TRAIN)),
      "the data already there is kept",
    );
  });
});

test("offline or a missing file: a clear message, exit 1", async () => {
  const r = await cli(["download", "--cache", "/tmp/memn2n-never", "--url", `${base}/missing.tgz`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: cannot download .*missing\.tgz: HTTP 404\n$/);
  // A port nothing listens on: take a free one and close it again.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const r2 = await cli([
    "download",
    "--cache",
    "/tmp/memn2n-never",
    "--url",
    `http://127.0.0.1:${port}/x.tgz`,
  ]);
  assert.equal(r2.code, 1);
  assert.match(
    r2.stderr,
    /^error: cannot download http:\/\/127\.0\.0\.1:\d+\/x\.tgz \(ECONNREFUSED\): offline\?/,
  );
  assert.ok(!existsSync("/tmp/memn2n-never") || readdirSync("/tmp/memn2n-never").length === 0);
});
