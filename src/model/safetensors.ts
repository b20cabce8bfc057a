// The safetensors container (the weights format of the Hugging Face ecosystem), for float32 tensors (stored
// as F32, or as F16 where half the bytes matter more than the last digits, as for a shipped model): an
// 8-byte little-endian header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets}} and an
// optional "__metadata__" map of strings), then the tensors' raw little-endian bytes, data_offsets counted
// from the end of the header. Every number the header holds is checked against the bytes before it is used,
// so a hostile file gives `<file>: <field>: <what>`, never a read past the end or a huge allocation.
// Pure: bytes in, bytes out, in Node and in a browser.

import { DataError } from "../data/errors.js";

/** How a tensor's numbers are stored; either way they are read as float32. */
export type StoredDtype = "F32" | "F16";

export interface Tensor {
  shape: number[];
  data: Float32Array;
  dtype: StoredDtype;
}

export interface Safetensors {
  /** Tensors by name, in header order. */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** The reference implementation refuses headers over 100 MB; so do we, before decoding them. */
export const MAX_HEADER_BYTES = 100_000_000;
const ALIGN = 8;
/** dtype names of the format, for a clearer message than "unknown" when a file holds another dtype. */
const KNOWN_DTYPES = new Set(
  "BOOL U8 I8 U16 I16 F16 BF16 U32 I32 F32 U64 I64 F64 F8_E4M3 F8_E5M2".split(" "),
);

const BYTES: Record<StoredDtype, number> = { F32: 4, F16: 2 };

// One float32 viewed as its bits, for the conversion to F16.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE half nearest to x (ties to even), as its 16 bits; past the largest half, infinity. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // the half's biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // a subnormal half (or zero): the 24-bit significand shifted down, rounded to nearest even
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const tie = 1 << (shift - 1);
    if (rest > tie || (rest === tie && half & 1)) half++;
    return sign | half;
  }
  // a carry out of the significand rounds up into the exponent, which is the right answer (or infinity)
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/**
 * The index of the first NaN or infinity in `data`, or -1 (x - x is 0 for every finite x, NaN otherwise): a
 * plain loop, several times faster than findIndex over a model's millions of weights.
 */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (data[i] - data[i] !== 0) return i;
  return -1;
}

/** The number a half's 16 bits hold. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

let HALVES: Float32Array | null = null;
/** The file is little-endian; so is every machine we know of, but a typed array reads in the machine's order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Every half's value, by its 16 bits (256 KB, made on first use): a shipped F16 model's millions of weights
 * decode by lookup, a quarter of a second less to load the language model.
 */
function halfTable(): Float32Array {
  if (HALVES === null) {
    HALVES = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALVES[h] = fromHalf(h);
  }
  return HALVES;
}

/**
 * Tensors (float32, row-major) and string metadata as safetensors bytes; tensors keep the given order. A
 * tensor with `dtype: "F16"` is stored as halves (each value rounded to the nearest).
 */
export function encodeSafetensors(
  tensors: { name: string; shape: number[]; data: ArrayLike<number>; dtype?: StoredDtype }[],
  metadata: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(
        `safetensors: tensor ${t.name}: shape ${t.shape} holds ${count} values, not ${t.data.length}`,
      );
    }
    const dtype = t.dtype ?? "F32";
    const bytes = BYTES[dtype] * count;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
  const padded = Math.ceil((8 + json.length) / ALIGN) * ALIGN - 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    if (t.dtype === "F16")
      for (let i = 0; i < t.data.length; i++, at += 2) view.setUint16(at, toHalf(t.data[i]), true);
    else for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}

