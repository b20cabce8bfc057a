// The safetensors container against the format's published layout: files written by Python's struct module
// (tools/fixtures/safetensors_struct.py) load, our files read back in Python, and models round-trip bit for
// bit between JSON and safetensors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../src/api/model.js";
import { DataError } from "../src/data/errors.js";
import { modelFromText, modelToJson, modelToSafetensors } from "../src/model/file.js";
import { decodeSafetensors, encodeSafetensors, fromHalf, toHalf } from "../src/model/safetensors.js";
import { ROOT, runCli, safetensorsHeader, withSafetensorsHeader, withTmpDir } from "./helpers.js";

const FIXTURES = join(ROOT, "tests", "fixtures");
const STRUCT_TOOL = join(ROOT, "tools", "fixtures", "safetensors_struct.py");
const tinyJson = readFileSync(join(FIXTURES, "tiny-model.json"), "utf8");

test("safetensors: a file written by Python's struct module reads as its layout says", () => {
  const st = decodeSafetensors(readFileSync(join(FIXTURES, "struct-tensors.safetensors")), "f");
  assert.deepEqual(st.metadata, { format: "pt", note: "written by struct" });
  assert.deepEqual(st.tensors.get("a")?.shape, [2, 3]);
  assert.deepEqual([...st.tensors.get("a")!.data], [0, 0.5, -1.5, 3.25, Math.fround(1e-8), -2]);
  assert.deepEqual([...st.tensors.get("b")!.data], [1, 2, 3, 4]);
});

test("safetensors: the layout, byte by byte", () => {
  const bytes = encodeSafetensors([{ name: "w", shape: [2], data: [1, -2] }], { k: "v" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(
    JSON.stringify(JSON.parse(header)),
    '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
  );
  assert.equal((8 + n) % 8, 0, "data 8-byte aligned (header padded with spaces)");
  assert.match(header, / *$/);
  assert.equal(bytes.length, 8 + n + 8);
  const dv = new DataView(bytes.buffer, 8 + n);
  assert.equal(dv.getFloat32(0, true), 1);
  assert.equal(dv.getFloat32(4, true), -2);
});

test("safetensors: F16 rounds to the nearest half as Python's struct does, and reads back as float32", () => {
  // every half but the NaNs comes back as itself
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue;
    assert.equal(toHalf(fromHalf(h)), h, `half ${h.toString(16)}`);
  }
  // ties to even, the edges of the range, subnormals; then random numbers over the halves' range
  const edge = [
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    -(1 + 2 ** -11),
    65504,
    65519,
    65520,
    1e6,
    -1e6,
    2 ** -24,
    2 ** -25,
  ];
  edge.push(1.5 * 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -14 - 2 ** -25, 0, 0.1, -0.05, 1 / 3);
  assert.equal(toHalf(-0), 0x8000); // (JSON, on the way to Python, has no -0)
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 2000; i++) edge.push((rand() - 0.5) * 2 ** Math.floor(rand() * 44 - 28));
  const values = edge.map((x) => Math.fround(x));
  const bytes = encodeSafetensors([{ name: "h", shape: [values.length], data: values, dtype: "F16" }], {});
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(bytes.length, 8 + n + 2 * values.length);
  const py = spawnSync(
    "/usr/bin/python3",
    [
      "-c",
      "import json,struct,sys\nxs=json.load(sys.stdin)\nprint(json.dumps([struct.unpack('<H',struct.pack('<e',x))[0] if abs(x)<65520 else (0xfc00 if x<0 else 0x7c00) for x in xs]))",
    ],
    { input: JSON.stringify(values), encoding: "utf8" },
  );
  assert.equal(py.status, 0, py.stderr);
  const want = JSON.parse(py.stdout) as number[];
  const view = new DataView(bytes.buffer, 8 + n);
  for (let i = 0; i < values.length; i++) assert.equal(view.getUint16(2 * i, true), want[i], `${values[i]}`);
  const back = decodeSafetensors(bytes, "h.safetensors").tensors.get("h")!;
  assert.equal(back.dtype, "F16");
  for (let i = 0; i < values.length; i++) assert.equal(back.data[i], Math.fround(fromHalf(want[i])));
  // the same bytes at an odd offset in their buffer (no 16-bit view of them there): the same values
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const odd = decodeSafetensors(shifted.subarray(1), "h.safetensors").tensors.get("h")!;
  assert.deepEqual(odd.data, back.data);
});

