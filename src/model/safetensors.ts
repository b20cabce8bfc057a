// The safetensors container (the weights format of the Hugging Face ecosystem), for float32 tensors: an
// 8-byte little-endian header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets}} and an
// optional "__metadata__" map of strings), then the tensors' raw little-endian bytes, data_offsets counted
// from the end of the header. Every number the header holds is checked against the bytes before it is used,
// so a hostile file gives `<file>: <field>: <what>`, never a read past the end or a huge allocation.
// Pure: bytes in, bytes out, in Node and in a browser.

import { DataError } from "../data/errors.js";

export interface Tensor {
  shape: number[];
  data: Float32Array;
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

/** Tensors (float32, row-major) and string metadata as safetensors bytes; tensors keep the given order. */
export function encodeSafetensors(
  tensors: { name: string; shape: number[]; data: ArrayLike<number> }[],
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
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
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
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}

/** Reads safetensors bytes: float32 tensors only; `file` names the file in errors. */
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
  const spans: { name: string; begin: number; end: number; shape: number[] }[] = [];
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
    if (dtype !== "F32") {
      fail(
        `${name}.dtype`,
        KNOWN_DTYPES.has(dtype as string)
          ? `${dtype}: only F32 tensors are read`
          : `unknown dtype ${JSON.stringify(dtype)}`,
      );
    }
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
    if (end - begin !== 4 * count) {
      fail(`${name}.data_offsets`, `${end - begin} bytes, but shape [${shape}] of F32 needs ${4 * count}`);
    }
    spans.push({ name, begin, end, shape: shape as number[] });
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
    const n = (s.end - s.begin) / 4;
    const data = new Float32Array(n);
    const base = dataStart + s.begin;
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(base + 4 * i, true);
    tensors.set(s.name, { shape: s.shape, data });
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
