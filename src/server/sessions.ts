// Server-kept conversations: a session is a model's name and the conversation's lines, the same lines a
// client that keeps the history sends to /reply, so both ways give the same replies. Bounded (least
// recently used first out) and expiring. With several worker processes the primary holds the one store and
// the workers reach it over IPC (RemoteSessions), so that any worker can continue any session.

import { randomUUID } from "node:crypto";

export interface Session {
  id: string;
  model: string;
  lines: string[];
}

export interface SessionStore {
  create(model: string): Promise<Session>;
  get(id: string): Promise<Session | null>;
  put(session: Session): Promise<void>;
  delete(id: string): Promise<boolean>;
  /**
   * The session, once no other reply holds it: replies to one session wait their turn in the order they
   * reached the store, so that each one reads the lines the one before it wrote. Null: no such session.
   * Every acquire is followed by one release.
   */
  acquire(id: string): Promise<Session | null>;
  /** Ends a reply's turn: its new lines (null: nothing changed), and the next reply goes. */
  release(id: string, lines: string[] | null): Promise<void>;
}

/** A reply that holds a session longer than this (its worker died, say) loses it to the next one. */
export const LOCK_TIMEOUT_MS = 30_000;

export class LocalSessions implements SessionStore {
  private readonly map = new Map<string, { session: Session; seen: number }>();
  /** Sessions a reply holds: the replies waiting, in order, and the timer that frees a forgotten one. */
  private readonly locks = new Map<
    string,
    { waiting: (() => void)[]; timer: ReturnType<typeof setTimeout> }
  >();

  constructor(
    readonly max: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async create(model: string): Promise<Session> {
    const session = { id: randomUUID(), model, lines: [] };
    this.touch(session);
    return session;
  }

  async get(id: string): Promise<Session | null> {
    const e = this.map.get(id);
    if (!e) return null;
    if (this.now() - e.seen > this.ttlMs) {
      this.map.delete(id);
      return null;
    }
    this.touch(e.session);
    return e.session;
  }

  async put(session: Session): Promise<void> {
    this.touch(session);
  }

  async delete(id: string): Promise<boolean> {
    return this.map.delete(id);
  }

  async acquire(id: string): Promise<Session | null> {
    if (!this.map.has(id)) return null;
    const held = this.locks.get(id);
    if (held) await new Promise<void>((go) => held.waiting.push(go));
    else this.locks.set(id, { waiting: [], timer: this.lockTimer(id) });
    return this.get(id);
  }

  async release(id: string, lines: string[] | null): Promise<void> {
    const e = this.map.get(id);
    if (e && lines !== null) {
      e.session.lines = lines;
      this.touch(e.session);
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

  private lockTimer(id: string): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => void this.release(id, null), LOCK_TIMEOUT_MS);
    t.unref?.();
    return t;
  }

  get size(): number {
    return this.map.size;
  }

  /** Drops the expired sessions (a timer calls it; `get` also checks). */
  sweep(): void {
    const t = this.now();
    for (const [id, e] of this.map) if (t - e.seen > this.ttlMs) this.map.delete(id);
  }

  private touch(session: Session): void {
    this.map.delete(session.id);
    this.map.set(session.id, { session, seen: this.now() });
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

type Op =
  | { op: "create"; model: string }
  | { op: "get" | "delete" | "acquire"; id: string }
  | { op: "put"; session: Session }
  | { op: "release"; id: string; lines: string[] | null };

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
}

/** A worker's view of the primary's store. */
export class RemoteSessions implements SessionStore {
  private seq = 0;
  private readonly waiting = new Map<number, (r: unknown) => void>();

  constructor(private readonly send: (m: SessionRequest) => void) {}

  /** Feed every message the primary sends here. */
  receive(m: unknown): void {
    const r = m as SessionResponse;
    if (r?.type !== "memn2n-session") return;
    this.waiting.get(r.seq)?.(r.result);
    this.waiting.delete(r.seq);
  }

  private call<T>(req: Op): Promise<T> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, (r) => resolve(r as T));
      this.send({ type: "memn2n-session", seq, req });
    });
  }

  create(model: string): Promise<Session> {
    return this.call({ op: "create", model });
  }
  get(id: string): Promise<Session | null> {
    return this.call({ op: "get", id });
  }
  put(session: Session): Promise<void> {
    return this.call({ op: "put", session });
  }
  delete(id: string): Promise<boolean> {
    return this.call({ op: "delete", id });
  }
  acquire(id: string): Promise<Session | null> {
    return this.call({ op: "acquire", id });
  }
  release(id: string, lines: string[] | null): Promise<void> {
    return this.call({ op: "release", id, lines });
  }
}

/** The primary's side: answers a worker's request from the one store. */
export async function serveSessionRequest(store: SessionStore, m: SessionRequest): Promise<SessionResponse> {
  const r = m.req;
  const result =
    r.op === "create"
      ? await store.create(r.model)
      : r.op === "get"
        ? await store.get(r.id)
        : r.op === "put"
          ? await store.put(r.session)
          : r.op === "acquire"
            ? await store.acquire(r.id)
            : r.op === "release"
              ? await store.release(r.id, r.lines)
              : await store.delete(r.id);
  return { type: "memn2n-session", seq: m.seq, result: result ?? null };
}
