// The MemN2N language model's training step and scoring in AssemblyScript with 128-bit SIMD (f32x4): the same
// maths as src/model/lm.ts (the readable float64 reference this kernel is tested against), over float32.
// Unlike the bAbI kernel this model is bound by three matrix products with the 10,000-word output layer, so
// the heart of this file is a blocked matrix multiply (gemm): packed panels, a 4 x 8 register tile.
//
// Threads: every phase of a step is split by `part(phase, t, n)` over the rows, columns or words it writes,
// never over a sum, so every float is computed by one thread in one order: the same bits for any thread count.
// Rows of d floats are padded to DP (a multiple of 4) whose padding stays zero. The JS side
// (src/model/lm-kernel.ts) owns the memory layout and passes pointers in.

// ---- dimensions and pointers (set by the JS side, the same on every thread's instance) ----
let V: i32 = 0; // vocabulary
let D: i32 = 0; // units
let DP: i32 = 0; // D padded to a multiple of 4
let LIN: i32 = 0; // units [0, LIN) stay linear, [LIN, D) pass through a ReLU
let N: i32 = 0; // memory slots (previous words)
let K: i32 = 0; // hops
let B: i32 = 0; // rows of a batch
let Q0: f32 = 0.1; // every unit of the constant query u^1

let AC: usize = 0; // f32[V][2 DP]: A | C of each word
let TT: usize = 0; // f32[N][2 DP]: T_A | T_C of each slot
let H: usize = 0; // f32[DP][DP]: u' = H u + o
let W: usize = 0; // f32[V][DP]: logits = W u
let GAC: usize = 0;
let GT: usize = 0;
let GH: usize = 0;
let GW: usize = 0;

let CTX: usize = 0; // i32[B][N]: the words in memory, oldest first
let TGT: usize = 0; // i32[B]: the word to predict
let LO: usize = 0; // i32[B]: slots [0, LO) hold no word (before the file's start) and get no attention
let MEMB: usize = 0; // f32[B][N][2 DP]: m_i | c_i
let UH: usize = 0; // f32[B][K+1][DP]: u^1 .. u^{K+1}
let PP: usize = 0; // f32[B][K][N]: attention of each hop
let DV: usize = 0; // f32[B][K][DP]: gradient of each hop's H u + o (after the ReLU's mask)
let LOGITS: usize = 0; // f32[B][V]: logits, then the gradient of the loss with respect to them
let DU: usize = 0; // f32[B][DP]: gradient of u^{K+1}
let LOSS: usize = 0; // f64[B]: each row's -log p(target)
let DPS: usize = 0; // f32[B][K][N]: each hop's gradient of each slot's score (backward scratch)
let TOUCHED: usize = 0; // i32[V]: the words of the batch's memories, in order of first appearance
let STAMP: usize = 0; // i32[V]: the step that last listed each word
let NORMS: usize = 0; // f64[]: squared norms of the gradient's chunks
let ARGS: usize = 0; // f64[4]: rows in the batch, lr, the clip's scale; i32 at +24: touched words

// Per-thread packing buffers (each instance has its own globals).
let APACK: usize = 0; // f32[MC][KC]
let BPACK: usize = 0; // f32[KC][NC]
let EDGE: usize = 0; // f32[MR][NR]: a tile past C's edge is computed whole here, then the part that fits copied

export function setDims(v: i32, d: i32, dp: i32, lin: i32, n: i32, k: i32, b: i32, q0: f32): void {
  V = v;
  D = d;
  DP = dp;
  LIN = lin;
  N = n;
  K = k;
  B = b;
  Q0 = q0;
}

export function setParams(ac: usize, tt: usize, h: usize, w: usize, gac: usize, gt: usize, gh: usize, gw: usize): void {
  AC = ac;
  TT = tt;
  H = h;
  W = w;
  GAC = gac;
  GT = gt;
  GH = gh;
  GW = gw;
}

export function setWorkspace(ctx: usize, tgt: usize, lo: usize, memb: usize, uh: usize, pp: usize, dv: usize): void {
  CTX = ctx;
  TGT = tgt;
  LO = lo;
  MEMB = memb;
  UH = uh;
  PP = pp;
  DV = dv;
}

export function setOutputs(logits: usize, du: usize, loss: usize, dps: usize, touched: usize, stamp: usize, norms: usize, args: usize): void {
  LOGITS = logits;
  DPS = dps;
  DU = du;
  LOSS = loss;
  TOUCHED = touched;
  STAMP = stamp;
  NORMS = norms;
  ARGS = args;
}

