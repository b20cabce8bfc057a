// MemN2N forward and backward in AssemblyScript with 128-bit SIMD (f32x4): the same maths as
// src/model/memn2n.ts (the readable float64 reference these kernels are tested against), over float32.
// Rows are padded to DP floats (a multiple of 4) whose padding stays zero, so every loop over a vector is
// DP/4 SIMD steps. The JS side (src/model/wasm-kernel.ts) owns the memory layout and passes pointers in.

// ---- dimensions and pointers (set by the JS side) ----
let V: i32 = 0; // vocabulary
let DP: i32 = 0; // padded embedding size
let K: i32 = 0; // hops
let NEMB: i32 = 0; // word matrices
let T: i32 = 0; // time rows
let LAYERWISE: bool = false;
let TEMPORAL: bool = false;
let QIDX: i32 = 0; // matrix of the question (B)
let AIDX: i32 = 0; // matrix of the answer (W)
let HOPS: usize = 0; // i32[2K]: A and C matrix of each hop
let MEMEMBS: usize = 0; // i32[NMEM]: matrices that embed memories
let NMEM: i32 = 0;

let EMB: usize = 0; // f32[NEMB][V][DP]
let TIME: usize = 0; // f32[NEMB][T][DP]
let H: usize = 0; // f32[DP][DP]
let GEMB: usize = 0;
let GTIME: usize = 0;
let GH: usize = 0;

let M: i32 = 0; // memory slots of the batch
let J: i32 = 0; // words per sentence of the batch
let SENT: usize = 0; // i32[S][J] words of every statement
let MEM: usize = 0; // i32[n][M] row of SENT in each memory slot
let MEMLEN: usize = 0; // i32[n]
let TIMEIX: usize = 0; // i32[n][M]
let QUERY: usize = 0; // i32[n][J]
let ANSWER: usize = 0; // i32[n]
let PE: usize = 0; // f32[J+1][J][DP]

let WM: i32 = 0; // memory slots the workspace holds
let U: usize = 0; // f32[K+1][DP]
let MV: usize = 0; // f32[NEMB][WM][DP] embedded memories
let DMV: usize = 0; // f32[NEMB][WM][DP] their gradients
let P: usize = 0; // f32[K][WM] attention
let DPV: usize = 0; // f32[WM] the scores' gradient; relative time: f32[WM] the next hop's for this one's attention, f32[K+1][RS] each hop's r, then dr
let PROBS: usize = 0; // f64[V] (and with a head, then f64[HEADC]: the candidates')
let DU: usize = 0; // f32[DP]
let DPREV: usize = 0;

// The dialog model's answer layer (src/model/candidate-head.ts): a softmax over candidate responses, each a
// bag of words under W; HEADC = 0: the bAbI layer, a softmax over the vocabulary.
let HEADC: i32 = 0; // candidates
let HOFF: usize = 0; // i32[C+1]: candidate c's words are HIDS[HOFF[c] .. HOFF[c+1])
let HIDS: usize = 0; // i32[]
let HTYPES: usize = 0; // i32[]: the vocabulary id of each match-type word
let HUSED: usize = 0; // i32[NUSED]: every word the candidates and match types use
let NUSED: i32 = 0;
let MOFF: usize = 0; // i32[n+1]: the batch's match types, 0 for none: example b's are [MOFF[b], MOFF[b+1])
let MCAND: usize = 0; // i32[]: the candidate a match-type word goes to
let MTYPE: usize = 0; // i32[]: which match-type word

let lastErrors: i32 = 0;
let SLOTS: i32 = 0; // > 0: the attention softmax spreads over this many slots, empty ones scoring 0
let RELU: bool = false; // a ReLU on the controller state after each hop
let SUPW: f32 = 0; // > 0: weight of the attention's cross-entropy with the supporting facts
let SUPLAST: bool = false; // hops past the last supporting fact are supervised towards it
let SUPSPREAD: bool = false; // facts past the last hop share its target
let SLO: i32 = 0; // supportRange's answer: the hop's facts are [SLO, SHI) of SUPBASE's
let SHI: i32 = 0;
let SUPBASE: usize = 0;
let SUPPORT: usize = 0; // i32[n][MAXS] memory slot of each supporting fact, -1 for none
let MAXS: i32 = 1;
// Relative time (src/model/memn2n.ts relativeForward): R, f32[K][RS], then Rv, f32[K][2T][DP], lie right
// after H, and their gradients after H's, so that a slice's buffers and a helper's weight copy carry them
// with no pointers of their own.
let RELT: bool = false;
let RS: i32 = 0; // floats per row of R: 2T, padded to a multiple of 4

export function setSupervision(w: f32, last: bool, spread: bool): void {
  SUPW = w;
  SUPLAST = last;
  SUPSPREAD = spread;
}

export function setSupport(support: usize, maxS: i32): void {
  SUPPORT = support;
  MAXS = maxS;
}

/** The facts hop h of example b is supervised towards, into SLO, SHI, SUPBASE (src/model/memn2n.ts supportRange). */
function supportRange(b: i32, h: i32): void {
  SUPBASE = SUPPORT + (<usize>(b * MAXS) << 2);
  let count = 0;
  while (count < MAXS && load<i32>(SUPBASE + (<usize>count << 2)) != -1) count++;
  SLO = 0;
  SHI = 0;
  if (h < count) {
    SLO = h;
    SHI = SUPSPREAD && h == K - 1 ? count : h + 1;
  } else if (SUPLAST && count > 0) {
    SLO = count - 1;
    SHI = count;
  }
}

function supportSlot(j: i32): usize {
  return <usize>load<i32>(SUPBASE + (<usize>j << 2)) << 2;
}

export function setHead(count: i32, off: usize, ids: usize, types: usize, used: usize, nused: i32): void {
  HEADC = count;
  HOFF = off;
  HIDS = ids;
  HTYPES = types;
  HUSED = used;
  NUSED = nused;
}

