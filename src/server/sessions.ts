// Server-kept conversations, behind one interface (as Rasa's tracker stores): a session is a model's name and
// the conversation's whole transcript, in the lines a client that keeps the history sends to /reply, so both
// ways give the same replies. A reply reads only the last lines the model's memory holds (its window) and
// appends its new ones, so its cost does not grow with the conversation. Replies to one session take turns
// in the order they reach the store.
//
// Two stores: LocalSessions, in this process's memory (bounded in sessions, in bytes and per client; with
// several worker processes the primary holds it and the workers reach it over IPC, RemoteSessions), and
// RedisSessions (src/server/redis-sessions.ts), shared by every worker and replica and kept across restarts.

import { randomUUID } from "node:crypto";

export interface Session {
  id: string;
  model: string;
  /** The transcript, or its last lines where a window was asked for. */
  lines: string[];
  /** Lines of the whole transcript. */
  length: number;
}

/** A client that already holds as many sessions as it may. */
export class SessionLimitError extends Error {
  override name = "SessionLimitError";
}

export interface SessionStore {
  /** A new, empty session of `model`, counted against `client` (its address). */
  create(model: string, client: string): Promise<Session>;
  /** The whole transcript. Null: no such session (or it expired). */
  transcript(id: string): Promise<Session | null>;
  /**
   * The session with its last `window` lines, once no other reply holds it: replies to one session wait
   * their turn in the order they reached the store, so that each reads the lines the one before it wrote.
   * Null: no such session. Every acquire is followed by one release.
   */
  acquire(id: string, window: number): Promise<Session | null>;
  /** Ends a reply's turn: the lines it adds (null: none), and the next reply goes. */
  release(id: string, added: string[] | null): Promise<void>;
  delete(id: string): Promise<boolean>;
  close?(): Promise<void>;
}

/** A reply that holds a session longer than this (its worker died, say) loses it to the next one. */
export const LOCK_TIMEOUT_MS = 30_000;

export interface LocalLimits {
  /** The most sessions at once (the least recently used go first). */
  maxSessions: number;
  /** The most bytes of transcripts at once (the least recently used sessions go first). */
  maxBytes: number;
  /** The most sessions one client address may hold. */
  perClient: number;
  ttlMs: number;
}

/** Bytes a line costs (UTF-16, with the array's share). */
const lineBytes = (l: string) => 2 * l.length + 16;

export class LocalSessions implements SessionStore {
  private readonly map = new Map<
    string,
    { model: string; client: string; lines: string[]; bytes: number; seen: number }
  >();
  private bytes = 0;
  private readonly clients = new Map<string, number>();
  /** Sessions a reply holds: the replies waiting, in order, and the timer that frees a forgotten one. */
  private readonly locks = new Map<
    string,
    { waiting: (() => void)[]; timer: ReturnType<typeof setTimeout> }
  >();
  readonly limits: LocalLimits;

  constructor(
    limits: Partial<LocalLimits> & { maxSessions: number; ttlMs: number },
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { maxBytes: 256 * 2 ** 20, perClient: 100, ...limits };
  }

  async create(model: string, client: string): Promise<Session> {
    this.expire();
    const held = this.clients.get(client) ?? 0;
    if (held >= this.limits.perClient)
      throw new SessionLimitError(
        `this client holds ${held} sessions, the most one may (--max-sessions-per-client): end one first`,
      );
    const id = randomUUID();
    this.map.set(id, { model, client, lines: [], bytes: 0, seen: this.now() });
    this.clients.set(client, held + 1);
    this.evict();
    return { id, model, lines: [], length: 0 };
  }

  async transcript(id: string): Promise<Session | null> {
    const e = this.live(id);
    return e ? { id, model: e.model, lines: [...e.lines], length: e.lines.length } : null;
  }

  async acquire(id: string, window: number): Promise<Session | null> {
    if (!this.live(id)) return null;
    const held = this.locks.get(id);
    if (held) await new Promise<void>((go) => held.waiting.push(go));
    else this.locks.set(id, { waiting: [], timer: this.lockTimer(id) });
    const e = this.live(id);
    if (!e) {
      await this.release(id, null);
      return null;
    }
    return {
      id,
      model: e.model,
      lines: e.lines.slice(Math.max(0, e.lines.length - window)),
      length: e.lines.length,
    };
  }

  async release(id: string, added: string[] | null): Promise<void> {
    const e = this.map.get(id);
    if (e && added !== null && added.length > 0) {
      e.lines.push(...added);
      const more = added.reduce((a, l) => a + lineBytes(l), 0);
      e.bytes += more;
      this.bytes += more;
      this.evict(id);
    }
    const held = this.locks.get(id);
    if (!held) return;
    clearTimeout(held.timer);
    const next = held.waiting.shift();
    if (next) {
      held.timer = this.lockTimer(id);
      next();
    } else this.locks.delete(id);
  }

