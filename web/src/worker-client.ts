// The page's side of the Worker: requests that resolve with their reply (or reject with the Worker's error
// message), and a stream of events (the epochs of a training run).

import type { Reply, Request } from "./protocol.js";

type ReplyOf<T extends Reply["type"]> = Extract<Reply, { type: T }>;

export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending: {
    want: Reply["type"];
    during: Request["type"];
    resolve(r: Reply): void;
    reject(e: Error): void;
  }[] = [];
  private readonly listeners = new Map<Reply["type"], ((r: Reply) => void)[]>();
  /** Resolves with what the Worker can do: WebAssembly SIMD, and the threads training runs on. */
  readonly ready: Promise<{ simd: boolean; threads: number }>;

  constructor() {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    this.ready = new Promise((resolve, reject) => {
      this.worker.addEventListener(
        "error",
        (e) => reject(new Error(e.message || "the Worker failed to start")),
        {
          once: true,
        },
      );
      this.on("ready", (r) => resolve({ simd: r.simd, threads: r.threads }));
    });
    this.worker.onmessage = (e: MessageEvent<Reply>) => this.dispatch(e.data);
  }

  private dispatch(r: Reply): void {
    if (r.type === "error") {
      const i = this.pending.findIndex((p) => p.during === r.during);
      if (i >= 0) this.pending.splice(i, 1)[0].reject(new Error(r.message));
      else for (const fn of this.listeners.get("error") ?? []) fn(r);
      return;
    }
    const i = this.pending.findIndex((p) => p.want === r.type);
    if (i >= 0) this.pending.splice(i, 1)[0].resolve(r);
    for (const fn of this.listeners.get(r.type) ?? []) fn(r);
  }

  on<T extends Reply["type"]>(type: T, fn: (r: ReplyOf<T>) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(fn as (r: Reply) => void);
    this.listeners.set(type, list);
  }

  request<T extends Reply["type"]>(
    req: Request,
    want: T,
    transfer: Transferable[] = [],
  ): Promise<ReplyOf<T>> {
    return new Promise((resolve, reject) => {
      this.pending.push({ want, during: req.type, resolve: resolve as (r: Reply) => void, reject });
      this.worker.postMessage(req, transfer);
    });
  }

  post(req: Request): void {
    this.worker.postMessage(req);
  }
}