export function setMatch(off: usize, cand: usize, type: usize): void {
  MOFF = off;
  MCAND = cand;
  MTYPE = type;
}

export function setSlots(s: i32): void {
  SLOTS = s;
}

export function setRelu(r: bool): void {
  RELU = r;
}

export function setRelative(on: bool, rs: i32): void {
  RELT = on;
  RS = rs;
}

export function setDims(v: i32, dp: i32, k: i32, nemb: i32, t: i32, layerwise: bool, temporal: bool, q: i32, a: i32): void {
  V = v;
  DP = dp;
  K = k;
  NEMB = nemb;
  T = t;
  LAYERWISE = layerwise;
  TEMPORAL = temporal;
  QIDX = q;
  AIDX = a;
}

export function setTopology(hops: usize, memEmbs: usize, nmem: i32): void {
  HOPS = hops;
  MEMEMBS = memEmbs;
  NMEM = nmem;
}

export function setParams(emb: usize, time: usize, h: usize, gemb: usize, gtime: usize, gh: usize): void {
  EMB = emb;
  TIME = time;
  H = h;
  GEMB = gemb;
  GTIME = gtime;
  GH = gh;
}

export function setBatch(sent: usize, mem: usize, memLen: usize, timeIx: usize, query: usize, answer: usize, m: i32, j: i32, pe: usize): void {
  SENT = sent;
  MEM = mem;
  MEMLEN = memLen;
  TIMEIX = timeIx;
  QUERY = query;
  ANSWER = answer;
  M = m;
  J = j;
  PE = pe;
}

export function setWorkspace(wm: i32, u: usize, mv: usize, dmv: usize, p: usize, dpv: usize, probs: usize, du: usize, dprev: usize): void {
  WM = wm;
  U = u;
  MV = mv;
  DMV = dmv;
  P = p;
  DPV = dpv;
  PROBS = probs;
  DU = du;
  DPREV = dprev;
}

/** Where gradients are added from now on (this instance): a slice's own buffers, or the totals. */
export function setGrads(gemb: usize, gtime: usize, gh: usize): void {
  GEMB = gemb;
  GTIME = gtime;
  GH = gh;
}

/** End of the module's own static data (the exp/log tables): the JS side allocates above it. */
export function heapBase(): usize {
  return __heap_base;
}

export function getLastErrors(): i32 {
  return lastErrors;
}

// ---- vector helpers over DP floats ----

@inline function rowBytes(): usize {
  return <usize>DP << 2;
}

@inline function zero(y: usize): void {
  const z = f32x4.splat(0);
  for (let k: usize = 0; k < rowBytes(); k += 16) v128.store(y + k, z);
}

@inline function copy(y: usize, x: usize): void {
  for (let k: usize = 0; k < rowBytes(); k += 16) v128.store(y + k, v128.load(x + k));
}

/** y += a * x (elementwise) */
@inline function addMul(y: usize, a: usize, x: usize): void {
  for (let k: usize = 0; k < rowBytes(); k += 16) {
    v128.store(y + k, f32x4.add(v128.load(y + k), f32x4.mul(v128.load(a + k), v128.load(x + k))));
  }
}

/** y += s * x */
@inline function axpy(y: usize, s: f32, x: usize): void {
  const sv = f32x4.splat(s);
  for (let k: usize = 0; k < rowBytes(); k += 16) {
    v128.store(y + k, f32x4.add(v128.load(y + k), f32x4.mul(sv, v128.load(x + k))));
  }
}

/** y += x */
@inline function add(y: usize, x: usize): void {
  for (let k: usize = 0; k < rowBytes(); k += 16) v128.store(y + k, f32x4.add(v128.load(y + k), v128.load(x + k)));
}

/** y = max(0, y) */
@inline function relu(y: usize): void {
  const z = f32x4.splat(0);
  for (let k: usize = 0; k < rowBytes(); k += 16) v128.store(y + k, f32x4.max(v128.load(y + k), z));
}

/** g = 0 where y <= 0 (the ReLU's backward, from its output y) */
@inline function maskPositive(g: usize, y: usize): void {
  const z = f32x4.splat(0);
  for (let k: usize = 0; k < rowBytes(); k += 16) {
    v128.store(g + k, v128.and(v128.load(g + k), f32x4.gt(v128.load(y + k), z)));
  }
}

@inline function dot(x: usize, y: usize): f32 {
  let acc = f32x4.splat(0);
  for (let k: usize = 0; k < rowBytes(); k += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(x + k), v128.load(y + k)));
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}

@inline function embRow(e: i32, id: i32): usize {
  return EMB + ((<usize>e * <usize>V + <usize>id) * <usize>DP << 2);
}

@inline function gembRow(e: i32, id: i32): usize {
  return GEMB + ((<usize>e * <usize>V + <usize>id) * <usize>DP << 2);
}

@inline function timeRow(base: usize, e: i32, t: i32): usize {
  return base + ((<usize>e * <usize>T + <usize>t) * <usize>DP << 2);
}

@inline function slot(base: usize, e: i32, i: i32): usize {
  return base + ((<usize>e * <usize>WM + <usize>i) * <usize>DP << 2);
}

@inline function uRow(h: i32): usize {
  return U + (<usize>h * <usize>DP << 2);
}

@inline function hopA(h: i32): i32 {
  return load<i32>(HOPS + (<usize>h << 3));
}

@inline function hopC(h: i32): i32 {
  return load<i32>(HOPS + (<usize>h << 3) + 4);
}

/** Address of the words of memory slot i of example b. */
@inline function sentence(b: i32, i: i32): usize {
  const row = load<i32>(MEM + (<usize>(b * M + i) << 2));
  return SENT + (<usize>(row * J) << 2);
}

@inline function sentenceLength(off: usize): i32 {
  let L = 0;
  while (L < J && load<i32>(off + (<usize>L << 2)) != 0) L++;
  return L;
}

