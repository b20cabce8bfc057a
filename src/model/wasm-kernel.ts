// The WebAssembly SIMD kernel (kernels/memn2n.as.ts) behind the Kernel interface. This side owns the memory
// layout: weights and gradients padded to rows of DP floats (a multiple of 4, padding zero), each batch copied
// in once with its position-weight table, and the workspace. A bump allocator hands out regions; memory only
// grows, so typed-array views are made fresh after every allocation.

import type { Batch } from "../data/batch.js";
import type { CandidateHead } from "./candidate-head.js";
import type { ClipMode, Encoding, KernelName } from "./config.js";
import { JsKernel, type Kernel, NO_SUPERVISION, type Supervision } from "./kernel.js";
import {
  type KernelThreads,
  OP_REDUCE,
  OP_SLICES,
  OP_STEP,
  OP_WORKSPACE,
  runSlices,
  SLICE_ROWS,
  type SliceJob,
  sliceArgs,
} from "./kernel-threads.js";
import type { BatchResult } from "./memn2n.js";
import { positionWeights } from "./memn2n.js";
import type { Params } from "./params.js";
import { WASM_BASE64, WASM_SHARED_BASE64 } from "./wasm-bytes.js";

interface Exports {
  setDims(
    v: number,
    dp: number,
    k: number,
    nemb: number,
    t: number,
    lw: number,
    te: number,
    q: number,
    a: number,
  ): void;
  setTopology(hops: number, memEmbs: number, nmem: number): void;
  setSlots(s: number): void;
  setRelu(r: number): void;
  setRelative(on: number, rowFloats: number): void;
  setSupervision(w: number, last: number, spread: number): void;
  setSupport(support: number, maxS: number): void;
  setHead(count: number, off: number, ids: number, types: number, used: number, nused: number): void;
  setMatch(off: number, cand: number, type: number): void;
  setParams(emb: number, time: number, h: number, gemb: number, gtime: number, gh: number): void;
  setBatch(
    sent: number,
    mem: number,
    memLen: number,
    timeIx: number,
    q: number,
    ans: number,
    m: number,
    j: number,
    pe: number,
  ): void;
  setWorkspace(
    wm: number,
    u: number,
    mv: number,
    dmv: number,
    p: number,
    dpv: number,
    probs: number,
    du: number,
    dp: number,
  ): void;
  runRows(...args: number[]): void;
  setGrads(gemb: number, gtime: number, gh: number): void;
  zeroFloats(p: number, n: number): void;
  sumSlices(...args: number[]): void;
  getLastErrors(): number;
  step(table: number, count: number, args: number, global: number, delta: number, zero: number): void;
  heapBase(): number;
  peakFlops(iters: number): number;
}