test("safetensors: a model written by Python's struct module loads with the weights of its JSON", () => {
  const fromJson = modelFromText(tinyJson, "tiny-model.json");
  const fromStruct = modelFromText(readFileSync(join(FIXTURES, "struct-model.safetensors")), "struct-model");
  assert.deepEqual(modelToJson(fromStruct), modelToJson(fromJson));
  const a = loadModel(readFileSync(join(FIXTURES, "struct-model.safetensors"))).answer(
    ["Mary went to the kitchen.", "John moved to the garden."],
    "Where is Mary?",
  );
  const b = loadModel(tinyJson).answer(
    ["Mary went to the kitchen.", "John moved to the garden."],
    "Where is Mary?",
  );
  assert.deepEqual(a, b);
});

test("safetensors: JSON -> safetensors -> JSON is bit for bit, and Python reads our file", () => {
  const m = modelFromText(tinyJson, "tiny");
  const bytes = modelToSafetensors(m);
  const back = modelFromText(bytes, "back");
  assert.deepEqual(modelToJson(back), modelToJson(m));
  assert.deepEqual(modelToSafetensors(back), bytes, "safetensors -> model -> safetensors: the same bytes");
  assert.ok(bytes.length < tinyJson.length / 2, `${bytes.length} bytes against ${tinyJson.length} of JSON`);
  // the same bytes at an odd offset in their buffer (no float32 view of them there): the same weights
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(modelToJson(modelFromText(shifted.subarray(1), "odd")), modelToJson(m));
  withTmpDir((dir) => {
    const path = join(dir, "m.safetensors");
    writeFileSync(path, bytes);
    const r = spawnSync("python3", [STRUCT_TOOL, "read", path], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout) as {
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; sum: number }>;
    };
    assert.equal(py.metadata.format, "memn2n-model");
    assert.deepEqual(JSON.parse(py.metadata.vocab), m.vocab.words);
    const E0 = py.tensors.E0;
    assert.equal(E0.dtype, "F32");
    assert.deepEqual(E0.shape, [m.vocab.size, m.config.dim]);
    const sum = [...m.params.emb[0]].reduce((s, x) => s + x, 0);
    assert.ok(Math.abs(E0.sum - sum) < 1e-9, `${E0.sum} vs ${sum}`);
  });
});