@inline function peRow(L: i32, j: i32): usize {
  return PE + ((<usize>(L * J + j) * <usize>DP) << 2);
}

@inline function timeIndex(timePtr: usize, timeOff: i32, i: i32): i32 {
  const t = load<i32>(timePtr + (<usize>(timeOff + i) << 2));
  return t < T - 1 ? t : T - 1;
}

// ---- forward ----

/** Forward pass of example b; returns its loss and leaves U, MV, P and PROBS for the backward pass. */
export function forward(b: i32, timePtr: usize, timeOff: i32, linear: bool): f64 {
  const n = load<i32>(MEMLEN + (<usize>b << 2));
  // question: u^0 = sum_j l_j * B[q_j]
  embedSentence(QUERY + (<usize>(b * J) << 2), QIDX, uRow(0));
  // memories: each memory matrix over each sentence's words, starting from the time row
  for (let i = 0; i < n; i++) {
    const t = timeIndex(timePtr, timeOff, i);
    const off = sentence(b, i);
    const L = sentenceLength(off);
    for (let x = 0; x < NMEM; x++) {
      const e = load<i32>(MEMEMBS + (<usize>x << 2));
      const dst = slot(MV, e, i);
      if (DP == 20) embedSlot20(dst, off, L, e, TEMPORAL ? timeRow(TIME, e, t) : 0);
      else embedSlot(dst, off, L, e, TEMPORAL ? timeRow(TIME, e, t) : 0);
    }
  }
  if (RELT) relColumns(n, timePtr, timeOff);
  let supervised: f64 = 0;
  for (let h = 0; h < K; h++) {
    const u = uRow(h);
    const un = uRow(h + 1);
    const a = hopA(h);
    const c = hopC(h);
    const p = P + (<usize>(h * WM) << 2);
    // attend
    if (DP == 20) scores20(p, u, slot(MV, a, 0), n);
    else for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), dot(u, slot(MV, a, i)));
    if (RELT) relativeForward(h, u, p, n, timePtr, timeOff);
    if (!linear) softmax(p, n, SLOTS > n ? SLOTS - n : 0);
    if (!linear && SUPW > 0) {
      supportRange(b, h);
      const w = <f64>SUPW / <f64>(SHI - SLO);
      for (let j = SLO; j < SHI; j++) supervised -= w * Math.log(Math.max(<f64>load<f32>(p + supportSlot(j)), 1e-30));
    }
    // hop update and read: u' = u (or H u) + sum_i p_i c_i
    if (LAYERWISE) {
      for (let x = 0; x < DP; x++) store<f32>(un + (<usize>x << 2), dot(H + ((<usize>x * <usize>DP) << 2), u));
    } else {
      copy(un, u);
    }
    if (DP == 20) read20(un, p, slot(MV, c, 0), n);
    else for (let i = 0; i < n; i++) axpy(un, load<f32>(p + (<usize>i << 2)), slot(MV, c, i));
    if (RELU) relu(un);
  }
  if (HEADC > 0) return headForward(b) + supervised;
  // answer: softmax(W u^K) over the vocabulary, in float64; the loss as log-sum-exp minus the answer's logit
  const uk = uRow(K);
  const ans = load<i32>(ANSWER + (<usize>b << 2));
  let max: f64 = -Infinity;
  for (let v = 0; v < V; v++) {
    const z = <f64>dot(embRow(AIDX, v), uk);
    store<f64>(PROBS + (<usize>v << 3), z);
    if (z > max) max = z;
  }
  const zAns = load<f64>(PROBS + (<usize>ans << 3));
  let sum: f64 = 0;
  for (let v = 0; v < V; v++) {
    const e = Math.exp(load<f64>(PROBS + (<usize>v << 3)) - max);
    store<f64>(PROBS + (<usize>v << 3), e);
    sum += e;
  }
  let best = 2;
  for (let v = 0; v < V; v++) {
    const pv = load<f64>(PROBS + (<usize>v << 3)) / sum;
    store<f64>(PROBS + (<usize>v << 3), pv);
    if (v > 2 && pv > load<f64>(PROBS + (<usize>best << 3))) best = v;
  }
  if (best != ans) lastErrors++;
  return max + Math.log(sum) - zAns + supervised;
}

@inline function headProbs(): usize {
  return PROBS + (<usize>V << 3);
}

/**
 * The candidates' softmax for example b (the answer is a candidate): every used word scored once against
 * u^K (into PROBS), each candidate the sum of its words' scores and of its match-type words'; float64.
 */
function headForward(b: i32): f64 {
  const uk = uRow(K);
  const ans = load<i32>(ANSWER + (<usize>b << 2));
  for (let x = 0; x < NUSED; x++) {
    const w = load<i32>(HUSED + (<usize>x << 2));
    store<f64>(PROBS + (<usize>w << 3), <f64>dot(embRow(AIDX, w), uk));
  }
  const z = headProbs();
  for (let c = 0; c < HEADC; c++) {
    let acc: f64 = 0;
    const end = load<i32>(HOFF + (<usize>(c + 1) << 2));
    for (let i = load<i32>(HOFF + (<usize>c << 2)); i < end; i++) {
      acc += load<f64>(PROBS + (<usize>load<i32>(HIDS + (<usize>i << 2)) << 3));
    }
    store<f64>(z + (<usize>c << 3), acc);
  }
  if (MOFF != 0) {
    const end = load<i32>(MOFF + (<usize>(b + 1) << 2));
    for (let i = load<i32>(MOFF + (<usize>b << 2)); i < end; i++) {
      const c = load<i32>(MCAND + (<usize>i << 2));
      const w = load<i32>(HTYPES + (<usize>load<i32>(MTYPE + (<usize>i << 2)) << 2));
      const q = z + (<usize>c << 3);
      store<f64>(q, load<f64>(q) + load<f64>(PROBS + (<usize>w << 3)));
    }
  }
  let max: f64 = -Infinity;
  for (let c = 0; c < HEADC; c++) max = Math.max(max, load<f64>(z + (<usize>c << 3)));
  const zAns = load<f64>(z + (<usize>ans << 3));
  let sum: f64 = 0;
  for (let c = 0; c < HEADC; c++) {
    const e = Math.exp(load<f64>(z + (<usize>c << 3)) - max);
    store<f64>(z + (<usize>c << 3), e);
    sum += e;
  }
  let best = 0;
  for (let c = 0; c < HEADC; c++) {
    const pc = load<f64>(z + (<usize>c << 3)) / sum;
    store<f64>(z + (<usize>c << 3), pc);
    if (pc > load<f64>(z + (<usize>best << 3))) best = c;
  }
  if (best != ans) lastErrors++;
  return max + Math.log(sum) - zAns;
}