export function setScratch(apack: usize, bpack: usize, edge: usize): void {
  APACK = apack;
  BPACK = bpack;
  EDGE = edge;
}

export function heapBase(): usize {
  return __heap_base;
}

// ---- matrix multiply ----

// Register tile MR x NR; blocks KC (the shared dimension), MC rows of A and NC columns of B packed at a time.
// Every C element is the sum over k in order, block by block: the partition of C never changes its bits.
const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;

/** Floats of a thread's scratch: APACK, BPACK and EDGE. */
export function scratchFloats(): i32 {
  return MC * KC + KC * NC + MR * NR;
}

export function scratchSplit(which: i32): i32 {
  return which === 0 ? MC * KC : KC * NC;
}

/** A[rows][k] (element (i, p) at a + 4 (i ars + p acs)) into MR-row panels, p-major, zero past `rows`. */
function packA(a: usize, ars: i32, acs: i32, rows: i32, kc: i32): void {
  let dst = APACK;
  for (let i0 = 0; i0 < rows; i0 += MR) {
    const r = min(MR, rows - i0);
    if (r === MR && acs === 1) {
      const a0 = a + (<usize>(i0 * ars) << 2);
      const a1 = a0 + (<usize>ars << 2);
      const a2 = a1 + (<usize>ars << 2);
      const a3 = a2 + (<usize>ars << 2);
      for (let p = 0; p < kc; p++) {
        const o = <usize>p << 2;
        store<f32>(dst, load<f32>(a0 + o));
        store<f32>(dst, load<f32>(a1 + o), 4);
        store<f32>(dst, load<f32>(a2 + o), 8);
        store<f32>(dst, load<f32>(a3 + o), 12);
        dst += 16;
      }
    } else if (r === MR && ars === 1) {
      for (let p = 0; p < kc; p++) {
        v128.store(dst, v128.load(a + (<usize>(i0 + p * acs) << 2)));
        dst += 16;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let i = 0; i < MR; i++) {
          store<f32>(dst, i < r ? load<f32>(a + (<usize>((i0 + i) * ars + p * acs) << 2)) : 0);
          dst += 4;
        }
      }
    }
  }
}

/** B[k][cols] (element (p, j) at b + 4 (p brs + j bcs)) into NR-column panels, p-major, zero past `cols`. */
function packB(b: usize, brs: i32, bcs: i32, kc: i32, cols: i32): void {
  let dst = BPACK;
  for (let j0 = 0; j0 < cols; j0 += NR) {
    const c = min(NR, cols - j0);
    if (c === NR && bcs === 1) {
      for (let p = 0; p < kc; p++) {
        const s = b + (<usize>(p * brs + j0) << 2);
        v128.store(dst, v128.load(s));
        v128.store(dst, v128.load(s, 16), 16);
        dst += 32;
      }
    } else if (c === NR && brs === 1) {
      const s0 = b + (<usize>(j0 * bcs) << 2);
      const st = <usize>bcs << 2;
      for (let p = 0; p < kc; p++) {
        const s = s0 + (<usize>p << 2);
        store<f32>(dst, load<f32>(s));
        store<f32>(dst, load<f32>(s + st), 4);
        store<f32>(dst, load<f32>(s + 2 * st), 8);
        store<f32>(dst, load<f32>(s + 3 * st), 12);
        store<f32>(dst, load<f32>(s + 4 * st), 16);
        store<f32>(dst, load<f32>(s + 5 * st), 20);
        store<f32>(dst, load<f32>(s + 6 * st), 24);
        store<f32>(dst, load<f32>(s + 7 * st), 28);
        dst += 32;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let j = 0; j < NR; j++) {
          store<f32>(dst, j < c ? load<f32>(b + (<usize>(p * brs + (j0 + j) * bcs) << 2)) : 0);
          dst += 4;
        }
      }
    }
  }
}


