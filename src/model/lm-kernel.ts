// The language model's WebAssembly kernel (kernels/lm.as.ts): one SGD step over a batch of targets, and the
// summed loss of a batch for scoring. This side owns the memory layout (rows padded to DP floats, padding
// zero) and shares each phase of a step out to the kernel threads, when the edge has started some.

import { type KernelThreads, OP_PART } from "./kernel-threads.js";
import type { LMParams, LMTensor } from "./lm.js";
import {
  WASM_BASE64 as LM_WASM_BASE64,
  WASM_FUSED_BASE64 as LM_WASM_FUSED_BASE64,
  WASM_FUSED_SHARED_BASE64 as LM_WASM_FUSED_SHARED_BASE64,
  WASM_SHARED_BASE64 as LM_WASM_SHARED_BASE64,
} from "./lm-wasm-bytes.js";
import { currentKernelThreads, wasmAbort, wasmModules } from "./wasm-kernel.js";

interface Exports {
  setDims(v: number, d: number, dp: number, lin: number, n: number, k: number, b: number, q0: number): void;
  setParams(...a: number[]): void;
  setWorkspace(...a: number[]): void;
  setOutputs(...a: number[]): void;
  setScratch(apack: number, bpack: number, edge: number): void;
  heapBase(): number;
  scratchFloats(): number;
  scratchSplit(which: number): number;
  normChunks(): number;
  listTouched(step: number): number;
  part(phase: number, t: number, n: number): void;
  gemm(...a: number[]): void;
}

const PHASE = {
  forward: 0,
  logits: 1,
  loss: 2,
  lossGrad: 3,
  du: 4,
  dw: 5,
  backward: 6,
  gh: 7,
  scatter: 8,
  norm: 9,
  update: 10,
} as const;

const SHARED_MAX_PAGES = 32768;

const modules = wasmModules(LM_WASM_BASE64, LM_WASM_SHARED_BASE64, {
  own: LM_WASM_FUSED_BASE64,
  shared: LM_WASM_FUSED_SHARED_BASE64,
});
const ownModule = modules.own;
const sharedModule = modules.shared;

/** Where each tensor lives in the kernel's memory: rows of `cols` floats, `stride` apart. */
interface Place {
  ptr: number;
  rows: number;
  cols: number;
  stride: number;
}

export class LMKernel {
  private readonly memory: WebAssembly.Memory;
  private readonly x: Exports;
  private readonly pool: KernelThreads | null;
  private readonly calls: [string, number[]][] = [];
  private top: number;
  readonly dp: number;
  private readonly places: Record<LMTensor, Place>;
  private readonly ptr: Record<
    "ctx" | "tgt" | "lo" | "loss" | "args" | "norms" | "logits" | "uh" | "pp",
    number
  >;
  private steps = 0;
  private readonly chunks: number;
  /** Whether this kernel runs the relaxed-SIMD build (fused multiply-add) or the baseline one. */
  readonly fused: boolean;