/**
 * The gradient reaching each used word's row of W from the candidates' softmax (float64, into PROBS): dW
 * += it times u^K (uk), du = W^T of it. (A word no candidate uses has a zero gradient.)
 */
function headBackward(b: i32, uk: usize, du: usize): void {
  const ans = load<i32>(ANSWER + (<usize>b << 2));
  const z = headProbs();
  store<f64>(z + (<usize>ans << 3), load<f64>(z + (<usize>ans << 3)) - 1);
  for (let x = 0; x < NUSED; x++) store<f64>(PROBS + (<usize>load<i32>(HUSED + (<usize>x << 2)) << 3), 0);
  for (let c = 0; c < HEADC; c++) {
    const gc = load<f64>(z + (<usize>c << 3));
    const end = load<i32>(HOFF + (<usize>(c + 1) << 2));
    for (let i = load<i32>(HOFF + (<usize>c << 2)); i < end; i++) {
      const q = PROBS + (<usize>load<i32>(HIDS + (<usize>i << 2)) << 3);
      store<f64>(q, load<f64>(q) + gc);
    }
  }
  if (MOFF != 0) {
    const end = load<i32>(MOFF + (<usize>(b + 1) << 2));
    for (let i = load<i32>(MOFF + (<usize>b << 2)); i < end; i++) {
      const w = load<i32>(HTYPES + (<usize>load<i32>(MTYPE + (<usize>i << 2)) << 2));
      const q = PROBS + (<usize>w << 3);
      store<f64>(q, load<f64>(q) + load<f64>(z + (<usize>load<i32>(MCAND + (<usize>i << 2)) << 3)));
    }
  }
  zero(du);
  for (let x = 0; x < NUSED; x++) {
    const w = load<i32>(HUSED + (<usize>x << 2));
    const g = <f32>load<f64>(PROBS + (<usize>w << 3));
    if (g == 0) continue;
    axpy(gembRow(AIDX, w), g, uk);
    axpy(du, g, embRow(AIDX, w));
  }
}

function embedSentence(off: usize, e: i32, out: usize): void {
  zero(out);
  const L = sentenceLength(off);
  for (let j = 0; j < L; j++) {
    const id = load<i32>(off + (<usize>j << 2));
    if (id <= 1) continue;
    addMul(out, peRow(L, j), embRow(e, id));
  }
}

/** Softmax over n scores and `empty` more slots that score 0 (they take probability but hold nothing). */
function softmax(p: usize, n: i32, empty: i32): void {
  let max: f32 = empty > 0 ? 0 : -Infinity;
  for (let i = 0; i < n; i++) max = Mathf.max(max, load<f32>(p + (<usize>i << 2)));
  let sum: f64 = <f64>empty * Math.exp(<f64>-max);
  for (let i = 0; i < n; i++) {
    const e = Math.exp(<f64>(load<f32>(p + (<usize>i << 2)) - max));
    store<f32>(p + (<usize>i << 2), <f32>e);
    sum += e;
  }
  const inv = <f32>(1 / sum);
  for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) * inv);
}

// ---- backward ----

/**
 * Backward pass of the example whose forward pass just ran; adds into the gradient buffers (setGrads): the
 * answer layer, H, the question, then each memory slot's time row and words.
 */