function compileWasm(base64: string): WebAssembly.Module {
  const bin = atob(base64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new WebAssembly.Module(bytes);
}

/** Whether kernels with a build for relaxed SIMD use it where the runtime accepts it (tests turn it off). */
let fusedWanted = true;

/**
 * Chooses between a kernel's relaxed-SIMD build (fused multiply-add) and its baseline build for the kernels
 * made from now on. Each build gives the same bits for any thread count; between the two, the last bits differ.
 */
export function preferFusedKernels(on: boolean): void {
  fusedWanted = on;
}

/**
 * A kernel's builds, each compiled once when first asked for: over a memory of its own, and over a shared
 * memory (null where this runtime has no SharedArrayBuffer or shared WebAssembly memory); and where the kernel
 * has them, the same two with relaxed SIMD, used where the runtime validates them (Chrome 114+, Node 22+;
 * Node 20 with --experimental-wasm-relaxed-simd, which the Node edges set).
 */
export function wasmModules(own: string, shared: string, fused?: { own: string; shared: string }) {
  const built = new Map<string, WebAssembly.Module>();
  let fusedValid: boolean | null = null;
  const build = (base64: string): WebAssembly.Module => {
    let m = built.get(base64);
    if (!m) {
      m = compileWasm(base64);
      built.set(base64, m);
    }
    return m;
  };
  const useFused = (): boolean => {
    if (!fused || !fusedWanted) return false;
    if (fusedValid === null) {
      // a runtime without relaxed SIMD rejects the module as it compiles; compiled, it is kept for own()
      try {
        build(fused.own);
        fusedValid = true;
      } catch {
        fusedValid = false;
      }
    }
    return fusedValid;
  };
  return {
    /** Which build own() and shared() give now. */
    fused: useFused,
    own(): WebAssembly.Module {
      return build(useFused() ? fused!.own : own);
    },
    shared(): WebAssembly.Module | null {
      if (typeof SharedArrayBuffer === "undefined") return null;
      try {
        const m = build(useFused() ? fused!.shared : shared);
        new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
        return m;
      } catch {
        return null;
      }
    },
  };
}

const modules = wasmModules(WASM_BASE64, WASM_SHARED_BASE64);
const module = modules.own;
const sharedModule = modules.shared;

/** The pool of threads kernels use from now on (null: one thread), set once by the edge (CLI, page). */
let kernelThreads: KernelThreads | null = null;

export function useKernelThreads(pool: KernelThreads | null): void {
  kernelThreads = pool;
}

/** The pool kernels use now (null: one thread). */
export function currentKernelThreads(): KernelThreads | null {
  return kernelThreads;
}

/** Threads a training run gets: the pool's, where the shared kernel runs; else 1. */
export function kernelThreadCount(): number {
  return kernelThreads && sharedModule() ? kernelThreads.size : 1;
}

/**
 * Milliseconds of training batches run on every thread before the timing (long enough for the engine to
 * have compiled the kernels' optimised code in every thread), then batches timed on one thread and on all;
 * the threads are kept unless they were slower.
 */
const PROBE_WARMUP_MS = 300;
const PROBE_BATCHES = 12;

/** The most pages a shared memory may grow to (2 GiB), as the shared build declares. */
const SHARED_MAX_PAGES = 32768;
const WASM32_MAX_PAGES = 65536;

/** Float32 GFLOP/s of one thread running a register-bound SIMD multiply-add loop: the machine's ceiling. */
export function measurePeakGflops(seconds = 1): number {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const x = new WebAssembly.Instance(module(), { env: { memory, abort: wasmAbort } })
    .exports as unknown as Exports;
  x.peakFlops(1e6);
  let best = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const iters = 2e7;
    const t0 = performance.now();
    x.peakFlops(iters);
    const dt = (performance.now() - t0) / 1000;
    best = Math.max(best, (iters * 64) / dt / 1e9);
  }
  return best;
}

/** Whether this runtime can run the kernel (WebAssembly with SIMD). */
export function wasmAvailable(): boolean {
  try {
    module();
    return true;
  } catch {
    return false;
  }
}

interface BatchRef {
  sent: number;
  mem: number;
  memLen: number;
  time: number;
  query: number;
  answer: number;
  support: number;
  pe: number;
  /** The dialog batch's match types (0s: none). */
  match: [number, number, number];
}