  async delete(id: string): Promise<boolean> {
    return this.drop(id);
  }

  get size(): number {
    return this.map.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  /** Drops the expired sessions (a timer calls it; every lookup also checks). */
  sweep(): void {
    this.expire();
  }

  private live(id: string) {
    const e = this.map.get(id);
    if (!e) return null;
    if (this.now() - e.seen > this.limits.ttlMs) {
      this.drop(id);
      return null;
    }
    // most recently used last
    e.seen = this.now();
    this.map.delete(id);
    this.map.set(id, e);
    return e;
  }

  private drop(id: string): boolean {
    const e = this.map.get(id);
    if (!e) return false;
    this.map.delete(id);
    this.bytes -= e.bytes;
    const n = (this.clients.get(e.client) ?? 1) - 1;
    if (n > 0) this.clients.set(e.client, n);
    else this.clients.delete(e.client);
    return true;
  }

  private expire(): void {
    const t = this.now();
    for (const [id, e] of this.map) if (t - e.seen > this.limits.ttlMs) this.drop(id);
  }

  /** The least recently used sessions out until the bounds hold (never `keep`, the one being written). */
  private evict(keep?: string): void {
    for (const id of this.map.keys()) {
      if (this.map.size <= this.limits.maxSessions && this.bytes <= this.limits.maxBytes) return;
      if (id !== keep) this.drop(id);
    }
    // one session alone over the byte bound: its oldest lines go
    const e = keep ? this.map.get(keep) : undefined;
    while (e && this.bytes > this.limits.maxBytes && e.lines.length > 1) {
      const b = lineBytes(e.lines.shift()!);
      e.bytes -= b;
      this.bytes -= b;
    }
  }

  private lockTimer(id: string): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => void this.release(id, null), LOCK_TIMEOUT_MS);
    t.unref?.();
    return t;
  }
}

type Op =
  | { op: "create"; model: string; client: string }
  | { op: "transcript" | "delete"; id: string }
  | { op: "acquire"; id: string; window: number }
  | { op: "release"; id: string; added: string[] | null };

/** The message a worker sends the primary, and its answer. */
export interface SessionRequest {
  type: "memn2n-session";
  seq: number;
  req: Op;
}

export interface SessionResponse {
  type: "memn2n-session";
  seq: number;
  result: unknown;
  /** A SessionLimitError's message. */
  limit?: string;
}

/** A worker's view of the primary's store. */
export class RemoteSessions implements SessionStore {
  private seq = 0;
  private readonly waiting = new Map<number, (r: SessionResponse) => void>();

  constructor(private readonly send: (m: SessionRequest) => void) {}

  /** Feed every message the primary sends here. */
  receive(m: unknown): void {
    const r = m as SessionResponse;
    if (r?.type !== "memn2n-session") return;
    this.waiting.get(r.seq)?.(r);
    this.waiting.delete(r.seq);
  }

  private call<T>(req: Op): Promise<T> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, (r) =>
        r.limit ? reject(new SessionLimitError(r.limit)) : resolve(r.result as T),
      );
      this.send({ type: "memn2n-session", seq, req });
    });
  }

  create(model: string, client: string): Promise<Session> {
    return this.call({ op: "create", model, client });
  }
  transcript(id: string): Promise<Session | null> {
    return this.call({ op: "transcript", id });
  }
  acquire(id: string, window: number): Promise<Session | null> {
    return this.call({ op: "acquire", id, window });
  }
  release(id: string, added: string[] | null): Promise<void> {
    return this.call({ op: "release", id, added });
  }
  delete(id: string): Promise<boolean> {
    return this.call({ op: "delete", id });
  }
}

/** The primary's side: answers a worker's request from the one store. */
export async function serveSessionRequest(store: SessionStore, m: SessionRequest): Promise<SessionResponse> {
  const r = m.req;
  try {
    const result =
      r.op === "create"
        ? await store.create(r.model, r.client)
        : r.op === "transcript"
          ? await store.transcript(r.id)
          : r.op === "acquire"
            ? await store.acquire(r.id, r.window)
            : r.op === "release"
              ? await store.release(r.id, r.added)
              : await store.delete(r.id);
    return { type: "memn2n-session", seq: m.seq, result: result ?? null };
  } catch (e) {
    if (e instanceof SessionLimitError)
      return { type: "memn2n-session", seq: m.seq, result: null, limit: e.message };
    throw e;
  }
}