export function backward(b: i32, timePtr: usize, timeOff: i32, linear: bool): void {
  const n = load<i32>(MEMLEN + (<usize>b << 2));
  const ans = load<i32>(ANSWER + (<usize>b << 2));
  let du = DU;
  let dprev = DPREV;
  // answer: dz = probs - onehot; dW += dz u^K; du = W^T dz
  const uk = uRow(K);
  if (HEADC > 0) {
    headBackward(b, uk, du);
  } else {
    zero(du);
    for (let v = 0; v < V; v++) {
      let g = load<f64>(PROBS + (<usize>v << 3));
      if (v == ans) g -= 1;
      const gv = <f32>g;
      axpy(gembRow(AIDX, v), gv, uk);
      axpy(du, gv, embRow(AIDX, v));
    }
  }
  for (let x = 0; x < NMEM; x++) {
    const e = load<i32>(MEMEMBS + (<usize>x << 2));
    for (let i = 0; i < n; i++) zero(slot(DMV, e, i));
  }
  if (RELT) relColumns(n, timePtr, timeOff);
  for (let h = K - 1; h >= 0; h--) {
    const u = uRow(h);
    const a = hopA(h);
    const c = hopC(h);
    const p = P + (<usize>(h * WM) << 2);
    if (RELU) maskPositive(du, uRow(h + 1));
    // hop update: dH += du u^T
    if (LAYERWISE) {
      zero(dprev);
      for (let x = 0; x < DP; x++) {
        const gx = load<f32>(du + (<usize>x << 2));
        const row = (<usize>x * <usize>DP) << 2;
        axpy(dprev, gx, H + row);
        axpy(GH + row, gx, u);
      }
    } else {
      copy(dprev, du);
    }
    // read: dp_i = du . c_i; dc_i += p_i du
    if (DP == 20) {
      readBack20(du, p, slot(MV, c, 0), slot(DMV, c, 0), n);
    } else {
      for (let i = 0; i < n; i++) {
        const ci = slot(MV, c, i);
        store<f32>(DPV + (<usize>i << 2), dot(du, ci));
        axpy(slot(DMV, c, i), load<f32>(p + (<usize>i << 2)), du);
      }
    }
    if (RELT && h < K - 1) {
      const dq = DPV + (<usize>WM << 2);
      for (let i = 0; i < n; i++) {
        const q = DPV + (<usize>i << 2);
        store<f32>(q, load<f32>(q) + load<f32>(dq + (<usize>i << 2)));
      }
    }
    // attend: through the softmax unless linear
    if (!linear) {
      let s: f32 = 0;
      for (let i = 0; i < n; i++) s += load<f32>(p + (<usize>i << 2)) * load<f32>(DPV + (<usize>i << 2));
      for (let i = 0; i < n; i++) {
        const pi = load<f32>(p + (<usize>i << 2));
        store<f32>(DPV + (<usize>i << 2), pi * (load<f32>(DPV + (<usize>i << 2)) - s));
      }
      // supervision: d(-w/m sum_t log p_t)/ds_i = w (p_i - [i in t]/m)
      if (SUPW > 0) {
        supportRange(b, h);
        if (SHI > SLO) {
          for (let i = 0; i < n; i++) {
            const q = DPV + (<usize>i << 2);
            store<f32>(q, load<f32>(q) + SUPW * load<f32>(p + (<usize>i << 2)));
          }
          const w = SUPW / <f32>(SHI - SLO);
          for (let j = SLO; j < SHI; j++) {
            const q = DPV + supportSlot(j);
            store<f32>(q, load<f32>(q) - w);
          }
        }
      }
    }
    if (RELT) relativeBackward(h, u, dprev, n, timePtr, timeOff);
    if (DP == 20) {
      attendBack20(dprev, u, slot(MV, a, 0), slot(DMV, a, 0), n);
    } else {
      for (let i = 0; i < n; i++) {
        const ds = load<f32>(DPV + (<usize>i << 2));
        axpy(dprev, ds, slot(MV, a, i));
        axpy(slot(DMV, a, i), ds, u);
      }
    }
    const tmp = du;
    du = dprev;
    dprev = tmp;
  }
  // embeddings: the question into B, each memory into its matrices and time rows
  scatterSentence(QUERY + (<usize>(b * J) << 2), QIDX, du);
  for (let i = 0; i < n; i++) {
    const t = timeIndex(timePtr, timeOff, i);
    if (TEMPORAL) {
      for (let x = 0; x < NMEM; x++) {
        const e = load<i32>(MEMEMBS + (<usize>x << 2));
        add(timeRow(GTIME, e, t), slot(DMV, e, i));
      }
    }
    const off = sentence(b, i);
    const L = sentenceLength(off);
    for (let x = 0; x < NMEM; x++) {
      const e = load<i32>(MEMEMBS + (<usize>x << 2));
      const g = slot(DMV, e, i);
      if (DP == 20) scatterSlot20(g, off, L, e);
      else scatterSlot(g, off, L, e);
    }
  }
  // the null and unknown rows are held at zero
  zero(gembRow(AIDX, 0));
  zero(gembRow(AIDX, 1));
}

// ---- relative time (src/model/memn2n.ts relativeForward): s_j += sum_i q_i r_h[t_j - t_i], q the previous
// hop's attention (hop 1: the question, at time -1), r_h[c] = R_h[c] + u^h . Rv_h[c] ----

@inline function relRow(base: usize, h: i32): usize {
  return base + ((<usize>DP * <usize>DP + <usize>(h * RS)) << 2);
}

@inline function rvRow(base: usize, h: i32, c: i32): usize {
  return base + ((<usize>DP * <usize>DP + <usize>(K * RS) + <usize>(h * 2 * T + c) * <usize>DP) << 2);
}

/** Hop h's r, kept for the backward pass (after the two [WM] parts of DPV). */
@inline function relTable(h: i32): usize {
  return DPV + (<usize>(2 * WM + h * RS) << 2);
}

/** Offset of column (tj seen from tq) in a row of r. */
@inline function relAt(tj: i32, tq: i32): usize {
  return <usize>(tj - tq + T - 1) << 2;
}

// The columns an example's offsets reach, [RLO, RHI], set before its hops: a short story needs a few of the
// 2T (the others' r is never read, and their gradient would be zero).
let RLO: i32 = 0;
let RHI: i32 = 0;

function relColumns(n: i32, timePtr: usize, timeOff: i32): void {
  let lo = T - 1;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const t = timeIndex(timePtr, timeOff, i);
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  RLO = lo - hi + T - 1;
  RHI = hi + T;
}

function relativeForward(h: i32, u: usize, p: usize, n: i32, timePtr: usize, timeOff: i32): void {
  const r = relTable(h);
  const row = relRow(H, h);
  for (let c = RLO; c <= RHI; c++) {
    store<f32>(r + (<usize>c << 2), load<f32>(row + (<usize>c << 2)) + dot(u, rvRow(H, h, c)));
  }
  const q = P + (<usize>((h - 1) * WM) << 2);
  for (let j = 0; j < n; j++) {
    const tj = timeIndex(timePtr, timeOff, j);
    let s: f32 = 0;
    if (h == 0) {
      s = load<f32>(r + relAt(tj, -1));
    } else {
      for (let i = 0; i < n; i++) {
        s += load<f32>(q + (<usize>i << 2)) * load<f32>(r + relAt(tj, timeIndex(timePtr, timeOff, i)));
      }
    }
    const pj = p + (<usize>j << 2);
    store<f32>(pj, load<f32>(pj) + s);
  }
}

