// Node 20's V8 (11.3) has WebAssembly relaxed SIMD behind a flag; V8 11.4 (Node 22, Chrome 114) turns it on.
// The language model's kernel has a build that fuses its multiply-adds with it (its matrix products a quarter
// to a third faster on this machine), which the core uses where the runtime validates it. Every Node edge imports this
// first, before any kernel compiles; V8 flags are per process, so the kernel's worker threads see it too.
import { setFlagsFromString } from "node:v8";

// (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02,
  0x0b,
]);

if (!WebAssembly.validate(PROBE)) setFlagsFromString("--experimental-wasm-relaxed-simd");