test("safetensors: malformed files name the field", () => {
  const good = modelToSafetensors(modelFromText(tinyJson, "tiny"));
  const n = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
  // biome-ignore lint/suspicious/noExplicitAny: a header to take apart field by field
  const header = safetensorsHeader(good).header as Record<string, any>;
  const withHeader = (h: unknown, data = good.subarray(8 + n)) => withSafetensorsHeader(h, data);
  const lengthOf = (len: bigint) => {
    const out = good.slice();
    new DataView(out.buffer).setBigUint64(0, len, true);
    return out;
  };
  const e0 = header.E0;
  // The tensor stored last: removing it and its bytes leaves a file without holes.
  const [lastName, last] = Object.entries(header)
    .filter(([k]) => k !== "__metadata__")
    .sort(
      (a, b) =>
        (b[1] as { data_offsets: number[] }).data_offsets[0] -
        (a[1] as { data_offsets: number[] }).data_offsets[0],
    )[0] as [string, { data_offsets: number[] }];
  const cases: [string, Uint8Array, RegExp][] = [
    ["short", good.subarray(0, 5), /header length: the file has 5 bytes/],
    ["length past the end", lengthOf(BigInt(good.length)), /header length: \d+ bytes, but only/],
    ["huge length", lengthOf(2n ** 40n), /header length: .* over the limit/],
    [
      "offsets past the end",
      withHeader({ ...header, E0: { ...e0, data_offsets: [e0.data_offsets[0], 1e9] } }),
      /E0\.data_offsets: end 1000000000 is past the end/,
    ],
    [
      "F16 with F32's bytes",
      withHeader({ ...header, E0: { ...e0, dtype: "F16" } }),
      /E0\.data_offsets: \d+ bytes, but shape \[[\d,]+\] of F16 needs \d+/,
    ],
    ["BF16", withHeader({ ...header, E0: { ...e0, dtype: "BF16" } }), /E0\.dtype: BF16: only F32 and F16/],
    ["unknown dtype", withHeader({ ...header, E0: { ...e0, dtype: "Q7" } }), /E0\.dtype: unknown dtype "Q7"/],
    [
      "missing tensor",
      withHeader({ ...header, [lastName]: undefined }, good.subarray(8 + n, 8 + n + last.data_offsets[0])),
      new RegExp(`: ${lastName}: missing`),
    ],
    [
      "metadata schema",
      withHeader({ ...header, __metadata__: { ...header.__metadata__, version: "7" } }),
      /__metadata__\.version: Invalid literal/,
    ],
    [
      "metadata not JSON",
      withHeader({ ...header, __metadata__: { ...header.__metadata__, vocab: "[oops" } }),
      /__metadata__\.vocab: not valid JSON/,
    ],
    [
      "metadata not a string",
      withHeader({ ...header, __metadata__: { ...header.__metadata__, vocab: 3 } }),
      /__metadata__\.vocab: not a string/,
    ],
    ["trailing bytes", new Uint8Array([...good, 0, 0, 0, 0]), /data: 4 bytes after the last tensor/],
    [
      "NaN weight",
      (() => {
        const b = good.slice();
        new DataView(b.buffer).setFloat32(8 + n + 4 * 20, Number.NaN, true);
        return b;
      })(),
      /: value \d+ is not a finite number/,
    ],
  ];
  for (const [name, bytes, expected] of cases) {
    assert.throws(
      () => modelFromText(bytes, "bad.safetensors"),
      (e: unknown) =>
        e instanceof DataError && e.message.startsWith("bad.safetensors: ") && expected.test(e.message),
      name,
    );
  }
});

test("a crafted config asking for huge tensors is refused by field before anything is allocated", () => {
  const bytes = readFileSync(join(ROOT, "models", "babi-task-1.safetensors"));
  const { header, dataStart } = safetensorsHeader(bytes);
  const meta = header.__metadata__ as Record<string, string>;
  const config = JSON.parse(meta.config);
  const crafted = (cfg: Record<string, unknown>, extra: Record<string, string> = {}) =>
    withSafetensorsHeader(
      { ...header, __metadata__: { ...meta, ...extra, config: JSON.stringify({ ...config, ...cfg }) } },
      bytes.subarray(dataStart),
    );
  const t0 = performance.now();
  // 64 hops of d = 4096 over 100,000 slots: 52 billion floats of relative time alone.
  assert.throws(
    () =>
      modelFromText(
        crafted({ relativeTime: true, hops: 64, dim: 4096, memorySize: 100000 }, { timeSize: "100000" }),
        "m.safetensors",
      ),
    /^DataError: m\.safetensors: E0: expected shape \[\d+, 4096\], got \[\d+, 50\]$/,
  );
  assert.throws(
    () => modelFromText(crafted({ relativeTime: false, hopMap: false }), "m.safetensors"),
    /^DataError: m\.safetensors: H: not a tensor of this model$/,
  );
  assert.ok(performance.now() - t0 < 2000, "refused at once");
  // Over the CLI: one line naming the file and field, exit 2.
  withTmpDir((dir) => {
    const f = join(dir, "crafted.safetensors");
    writeFileSync(
      f,
      crafted({ relativeTime: true, hops: 64, dim: 4096, memorySize: 100000 }, { timeSize: "100000" }),
    );
    const r = runCli(["test", "--model", f]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*crafted\.safetensors: E0: expected shape \[\d+, 4096\]/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });
});