  constructor(
    readonly params: LMParams,
    /** The most targets a batch may have (training batches and scoring batches alike). */
    readonly batchSize: number,
  ) {
    const p = params;
    this.fused = modules.fused();
    const pool = currentKernelThreads();
    const sharedMod = pool && pool.capacity > 1 ? sharedModule() : null;
    this.pool = sharedMod ? pool : null;
    const d = p.dim;
    const dp = Math.ceil(d / 4) * 4;
    this.dp = dp;
    const V = p.vocabSize;
    const N = p.memory;
    const K = p.hops;
    const B = batchSize;
    const probe = new WebAssembly.Instance(ownModule(), {
      env: { memory: new WebAssembly.Memory({ initial: 1 }), abort: wasmAbort },
    }).exports as unknown as Exports;
    const scratch = probe.scratchFloats();
    const split = [probe.scratchSplit(0), probe.scratchSplit(1)];
    const threads = this.pool ? this.pool.capacity : 1;
    // Every region's size, in bytes, to size the memory once.
    const sizes = {
      ac: V * 2 * dp * 4,
      t: N * 2 * dp * 4,
      h: dp * dp * 4,
      w: V * dp * 4,
      ctx: B * N * 4,
      tgt: B * 4,
      lo: B * 4,
      memb: B * N * 2 * dp * 4,
      uh: B * (K + 1) * dp * 4,
      pp: B * K * N * 4,
      dv: B * K * dp * 4,
      logits: B * V * 4,
      du: B * dp * 4,
      loss: B * 8,
      dps: B * K * N * 4,
      touched: V * 4,
      stamp: V * 4,
      norms: (2 * Math.ceil(V / 64) + 2) * 8,
      args: 32,
      scratch: threads * scratch * 4,
    };
    let total = 2 * (sizes.ac + sizes.t + sizes.h + sizes.w); // and the gradients
    for (const v of Object.values(sizes)) total += v + 128;
    const base = 65536 * 2;
    const pages = Math.ceil((base + total) / 65536) + 1;
    if (pages > SHARED_MAX_PAGES)
      throw new RangeError(
        `the language model needs ${Math.ceil((total / 2 ** 30) * 10) / 10} GiB, more than 2 GiB`,
      );
    this.memory = sharedMod
      ? new WebAssembly.Memory({ initial: pages, maximum: SHARED_MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: pages });
    const raw = new WebAssembly.Instance(sharedMod ?? ownModule(), {
      env: { memory: this.memory, abort: wasmAbort },
    }).exports as unknown as Exports;
    const x: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(raw as unknown as Record<string, (...a: number[]) => number>)) {
      x[name] =
        name.startsWith("set") && name !== "setScratch"
          ? (...args: number[]) => {
              this.calls.push([name, args]);
              return f(...args);
            }
          : f;
    }
    this.x = x as unknown as Exports;
    this.top = Math.max(base, (this.x.heapBase() + 127) & ~127);
    const a = (bytes: number) => this.alloc(bytes);
    const ac = a(sizes.ac);
    const t = a(sizes.t);
    const h = a(sizes.h);
    const w = a(sizes.w);
    const gac = a(sizes.ac);
    const gt = a(sizes.t);
    const gh = a(sizes.h);
    const gw = a(sizes.w);
    this.places = {
      AC: { ptr: ac, rows: V, cols: 2 * d, stride: 2 * dp },
      T: { ptr: t, rows: N, cols: 2 * d, stride: 2 * dp },
      H: { ptr: h, rows: d, cols: d, stride: dp },
      W: { ptr: w, rows: V, cols: d, stride: dp },
    };
    this.ptr = {
      ctx: a(sizes.ctx),
      tgt: a(sizes.tgt),
      lo: a(sizes.lo),
      loss: a(sizes.loss),
      args: a(sizes.args),
      norms: a(sizes.norms),
      logits: a(sizes.logits),
      uh: a(sizes.uh),
      pp: a(sizes.pp),
    };
    const memb = a(sizes.memb);
    const dv = a(sizes.dv);
    const du = a(sizes.du);
    const dps = a(sizes.dps);
    const touched = a(sizes.touched);
    const stamp = a(sizes.stamp);
    const scratchBase = a(sizes.scratch);
    this.x.setDims(V, d, dp, p.linDim, N, K, B, p.initHid);
    this.x.setParams(ac, t, h, w, gac, gt, gh, gw);
    this.x.setWorkspace(this.ptr.ctx, this.ptr.tgt, this.ptr.lo, memb, this.ptr.uh, this.ptr.pp, dv);
    this.x.setOutputs(this.ptr.logits, du, this.ptr.loss, dps, touched, stamp, this.ptr.norms, this.ptr.args);
    const scratchOf = (i: number): number[] => {
      const s = scratchBase + i * scratch * 4;
      return [s, s + split[0] * 4, s + (split[0] + split[1]) * 4];
    };
    this.x.setScratch(...(scratchOf(0) as [number, number, number]));
    this.chunks = this.x.normChunks();
    this.load();
    if (this.pool && sharedMod) {
      // Helper i is thread i + 1: its own packing buffers.
      this.pool.acquire(this, sharedMod, this.memory, this.calls, (i) => [["setScratch", scratchOf(i + 1)]]);
    }
  }

  private alloc(bytes: number): number {
    const p = this.top;
    this.top += Math.ceil(bytes / 128) * 128;
    return p;
  }

  /** Threads the kernel computes on. */
  get threads(): number {
    return this.pool?.owns(this) ? this.pool.helperCount + 1 : 1;
  }

  private f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** Copies the Params object's weights in (padded rows). */
  load(): void {
    this.copy(true);
  }

  /** Copies the kernel's weights into the Params object. */
  sync(): void {
    this.copy(false);
  }

  /** Between the Params object's rows and the kernel's padded ones; A | C (T_A | T_C) start at 0 and DP. */
  private copy(toKernel: boolean): void {
    for (const name of ["AC", "T", "H", "W"] as const) {
      const pl = this.places[name];
      const flat = this.params[name];
      const padded = this.f32(pl.ptr, pl.rows * pl.stride);
      if (toKernel) padded.fill(0);
      const half = name === "AC" || name === "T" ? this.params.dim : pl.cols;
      for (let r = 0; r < pl.rows; r++) {
        for (let c = 0; c < pl.cols; c++) {
          const at = r * pl.stride + (c < half ? c : this.dp + (c - half));
          if (toKernel) padded[at] = flat[r * pl.cols + c];
          else flat[r * pl.cols + c] = padded[at];
        }
      }
    }
  }

  /**
   * Fills the batch: the targets at `positions` of `words`, each with the N words before it, none before
   * the text's start or, with `starts`, before starts[b] (the slots before are masked).
   */
  private fill(
    words: Int32Array,
    positions: ArrayLike<number>,
    count: number,
    starts?: ArrayLike<number>,
  ): void {
    const N = this.params.memory;
    const i32 = new Int32Array(this.memory.buffer);
    const ctx = this.ptr.ctx >> 2;
    for (let b = 0; b < count; b++) {
      const t = positions[b];
      const lo = Math.min(N, Math.max(0, N - t + (starts ? Math.max(0, starts[b]) : 0)));
      i32[(this.ptr.tgt >> 2) + b] = words[t];
      i32[(this.ptr.lo >> 2) + b] = lo;
      const row = ctx + b * N;
      i32.fill(0, row, row + lo);
      i32.set(words.subarray(t - N + lo, t), row + lo);
    }
    new Float64Array(this.memory.buffer, this.ptr.args, 4)[0] = count;
  }

  /** Runs phases on every thread: each thread its share of `a`, then of `b`. */
  private run(a: number, b = -1): void {
    const pool = this.pool?.owns(this) ? this.pool : null;
    const n = pool ? pool.helperCount + 1 : 1;
    if (pool) for (let i = 0; i < n - 1; i++) pool.post(i, OP_PART, [a, b, i + 1, n]);
    this.x.part(a, 0, n);
    if (b >= 0) this.x.part(b, 0, n);
    if (pool) for (let i = 0; i < n - 1; i++) pool.wait(i);
  }

  private lossSum(count: number): number {
    const loss = new Float64Array(this.memory.buffer, this.ptr.loss, count);
    let s = 0;
    for (let b = 0; b < count; b++) s += loss[b];
    return s;
  }

  /**
   * The summed loss (-log p) of the targets at `positions` (at most batchSize), slots before 0 (or before
   * `starts`) masked.
   */
  score(
    words: Int32Array,
    positions: ArrayLike<number>,
    count = positions.length,
    starts?: ArrayLike<number>,
  ): number {
    this.check(count);
    this.fill(words, positions, count, starts);
    this.run(PHASE.forward);
    this.run(PHASE.logits);
    this.run(PHASE.loss);
    return this.lossSum(count);
  }

  /**
   * One SGD step on the targets at `positions`: the loss summed over them, the gradient scaled to maxNorm
   * when above it, then w -= lr g. Returns the summed loss and the gradient's norm before the clip. With
   * `starts`, row b's memory holds no word before starts[b].
   */
  step(
    words: Int32Array,
    positions: ArrayLike<number>,
    lr: number,
    maxNorm: number,
    starts?: ArrayLike<number>,
  ): { loss: number; norm: number } {
    const count = positions.length;
    this.check(count);
    this.fill(words, positions, count, starts);
    this.run(PHASE.forward);
    this.run(PHASE.logits);
    this.run(PHASE.lossGrad);
    this.x.listTouched(++this.steps);
    this.run(PHASE.du, PHASE.dw);
    this.run(PHASE.backward);
    this.run(PHASE.gh, PHASE.scatter);
    this.run(PHASE.norm);
    const norms = new Float64Array(this.memory.buffer, this.ptr.norms, this.chunks);
    let sq = 0;
    for (let c = 0; c < this.chunks; c++) sq += norms[c];
    const norm = Math.sqrt(sq);
    const args = new Float64Array(this.memory.buffer, this.ptr.args, 4);
    args[1] = lr * (norm > maxNorm ? maxNorm / norm : 1);
    this.run(PHASE.update);
    return { loss: this.lossSum(count), norm };
  }

  private check(count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > this.batchSize)
      throw new RangeError(`a batch of ${count} targets, the kernel holds 1 to ${this.batchSize}`);
  }

  /** Gives the threads back (to the kernel they were taken from, if any). */
  release(): void {
    this.pool?.release(this);
  }
}