/** C[MR][NR] (= or +=) packed A panel x packed B panel. */
function tile(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, add: bool, rows: i32, cols: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  const full = rows === MR && cols === NR;
  const ld: usize = full ? <usize>ldc << 2 : 32;
  const dst = full ? c : EDGE;
  const addHere = full && add;
  const r1 = dst + ld;
  const r2 = r1 + ld;
  const r3 = r2 + ld;
  if (addHere) {
    v128.store(dst, f32x4.add(v128.load(dst), c00));
    v128.store(dst, f32x4.add(v128.load(dst, 16), c01), 16);
    v128.store(r1, f32x4.add(v128.load(r1), c10));
    v128.store(r1, f32x4.add(v128.load(r1, 16), c11), 16);
    v128.store(r2, f32x4.add(v128.load(r2), c20));
    v128.store(r2, f32x4.add(v128.load(r2, 16), c21), 16);
    v128.store(r3, f32x4.add(v128.load(r3), c30));
    v128.store(r3, f32x4.add(v128.load(r3, 16), c31), 16);
  } else {
    v128.store(dst, c00);
    v128.store(dst, c01, 16);
    v128.store(r1, c10);
    v128.store(r1, c11, 16);
    v128.store(r2, c20);
    v128.store(r2, c21, 16);
    v128.store(r3, c30);
    v128.store(r3, c31, 16);
  }
  if (!full) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const at = c + (<usize>(i * ldc + j) << 2);
        const v = load<f32>(EDGE + (<usize>(i * NR + j) << 2));
        store<f32>(at, add ? load<f32>(at) + v : v);
      }
    }
  }
}

/**
 * C[m][n] = A[m][k] B[k][n] (or += with `add`). Strides in floats: A's element (i, p) at a + 4 (i ars + p acs),
 * B's (p, j) at b + 4 (p brs + j bcs); C is row-major with ldc floats a row.
 */
export function gemm(m: i32, n: i32, k: i32, a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, c: usize, ldc: i32, add: bool): void {
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const addBlock = add || pc > 0;
      packB(b + (<usize>(pc * brs + jc * bcs) << 2), brs, bcs, kc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(a + (<usize>(ic * ars + pc * acs) << 2), ars, acs, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const bp = BPACK + (<usize>(jr * kc) << 2);
          const cols = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            tile(
              kc,
              APACK + (<usize>(ir * kc) << 2),
              bp,
              c + (<usize>((ic + ir) * ldc + jc + jr) << 2),
              ldc,
              addBlock,
              min(MR, mc - ir),
              cols,
            );
          }
        }
      }
    }
  }
}

// ---- small vector helpers (DP floats, a multiple of 4) ----

// a b + c. The build with relaxed SIMD lets the engine fuse it (one rounding, and on x86 with FMA one
// instruction where the baseline needs a multiply and an add); the baseline build rounds twice. Both builds
// give the same bits for any thread count; between them, and between machines with and without FMA, the
// last bits differ.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// Four running sums: one sum's chain of additions would wait on the adder's latency at every step.
function dot(x: usize, y: usize): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let s2 = f32x4.splat(0);
  let s3 = f32x4.splat(0);
  const end = <usize>DP << 2;
  const end4 = end & ~63;
  let o: usize = 0;
  for (; o < end4; o += 64) {
    s0 = madd(v128.load(x + o), v128.load(y + o), s0);
    s1 = madd(v128.load(x + o, 16), v128.load(y + o, 16), s1);
    s2 = madd(v128.load(x + o, 32), v128.load(y + o, 32), s2);
    s3 = madd(v128.load(x + o, 48), v128.load(y + o, 48), s3);
  }
  for (; o < end; o += 16) s0 = madd(v128.load(x + o), v128.load(y + o), s0);
  const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}

function zero(p: usize, floats: i32): void {
  const z = f32x4.splat(0);
  const end = <usize>floats << 2;
  for (let o: usize = 0; o < end; o += 16) v128.store(p + o, z);
}