/**
 * From the scores' gradient (DPV): adds into dR, dRv and du (u^h's gradient), and leaves in DPV + WM the
 * gradient of the previous hop's attention.
 */
function relativeBackward(h: i32, u: usize, du: usize, n: i32, timePtr: usize, timeOff: i32): void {
  const r = relTable(h);
  const dr = relTable(K);
  for (let c = RLO; c <= RHI; c++) store<f32>(dr + (<usize>c << 2), 0);
  if (h == 0) {
    for (let j = 0; j < n; j++) {
      const g = dr + relAt(timeIndex(timePtr, timeOff, j), -1);
      store<f32>(g, load<f32>(g) + load<f32>(DPV + (<usize>j << 2)));
    }
  } else {
    const q = P + (<usize>((h - 1) * WM) << 2);
    const dq = DPV + (<usize>WM << 2);
    for (let i = 0; i < n; i++) store<f32>(dq + (<usize>i << 2), 0);
    for (let j = 0; j < n; j++) {
      const tj = timeIndex(timePtr, timeOff, j);
      const ds = load<f32>(DPV + (<usize>j << 2));
      for (let i = 0; i < n; i++) {
        const c = relAt(tj, timeIndex(timePtr, timeOff, i));
        store<f32>(dr + c, load<f32>(dr + c) + ds * load<f32>(q + (<usize>i << 2)));
        const d = dq + (<usize>i << 2);
        store<f32>(d, load<f32>(d) + ds * load<f32>(r + c));
      }
    }
  }
  const grow = relRow(GH, h);
  for (let c = RLO; c <= RHI; c++) {
    const g = load<f32>(dr + (<usize>c << 2));
    const gr = grow + (<usize>c << 2);
    store<f32>(gr, load<f32>(gr) + g);
    axpy(rvRow(GH, h, c), g, u);
    axpy(du, g, rvRow(H, h, c));
  }
}

// A memory slot's embedding and its gradient's scatter, a row's vectors kept in registers over the
// sentence's words: four at a time (d = 20, the paper's size for single tasks: all five at once). Each
// element gets the same additions in the same order whatever the blocking.

/** dst = (time row, or 0) + sum_j l_j * E_e[word j], for the L words at off. */
function embedSlot(dst: usize, off: usize, L: i32, e: i32, time: usize): void {
  const bytes = rowBytes();
  let k: usize = 0;
  for (; k + 64 <= bytes; k += 64) {
    let a0 = f32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    if (time != 0) {
      a0 = v128.load(time + k);
      a1 = v128.load(time + k, 16);
      a2 = v128.load(time + k, 32);
      a3 = v128.load(time + k, 48);
    }
    for (let j = 0; j < L; j++) {
      const id = load<i32>(off + (<usize>j << 2));
      if (id <= 1) continue;
      const w = peRow(L, j) + k;
      const r = embRow(e, id) + k;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(w), v128.load(r)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(w, 16), v128.load(r, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(w, 32), v128.load(r, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(w, 48), v128.load(r, 48)));
    }
    v128.store(dst + k, a0);
    v128.store(dst + k, a1, 16);
    v128.store(dst + k, a2, 32);
    v128.store(dst + k, a3, 48);
  }
  for (; k < bytes; k += 16) {
    let a = time != 0 ? v128.load(time + k) : f32x4.splat(0);
    for (let j = 0; j < L; j++) {
      const id = load<i32>(off + (<usize>j << 2));
      if (id <= 1) continue;
      a = f32x4.add(a, f32x4.mul(v128.load(peRow(L, j) + k), v128.load(embRow(e, id) + k)));
    }
    v128.store(dst + k, a);
  }
}

/** dE_e[word j] += l_j * g for the L words at off. */
function scatterSlot(g: usize, off: usize, L: i32, e: i32): void {
  const bytes = rowBytes();
  let k: usize = 0;
  for (; k + 64 <= bytes; k += 64) {
    const g0 = v128.load(g + k);
    const g1 = v128.load(g + k, 16);
    const g2 = v128.load(g + k, 32);
    const g3 = v128.load(g + k, 48);
    for (let j = 0; j < L; j++) {
      const id = load<i32>(off + (<usize>j << 2));
      if (id <= 1) continue;
      const w = peRow(L, j) + k;
      const r = gembRow(e, id) + k;
      v128.store(r, f32x4.add(v128.load(r), f32x4.mul(v128.load(w), g0)));
      v128.store(r, f32x4.add(v128.load(r, 16), f32x4.mul(v128.load(w, 16), g1)), 16);
      v128.store(r, f32x4.add(v128.load(r, 32), f32x4.mul(v128.load(w, 32), g2)), 32);
      v128.store(r, f32x4.add(v128.load(r, 48), f32x4.mul(v128.load(w, 48), g3)), 48);
    }
  }
  for (; k < bytes; k += 16) {
    const gk = v128.load(g + k);
    for (let j = 0; j < L; j++) {
      const id = load<i32>(off + (<usize>j << 2));
      if (id <= 1) continue;
      const r = gembRow(e, id) + k;
      v128.store(r, f32x4.add(v128.load(r), f32x4.mul(v128.load(peRow(L, j) + k), gk)));
    }
  }
}

/** dst = (time row, or 0) + sum_j l_j * E_e[word j], for the L words at off. */
function embedSlot20(dst: usize, off: usize, L: i32, e: i32, time: usize): void {
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  let a4 = a0;
  if (time != 0) {
    a0 = v128.load(time);
    a1 = v128.load(time, 16);
    a2 = v128.load(time, 32);
    a3 = v128.load(time, 48);
    a4 = v128.load(time, 64);
  }
  for (let j = 0; j < L; j++) {
    const id = load<i32>(off + (<usize>j << 2));
    if (id <= 1) continue;
    const w = peRow(L, j);
    const r = embRow(e, id);
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w), v128.load(r)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(w, 16), v128.load(r, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(w, 32), v128.load(r, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(w, 48), v128.load(r, 48)));
    a4 = f32x4.add(a4, f32x4.mul(v128.load(w, 64), v128.load(r, 64)));
  }
  v128.store(dst, a0);
  v128.store(dst, a1, 16);
  v128.store(dst, a2, 32);
  v128.store(dst, a3, 48);
  v128.store(dst, a4, 64);
}

