// The rate limit's counts, one per client address and window. With several worker processes the primary
// keeps the one count and the workers ask it over IPC (RemoteRateCounter), so that `--rate-limit 30` means
// 30 requests a minute from a client, whichever workers answer them.

import type { FastifyRateLimitOptions, FastifyRateLimitStore } from "@fastify/rate-limit";

export interface RateCounter {
  /** Counts one more request of `key` in its current window; the count so far and the ms left of the window. */
  incr(key: string, windowMs: number): Promise<{ current: number; ttl: number }>;
}

/** The most clients counted at once: the oldest window is forgotten first. */
const MAX_KEYS = 100_000;

export class LocalRateCounter implements RateCounter {
  private readonly windows = new Map<string, { count: number; start: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async incr(key: string, windowMs: number): Promise<{ current: number; ttl: number }> {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= windowMs) w = { count: 0, start: t };
    w.count++;
    this.windows.delete(key);
    this.windows.set(key, w);
    while (this.windows.size > MAX_KEYS) this.windows.delete(this.windows.keys().next().value!);
    return { current: w.count, ttl: windowMs - (t - w.start) };
  }
}

export interface RateRequest {
  type: "memn2n-rate";
  seq: number;
  key: string;
  windowMs: number;
}

/** A worker's view of the primary's counts. */
export class RemoteRateCounter implements RateCounter {
  private seq = 0;
  private readonly waiting = new Map<number, (r: { current: number; ttl: number }) => void>();

  constructor(private readonly send: (m: RateRequest) => void) {}

  /** Feed every message the primary sends here. */
  receive(m: unknown): void {
    const r = m as { type?: string; seq: number; current: number; ttl: number };
    if (r?.type !== "memn2n-rate") return;
    this.waiting.get(r.seq)?.({ current: r.current, ttl: r.ttl });
    this.waiting.delete(r.seq);
  }

  incr(key: string, windowMs: number): Promise<{ current: number; ttl: number }> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.send({ type: "memn2n-rate", seq, key, windowMs });
    });
  }
}

/** The primary's side: counts a worker's request and answers with the count. */
export async function serveRateRequest(counter: RateCounter, m: RateRequest) {
  return { type: "memn2n-rate", seq: m.seq, ...(await counter.incr(m.key, m.windowMs)) };
}

/** @fastify/rate-limit's store over a counter. */
export function rateStore(
  counter: RateCounter,
): new (
  options: FastifyRateLimitOptions,
) => FastifyRateLimitStore {
  class Store implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      counter.incr(key, timeWindow).then(
        (r) => callback(null, r),
        (e: Error) => callback(e),
      );
    }

    child(): FastifyRateLimitStore {
      return new Store();
    }
  }
  return Store as unknown as new (
    options: FastifyRateLimitOptions,
  ) => FastifyRateLimitStore;
}
