// `memn2n serve`: the HTTP service over the shipped models or model files. With --workers N > 1 the port
// is served by N processes (node:cluster): this process is the primary, holding the sessions and adding up
// the workers' metrics; the workers answer.

import cluster, { type Worker } from "node:cluster";
import { existsSync, readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { CONNECTION_DEFAULTS } from "../../server/limits.js";
import type { PageSettings } from "../../server/page.js";
import { LocalRateCounter, type RateRequest, serveRateRequest } from "../../server/rate.js";
import { Registry } from "../../server/registry.js";
import {
  LocalSessions,
  type SessionRequest,
  type SessionStore,
  serveSessionRequest,
} from "../../server/sessions.js";
import type { ServeSettings } from "../../server/start.js";
import { BABI_SETS, findBabiDir, findPtbDir } from "../datadir.js";
import { findDialogDir } from "../dialog-data.js";
import { UsageError } from "../errors.js";
import { resolveModel, SHIPPED_DIR, shippedModels } from "../model-io.js";
import { wholeOption } from "../whole.js";
import { parseWorkers } from "./train.js";

interface ServeOptions {
  model: string[];
  host: string;
  port: string;
  workers?: string;
  token?: string;
  tokenFile?: string;
  requestTimeout: string;
  headersTimeout: string;
  maxConnections: string;
  maxConnectionsPerClient: string;
  cors?: string;
  bodyLimit: string;
  logLevel: string;
  maxSentenceChars: string;
  maxSessions: string;
  sessions: string;
  maxSessionMb: string;
  maxSessionsPerClient: string;
  sessionTtl: string;
  rateLimit?: string;
  /** A folder to look for data in; false: --no-data. */
  data?: string | false;
  page: boolean;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("answer questions and hold conversations over HTTP (JSON API, Open Inference Protocol v2)")
    .option(
      "--model <name=file>",
      "a model to serve, as NAME=FILE, a file, or a shipped model's name; repeatable (default: the shipped models)",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port (0: any free one)", "8080")
    .option("--workers <n>", "processes serving the port (default: one per core)")
    .option(
      "--token <t>",
      "require Authorization: Bearer <t> on the API (the health checks, the page and its data stay open)",
    )
    .option(
      "--token-file <file>",
      "read the token from this file's first line (or set MEMN2N_TOKEN): a token in argv shows in ps",
    )
    .option("--cors <origin>", "allow this origin (Access-Control-Allow-Origin)")
    .option("--request-timeout <time>", "a request (headers and body) must arrive within this", "30s")
    .option("--headers-timeout <time>", "a new connection must send its request's headers within this", "10s")
    .option(
      "--max-connections <n>",
      "open connections per process",
      String(CONNECTION_DEFAULTS.maxConnections),
    )
    .option(
      "--max-connections-per-client <n>",
      "open connections per client address",
      String(CONNECTION_DEFAULTS.maxConnectionsPerClient),
    )
    .option("--body-limit <size>", "largest request body, e.g. 1mb, 512kb", "1mb")
    .option("--max-sentence-chars <n>", "longest story sentence or user line, in characters", "1000")
    .option(
      "--max-sessions <n>",
      "server-kept conversations at most (the least recently used go first)",
      "10000",
    )
    .option("--session-ttl <time>", "a conversation unused this long is forgotten, e.g. 30m, 1h, 90s", "30m")
    .option(
      "--sessions <store>",
      "where conversations are kept: memory (this server's, lost on restart) or redis://HOST:PORT (shared by every worker and replica, kept across restarts)",
      "memory",
    )
    .option("--max-session-mb <n>", "transcripts kept in memory at most, in MB (--sessions memory)", "256")
    .option("--max-sessions-per-client <n>", "live conversations one client address may hold", "100")
    .option("--rate-limit <n>", "requests per minute per client address (default: no limit)")
    .option("--log-level <level>", `log level (${LOG_LEVELS.join(", ")})`, "info")
    .option(
      "--data <dir>",
      "serve the bAbI and Dialog bAbI files found here to the page (default: as train finds them)",
    )
    .option("--no-data", "serve no data files")
    .option("--no-page", "do not serve the web page at /")
    .action((opts: ServeOptions) => serve(opts));
}

export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--body-limit: expected a size such as 1mb or 512kb, got ${v}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? "b").toLowerCase() as "b"];
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 64) throw new UsageError(`--body-limit: ${v} is too small for any request`);
  return bytes;
}

/** The longest time an option may give (a week): a session's time to live, a request's or headers' wait. */
const MAX_TTL_MS = 7 * 24 * 3_600_000;