// The hops at d = 20: u (or du) in registers over the memory slots, which lie 80 bytes apart from `m`.

@inline function lanes(acc: v128): f32 {
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}

/** (x0..x4) . the row at r, as `dot` adds it up */
@inline function dot20(x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, r: usize): f32 {
  let acc = f32x4.add(f32x4.splat(0), f32x4.mul(x0, v128.load(r)));
  acc = f32x4.add(acc, f32x4.mul(x1, v128.load(r, 16)));
  acc = f32x4.add(acc, f32x4.mul(x2, v128.load(r, 32)));
  acc = f32x4.add(acc, f32x4.mul(x3, v128.load(r, 48)));
  acc = f32x4.add(acc, f32x4.mul(x4, v128.load(r, 64)));
  return lanes(acc);
}

/** the row at g += s * (x0..x4), as `axpy` adds it */
@inline function axpy20(g: usize, s: v128, x0: v128, x1: v128, x2: v128, x3: v128, x4: v128): void {
  v128.store(g, f32x4.add(v128.load(g), f32x4.mul(s, x0)));
  v128.store(g, f32x4.add(v128.load(g, 16), f32x4.mul(s, x1)), 16);
  v128.store(g, f32x4.add(v128.load(g, 32), f32x4.mul(s, x2)), 32);
  v128.store(g, f32x4.add(v128.load(g, 48), f32x4.mul(s, x3)), 48);
  v128.store(g, f32x4.add(v128.load(g, 64), f32x4.mul(s, x4)), 64);
}

/** p_i = u . m_i */
function scores20(p: usize, u: usize, m: usize, n: i32): void {
  const u0 = v128.load(u);
  const u1 = v128.load(u, 16);
  const u2 = v128.load(u, 32);
  const u3 = v128.load(u, 48);
  const u4 = v128.load(u, 64);
  for (let i = 0; i < n; i++) {
    store<f32>(p + (<usize>i << 2), dot20(u0, u1, u2, u3, u4, m + <usize>i * 80));
  }
}

/** un += sum_i p_i c_i, in slot order (p: f32[n]) */
function read20(un: usize, p: usize, c: usize, n: i32): void {
  let a0 = v128.load(un);
  let a1 = v128.load(un, 16);
  let a2 = v128.load(un, 32);
  let a3 = v128.load(un, 48);
  let a4 = v128.load(un, 64);
  for (let i = 0; i < n; i++) {
    const sv = f32x4.splat(load<f32>(p + (<usize>i << 2)));
    const r = c + <usize>i * 80;
    a0 = f32x4.add(a0, f32x4.mul(sv, v128.load(r)));
    a1 = f32x4.add(a1, f32x4.mul(sv, v128.load(r, 16)));
    a2 = f32x4.add(a2, f32x4.mul(sv, v128.load(r, 32)));
    a3 = f32x4.add(a3, f32x4.mul(sv, v128.load(r, 48)));
    a4 = f32x4.add(a4, f32x4.mul(sv, v128.load(r, 64)));
  }
  v128.store(un, a0);
  v128.store(un, a1, 16);
  v128.store(un, a2, 32);
  v128.store(un, a3, 48);
  v128.store(un, a4, 64);
}

/** DPV_i = du . c_i; dc_i += p_i du */
function readBack20(du: usize, p: usize, c: usize, dc: usize, n: i32): void {
  const d0 = v128.load(du);
  const d1 = v128.load(du, 16);
  const d2 = v128.load(du, 32);
  const d3 = v128.load(du, 48);
  const d4 = v128.load(du, 64);
  for (let i = 0; i < n; i++) {
    store<f32>(DPV + (<usize>i << 2), dot20(d0, d1, d2, d3, d4, c + <usize>i * 80));
    axpy20(dc + <usize>i * 80, f32x4.splat(load<f32>(p + (<usize>i << 2))), d0, d1, d2, d3, d4);
  }
}

/** dprev += sum_i ds_i a_i (in slot order); da_i += ds_i u; ds in DPV */
function attendBack20(dprev: usize, u: usize, a: usize, da: usize, n: i32): void {
  read20(dprev, DPV, a, n);
  const u0 = v128.load(u);
  const u1 = v128.load(u, 16);
  const u2 = v128.load(u, 32);
  const u3 = v128.load(u, 48);
  const u4 = v128.load(u, 64);
  for (let i = 0; i < n; i++) {
    axpy20(da + <usize>i * 80, f32x4.splat(load<f32>(DPV + (<usize>i << 2))), u0, u1, u2, u3, u4);
  }
}

/** dE_e[word j] += l_j * g for the L words at off. */
function scatterSlot20(g: usize, off: usize, L: i32, e: i32): void {
  const g0 = v128.load(g);
  const g1 = v128.load(g, 16);
  const g2 = v128.load(g, 32);
  const g3 = v128.load(g, 48);
  const g4 = v128.load(g, 64);
  for (let j = 0; j < L; j++) {
    const id = load<i32>(off + (<usize>j << 2));
    if (id <= 1) continue;
    const w = peRow(L, j);
    const r = gembRow(e, id);
    v128.store(r, f32x4.add(v128.load(r), f32x4.mul(v128.load(w), g0)));
    v128.store(r, f32x4.add(v128.load(r, 16), f32x4.mul(v128.load(w, 16), g1)), 16);
    v128.store(r, f32x4.add(v128.load(r, 32), f32x4.mul(v128.load(w, 32), g2)), 32);
    v128.store(r, f32x4.add(v128.load(r, 48), f32x4.mul(v128.load(w, 48), g3)), 48);
    v128.store(r, f32x4.add(v128.load(r, 64), f32x4.mul(v128.load(w, 64), g4)), 64);
  }
}