// exp over f32x4: 2^n e^r with |r| <= ln2 / 2 and a degree-6 Taylor polynomial (relative error below 2e-7);
// inputs here are logits minus their maximum, so at most 0; below -87 the result is 0.
function exp4(x: v128): v128 {
  const xc = f32x4.max(x, f32x4.splat(-87.0));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.4426950408889634)));
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693145751953125))), f32x4.mul(n, f32x4.splat(1.428606765330187e-6)));
  let p = f32x4.splat(1.0 / 720.0);
  p = madd(p, r, f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// ---- blocked row products ----

// The hops are matrix-vector products over one row's memories. Done one vector at a time, each product's
// loads outnumber its multiply-adds two to one and each sum waits on the last; these keep their sums in
// registers and read each shared operand once per group of rows or columns.

/** [x·y, (x+xs)·y, (x+2xs)·y, (x+3xs)·y] over DP floats (xs in bytes). */
function dot4(x: usize, xs: usize, y: usize): v128 {
  const x1 = x + xs;
  const x2 = x1 + xs;
  const x3 = x2 + xs;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let b2 = f32x4.splat(0);
  let b3 = f32x4.splat(0);
  const end = <usize>DP << 2;
  let o: usize = 0;
  for (; o + 32 <= end; o += 32) {
    const y0 = v128.load(y + o);
    const y1 = v128.load(y + o, 16);
    a0 = madd(v128.load(x + o), y0, a0);
    b0 = madd(v128.load(x + o, 16), y1, b0);
    a1 = madd(v128.load(x1 + o), y0, a1);
    b1 = madd(v128.load(x1 + o, 16), y1, b1);
    a2 = madd(v128.load(x2 + o), y0, a2);
    b2 = madd(v128.load(x2 + o, 16), y1, b2);
    a3 = madd(v128.load(x3 + o), y0, a3);
    b3 = madd(v128.load(x3 + o, 16), y1, b3);
  }
  if (o < end) {
    const y0 = v128.load(y + o);
    a0 = madd(v128.load(x + o), y0, a0);
    a1 = madd(v128.load(x1 + o), y0, a1);
    a2 = madd(v128.load(x2 + o), y0, a2);
    a3 = madd(v128.load(x3 + o), y0, a3);
  }
  const s0 = f32x4.add(a0, b0);
  const s1 = f32x4.add(a1, b1);
  const s2 = f32x4.add(a2, b2);
  const s3 = f32x4.add(a3, b3);
  // a transpose by halves: lane j of the result is the sum of s_j's lanes
  const t01 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
  const t23 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), v128.shuffle<f32>(t01, t23, 2, 3, 6, 7));
}

/** out[i] = (x + i xs) · y for i < count. */
function dots(out: usize, x: usize, xs: usize, y: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(out + (<usize>i << 2), dot4(x + <usize>i * xs, xs, y));
  for (; i < count; i++) store<f32>(out + (<usize>i << 2), dot(x + <usize>i * xs, y));
}

/**
 * out (+)= sum over i < count of c_i x_i, x_i = x + i xs and c_i = f32 at c + i cs (strides in bytes); with
 * `fresh` out starts from zero. Eight vectors of out at a time stay in registers while every x_i passes.
 */
function combine(out: usize, x: usize, xs: usize, c: usize, cs: usize, count: i32, fresh: bool): void {
  const end = <usize>DP << 2;
  const z = f32x4.splat(0);
  let o: usize = 0;
  for (; o + 128 <= end; o += 128) {
    const to = out + o;
    let a0 = fresh ? z : v128.load(to);
    let a1 = fresh ? z : v128.load(to, 16);
    let a2 = fresh ? z : v128.load(to, 32);
    let a3 = fresh ? z : v128.load(to, 48);
    let a4 = fresh ? z : v128.load(to, 64);
    let a5 = fresh ? z : v128.load(to, 80);
    let a6 = fresh ? z : v128.load(to, 96);
    let a7 = fresh ? z : v128.load(to, 112);
    let xi = x + o;
    let ci = c;
    for (let i = 0; i < count; i++, xi += xs, ci += cs) {
      const s = load<f32>(ci);
      if (s === 0) continue;
      const sv = f32x4.splat(s);
      a0 = madd(sv, v128.load(xi), a0);
      a1 = madd(sv, v128.load(xi, 16), a1);
      a2 = madd(sv, v128.load(xi, 32), a2);
      a3 = madd(sv, v128.load(xi, 48), a3);
      a4 = madd(sv, v128.load(xi, 64), a4);
      a5 = madd(sv, v128.load(xi, 80), a5);
      a6 = madd(sv, v128.load(xi, 96), a6);
      a7 = madd(sv, v128.load(xi, 112), a7);
    }
    v128.store(to, a0);
    v128.store(to, a1, 16);
    v128.store(to, a2, 32);
    v128.store(to, a3, 48);
    v128.store(to, a4, 64);
    v128.store(to, a5, 80);
    v128.store(to, a6, 96);
    v128.store(to, a7, 112);
  }
  // the last vectors, one at a time, each over two chains of i (even and odd) so that no sum waits long
  for (; o < end; o += 16) {
    let a0 = fresh ? z : v128.load(out + o);
    let a1 = z;
    let xi = x + o;
    let ci = c;
    let i = 0;
    for (; i + 2 <= count; i += 2, xi += xs << 1, ci += cs << 1) {
      a0 = madd(f32x4.splat(load<f32>(ci)), v128.load(xi), a0);
      a1 = madd(f32x4.splat(load<f32>(ci + cs)), v128.load(xi + xs), a1);
    }
    if (i < count) a0 = madd(f32x4.splat(load<f32>(ci)), v128.load(xi), a0);
    v128.store(out + o, f32x4.add(a0, a1));
  }
}

