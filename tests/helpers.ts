import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SHARED_DATA = resolve(ROOT, "..", "shared", "data");
export const BABI_ROOT = join(SHARED_DATA, "babi", "tasks_1-20_v1-2");
export const BABI_EN = join(BABI_ROOT, "en");

const BUILT_CLI = join(ROOT, "dist", "cli", "run.js");
let built = false;

/**
 * node's arguments for the CLI with `args`: the built copy, as `npx memn2n` runs it. `npm test` builds it
 * first; a child under the tsx loader took about half a second more to start, over some 200 children.
 */
export function cliArgs(...args: string[]): string[] {
  if (!built) {
    // a test run alone after an edit would otherwise exercise the code before the edit
    if (!existsSync(BUILT_CLI))
      throw new Error("dist/cli/run.js is not built: run `npm run build:cli` (npm test does it first)");
    const at = statSync(BUILT_CLI).mtimeMs;
    const src = join(ROOT, "src");
    const newer = readdirSync(src, { recursive: true, encoding: "utf8" }).find(
      (f) => f.endsWith(".ts") && statSync(join(src, f)).mtimeMs > at,
    );
    if (newer !== undefined)
      throw new Error(
        `dist/cli is older than src/${newer}: run \`npm run build:cli\` (npm test does it first)`,
      );
    built = true;
  }
  return [BUILT_CLI, ...args];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the `--json` convention), or undefined. */
  json: unknown;
}

/** Runs the CLI in a child process, as a user would run it. */
export function runCli(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): CliResult {
  const r = spawnSync(process.execPath, cliArgs(...args), {
    encoding: "utf8",
    input: opts.input,
    env: { ...process.env, ...opts.env },
    cwd: ROOT,
    timeout: 600_000,
  });
  const lines = (r.stdout ?? "").trimEnd().split("\n");
  let json: unknown;
  try {
    json = JSON.parse(lines[lines.length - 1]);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", json };
}

export function withTmpDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "memn2n-test-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function withTmpDirAsync<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "memn2n-test-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The furthest epoch of the runs under way in a checkpoint (-1 before there is one). */
export function checkpointEpoch(ckpt: string): number {
  try {
    const j = JSON.parse(readFileSync(ckpt, "utf8"));
    return Math.max(-1, ...j.inFlight.map((f: { state: { epoch: number } }) => f.state.epoch));
  } catch {
    return -1;
  }
}

/**
 * Runs the CLI and kills it with SIGKILL once its checkpoint `ckpt` shows a run at `epoch` (or
 * after two minutes); returns the epoch the checkpoint holds after the kill.
 */
export async function killAtEpoch(args: string[], ckpt: string, epoch: number): Promise<number> {
  await killWhen(args, () => checkpointEpoch(ckpt) >= epoch);
  return checkpointEpoch(ckpt);
}

/** Runs the CLI and kills it with SIGKILL once `ready()` holds (or after two minutes). */
export async function killWhen(args: string[], ready: () => boolean): Promise<void> {
  const child = spawn(process.execPath, cliArgs(...args), {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  let code: number | null | undefined;
  const exited = new Promise<void>((res) =>
    child.on("exit", (c) => {
      code = c;
      res();
    }),
  );
  const deadline = Date.now() + 120_000;
  // A child that ends by itself (an error, or done before the moment came) fails the test at once, and says how.
  let isReady = ready();
  while (!isReady && code === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    isReady = ready();
  }
  child.kill("SIGKILL");
  await exited;
  if (!isReady && code !== null) {
    throw new Error(`memn2n ${args.join(" ")} ended (exit ${code}) before the moment to kill it: ${stderr}`);
  }
}

/**
 * A booking, as a person types it to the restaurant bot: Italian food in Paris for six, cheap. No empty
 * lines: the bot goes on by itself where the data's users say nothing, and the line after its api_call lets
 * the lookup through.
 */
export const BOOKING = [
  "Hello!",
  "May I have a table in Paris for six in a cheap price range?",
  "I love italian food.",
  "Sounds good.",
  "No, I don't like that.",
  "I love that!",
  "May I have the phone number of the restaurant?",
  "Thanks!",
  "No thanks.",
];

/** The JSON header of safetensors bytes, and where its data starts. */
export function safetensorsHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), dataStart: 8 + n };
}

/** Safetensors bytes with another header before the given data. */
export function withSafetensorsHeader(header: unknown, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

export interface Served {
  base: string;
  port: number;
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * `memn2n serve --port 0`, as a user runs it (one worker unless `args` say otherwise);
 * resolves once it listens.
 */
export function serve(args: string[] = []): Promise<Served> {
  const workers = args.includes("--workers") ? [] : ["--workers", "1"];
  const child = spawn(
    process.execPath,
    cliArgs("serve", "--port", "0", "--log-level", "warn", ...workers, ...args),
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) {
        child.removeAllListeners("exit");
        resolve({
          base: m[1],
          port: Number(m[2]),
          child,
          stderr: () => err,
          stop: () =>
            new Promise<void>((done) => {
              child.once("exit", () => done());
              child.kill("SIGTERM");
            }),
        });
      }
    });
  });
}

/** POSTs JSON to a server under test; the raw Response (its status and JSON are the caller's to read). */
export function postJson(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
