// The sessions in Redis (`memn2n serve --sessions redis://HOST:PORT`): every worker and every replica reads and
// writes the same conversations, and they outlive the server. Per session, with the session TTL refreshed on
// every reply: a hash (model, client), a list of the transcript's lines, and two counters that make replies
// take turns across processes in the order they came (a ticket each; the one whose ticket follows the last
// one served goes). A client's live sessions are counted in a key of its own, expiring with the TTL.

import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { LOCK_TIMEOUT_MS, type Session, SessionLimitError, type SessionStore } from "./sessions.js";

const PREFIX = "memn2n:";
/** How often a waiting reply looks whether its turn has come. */
const POLL_MS = 2;

export class RedisSessions implements SessionStore {
  private constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
    private readonly perClient: number,
  ) {}

  /** Connects (and checks the server answers) before anything listens; `url` is redis://HOST:PORT[/DB]. */
  static async connect(url: string, ttlMs: number, perClient: number): Promise<RedisSessions> {
    const redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      connectTimeout: 5000,
      // a failed first connection is reported once, not retried forever
      retryStrategy: (times) => (times > 20 ? null : Math.min(times * 100, 1000)),
    });
    redis.on("error", () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (e) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at ${url} (${(e as Error).message})`);
    }
    return new RedisSessions(redis, ttlMs, perClient);
  }

  private key(id: string, part = ""): string {
    return `${PREFIX}s:${id}${part}`;
  }

  private keys(id: string): string[] {
    return ["", ":lines", ":ticket", ":served"].map((p) => this.key(id, p));
  }

  async create(model: string, client: string): Promise<Session> {
    const ck = `${PREFIX}c:${client}`;
    const held = await this.redis.incr(ck);
    await this.redis.pexpire(ck, this.ttlMs);
    if (held > this.perClient) {
      await this.redis.decr(ck);
      throw new SessionLimitError(
        `this client holds ${held - 1} sessions, the most one may (--max-sessions-per-client): end one first`,
      );
    }
    const id = randomUUID();
    await this.redis.multi().hset(this.key(id), { model, client }).pexpire(this.key(id), this.ttlMs).exec();
    return { id, model, lines: [], length: 0 };
  }

  async transcript(id: string): Promise<Session | null> {
    const [[, model], [, lines]] = (await this.redis
      .multi()
      .hget(this.key(id), "model")
      .lrange(this.key(id, ":lines"), 0, -1)
      .exec()) as [[null, string | null], [null, string[]]];
    if (model === null) return null;
    return { id, model, lines, length: lines.length };
  }

  async acquire(id: string, window: number): Promise<Session | null> {
    if (!(await this.redis.exists(this.key(id)))) return null;
    const ticket = await this.redis.incr(this.key(id, ":ticket"));
    let served = Number((await this.redis.get(this.key(id, ":served"))) ?? 0);
    let since = Date.now();
    while (served + 1 < ticket) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const now = Number((await this.redis.get(this.key(id, ":served"))) ?? 0);
      if (now !== served) {
        served = now;
        since = Date.now();
      } else if (Date.now() - since > LOCK_TIMEOUT_MS) {
        // the reply before this one never ended (its process died): it loses its turn
        await this.redis.set(this.key(id, ":served"), String(served + 1));
      }
    }
    const [[, model], [, length], [, lines]] = (await this.redis
      .multi()
      .hget(this.key(id), "model")
      .llen(this.key(id, ":lines"))
      .lrange(this.key(id, ":lines"), -window, -1)
      .exec()) as [[null, string | null], [null, number], [null, string[]]];
    if (model === null) {
      await this.release(id, null);
      return null;
    }
    return { id, model, lines: window > 0 ? lines : [], length };
  }

  async release(id: string, added: string[] | null): Promise<void> {
    const m = this.redis.multi();
    if (added && added.length > 0) m.rpush(this.key(id, ":lines"), ...added);
    m.incr(this.key(id, ":served"));
    for (const k of this.keys(id)) m.pexpire(k, this.ttlMs);
    await m.exec();
  }

  async delete(id: string): Promise<boolean> {
    const client = await this.redis.hget(this.key(id), "client");
    const n = await this.redis.del(...this.keys(id));
    if (client !== null) await this.redis.decr(`${PREFIX}c:${client}`);
    return n > 0;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