// ---- the model, one row of a batch at a time ----

function uAt(b: i32, k: i32): usize {
  return UH + (<usize>((b * (K + 1) + k) * DP) << 2);
}

function memAt(b: i32, i: i32): usize {
  return MEMB + (<usize>((b * N + i) * 2 * DP) << 2);
}

function forwardRow(b: i32): void {
  const lo = load<i32>(LO + (<usize>b << 2));
  const ctx = CTX + (<usize>(b * N) << 2);
  const row = <usize>(2 * DP) << 2;
  for (let i = lo; i < N; i++) {
    const w = load<i32>(ctx + (<usize>i << 2));
    const src = AC + <usize>w * row;
    const t = TT + <usize>i * row;
    const dst = memAt(b, i);
    for (let o: usize = 0; o < row; o += 16) v128.store(dst + o, f32x4.add(v128.load(src + o), v128.load(t + o)));
  }
  const u0 = uAt(b, 0);
  zero(u0, DP);
  for (let j = 0; j < D; j++) store<f32>(u0 + (<usize>j << 2), Q0);
  const cOff = <usize>DP << 2;
  const rowH = <usize>DP << 2;
  for (let k = 0; k < K; k++) {
    const u = uAt(b, k);
    const next = uAt(b, k + 1);
    const p = PP + (<usize>((b * K + k) * N) << 2);
    // H u, then + o, then the ReLU on the units past LIN
    dots(next, H, rowH, u, D);
    if (lo < N) {
      const pl = p + (<usize>lo << 2);
      dots(pl, memAt(b, lo), row, u, N - lo);
      let mx: f32 = -Infinity;
      for (let i = lo; i < N; i++) mx = max(mx, load<f32>(p + (<usize>i << 2)));
      // exp over four slots at a time, then the ones left
      const m4 = f32x4.splat(mx);
      let s4 = f32x4.splat(0);
      let i = lo;
      for (; i + 4 <= N; i += 4) {
        const at = p + (<usize>i << 2);
        const e = exp4(f32x4.sub(v128.load(at), m4));
        v128.store(at, e);
        s4 = f32x4.add(s4, e);
      }
      let sum: f64 = <f64>f32x4.extract_lane(s4, 0) + <f64>f32x4.extract_lane(s4, 1) + (<f64>f32x4.extract_lane(s4, 2) + <f64>f32x4.extract_lane(s4, 3));
      for (; i < N; i++) {
        const e = <f32>Math.exp(<f64>(load<f32>(p + (<usize>i << 2)) - mx));
        store<f32>(p + (<usize>i << 2), e);
        sum += e;
      }
      const inv = <f32>(1.0 / sum);
      for (let i = lo; i < N; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * inv);
      combine(next, memAt(b, lo) + cOff, row, pl, 4, N - lo, false);
    }
    for (let i = 0; i < lo; i++) store<f32>(p + (<usize>i << 2), 0);
    for (let i = LIN; i < D; i++) {
      const at = next + (<usize>i << 2);
      if (load<f32>(at) < 0) store<f32>(at, 0);
    }
  }
}