export class WasmKernel implements Kernel {
  readonly name = "wasm";
  private readonly memory: WebAssembly.Memory;
  private readonly x: Exports;
  private top: number;
  private readonly dp: number;
  /** Floats per row of R (2 timeSize, padded to a multiple of 4). */
  private relStride = 0;
  /** Each tensor: rows of `cols` floats, `stride` apart here (d and dp for all but R). */
  private readonly tensors: {
    ptr: number;
    gptr: number;
    rows: number;
    cols: number;
    stride: number;
    src: () => Float32Array | Float64Array;
  }[] = [];
  private readonly batches = new WeakMap<Batch, BatchRef>();
  private wsM = 0;
  /** Helpers of the pool that have this kernel's workspaces (more may join between batches). */
  private helpersReady = 0;
  /** Each helper's workspace (setWorkspace's arguments): set up again when the helpers come back. */
  private readonly helperWs: number[][] = [];
  private rowsPtr = 0;
  private rowsCap = 0;
  private timePtr = 0;
  private timeCap = 0;
  private i32View = new Int32Array(0);
  /** With threads: the pool, and the calls that set up an instance (replayed by each helper). */
  private readonly pool: KernelThreads | null;
  private readonly calls: [string, number[]][] = [];
  private grads = { ptr: 0, bytes: 0, timeOffset: 0, hOffset: 0 };
  private position: Int32Array = new Int32Array(0);
  /** Timing the first batches on one thread and on all (threadsPay). */
  private probe = {
    warm: 0,
    batches: 0,
    single: 0,
    threaded: 0,
    decided: null as boolean | null,
  };
  /** This thread's weights (one block: the word, time and H parts), which each helper has a copy of. */
  private weights = { base: 0, bytes: 0, emb: 0, time: 0, h: 0 };
  /** Helper i's copy lies copies[i] bytes from this thread's; fresh: the copies equal this thread's. */
  private copies: number[] = [];
  private copiesFresh = true;
  /** (gradient, weight, floats) per tensor for the kernel's step, and its lr and maxNorm. */
  private stepTable = { table: 0, args: 0 };
  /** The last batch's gradients were summed on the threads: every thread takes the step on its copy. */
  private threadedStep = false;
  /** Per-row losses and error flags for `rows` rows, and gradient buffers for `slices` slices. */
  private rowsOut = { rows: 0, losses: 0, wrong: 0 };
  private sliceGrads = { slices: 0, ptr: 0 };
  /** What the memory can grow to: 2 GiB shared between threads, 4 GiB (all of wasm32) otherwise. */
  private readonly maxBytes: number;