function scatterSentence(off: usize, e: i32, g: usize): void {
  const L = sentenceLength(off);
  for (let j = 0; j < L; j++) {
    const id = load<i32>(off + (<usize>j << 2));
    if (id <= 1) continue;
    addMul(gembRow(e, id), peRow(L, j), g);
  }
}

// ---- batches ----

/**
 * Forward (and backward when `grad`) over rows [from, to) of `rows`; time rows come from timePtr (per row or
 * per position). Each row's loss goes to losses[r] (f64) and whether it was wrong to wrong[r] (i32), so that
 * the caller sums them in row order however the rows were shared among threads.
 */
export function runRows(rows: usize, from: i32, to: i32, timePtr: usize, timeByPosition: bool, linear: bool, grad: bool, losses: usize, wrong: usize): void {
  for (let r = from; r < to; r++) {
    const b = load<i32>(rows + (<usize>r << 2));
    const timeOff = (timeByPosition ? r : b) * M;
    const before = lastErrors;
    store<f64>(losses + (<usize>r << 3), forward(b, timePtr, timeOff, linear));
    store<i32>(wrong + (<usize>r << 2), lastErrors - before);
    if (grad) backward(b, timePtr, timeOff, linear);
  }
}

/** f32[n] at p = 0. */
export function zeroFloats(p: usize, n: i32): void {
  const z = f32x4.splat(0);
  const end = p + (<usize>n << 2);
  for (let q = p; q < end; q += 16) v128.store(q, z);
}

/**
 * dst[k] = src_0[k] + src_1[k] + ... + src_{count-1}[k] for k in [from, to) (floats; multiples of 4), the
 * sources `stride` bytes apart, always added in that order.
 */
export function sumSlices(dst: usize, src: usize, stride: usize, count: i32, from: i32, to: i32): void {
  for (let k = <usize>from << 2; k < <usize>to << 2; k += 16) {
    let acc = v128.load(src + k);
    for (let s = 1; s < count; s++) acc = f32x4.add(acc, v128.load(src + <usize>s * stride + k));
    v128.store(dst + k, acc);
  }
}

/** Sum of squares of f32[n] at x. */
function sumSquares(x: usize, n: i32): f64 {
  let acc = f32x4.splat(0);
  const end = x + (<usize>n << 2);
  let p = x;
  for (; p + 16 <= end; p += 16) {
    const v = v128.load(p);
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let s: f64 = <f64>(f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; p < end; p += 4) {
    const v = <f64>load<f32>(p);
    s += v * v;
  }
  return s;
}

// The SGD step, with each matrix's gradient clipped (or the whole gradient's, global). On several threads
// each thread keeps its own copy of the weights (reading rows another core has just written would stall on
// every one of them) and takes the step on it with the same gradients, so the copies stay the same, bit for
// bit. table: (gradient pointer, weight pointer, floats) per tensor as i32, in the order the norms are
// summed; this copy's weights lie delta bytes from the table's.

/**
 * One step on this thread's copy; args: lr, maxNorm (f64). zero: the gradients are zeroed too (alone; on
 * threads they stay, as other threads may still be reading them, and the next batch's sum of its slices
 * overwrites them).
 */
export function step(table: usize, count: i32, args: usize, global: bool, delta: i32, zero: bool): void {
  const lr = load<f64>(args);
  const maxNorm = load<f64>(args, 8);
  let total: f64 = 0;
  if (global) {
    for (let i = 0; i < count; i++) {
      const e = table + <usize>i * 12;
      total += sumSquares(load<i32>(e), load<i32>(e, 8));
    }
    total = Math.sqrt(total);
  }
  const z = f32x4.splat(0);
  for (let i = 0; i < count; i++) {
    const e = table + <usize>i * 12;
    const g = <usize>load<i32>(e);
    const n = load<i32>(e, 8);
    const norm = global ? total : Math.sqrt(sumSquares(g, n));
    const sv = f32x4.splat(<f32>(lr * (norm > maxNorm ? maxNorm / norm : 1.0)));
    const p = <usize>(load<i32>(e, 4) + delta);
    const end = <usize>n << 2;
    for (let k: usize = 0; k < end; k += 16) {
      v128.store(p + k, f32x4.sub(v128.load(p + k), f32x4.mul(sv, v128.load(g + k))));
      if (zero) v128.store(g + k, z);
    }
  }
}

// ---- bench helper ----

/**
 * A compute-bound loop for measuring this machine's float32 SIMD throughput: 8 independent f32x4
 * multiply-adds per iteration (64 flops), all in registers. Returns a value so nothing is optimised away.
 */
export function peakFlops(iters: i32): f32 {
  const m = f32x4.splat(0.999);
  const c = f32x4.splat(0.001);
  let a0 = f32x4.splat(1);
  let a1 = f32x4.splat(2);
  let a2 = f32x4.splat(3);
  let a3 = f32x4.splat(4);
  let a4 = f32x4.splat(5);
  let a5 = f32x4.splat(6);
  let a6 = f32x4.splat(7);
  let a7 = f32x4.splat(8);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), c);
    a1 = f32x4.add(f32x4.mul(a1, m), c);
    a2 = f32x4.add(f32x4.mul(a2, m), c);
    a3 = f32x4.add(f32x4.mul(a3, m), c);
    a4 = f32x4.add(f32x4.mul(a4, m), c);
    a5 = f32x4.add(f32x4.mul(a5, m), c);
    a6 = f32x4.add(f32x4.mul(a6, m), c);
    a7 = f32x4.add(f32x4.mul(a7, m), c);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
