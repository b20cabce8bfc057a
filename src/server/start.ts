// Starting and stopping one server process: load the models, listen, and the signals: SIGTERM and SIGINT
// stop accepting and let the requests in flight finish; SIGHUP reloads the model files (a failed reload is
// logged and the old models serve on). Used alone (one process) and by each worker of a cluster.

import type { FastifyInstance } from "fastify";
import { buildServer } from "./app.js";
import { Metrics } from "./metrics.js";
import type { PageSettings } from "./page.js";
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
  rateLimit?: number;
  logLevel: string;
  version: string;
  page?: PageSettings;
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