/** -log p(target) of row b; with grad, the logits become the loss's gradient (softmax minus one-hot). */
function softmaxRow(b: i32, grad: bool): void {
  const l = LOGITS + (<usize>(b * V) << 2);
  const end = <usize>V << 2;
  const vend = end & ~15;
  let mx4 = f32x4.splat(-Infinity);
  for (let o: usize = 0; o < vend; o += 16) mx4 = f32x4.max(mx4, v128.load(l + o));
  let mx = max(max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1)), max(f32x4.extract_lane(mx4, 2), f32x4.extract_lane(mx4, 3)));
  for (let o = vend; o < end; o += 4) mx = max(mx, load<f32>(l + o));
  const m4 = f32x4.splat(mx);
  let s4 = f32x4.splat(0);
  for (let o: usize = 0; o < vend; o += 16) {
    const e = exp4(f32x4.sub(v128.load(l + o), m4));
    if (grad) v128.store(l + o, e);
    s4 = f32x4.add(s4, e);
  }
  let sum: f64 = <f64>f32x4.extract_lane(s4, 0) + <f64>f32x4.extract_lane(s4, 1) + (<f64>f32x4.extract_lane(s4, 2) + <f64>f32x4.extract_lane(s4, 3));
  for (let o = vend; o < end; o += 4) {
    const e = <f32>Math.exp(<f64>(load<f32>(l + o) - mx));
    if (grad) store<f32>(l + o, e);
    sum += e;
  }
  const tgt = load<i32>(TGT + (<usize>b << 2));
  const tAt = l + (<usize>tgt << 2);
  if (!grad) {
    store<f64>(LOSS + (<usize>b << 3), Math.log(sum) - <f64>(load<f32>(tAt) - mx));
    return;
  }
  store<f64>(LOSS + (<usize>b << 3), Math.log(sum) - Math.log(<f64>load<f32>(tAt)));
  const inv = f32x4.splat(<f32>(1.0 / sum));
  for (let o: usize = 0; o < vend; o += 16) v128.store(l + o, f32x4.mul(v128.load(l + o), inv));
  for (let o = vend; o < end; o += 4) store<f32>(l + o, load<f32>(l + o) * <f32>(1.0 / sum));
  store<f32>(tAt, load<f32>(tAt) - 1);
}

/**
 * The backward pass of row b, hop by hop from the last: each hop's dv^k and ds^k (the gradient of its slot
 * scores, zero on slots that hold no word), which the later phases turn into the weights' gradients.
 */
function backwardRow(b: i32): void {
  const lo = load<i32>(LO + (<usize>b << 2));
  const cOff = <usize>DP << 2;
  const row = <usize>(2 * DP) << 2;
  const rowH = <usize>DP << 2;
  const du = DU + (<usize>(b * DP) << 2);
  for (let k = K - 1; k >= 0; k--) {
    const next = uAt(b, k + 1);
    const p = PP + (<usize>((b * K + k) * N) << 2);
    const dv = DV + (<usize>((b * K + k) * DP) << 2);
    const ds = DPS + (<usize>((b * K + k) * N) << 2);
    for (let i = 0; i < DP; i++) {
      const at = <usize>i << 2;
      store<f32>(dv + at, i >= LIN && load<f32>(next + at) <= 0 ? 0 : load<f32>(du + at));
    }
    // T's gradient is a product over every row and slot (PHASE_SCATTER), so the empty slots' ds must be zero
    for (let i = 0; i < min(lo, N); i++) store<f32>(ds + (<usize>i << 2), 0);
    // the gradient of u^k: H^T dv, plus the attention's share below
    combine(du, H, rowH, dv, 4, D, true);
    if (lo >= N) continue;
    dots(ds + (<usize>lo << 2), memAt(b, lo) + cOff, row, dv, N - lo);
    let sdp: f32 = 0;
    for (let i = lo; i < N; i++) sdp += load<f32>(p + (<usize>i << 2)) * load<f32>(ds + (<usize>i << 2));
    for (let i = lo; i < N; i++) {
      const at = <usize>i << 2;
      store<f32>(ds + at, load<f32>(p + at) * (load<f32>(ds + at) - sdp));
    }
    combine(du, memAt(b, lo), row, ds + (<usize>lo << 2), 4, N - lo, false);
  }
}

/** dst += the gradient of row b's slot i: A's part (DP floats) at dst, C's at dst + DP. */
function slotGradient(dst: usize, b: i32, i: i32): void {
  const at = <usize>i << 2;
  const hop = <usize>N << 2;
  const rowH = <usize>DP << 2; // u^k and dv^k are rows of DP floats; C's part starts DP floats in
  combine(dst, uAt(b, 0), rowH, DPS + (<usize>(b * K * N) << 2) + at, hop, K, false);
  combine(dst + rowH, DV + (<usize>(b * K * DP) << 2), rowH, PP + (<usize>(b * K * N) << 2) + at, hop, K, false);
}

// ---- the phases of a step ----

/** [from, to) of `total` units, in n near-equal runs of whole `align`s: thread t's share. */
function shareFrom(total: i32, align: i32, t: i32, n: i32): i32 {
  const units = (total + align - 1) / align;
  return min(total, <i32>((<i64>units * t) / n) * align);
}

function rows(): i32 {
  return <i32>load<f64>(ARGS);
}

