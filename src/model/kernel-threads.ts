// Threads for the WebAssembly kernel: one training run on several cores, data-parallel over each batch.
// The kernel's memory is shared (a SharedArrayBuffer); each thread runs its own instance of the module on
// it. A batch is cut into fixed slices of SLICE_ROWS rows; the threads share out the slices, each slice adds
// its rows' gradients into a buffer of its own, and the buffers are summed in slice order (the threads share
// out that sum by ranges of floats). The slices and the order of every addition are the same whatever the
// number of threads, one included: the weights depend on the seed only, never on the thread count.
//
// No Node API here: the edge (CLI, page) spawns the helper threads and hands them to KernelThreads.start;
// each helper runs serveKernelThread. Per batch, the threads meet through Atomics on a shared Int32Array.

/** A helper thread as the pool sees it. */
export interface ThreadEndpoint {
  postMessage(message: unknown): void;
  terminate(): void;
  /** Lets the process exit while the thread waits (Node); called once it is up. */
  unref?(): void;
}

/** Where a helper thread receives its setup messages (a worker's parentPort, or a Worker's self). */
export interface ThreadPort {
  on(listener: (message: unknown) => void): void;
}

/**
 * How long a thread spins on the control array before it sleeps in Atomics.wait (ms): waking a sleeping
 * thread takes tens of microseconds, a tenth of a batch, while the gaps between the phases of a batch and
 * between batches are shorter than this.
 */
const SPIN_MS = 2;

/** Waits until c[i] !== value: spinning first, then sleeping. */
function waitChange(c: Int32Array, i: number, value: number): void {
  if (Atomics.load(c, i) !== value) return;
  const until = performance.now() + SPIN_MS;
  let n = 0;
  while (Atomics.load(c, i) === value) {
    if ((++n & 255) === 0 && performance.now() > until) {
      Atomics.wait(c, i, value, 1000);
      return;
    }
  }
}

/** How long helper threads may take to start. */
const START_TIMEOUT_MS = 30_000;

/** Int32 slots per helper in the control array. */
const STRIDE = 32;
/** Control slots: the job number the main thread posted, the one the helper finished, the operation, args. */
const SEQ = 0;
const DONE = 1;
const OP = 2;
const FAILED = 3;
const ARGS = 4;
export const OP_SLICES = 1;
export const OP_REDUCE = 2;
export const OP_RELEASE = 3;
export const OP_WORKSPACE = 4;
export const OP_STEP = 5;
/** A phase of a kernel that shares its work out itself: args phase, second phase (-1: none), thread, threads. */
export const OP_PART = 6;
/** What a helper stores in OP once its instance for a new kernel is set up. */
const READY = -2;
/** Args of a slices job before its own: the batch (setBatch, setSupport, setMatch). */
const BATCH_ARGS = 14;

/**
 * Rows per slice of a batch: a batch of 32 is 4 slices, so up to 4 threads share it. Fixed, so that the
 * slices, and the order their gradients are summed in, do not depend on the thread count. Smaller slices
 * cost more in zeroing and summing their gradient buffers than a second thread wins back (bench/: 8 rows
 * gave 1.5x and 1.6x on bAbI tasks 2 and 3 with 2 threads, 4 rows 1.1x and 1.5x).
 */
export const SLICE_ROWS = 8;

/** Slices [from, to) of a batch's rows (see WasmKernel.runBatch). */
export interface SliceJob {
  rows: number;
  count: number;
  from: number;
  to: number;
  timePtr: number;
  byPosition: number;
  linear: number;
  grad: number;
  losses: number;
  wrong: number;
  /** The slices' own gradient buffers, sliceBytes apart (0: add into the gradients set now). */
  sliceBase: number;
  sliceBytes: number;
  timeOffset: number;
  hOffset: number;
}

const SLICE_FIELDS = [
  "rows",
  "count",
  "from",
  "to",
  "timePtr",
  "byPosition",
  "linear",
  "grad",
  "losses",
  "wrong",
  "sliceBase",
  "sliceBytes",
  "timeOffset",
  "hOffset",
] as const satisfies readonly (keyof SliceJob)[];

export function sliceArgs(job: SliceJob): number[] {
  return SLICE_FIELDS.map((f) => job[f]);
}

interface SliceExports {
  runRows(...a: number[]): void;
  setGrads(gemb: number, gtime: number, gh: number): void;
  zeroFloats(p: number, n: number): void;
}

