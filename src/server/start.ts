// Starting and stopping one server process: load the models, listen, and the signals: SIGTERM and SIGINT
// stop accepting and let the requests in flight finish; SIGHUP reloads the model files (a failed reload is
// logged and the old models serve on). Used alone (one process) and by each worker of a cluster.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { buildServer } from "./app.js";
import { writeRawError } from "./errors.js";
import { CONNECTION_DEFAULTS, type ConnectionLimits } from "./limits.js";
import { Metrics } from "./metrics.js";
import type { PageSettings } from "./page.js";
import type { RateCounter } from "./rate.js";
import { type ModelSpec, Registry } from "./registry.js";
import type { SessionStore } from "./sessions.js";

export interface ServeSettings {
  models: ModelSpec[];
  host: string;
  port: number;
  token?: string;
  cors?: string;
  bodyLimit: number;
  maxSentenceChars: number;
  maxSessions: number;
  sessionTtlMs: number;
  /** "memory" (default) or a redis:// URL. */
  sessionStore?: string;
  maxSessionBytes?: number;
  maxSessionsPerClient?: number;
  rateLimit?: number;
  logLevel: string;
  version: string;
  page?: PageSettings;
  /** Connection bounds (each has a default): see `connectionLimits`. */
  limits?: Partial<ConnectionLimits>;
}

export interface Started {
  app: FastifyInstance;
  registry: Registry;
  metrics: Metrics;
  port: number;
  /** Resolves when the server has closed (after a signal or close()). */
  closed: Promise<void>;
  close(): Promise<void>;
  reload(): void;
}

export async function startServer(
  s: ServeSettings,
  env: {
    sessions: SessionStore;
    rateCounter?: RateCounter;
    metricsText?: () => Promise<string>;
    /** Reload everywhere (a cluster's workers); default: this process's registry. */
    reloadAll?: () => Promise<void>;
    onSignal?: boolean;
  },
): Promise<Started> {
  const registry = new Registry(s.models);
  registry.load();
  const metrics = new Metrics();
  const countModels = () => {
    metrics.models.reset();
    for (const m of registry.all()) metrics.models.inc({ kind: m.kind });
  };
  countModels();
  const reload = () => {
    registry.load();
    countModels();
  };
  let closing = false;
  const app = await buildServer({
    registry,
    sessions: env.sessions,
    rateCounter: env.rateCounter,
    metrics,
    metricsText: env.metricsText,
    reload: env.reloadAll ?? (async () => reload()),
    token: s.token,
    cors: s.cors,
    bodyLimit: s.bodyLimit,
    maxSentenceChars: s.maxSentenceChars,
    rateLimit: s.rateLimit,
    logLevel: s.logLevel,
    version: s.version,
    page: s.page,
    isClosing: () => closing,
  });
  limitConnections(app, { ...CONNECTION_DEFAULTS, ...s.limits });
  await app.listen({ host: s.host, port: s.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : s.port;
  let done!: () => void;
  const closed = new Promise<void>((r) => {
    done = r;
  });
  const close = async () => {
    if (closing) return closed;
    closing = true;
    await app.close();
    done();
  };
  if (env.onSignal !== false) {
    const stop = () => void close();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    process.on("SIGHUP", () => {
      try {
        reload();
        app.log.info({ models: registry.all().map((m) => m.name) }, "models reloaded");
      } catch (e) {
        app.log.error(`reload failed, the old models serve on: ${(e as Error).message}`);
      }
    });
  }
  return { app, registry, metrics, port, closed, close, reload };
}

/**
 * Bounds on what clients hold: a request that has not arrived in time is cut off (a body that trickles in a
 * byte at a time held its connection for ever), and connections are capped per process and per client
 * address, so that one client cannot take every socket and the health checks keep answering the others.
 */
function limitConnections(app: FastifyInstance, l: ConnectionLimits): void {
  const server = app.server;
  server.maxConnections = l.maxConnections;
  const open = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const who = socket.remoteAddress ?? "?";
    const n = (open.get(who) ?? 0) + 1;
    if (n > l.maxConnectionsPerClient) {
      socket.destroy();
      return;
    }
    open.set(who, n);
    socket.once("close", () => {
      const left = (open.get(who) ?? 1) - 1;
      if (left > 0) open.set(who, left);
      else open.delete(who);
    });
    // A connection that says nothing (no request line, no headers) for this long is closed.
    socket.setTimeout(l.headersTimeoutMs, () => socket.destroy());
  });
  // Node checks its own request timeout only every 30 s: each request gets a timer of its own instead.
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    req.socket.setTimeout(0);
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) writeRawError(res, 408, "body", `not received within ${l.requestTimeoutMs} ms`);
      req.socket.destroySoon();
    }, l.requestTimeoutMs);
    timer.unref();
    const done = () => clearTimeout(timer);
    req.once("end", done);
    res.once("close", done);
  });
}