export const PHASE_FORWARD: i32 = 0;
export const PHASE_LOGITS: i32 = 1;
export const PHASE_LOSS: i32 = 2;
export const PHASE_LOSS_GRAD: i32 = 3;
export const PHASE_DU: i32 = 4;
export const PHASE_DW: i32 = 5;
export const PHASE_BACKWARD: i32 = 6;
export const PHASE_GH: i32 = 7;
export const PHASE_SCATTER: i32 = 8;
export const PHASE_NORM: i32 = 9;
export const PHASE_UPDATE: i32 = 10;

/** Rows of the gradient per chunk of its squared norm (the chunks are summed in order by the JS side). */
const CHUNK_ROWS: i32 = 64;

export function normChunks(): i32 {
  return (V + CHUNK_ROWS - 1) / CHUNK_ROWS + (V + CHUNK_ROWS - 1) / CHUNK_ROWS + 2;
}

function sumSquares(p: usize, floats: i32): f64 {
  let s = f32x4.splat(0);
  let total: f64 = 0;
  const end = <usize>floats << 2;
  for (let o: usize = 0; o < end; o += 16) {
    const x = v128.load(p + o);
    s = madd(x, x, s);
    // fold into float64 every 1024 floats: a float32 running sum of 10^5 squares would lose digits
    if ((o & 4095) === 4080) {
      total += <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) + <f64>f32x4.extract_lane(s, 2) + <f64>f32x4.extract_lane(s, 3);
      s = f32x4.splat(0);
    }
  }
  return total + <f64>f32x4.extract_lane(s, 0) + <f64>f32x4.extract_lane(s, 1) + <f64>f32x4.extract_lane(s, 2) + <f64>f32x4.extract_lane(s, 3);
}

/** p -= s g over `floats` floats; zeroes g after with `clear`. */
function descend(p: usize, g: usize, floats: i32, s: f32, clear: bool): void {
  const sv = f32x4.splat(-s);
  const z = f32x4.splat(0);
  const end = <usize>floats << 2;
  for (let o: usize = 0; o < end; o += 16) {
    v128.store(p + o, madd(sv, v128.load(g + o), v128.load(p + o)));
    if (clear) v128.store(g + o, z);
  }
}

/**
 * Lists the words of the batch's memories (each once, in order of first appearance) for the sparse parts of
 * the step; one thread, before the backward phases. Returns how many.
 */
export function listTouched(step: i32): i32 {
  const n = rows();
  let count = 0;
  for (let b = 0; b < n; b++) {
    const lo = load<i32>(LO + (<usize>b << 2));
    for (let i = lo; i < N; i++) {
      const w = load<i32>(CTX + (<usize>(b * N + i) << 2));
      const at = STAMP + (<usize>w << 2);
      if (load<i32>(at) !== step) {
        store<i32>(at, step);
        store<i32>(TOUCHED + (<usize>count << 2), w);
        count++;
      }
    }
  }
  store<i32>(ARGS + 24, count);
  return count;
}