/** Runs a thread's slices: each into its own zeroed gradient buffer (or straight into the set ones). */
export function runSlices(x: SliceExports, j: SliceJob): void {
  for (let s = j.from; s < j.to; s++) {
    if (j.sliceBase !== 0) {
      const g = j.sliceBase + s * j.sliceBytes;
      x.zeroFloats(g, j.sliceBytes / 4);
      x.setGrads(g, g + j.timeOffset, g + j.hOffset);
    }
    const end = Math.min(j.count, (s + 1) * SLICE_ROWS);
    x.runRows(j.rows, s * SLICE_ROWS, end, j.timePtr, j.byPosition, j.linear, j.grad, j.losses, j.wrong);
  }
}

interface HelperExports extends SliceExports {
  setDims(...a: number[]): void;
  setTopology(...a: number[]): void;
  setSlots(s: number): void;
  setRelu(r: number): void;
  setRelative(on: number, rowFloats: number): void;
  setSupervision(w: number, last: number): void;
  setParams(...a: number[]): void;
  setWorkspace(...a: number[]): void;
  setBatch(...a: number[]): void;
  setSupport(support: number, maxS: number): void;
  setMatch(off: number, cand: number, type: number): void;
  sumSlices(...a: number[]): void;
  step(table: number, count: number, args: number, global: number, delta: number, zero: number): void;
  part(phase: number, thread: number, threads: number): void;
}

export interface HelperSetup {
  type: "memn2n-kernel-setup";
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: Int32Array;
  index: number;
  /** The setters to call on the new instance, with their arguments. */
  calls: [string, number[]][];
}

/** The setters helper i runs after the kernel's own (its copy of the weights, say). */
export type OwnCalls = (helper: number) => [string, number[]][];

/** Where a pool reads how many threads it may use: cells[index], written by whoever shares out the cores. */
export interface ThreadBudget {
  cells: Int32Array;
  index: number;
}

type KernelSetup = Omit<HelperSetup, "type" | "control" | "index"> & { own: OwnCalls };

/** The most kernels a pool remembers to hand its helpers back to. */
const MAX_LENDERS = 8;

/**
 * The pool of helper threads (size - 1 of them; this thread is the first). A kernel takes them for its
 * lifetime and gives them back with release(kernel). A kernel made while another has them borrows them:
 * when it releases them they go back to the one it took them from (scoring a run's best weights, say,
 * must not leave the run on one thread). A pool made by `growing` starts with none and spawns more, up
 * to its capacity, as its budget rises (a sweep gives the cores of its finished runs to the runs still
 * going); the kernel picks them up between batches (poll).
 */
export class KernelThreads {
  /** The kernel the helpers serve now, and what sets up an instance for it; a new kernel takes them over. */
  private owner: object | null = null;
  private setup: KernelSetup | null = null;
  /**
   * The kernels the helpers were taken from, the latest last, and how each sets them up. Weak: a kernel
   * dropped without a release is not kept alive (with its memory) by the pool.
   */
  private readonly lenders: WeakRef<object>[] = [];
  private readonly setups = new WeakMap<object, KernelSetup>();
  /** Spawned helpers that have not said they are up yet, in index order after the helpers. */
  private readonly pending: ThreadEndpoint[] = [];
  /**
   * Kernels time their first batches on one thread and on all, and keep the faster (the weights are the
   * same either way); false: always all (for tests of the threads themselves).
   */
  adaptive = true;

  private constructor(
    private readonly helpers: ThreadEndpoint[],
    readonly control: Int32Array,
    /** The most threads this pool may have, this one included. */
    readonly capacity: number,
    private readonly spawn: () => ThreadEndpoint,
    private readonly budget: ThreadBudget | null,
  ) {}

  /** Threads in all, this one included. */
  get size(): number {
    return this.helpers.length + 1;
  }