/** Reads safetensors bytes: F32 and F16 tensors (read as float32); `file` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): Safetensors {
  const fail = (field: string, what: string): never => {
    throw new DataError(file, null, `${field}: ${what}`);
  };
  if (bytes.length < 8)
    fail("header length", `the file has ${bytes.length} bytes, fewer than the 8 of the length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const rest = bytes.length - 8;
  if (hi !== 0 || lo > MAX_HEADER_BYTES)
    fail("header length", `${hi * 2 ** 32 + lo} bytes is over the limit of ${MAX_HEADER_BYTES}`);
  if (lo > rest) fail("header length", `${lo} bytes, but only ${rest} follow the length`);
  if (lo < 2) fail("header length", `${lo} bytes cannot hold a JSON object`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + lo));
  } catch {
    return fail("header", "not valid UTF-8");
  }
  if (!text.startsWith("{")) fail("header", "does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    return fail("header", "not valid JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    fail("header", "not a JSON object");
  const entries = Object.entries(header as Record<string, unknown>);
  const dataStart = 8 + lo;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number; shape: number[]; dtype: StoredDtype }[] = [];
  for (const [name, value] of entries) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        fail("__metadata__", "not an object");
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k}`, "not a string");
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail(name, "not an object");
    const info = value as Record<string, unknown>;
    const dtype = info.dtype;
    if (typeof dtype !== "string") fail(`${name}.dtype`, "missing");
    if (dtype !== "F32" && dtype !== "F16") {
      fail(
        `${name}.dtype`,
        KNOWN_DTYPES.has(dtype as string)
          ? `${dtype}: only F32 and F16 tensors are read`
          : `unknown dtype ${JSON.stringify(dtype)}`,
      );
    }
    const size = BYTES[dtype as StoredDtype];
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      fail(`${name}.shape`, "not a list of whole numbers");
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`${name}.data_offsets`, "not two whole numbers [begin, end]");
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`${name}.data_offsets`, `end ${end} before begin ${begin}`);
    if (end > dataLen)
      fail(`${name}.data_offsets`, `end ${end} is past the end of the data (${dataLen} bytes)`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== size * count) {
      fail(
        `${name}.data_offsets`,
        `${end - begin} bytes, but shape [${shape}] of ${dtype} needs ${size * count}`,
      );
    }
    spans.push({ name, begin, end, shape: shape as number[], dtype: dtype as StoredDtype });
  }
  // The format forbids holes and overlaps: sorted by begin, each tensor starts where the last one ended.
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of sorted) {
    if (s.begin !== at)
      fail(
        `${s.name}.data_offsets`,
        s.begin < at ? "overlaps another tensor" : `a gap of ${s.begin - at} bytes before it`,
      );
    at = s.end;
  }
  if (at !== dataLen) fail("data", `${dataLen - at} bytes after the last tensor`);
  const tensors = new Map<string, Tensor>();
  for (const s of spans) {
    const n = (s.end - s.begin) / BYTES[s.dtype];
    const data = new Float32Array(n);
    const base = dataStart + s.begin;
    // A typed view of the bytes where they are aligned for one (and the machine reads them in their order).
    const at = bytes.byteOffset + base;
    if (s.dtype === "F16") {
      const table = halfTable();
      if (LITTLE_ENDIAN && at % 2 === 0) {
        const halves = new Uint16Array(bytes.buffer, at, n);
        for (let i = 0; i < n; i++) data[i] = table[halves[i]];
      } else for (let i = 0; i < n; i++) data[i] = table[view.getUint16(base + 2 * i, true)];
    } else if (LITTLE_ENDIAN && at % 4 === 0) data.set(new Float32Array(bytes.buffer, at, n));
    else for (let i = 0; i < n; i++) data[i] = view.getFloat32(base + 4 * i, true);
    tensors.set(s.name, { shape: s.shape, data, dtype: s.dtype });
  }
  return { tensors, metadata };
}

/**
 * Whether bytes are meant as safetensors rather than JSON: a length that fits the file followed by '{', or
 * anything that does not start like JSON (so that its errors speak of the safetensors layout).
 */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length >= 9 && bytes[8] === 0x7b) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(4, true) === 0 && view.getUint32(0, true) <= bytes.length - 8) return true;
  }
  let i = 0;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)
  )
    i++;
  return !(bytes[i] === 0x7b || bytes[i] === 0x5b || bytes[i] === 0x22);
}