  constructor(
    private readonly params: Params,
    private readonly encoding: Encoding,
    supervision: Supervision = NO_SUPERVISION,
    /** The dialog model's answer layer (the candidates), or null: the bAbI one. */
    private readonly head: CandidateHead | null = null,
  ) {
    const shared = kernelThreads && kernelThreads.capacity > 1 ? sharedModule() : null;
    this.pool = shared ? kernelThreads : null;
    this.maxBytes = (shared ? SHARED_MAX_PAGES : WASM32_MAX_PAGES) * 65536;
    this.memory = shared
      ? new WebAssembly.Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: 16 });
    const raw = new WebAssembly.Instance(shared ?? module(), {
      env: { memory: this.memory, abort: wasmAbort },
    }).exports as unknown as Exports;
    // The setters the constructor calls are recorded, so that each helper thread's instance is set up the
    // same (those of a batch or a slice reach the helpers with their jobs).
    const x: Record<string, unknown> = {};
    let recording = true;
    for (const [name, f] of Object.entries(raw as unknown as Record<string, (...a: number[]) => number>)) {
      x[name] = name.startsWith("set")
        ? (...args: number[]) => {
            if (recording) this.calls.push([name, args]);
            return f(...args);
          }
        : f;
    }
    this.x = x as unknown as Exports;
    this.top = (this.x.heapBase() + 127) & ~127;
    const p = params;
    const d = p.dim;
    this.dp = Math.ceil(d / 4) * 4;
    const dp = this.dp;
    const nEmb = p.emb.length;
    const V = p.vocabSize;
    const T = p.timeSize;
    const emb = this.alloc(nEmb * V * dp * 4);
    const time = this.alloc(nEmb * T * dp * 4);
    // R and Rv (relative time) right after H, where the kernel looks for them.
    const rs = Math.ceil((2 * T) / 4) * 4;
    this.relStride = rs;
    const relBytes = p.R ? (p.hops * rs + p.hops * 2 * T * dp) * 4 : 0;
    const h = this.alloc(dp * dp * 4 + relBytes);
    this.weights = { base: emb, bytes: this.top - emb, emb, time, h };
    // The gradients in one block (the word, time, H and R parts), as each slice of a batch has its own.
    this.grads = { timeOffset: nEmb * V * dp * 4, hOffset: nEmb * (V + T) * dp * 4, bytes: 0, ptr: 0 };
    this.grads.bytes = this.grads.hOffset + dp * dp * 4 + relBytes;
    this.grads.ptr = this.alloc(this.grads.bytes);
    const gemb = this.grads.ptr;
    const gtime = gemb + this.grads.timeOffset;
    const gh = gemb + this.grads.hOffset;
    for (let e = 0; e < nEmb; e++) {
      this.tensors.push({
        ptr: emb + e * V * dp * 4,
        gptr: gemb + e * V * dp * 4,
        rows: V,
        cols: d,
        stride: dp,
        src: () => p.emb[e],
      });
      if (p.time[e].length > 0) {
        this.tensors.push({
          ptr: time + e * T * dp * 4,
          gptr: gtime + e * T * dp * 4,
          rows: T,
          cols: d,
          stride: dp,
          src: () => p.time[e],
        });
      }
    }
    if (p.H) this.tensors.push({ ptr: h, gptr: gh, rows: d, cols: d, stride: dp, src: () => p.H! });
    if (p.R) {
      const at = dp * dp * 4;
      this.tensors.push({
        ptr: h + at,
        gptr: gh + at,
        rows: p.hops,
        cols: 2 * T,
        stride: rs,
        src: () => p.R!,
      });
      const rv = at + p.hops * rs * 4;
      const rows = p.hops * 2 * T;
      this.tensors.push({ ptr: h + rv, gptr: gh + rv, rows, cols: d, stride: dp, src: () => p.Rv! });
    }
    const nt = this.tensors.length;
    this.stepTable = { table: this.alloc(nt * 12), args: this.alloc(16) };
    const t32 = new Int32Array(this.memory.buffer, this.stepTable.table, nt * 3);
    this.tensors.forEach((t, k) => {
      t32.set([t.gptr, t.ptr, t.rows * t.stride], k * 3);
    });
    const hops = this.alloc(p.hops * 8);
    const memEmbs = this.alloc(p.memEmbs.length * 4);
    const i32 = new Int32Array(this.memory.buffer);
    for (let k = 0; k < p.hops; k++) {
      i32[hops / 4 + 2 * k] = p.hopA[k];
      i32[hops / 4 + 2 * k + 1] = p.hopC[k];
    }
    p.memEmbs.forEach((e, i) => {
      i32[memEmbs / 4 + i] = e;
    });
    this.x.setDims(V, dp, p.hops, nEmb, T, p.H ? 1 : 0, p.temporal ? 1 : 0, p.query, p.answer);
    this.x.setTopology(hops, memEmbs, p.memEmbs.length);
    this.x.setSlots(p.slots ?? 0);
    this.x.setRelu(p.relu ? 1 : 0);
    this.x.setRelative(p.R ? 1 : 0, rs);
    this.x.setSupervision(supervision.weight, supervision.last ? 1 : 0, supervision.spread ? 1 : 0);
    if (head) {
      const ints = (a: Int32Array) => {
        const ptr = this.alloc(Math.max(4, a.length * 4));
        new Int32Array(this.memory.buffer).set(a, ptr / 4);
        return ptr;
      };
      const [off, ids, types, used] = [head.off, head.ids, head.typeWords, head.used].map(ints);
      this.x.setHead(head.count, off, ids, types, used, head.used.length);
    }
    this.x.setParams(emb, time, h, gemb, gtime, gh);
    recording = false;
    this.load();
    if (this.pool) this.pool.acquire(this, shared!, this.memory, this.calls, (i) => this.helperCalls(i));
  }

  /** The bytes of the kernel's memory now: what the weights, the batches and the workspaces take. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Threads this kernel computes on (all of its pool's, until the first batches showed one is faster). */
  get threads(): number {
    return this.pool?.owns(this) && this.probe.decided !== false ? this.pool.size : 1;
  }

  /**
   * A region of `bytes`, on a 128-byte boundary: regions of different threads (workspaces, a slice's
   * gradients) never share a cache line, whose writes would otherwise bounce between the cores.
   */
  private alloc(bytes: number): number {
    const ptr = this.top;
    // Arithmetic, not a bit mask: a mask would turn an address past 2 GiB negative.
    this.top = Math.ceil((this.top + bytes) / 128) * 128;
    if (this.top > this.maxBytes)
      throw new RangeError(
        `the kernel needs ${(this.top / 2 ** 30).toFixed(1)} GiB, more than its memory's ${this.maxBytes / 2 ** 30} GiB: a smaller --dim or fewer questions`,
      );
    const need = this.top - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
    return ptr;
  }

  private f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** An Int32Array over the memory, made again only after the memory grew (no allocation per batch). */
  private i32(): Int32Array {
    if (this.i32View.buffer !== this.memory.buffer) this.i32View = new Int32Array(this.memory.buffer);
    return this.i32View;
  }

  /** What helper i runs on a new instance: its copy of the weights, and its workspace once it has one. */
  private helperCalls(i: number): [string, number[]][] {
    const ws = this.helperWs[i];
    return ws ? [...this.copyFor(i), ["setWorkspace", ws]] : this.copyFor(i);
  }

  /** Helper i's copy of the weights (made now if it has none), as the setter its instance runs. */
  private copyFor(i: number): [string, number[]][] {
    const w = this.weights;
    if (this.copies[i] === undefined) this.copies[i] = this.alloc(w.bytes) - w.base;
    const delta = this.copies[i];
    new Uint8Array(this.memory.buffer).copyWithin(w.base + delta, w.base, w.base + w.bytes);
    const g = this.grads;
    return [
      [
        "setParams",
        [w.emb + delta, w.time + delta, w.h + delta, g.ptr, g.ptr + g.timeOffset, g.ptr + g.hOffset],
      ],
    ];
  }

  /** The helpers' copies of the weights, made equal to this thread's again (after a step of its own). */
  private refreshCopies(): void {
    const w = this.weights;
    const bytes = new Uint8Array(this.memory.buffer);
    for (const delta of this.copies) bytes.copyWithin(w.base + delta, w.base, w.base + w.bytes);
    this.copiesFresh = true;
  }

  load(): void {
    const f = this.f32();
    for (const { src: from, ptr, gptr, rows, cols, stride } of this.tensors) {
      const src = from();
      const base = ptr / 4;
      f.fill(0, base, base + rows * stride);
      f.fill(0, gptr / 4, gptr / 4 + rows * stride);
      for (let r = 0; r < rows; r++)
        for (let k = 0; k < cols; k++) f[base + r * stride + k] = src[r * cols + k];
    }
    this.copiesFresh = false;
  }

  sync(): void {
    const f = this.f32();
    for (const { src, ptr, rows, cols, stride } of this.tensors) {
      const dst = src();
      const base = ptr / 4;
      for (let r = 0; r < rows; r++)
        for (let k = 0; k < cols; k++) dst[r * cols + k] = f[base + r * stride + k];
    }
  }

  private batchRef(batch: Batch): BatchRef {
    let ref = this.batches.get(batch);
    if (ref) return ref;
    const { memorySize: M, sentenceLen: J } = batch;
    const copy = (src: Int32Array) => {
      const ptr = this.alloc(Math.max(4, src.length * 4));
      new Int32Array(this.memory.buffer).set(src, ptr / 4);
      return ptr;
    };
    const pe64 = positionWeights(J, this.params.dim, this.encoding, this.params.peLength ?? J);
    const pe = this.alloc((J + 1) * J * this.dp * 4);
    const f = this.f32();
    const d = this.params.dim;
    for (let r = 0; r < (J + 1) * J; r++)
      for (let k = 0; k < d; k++) f[pe / 4 + r * this.dp + k] = pe64[r * d + k];
    ref = {
      sent: copy(batch.sentences),
      mem: copy(batch.memory),
      memLen: copy(batch.memLen),
      time: copy(batch.time),
      query: copy(batch.query),
      answer: copy(batch.answer),
      support: copy(batch.supporting),
      match: batch.match
        ? [copy(batch.match.off), copy(batch.match.cand), copy(batch.match.type)]
        : [0, 0, 0],
      pe,
    };
    this.batches.set(batch, ref);
    if (M > this.wsM) this.allocWorkspace(M);
    return ref;
  }

  /** A thread's workspace for memories of M slots: the setWorkspace arguments. */
  private workspace(M: number): number[] {
    const p = this.params;
    const dp = this.dp;
    const nEmb = p.emb.length;
    return [
      M,
      this.alloc((p.hops + 1) * dp * 4),
      this.alloc(nEmb * M * dp * 4),
      this.alloc(nEmb * M * dp * 4),
      this.alloc(p.hops * M * 4),
      this.alloc((2 * M + (p.R ? (p.hops + 1) * this.relStride : 0)) * 4),
      this.alloc((p.vocabSize + (this.head?.count ?? 0)) * 8),
      this.alloc(dp * 4),
      this.alloc(dp * 4),
    ];
  }

  private allocWorkspace(M: number): void {
    this.wsM = M;
    const own = this.workspace(M);
    this.x.setWorkspace(own[0], own[1], own[2], own[3], own[4], own[5], own[6], own[7], own[8]);
    this.helperWorkspaces(0);
  }

  /** Workspaces for the helpers from `from` on, at the present size (none before the first batch). */
  private helperWorkspaces(from: number): void {
    if (!this.pool?.owns(this)) return;
    const n = this.pool.helperCount;
    if (this.wsM > 0) {
      for (let i = from; i < n; i++) {
        this.helperWs[i] = this.workspace(this.wsM);
        this.pool.post(i, OP_WORKSPACE, this.helperWs[i]);
      }
      for (let i = from; i < n; i++) this.pool.wait(i);
    }
    this.helpersReady = n;
  }

  // A small model's batch takes less time than the threads take to meet twice: runBatch times its first
  // training batches on this thread alone and on all of them (the same batch twice: the same outputs) and
  // keeps the faster way. The weights are the same either way.
  /**
   * Room for `count` rows' losses and error flags and, for a batch with gradients, for its slices' gradient
   * buffers. An evaluation pass (every validation question at once) needs no gradients: buffers for all of
   * its slices would take gigabytes.
   */
  private outputs(count: number, slices: number): void {
    if (count > this.rowsOut.rows)
      this.rowsOut = { rows: count, losses: this.alloc(count * 8), wrong: this.alloc(count * 4) };
    if (slices > this.sliceGrads.slices)
      this.sliceGrads = { slices, ptr: this.alloc(slices * this.grads.bytes) };
  }

  run(
    batch: Batch,
    rows: Int32Array,
    count: number,
    linear: boolean,
    grad: boolean,
    noisyTime: Int32Array | null,
  ): BatchResult {
    const ref = this.batchRef(batch);
    if (count > this.rowsCap) {
      this.rowsCap = count;
      this.rowsPtr = this.alloc(count * 4);
    }
    // The rows in the order of their slices (see dealRows); position[r]: where row r of the batch went.
    const position = dealRows(rows, count, batch.memLen, this.position);
    this.position = position;
    const mem = this.i32();
    for (let r = 0; r < count; r++) mem[this.rowsPtr / 4 + position[r]] = rows[r];
    let timePtr = ref.time;
    if (noisyTime) {
      const M = batch.memorySize;
      const need = count * M;
      if (need > this.timeCap) {
        this.timeCap = need;
        this.timePtr = this.alloc(need * 4);
      }
      const m = this.i32();
      const base = this.timePtr / 4;
      for (let r = 0; r < count; r++) m.set(noisyTime.subarray(r * M, (r + 1) * M), base + position[r] * M);
      timePtr = this.timePtr;
    }
    this.x.setBatch(
      ref.sent,
      ref.mem,
      ref.memLen,
      timePtr,
      ref.query,
      ref.answer,
      batch.memorySize,
      batch.sentenceLen,
      ref.pe,
    );
    this.x.setSupport(ref.support, batch.maxSupporting);
    this.x.setMatch(...ref.match);
    const batchArgs = [ref.sent, ref.mem, ref.memLen, timePtr, ref.query, ref.answer, batch.memorySize];
    batchArgs.push(batch.sentenceLen, ref.pe, ref.support, batch.maxSupporting, ...ref.match);
    return this.runBatch(batchArgs, count, timePtr, noisyTime ? 1 : 0, linear ? 1 : 0, grad ? 1 : 0);
  }

  /**
   * A batch in slices of SLICE_ROWS rows, shared among the threads (one without a pool). With gradients,
   * each slice adds its rows into a buffer of its own, and the buffers are summed in slice order into the
   * gradients, so the sums, and the weights, do not depend on how many threads there are. Loss and errors
   * are summed in row order.
   */
  private runBatch(
    batchArgs: number[],
    count: number,
    timePtr: number,
    byPosition: number,
    linear: number,
    grad: number,
  ): BatchResult {
    const g = this.grads;
    const slices = Math.ceil(count / SLICE_ROWS);
    // Without threads a batch of one slice adds straight into the gradients (zero since the last step); with
    // threads every batch goes through its slices' buffers, so that their sum overwrites the gradients and a
    // step on the threads need not zero them. The sums are the same either way.
    const own = grad === 1 && (slices > 1 || this.pool !== null);
    this.outputs(count, own ? slices : 0);
    const out = this.rowsOut;
    const job: SliceJob = {
      rows: this.rowsPtr,
      count,
      from: 0,
      to: slices,
      timePtr,
      byPosition,
      linear,
      grad,
      losses: out.losses,
      wrong: out.wrong,
      sliceBase: own ? this.sliceGrads.ptr : 0,
      sliceBytes: g.bytes,
      timeOffset: g.timeOffset,
      hOffset: g.hOffset,
    };
    const owned = this.pool?.owns(this) ? this.pool : null;
    // Helpers that joined since the last batch: their workspaces, and the timing again from the start.
    owned?.poll();
    if (owned && owned.helperCount !== this.helpersReady) {
      this.helperWorkspaces(this.helpersReady);
      this.probe = { warm: 0, batches: 0, single: 0, threaded: 0, decided: null };
    }
    const pool = owned && owned.helperCount > 0 ? owned : null;
    const pr = this.probe;
    if (pool && !pool.adaptive) pr.decided = true;
    if (pool && own && pr.decided === null && pr.warm < PROBE_WARMUP_MS) {
      const t0 = performance.now();
      this.computeSlices(job, batchArgs, pool);
      pr.warm += performance.now() - t0;
    } else if (pool && own && pr.decided === null) {
      // The same batch on this thread alone, then on all: the same outputs, so only the times differ.
      const t0 = performance.now();
      this.computeSlices(job, batchArgs, null);
      const t1 = performance.now();
      this.computeSlices(job, batchArgs, pool);
      pr.single += t1 - t0;
      pr.threaded += performance.now() - t1;
      if (++pr.batches >= PROBE_BATCHES) pr.decided = pr.threaded < pr.single;
    } else {
      this.computeSlices(job, batchArgs, pool && pr.decided !== false ? pool : null);
    }
    const f64 = new Float64Array(this.memory.buffer, out.losses, count);
    const wrong = new Int32Array(this.memory.buffer, out.wrong, count);
    let loss = 0;
    let errors = 0;
    for (let r = 0; r < count; r++) {
      loss += f64[this.position[r]];
      errors += wrong[this.position[r]];
    }
    return { loss, errors, count };
  }

  /** The slices of a batch job on the pool's threads (null: this one alone), then their sum. */
  private computeSlices(job: SliceJob, batchArgs: number[], pool: KernelThreads | null): void {
    const g = this.grads;
    const slices = job.to;
    const threads = pool ? Math.min(pool.size, slices) : 1;
    if (threads > 1 && !this.copiesFresh) this.refreshCopies();
    this.threadedStep = false;
    const part = (t: number, n: number) => Math.floor((t * n) / threads);
    for (let t = 1; t < threads; t++) {
      pool!.post(t - 1, OP_SLICES, [
        ...batchArgs,
        ...sliceArgs({ ...job, from: part(t, slices), to: part(t + 1, slices) }),
      ]);
    }
    runSlices(this.x, { ...job, from: 0, to: part(1, slices) });
    for (let t = 1; t < threads; t++) pool!.wait(t - 1);
    if (job.sliceBase === 0) return;
    this.x.setGrads(g.ptr, g.ptr + g.timeOffset, g.ptr + g.hOffset);
    const floats = g.bytes / 4;
    const cut = (t: number) => Math.floor((t * floats) / threads / 4) * 4;
    const reduce = (t: number) => [
      g.ptr,
      job.sliceBase,
      g.bytes,
      slices,
      cut(t),
      t + 1 === threads ? floats : cut(t + 1),
    ];
    for (let t = 1; t < threads; t++) pool!.post(t - 1, OP_REDUCE, reduce(t));
    this.x.sumSlices(...reduce(0));
    for (let t = 1; t < threads; t++) pool!.wait(t - 1);
    this.threadedStep = threads > 1;
  }

  step(lr: number, maxNorm: number, clip: ClipMode): void {
    const st = this.stepTable;
    new Float64Array(this.memory.buffer, st.args, 2).set([lr, maxNorm]);
    const global = clip === "global" ? 1 : 0;
    const n = this.tensors.length;
    if (this.threadedStep && this.pool) {
      // Every helper updates its copy, the ones this batch did not use too, so that all stay fresh.
      for (let i = 0; i < this.pool.helperCount; i++)
        this.pool.post(i, OP_STEP, [st.table, n, st.args, global, this.copies[i]]);
      this.x.step(st.table, n, st.args, global, 0, 0);
      for (let i = 0; i < this.pool.helperCount; i++) this.pool.wait(i);
      this.threadedStep = false;
      return;
    }
    this.x.step(st.table, n, st.args, global, 0, 1);
    this.copiesFresh = this.copies.length === 0;
  }
}