  /** Starts threads - 1 helpers; resolves once each has said it is up. */
  static async start(threads: number, spawn: () => ThreadEndpoint): Promise<KernelThreads> {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads: a whole number >= 1, got ${threads}`);
    const pool = KernelThreads.growing(threads, spawn, null);
    for (let i = 0; i < threads - 1; i++) pool.spawnOne();
    const give = performance.now() + START_TIMEOUT_MS;
    while (pool.pending.length > 0) {
      pool.adopt();
      if (pool.pending.length === 0) break;
      if (performance.now() > give) {
        pool.close();
        throw new Error(`kernel threads: a helper thread did not start within ${START_TIMEOUT_MS / 1000} s`);
      }
      await new Promise((res) => setTimeout(res, 1));
    }
    return pool;
  }

  /**
   * A pool of this thread alone that grows, up to `capacity` threads, to what `budget` allows (null: it
   * stays at one). Its kernels run on shared memory from the start, so that helpers can join them later.
   */
  static growing(capacity: number, spawn: () => ThreadEndpoint, budget: ThreadBudget | null): KernelThreads {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`threads: a whole number >= 1, got ${capacity}`);
    const control = new Int32Array(new SharedArrayBuffer(Math.max(1, capacity - 1) * STRIDE * 4));
    return new KernelThreads([], control, capacity, spawn, budget);
  }

  private spawnOne(): void {
    const i = this.helpers.length + this.pending.length;
    const h = this.spawn();
    // A helper answers the ping by storing DONE = -1: it is up and waits for a kernel.
    Atomics.store(this.control, i * STRIDE + DONE, 0);
    h.postMessage({ type: "memn2n-kernel-ping", control: this.control, index: i });
    this.pending.push(h);
  }

  /** Takes in the pending helpers that are up, in index order; sets each up for the owner. */
  private adopt(): void {
    while (this.pending.length > 0) {
      const i = this.helpers.length;
      if (Atomics.load(this.control, i * STRIDE + DONE) !== -1) break;
      Atomics.store(this.control, i * STRIDE + SEQ, 0);
      Atomics.store(this.control, i * STRIDE + DONE, 0);
      const h = this.pending.shift()!;
      h.unref?.();
      this.helpers.push(h);
      if (this.setup) this.setUp(i);
    }
  }

  /**
   * Between batches: spawns helpers up to the budget and takes in those that are up (set up for the
   * owner; the owner sees helperCount grow and hands the new ones their workspaces).
   */
  poll(): void {
    if (this.budget === null) return;
    const want = Math.min(this.capacity, Atomics.load(this.budget.cells, this.budget.index));
    while (this.helpers.length + this.pending.length + 1 < want) this.spawnOne();
    this.adopt();
  }

  /**
   * Takes the helpers for a kernel: each instantiates the module on the kernel's memory and runs the setters.
   * The kernel that had them before computes on its own thread until this one releases them (see owns).
   */
  acquire(
    kernel: object,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    calls: [string, number[]][],
    own: OwnCalls = () => [],
  ): void {
    const lender = this.owner;
    this.detach();
    if (lender !== null && lender !== kernel) {
      this.lenders.push(new WeakRef(lender));
      if (this.lenders.length > MAX_LENDERS) this.lenders.shift();
    }
    const setup = { module, memory, calls, own };
    this.setups.set(kernel, setup);
    this.install(kernel, setup);
  }

  private install(kernel: object, setup: KernelSetup): void {
    this.owner = kernel;
    this.setup = setup;
    for (let i = 0; i < this.helpers.length; i++) this.setUp(i);
  }

  /** Sets helper i up for the owner; it says its instance is ready by storing OP = READY. */
  private setUp(i: number): void {
    const { module, memory, calls, own } = this.setup!;
    const setup: HelperSetup = {
      type: "memn2n-kernel-setup",
      module,
      memory,
      calls: [...calls, ...own(i)],
      control: this.control,
      index: i,
    };
    this.helpers[i].postMessage(setup);
    const at = i * STRIDE + OP;
    for (let op = Atomics.load(this.control, at); op !== READY; op = Atomics.load(this.control, at)) {
      Atomics.wait(this.control, at, op, 50);
    }
    this.check(i);
  }

  /** Posts a job to helper i (its args after OP). */
  post(i: number, op: number, args: number[]): void {
    const base = i * STRIDE;
    const c = this.control;
    c[base + OP] = op;
    for (let k = 0; k < args.length; k++) c[base + ARGS + k] = args[k];
    Atomics.add(c, base + SEQ, 1);
    Atomics.notify(c, base + SEQ);
  }

  /** Waits until helper i has finished the last job posted to it. */
  wait(i: number): void {
    const base = i * STRIDE;
    const c = this.control;
    const seq = Atomics.load(c, base + SEQ);
    for (;;) {
      const done = Atomics.load(c, base + DONE);
      if (done === seq) break;
      waitChange(c, base + DONE, done);
    }
    this.check(i);
  }

  private check(i: number): void {
    if (Atomics.load(this.control, i * STRIDE + FAILED) !== 0) {
      Atomics.store(this.control, i * STRIDE + FAILED, 0);
      throw new Error(`kernel thread ${i + 1} failed (see its error output)`);
    }
  }

  get helperCount(): number {
    return this.helpers.length;
  }

  owns(kernel: object): boolean {
    return this.owner === kernel;
  }

  /**
   * A kernel is done with the helpers: if it has them, they go back to the latest kernel they were taken
   * from that is still alive (it sees owns() again; its own calls set them up as before). Without a kernel:
   * the helpers return to waiting for the next kernel's setup, and no kernel gets them back.
   */
  release(kernel?: object): void {
    if (kernel === undefined) {
      this.detach();
      this.lenders.length = 0;
      return;
    }
    const i = this.lenders.findIndex((r) => r.deref() === kernel);
    if (i >= 0) this.lenders.splice(i, 1);
    this.setups.delete(kernel);
    if (this.owner !== kernel) return;
    this.detach();
    for (let lender = this.lenders.pop(); lender !== undefined; lender = this.lenders.pop()) {
      const k = lender.deref();
      const setup = k && this.setups.get(k);
      if (k && setup) {
        this.install(k, setup);
        return;
      }
    }
  }

  /** Takes the helpers back from their kernel (they wait for the next kernel's setup). */
  private detach(): void {
    if (this.owner === null) return;
    for (let i = 0; i < this.helpers.length; i++) this.post(i, OP_RELEASE, []);
    for (let i = 0; i < this.helpers.length; i++) this.wait(i);
    this.owner = null;
    this.setup = null;
  }

  /** Stops the helper threads. */
  close(): void {
    for (const h of [...this.helpers, ...this.pending]) h.terminate();
    this.helpers.length = 0;
    this.pending.length = 0;
  }
}

/** A helper thread's side: waits for a kernel's setup, then serves its jobs until released. */
export function serveKernelThread(port: ThreadPort): void {
  port.on((message) => {
    const m = message as { type: string; control: Int32Array; index: number };
    if (m.type === "memn2n-kernel-ping") {
      Atomics.store(m.control, m.index * STRIDE + DONE, -1);
      Atomics.notify(m.control, m.index * STRIDE + DONE);
      return;
    }
    if (m.type !== "memn2n-kernel-setup") return;
    const setup = message as HelperSetup;
    const c = setup.control;
    const base = setup.index * STRIDE;
    let x: HelperExports;
    try {
      x = new WebAssembly.Instance(setup.module, {
        env: {
          memory: setup.memory,
          abort: () => {
            throw new Error("memn2n wasm kernel aborted");
          },
        },
      }).exports as unknown as HelperExports;
      for (const [name, args] of setup.calls) {
        (x as unknown as Record<string, (...a: number[]) => void>)[name](...args);
      }
    } catch (e) {
      console.error(`memn2n kernel thread: ${(e as Error).message}`);
      Atomics.store(c, base + FAILED, 1);
      Atomics.store(c, base + OP, READY);
      Atomics.notify(c, base + OP);
      return;
    }
    let seen = Atomics.load(c, base + SEQ);
    Atomics.store(c, base + DONE, seen);
    Atomics.store(c, base + OP, READY);
    Atomics.notify(c, base + OP);
    for (;;) {
      while (Atomics.load(c, base + SEQ) === seen) waitChange(c, base + SEQ, seen);
      seen = Atomics.load(c, base + SEQ);
      const op = c[base + OP];
      const a = (k: number) => c[base + ARGS + k];
      try {
        if (op === OP_RELEASE) {
          Atomics.store(c, base + DONE, seen);
          Atomics.notify(c, base + DONE);
          return;
        }
        if (op === OP_WORKSPACE) {
          x.setWorkspace(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8));
        } else if (op === OP_REDUCE) {
          x.sumSlices(a(0), a(1), a(2), a(3), a(4), a(5));
        } else if (op === OP_PART) {
          x.part(a(0), a(2), a(3));
          if (a(1) >= 0) x.part(a(1), a(2), a(3));
        } else if (op === OP_STEP) {
          x.step(a(0), a(1), a(2), a(3), a(4), 0);
        } else if (op === OP_SLICES) {
          x.setBatch(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8));
          x.setSupport(a(9), a(10));
          x.setMatch(a(11), a(12), a(13));
          const job = Object.fromEntries(
            SLICE_FIELDS.map((f, k) => [f, a(BATCH_ARGS + k)]),
          ) as unknown as SliceJob;
          runSlices(x, job);
        }
      } catch (e) {
        console.error(`memn2n kernel thread: ${(e as Error).message}`);
        Atomics.store(c, base + FAILED, 1);
      }
      Atomics.store(c, base + DONE, seen);
      Atomics.notify(c, base + DONE);
    }
  });
}