/** Thread t of n runs its share of a phase of the step. */
export function part(phase: i32, t: i32, n: i32): void {
  const count = rows();
  if (phase === PHASE_FORWARD || phase === PHASE_LOSS || phase === PHASE_LOSS_GRAD || phase === PHASE_BACKWARD) {
    const from = shareFrom(count, 1, t, n);
    const to = shareFrom(count, 1, t + 1, n);
    for (let b = from; b < to; b++) {
      if (phase === PHASE_FORWARD) forwardRow(b);
      else if (phase === PHASE_BACKWARD) backwardRow(b);
      else softmaxRow(b, phase === PHASE_LOSS_GRAD);
    }
  } else if (phase === PHASE_LOGITS) {
    // logits[b][v] = u^{K+1}_b . W_v, shared out by words
    const from = shareFrom(V, NR, t, n);
    const to = shareFrom(V, NR, t + 1, n);
    if (to > from)
      gemm(count, to - from, DP, uAt(0, K), (K + 1) * DP, 1, W + (<usize>(from * DP) << 2), 1, DP, LOGITS + (<usize>from << 2), V, false);
  } else if (phase === PHASE_DU) {
    // dU = dlogits W, shared out by rows
    const from = shareFrom(count, MR, t, n);
    const to = shareFrom(count, MR, t + 1, n);
    if (to > from)
      gemm(to - from, DP, V, LOGITS + (<usize>(from * V) << 2), V, 1, W, DP, 1, DU + (<usize>(from * DP) << 2), DP, false);
  } else if (phase === PHASE_DW) {
    // dW = dlogits^T U, shared out by words
    const from = shareFrom(V, MR, t, n);
    const to = shareFrom(V, MR, t + 1, n);
    if (to > from)
      gemm(to - from, DP, count, LOGITS + (<usize>from << 2), 1, V, uAt(0, K), (K + 1) * DP, 1, GW + (<usize>(from * DP) << 2), DP, false);
  } else if (phase === PHASE_GH) {
    // dH = sum over hops and rows of dv u^T, shared out by H's rows
    const from = shareFrom(DP, MR, t, n);
    const to = shareFrom(DP, MR, t + 1, n);
    if (to > from) {
      for (let k = 0; k < K; k++) {
        gemm(to - from, DP, count, DV + (<usize>(k * DP + from) << 2), 1, K * DP, uAt(0, k), (K + 1) * DP, 1, GH + (<usize>(from * DP) << 2), DP, k > 0);
      }
    }
  } else if (phase === PHASE_SCATTER) {
    scatter(t, n, count);
  } else if (phase === PHASE_NORM) {
    const chunks = normChunks();
    const touched = load<i32>(ARGS + 24);
    const wChunks = (V + CHUNK_ROWS - 1) / CHUNK_ROWS;
    for (let c = t; c < chunks; c += n) {
      let s: f64 = 0;
      if (c < wChunks) {
        const r0 = c * CHUNK_ROWS;
        s = sumSquares(GW + (<usize>(r0 * DP) << 2), (min(V, r0 + CHUNK_ROWS) - r0) * DP);
      } else if (c < 2 * wChunks) {
        const r0 = (c - wChunks) * CHUNK_ROWS;
        for (let r = r0; r < min(touched, r0 + CHUNK_ROWS); r++) {
          const w = load<i32>(TOUCHED + (<usize>r << 2));
          s += sumSquares(GAC + (<usize>(w * 2 * DP) << 2), 2 * DP);
        }
      } else if (c === 2 * wChunks) {
        s = sumSquares(GT, N * 2 * DP);
      } else {
        s = sumSquares(GH, DP * DP);
      }
      store<f64>(NORMS + (<usize>c << 3), s);
    }
  } else if (phase === PHASE_UPDATE) {
    const s = <f32>load<f64>(ARGS + 8);
    const touched = load<i32>(ARGS + 24);
    let from = shareFrom(V, 1, t, n);
    let to = shareFrom(V, 1, t + 1, n);
    descend(W + (<usize>(from * DP) << 2), GW + (<usize>(from * DP) << 2), (to - from) * DP, s, false);
    from = shareFrom(touched, 1, t, n);
    to = shareFrom(touched, 1, t + 1, n);
    for (let r = from; r < to; r++) {
      const at = <usize>(load<i32>(TOUCHED + (<usize>r << 2)) * 2 * DP) << 2;
      descend(AC + at, GAC + at, 2 * DP, s, true);
    }
    if (t === 0) {
      descend(TT, GT, N * 2 * DP, s, false);
      descend(H, GH, DP * DP, s, false);
    }
  }
}

/**
 * The memories' gradients: T's (shared out by slots) and A | C's (shared out by word, w mod n = t). Slot i of
 * T gets, over every row b and hop k, ds_{b,k,i} u_{b,k} (T_A) and p_{b,k,i} dv_{b,k} (T_C): for each hop a
 * matrix product over the rows, (N x B) by (B x DP), summed over b in order, then over k in order.
 */
function scatter(t: i32, n: i32, count: i32): void {
  const row = 2 * DP;
  const from = shareFrom(N, MR, t, n);
  const to = shareFrom(N, MR, t + 1, n);
  if (to > from && count === 0) zero(GT + (<usize>(from * row) << 2), (to - from) * row);
  else if (to > from) {
    const gA = GT + (<usize>(from * row) << 2);
    const gC = gA + (<usize>DP << 2);
    for (let k = 0; k < K; k++) {
      const at = <usize>(k * N + from) << 2;
      gemm(to - from, DP, count, DPS + at, 1, K * N, uAt(0, k), (K + 1) * DP, 1, gA, row, k > 0);
      gemm(to - from, DP, count, PP + at, 1, K * N, DV + (<usize>(k * DP) << 2), K * DP, 1, gC, row, k > 0);
    }
  }
  for (let b = 0; b < count; b++) {
    const lo = load<i32>(LO + (<usize>b << 2));
    for (let i = lo; i < N; i++) {
      const w = load<i32>(CTX + (<usize>(b * N + i) << 2));
      if (w % n !== t) continue;
      slotGradient(GAC + (<usize>(w * row) << 2), b, i);
    }
  }
}