/**
 * Deals a batch's rows into its slices of SLICE_ROWS so that the slices cost about the same (a row costs
 * about its number of memories): longest first, each to the slice with the least so far that has room.
 * Threads that share out the slices then finish together. The slices depend on the batch only, never on
 * the thread count. Returns each row's position in the dealt order (rows of slice s at s*SLICE_ROWS...).
 */
export function dealRows(rows: Int32Array, count: number, memLen: Int32Array, into: Int32Array): Int32Array {
  const position = into.length >= count ? into : new Int32Array(count);
  const slices = Math.ceil(count / SLICE_ROWS);
  if (slices <= 1) {
    for (let r = 0; r < count; r++) position[r] = r;
    return position;
  }
  const order = Array.from({ length: count }, (_, r) => r);
  order.sort((a, b) => memLen[rows[b]] - memLen[rows[a]] || a - b);
  const load = new Array<number>(slices).fill(0);
  const filled = new Array<number>(slices).fill(0);
  const room = (s: number) => (s === slices - 1 ? count - (slices - 1) * SLICE_ROWS : SLICE_ROWS);
  for (const r of order) {
    let best = -1;
    for (let s = 0; s < slices; s++) {
      if (filled[s] < room(s) && (best < 0 || load[s] < load[best])) best = s;
    }
    position[r] = best * SLICE_ROWS + filled[best]++;
    load[best] += memLen[rows[r]] + 1;
  }
  return position;
}

export function wasmAbort(): never {
  throw new Error("memn2n wasm kernel aborted");
}

/** The named kernel: "wasm" where the runtime has WebAssembly SIMD and the weights are float32. */
export function createKernel(
  name: KernelName,
  params: Params,
  encoding: Encoding,
  head: CandidateHead | null = null,
  supervision: Supervision = NO_SUPERVISION,
): Kernel {
  if (name === "wasm" && params.dtype === "f32" && wasmAvailable()) {
    return new WasmKernel(params, encoding, supervision, head);
  }
  return new JsKernel(params, encoding, head, supervision);
}
