// One worker process of `memn2n serve --workers N` (node:cluster): the same server, with the sessions, the
// rate limit's counts, the metrics sum and reloads going through the primary, so that any worker can answer any request.

import "../cli/relaxed-simd.js";
import { AggregatorRegistry } from "prom-client";
import { type RateRequest, RemoteRateCounter } from "./rate.js";
import { RedisSessions } from "./redis-sessions.js";
import { RemoteSessions, type SessionRequest } from "./sessions.js";
import { type ServeSettings, startServer } from "./start.js";

const settings = JSON.parse(process.env.MEMN2N_SERVE ?? "{}") as ServeSettings;
const send = (m: unknown) => process.send?.(m);
const remote = new RemoteSessions((m: SessionRequest) => send(m));
const rateCounter = new RemoteRateCounter((m: RateRequest) => send(m));
let seq = 0;
const waiting = new Map<number, (m: { text?: string; error?: string }) => void>();
const ask = (type: string) =>
  new Promise<{ text?: string; error?: string }>((resolve) => {
    const id = ++seq;
    waiting.set(id, resolve);
    send({ type, seq: id });
  });

try {
  // With Redis every worker talks to it itself; otherwise the primary holds the sessions.
  const sessions =
    settings.sessionStore && settings.sessionStore !== "memory"
      ? await RedisSessions.connect(
          settings.sessionStore,
          settings.sessionTtlMs,
          settings.maxSessionsPerClient ?? 100,
        )
      : remote;
  const started = await startServer(settings, {
    sessions,
    rateCounter,
    metricsText: async () => (await ask("memn2n-metrics")).text ?? "",
    reloadAll: async () => {
      const r = await ask("memn2n-reload-all");
      if (r.error) throw new Error(r.error);
    },
  });
  // Constructing one adds prom-client's listener that answers the primary's requests for our metrics.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([started.metrics.registry]);
  process.on("message", (m: { type?: string; seq?: number; text?: string; error?: string }) => {
    remote.receive(m);
    rateCounter.receive(m);
    if (m.type === "memn2n-shutdown") void started.close();
    else if (m.type === "memn2n-reload") {
      try {
        started.reload();
        send({ type: "memn2n-reloaded", seq: m.seq });
      } catch (e) {
        send({ type: "memn2n-reloaded", seq: m.seq, error: (e as Error).message });
      }
    } else if ((m.type === "memn2n-metrics" || m.type === "memn2n-reload-all") && m.seq !== undefined) {
      waiting.get(m.seq)?.(m);
      waiting.delete(m.seq);
    }
  });
  send({ type: "memn2n-listening", port: started.port });
  await started.closed;
  process.exit(0);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  send({ type: "memn2n-failed", message: err.code ? `${err.code}: ${err.message}` : err.message });
  process.exit(1);
}