export function parseDuration(v: string, flag = "--session-ttl"): number {
  const m = /^(\d+)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: expected a time such as 30m, 1h or 90s, got ${v}`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s"];
  // 0 would forget every conversation between two of its turns, or cut every request off.
  if (ms < 1000) throw new UsageError(`${flag}: at least 1s, got ${v}`);
  if (ms > MAX_TTL_MS) throw new UsageError(`${flag}: at most 168h (a week), got ${v}`);
  return ms;
}

/** `--model` values as names and files; none: every shipped model. */
export function modelSpecs(given: string[]): { name: string; file: string; shipped: boolean }[] {
  const specs = given.length > 0 ? given : shippedModels();
  if (specs.length === 0) throw new UsageError("--model: no shipped models found; give NAME=FILE");
  const out = specs.map((v) => {
    const eq = v.indexOf("=");
    if (eq > 0) {
      const name = v.slice(0, eq);
      if (!/^[\w.-]+$/.test(name))
        throw new UsageError(`--model ${v}: a name of letters, digits, '.', '-', '_'`);
      return { name, file: resolveModel(v.slice(eq + 1)) };
    }
    const file = resolveModel(v);
    return { name: basename(file).replace(/\.(safetensors|json)$/, ""), file };
  });
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name)) throw new UsageError(`--model: two models named ${s.name}; give NAME=FILE`);
    seen.add(s.name);
  }
  return out.map((s) => ({ ...s, shipped: resolve(dirname(s.file)) === resolve(SHIPPED_DIR) }));
}

/** The API token: --token, --token-file or MEMN2N_TOKEN (one of them at most), or none. */
function tokenOf(opts: ServeOptions): string | undefined {
  if (opts.token !== undefined && opts.tokenFile !== undefined)
    throw new UsageError("--token-file: give the token one way, not with --token too");
  if (opts.tokenFile === undefined) return opts.token ?? (process.env.MEMN2N_TOKEN || undefined);
  let text: string;
  try {
    text = readFileSync(opts.tokenFile, "utf8");
  } catch (e) {
    throw new UsageError(
      `--token-file ${opts.tokenFile}: cannot read (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  const token = text.split(/\r?\n/)[0].trim();
  if (token === "") throw new UsageError(`--token-file ${opts.tokenFile}: the first line is empty`);
  return token;
}

function settingsOf(opts: ServeOptions): ServeSettings {
  if (!LOG_LEVELS.includes(opts.logLevel)) {
    throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(", ")}, got ${opts.logLevel}`);
  }
  if (opts.token !== undefined && opts.token.length < 1) throw new UsageError("--token: empty");
  const port = wholeOption("--port", opts.port);
  if (port > 65535) throw new UsageError(`--port: at most 65535, got ${port}`);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return {
    models: modelSpecs(opts.model),
    host: opts.host,
    port,
    token: tokenOf(opts),
    limits: {
      requestTimeoutMs: parseDuration(opts.requestTimeout, "--request-timeout"),
      headersTimeoutMs: parseDuration(opts.headersTimeout, "--headers-timeout"),
      maxConnections: wholeOption("--max-connections", opts.maxConnections, 1),
      maxConnectionsPerClient: wholeOption("--max-connections-per-client", opts.maxConnectionsPerClient, 1),
    },
    cors: opts.cors,
    bodyLimit: parseSize(opts.bodyLimit),
    maxSentenceChars: wholeOption("--max-sentence-chars", opts.maxSentenceChars, 1),
    maxSessions: wholeOption("--max-sessions", opts.maxSessions, 1),
    sessionStore: sessionStoreOf(opts.sessions),
    maxSessionBytes: wholeOption("--max-session-mb", opts.maxSessionMb, 1) * 2 ** 20,
    maxSessionsPerClient: wholeOption("--max-sessions-per-client", opts.maxSessionsPerClient, 1),
    sessionTtlMs: parseDuration(opts.sessionTtl),
    rateLimit: opts.rateLimit === undefined ? undefined : wholeOption("--rate-limit", opts.rateLimit, 1),
    logLevel: opts.logLevel,
    version: pkg.version,
    page: {
      ...pageSettings(opts),
      languageModels: shippedModels("lm").map((name) => ({
        name,
        file: join(SHIPPED_DIR, `${name}.safetensors`),
      })),
    },
  };
}

/** The page (the built dist/web) and the data folders it may read; a missing one is simply not served. */
function pageSettings(opts: ServeOptions): PageSettings {
  const page = opts.page ? join(ROOT, "dist", "web") : null;
  if (opts.data === false) return { page, data: null };
  const found = <T>(f: () => T): T | null => {
    try {
      return f();
    } catch (e) {
      if (e instanceof UsageError) return null;
      throw e;
    }
  };
  const explicit = opts.data;
  if (explicit !== undefined && !existsSync(explicit))
    throw new UsageError(`--data ${explicit}: no such folder`);
  const babi: Record<string, string> = {};
  for (const set of ["en", "en-10k"]) {
    const dir = found(() => findBabiDir(set, explicit));
    // A folder of one set's files is found for every set: list it once, under the set it is.
    const named = (BABI_SETS as readonly string[]).includes(basename(dir ?? "")) ? basename(dir!) : set;
    if (dir && named === set && !Object.values(babi).includes(dir)) babi[set] = dir;
  }
  const dialog = found(() => findDialogDir(explicit));
  const ptb = found(() => findPtbDir(explicit));
  if (Object.keys(babi).length === 0 && !dialog && !ptb) {
    if (explicit !== undefined)
      throw new UsageError(`--data ${explicit}: no bAbI, Dialog bAbI or Penn Treebank files in it`);
    return { page, data: null };
  }
  return { page, data: { babi, dialog, ptb } };
}

async function serve(opts: ServeOptions): Promise<void> {
  const settings = settingsOf(opts);
  const workers = parseWorkers(opts.workers);
  // Every model loads before anything listens: a bad file is one error line and exit 2.
  new Registry(settings.models).load();
  const names = settings.models.map((m) => m.name).join(", ");
  const store = await openSessions(settings);
  const sweep = setInterval(() => (store instanceof LocalSessions ? store.sweep() : undefined), 60_000);
  sweep.unref();
  if (workers === 1) {
    // The HTTP stack (and Redis, and the metrics) load here, not with every command: `memn2n ask` starts
    // in a third of the time.
    const { startServer } = await import("../../server/start.js");
    let started: Awaited<ReturnType<typeof startServer>>;
    try {
      started = await startServer(settings, { sessions: store });
    } catch (e) {
      throw listenError(settings, e);
    }
    announce(settings, started.port, "1 worker", names);
    await started.closed;
    clearInterval(sweep);
    await store.close?.();
    return;
  }
  await servePrimary(settings, workers, store, names);
  clearInterval(sweep);
  await store.close?.();
}

/** `--sessions`: memory, or a redis:// URL. */
function sessionStoreOf(v: string): string {
  if (v === "memory") return v;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UsageError(`--sessions: memory or redis://HOST:PORT, got "${v}"`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new UsageError(`--sessions: memory or redis://HOST:PORT, got "${v}"`);
  return v;
}

/** The process's session store: the local one (which a cluster's primary holds for its workers), or Redis. */
export async function openSessions(s: ServeSettings): Promise<SessionStore> {
  if (s.sessionStore && s.sessionStore !== "memory") {
    try {
      const { RedisSessions } = await import("../../server/redis-sessions.js");
      return await RedisSessions.connect(s.sessionStore, s.sessionTtlMs, s.maxSessionsPerClient ?? 100);
    } catch (e) {
      throw new UsageError(`--sessions: ${(e as Error).message}`);
    }
  }
  return new LocalSessions({
    maxSessions: s.maxSessions,
    ttlMs: s.sessionTtlMs,
    maxBytes: s.maxSessionBytes,
    perClient: s.maxSessionsPerClient,
  });
}

function pageNote(s: ServeSettings, port: number): string {
  const page = s.page?.page;
  if (!page) return "";
  if (!existsSync(join(page, "index.html"))) return "\n(the web page is not built: run `npm run build:web`)";
  const data = s.page?.data;
  const sets = data ? [...Object.keys(data.babi), ...(data.dialog ? ["dialog"] : [])].join(", ") : "none";
  return `\nthe web page: http://${hostOf(s.host)}:${port}/ (data files served to it: ${sets})`;
}

/**
 * Where the server can be reached: on a wildcard host (0.0.0.0, ::) every address of this machine's
 * interfaces, with a warning on stderr when no --token guards the API on them.
 */
function announce(s: ServeSettings, port: number, workers: string, names: string): void {
  const wildcard = s.host === "0.0.0.0" || s.host === "::" || s.host === "";
  const hosts = wildcard
    ? Object.values(networkInterfaces())
        .flat()
        .filter((a) => a && (a.family === "IPv4" || s.host === "::"))
        .map((a) => a!.address)
    : [s.host];
  const urls = hosts.map((h) => `http://${hostOf(h)}:${port}`).join(", ");
  console.log(`memn2n serve: listening on ${urls} (${workers}; models: ${names})${pageNote(s, port)}`);
  if (wildcard && !s.token) {
    process.stderr.write(
      `warning: --host ${s.host} takes requests from every network this machine is on, and without --token (or MEMN2N_TOKEN) anyone who reaches it may use the API\n`,
    );
  }
}

function hostOf(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function listenError(settings: ServeSettings, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") return new UsageError(`--port ${settings.port}: already in use`);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
    return new UsageError(`--host ${settings.host}: not an address of this machine`);
  if (code === "EACCES")
    return new UsageError(`--port ${settings.port}: not allowed (ports below 1024 need root)`);
  return e as Error;
}

async function servePrimary(
  settings: ServeSettings,
  n: number,
  store: SessionStore,
  names: string,
): Promise<void> {
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith(".ts") ? ".ts" : ".js";
  cluster.setupPrimary({ exec: join(dirname(here), "..", "..", "server", `worker${ext}`) });
  const { AggregatorRegistry } = await import("prom-client");
  const aggregator = new AggregatorRegistry();
  let shuttingDown = false;
  const rates = new LocalRateCounter();
  let listening = 0;
  let failed: string | null = null;
  const reloads = new Map<number, { pending: number; error?: string; reply: () => void }>();
  let reloadSeq = 0;
  const env = { MEMN2N_SERVE: JSON.stringify(settings) };
  const fork = () => cluster.fork(env);
  // A worker leaves cluster.workers only after both its 'exit' and its 'disconnect', in either order, so a
  // dead one may still be listed. Counting it kept shutdown waiting for ever (the primary then left with
  // code 13, an unsettled top-level await, instead of 0) and a reload waiting for its reply.
  const living = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
  const reloadAll = (done: (error?: string) => void) => {
    const workers = living();
    const seq = ++reloadSeq;
    const entry = { pending: workers.length, reply: () => done(entry.error) } as {
      pending: number;
      error?: string;
      reply: () => void;
    };
    reloads.set(seq, entry);
    for (const w of workers) w.send({ type: "memn2n-reload", seq });
    if (workers.length === 0) entry.reply();
  };
  let resolveAll!: () => void;
  let rejectAll!: (e: Error) => void;
  const all = new Promise<void>((res, rej) => {
    resolveAll = res;
    rejectAll = rej;
  });
  cluster.on(
    "message",
    (worker, m: { type?: string; seq?: number; port?: number; message?: string; error?: string }) => {
      if (m.type === "memn2n-session") {
        void serveSessionRequest(store, m as SessionRequest).then((r) => worker.send(r));
      } else if (m.type === "memn2n-rate") {
        void serveRateRequest(rates, m as RateRequest).then((r) => worker.send(r));
      } else if (m.type === "memn2n-metrics") {
        void aggregator.clusterMetrics().then(
          (text) => worker.send({ type: "memn2n-metrics", seq: m.seq, text }),
          (e: Error) => worker.send({ type: "memn2n-metrics", seq: m.seq, text: `# ${e.message}\n` }),
        );
      } else if (m.type === "memn2n-reload-all") {
        reloadAll((error) => worker.send({ type: "memn2n-reload-all", seq: m.seq, error }));
      } else if (m.type === "memn2n-reloaded") {
        const entry = reloads.get(m.seq!);
        if (!entry) return;
        if (m.error && !entry.error) entry.error = m.error;
        if (--entry.pending === 0) {
          reloads.delete(m.seq!);
          entry.reply();
        }
      } else if (m.type === "memn2n-listening") {
        if (++listening === n) {
          announce(settings, m.port ?? settings.port, `${n} workers`, names);
        }
      } else if (m.type === "memn2n-failed") {
        failed = m.message ?? "a worker failed to start";
      }
    },
  );
  cluster.on("exit", (worker, code) => {
    const alive = living().length;
    if (shuttingDown || failed) {
      if (!shuttingDown) {
        shuttingDown = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: "memn2n-shutdown" });
      }
      if (alive === 0) {
        if (failed) {
          const code = /^(E[A-Z]+):/.exec(failed)?.[1];
          rejectAll(listenError(settings, Object.assign(new Error(failed), { code })));
        } else resolveAll();
      }
      return;
    }
    process.stderr.write(`memn2n serve: worker ${worker.process.pid} exited (${code}); starting another\n`);
    fork();
  });
  const stop = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: "memn2n-shutdown" });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.on("SIGHUP", () =>
    reloadAll((error) => {
      if (error) process.stderr.write(`memn2n serve: reload failed, the old models serve on: ${error}\n`);
    }),
  );
  for (let i = 0; i < n; i++) fork();
  await all;
}
