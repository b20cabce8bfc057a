// Plain SGD with gradient-norm clipping, over every tensor of a parameter set.

import type { ClipMode } from "./config.js";
import { namedTensors, type Params } from "./params.js";

/** Scales gradients whose L2 norm exceeds maxNorm down to it; returns the norm before clipping. */
export function clipGradients(g: Params, maxNorm: number, mode: ClipMode): number {
  const tensors = namedTensors(g);
  let total = 0;
  for (const t of tensors) {
    let s = 0;
    const a = t.data;
    for (let i = 0; i < a.length; i++) s += a[i] * a[i];
    total += s;
    if (mode === "per-matrix") scaleIfAbove(a, Math.sqrt(s), maxNorm);
  }
  const norm = Math.sqrt(total);
  if (mode === "global" && norm > maxNorm) for (const t of tensors) scaleIfAbove(t.data, norm, maxNorm);
  return norm;
}

function scaleIfAbove(a: Float32Array | Float64Array, norm: number, maxNorm: number): void {
  if (norm <= maxNorm) return;
  const f = maxNorm / norm;
  for (let i = 0; i < a.length; i++) a[i] *= f;
}

/** p -= lr * g, then zeroes g for the next batch. */
export function sgdStep(p: Params, g: Params, lr: number): void {
  const ps = namedTensors(p);
  const gs = namedTensors(g);
  for (let t = 0; t < ps.length; t++) {
    const a = ps[t].data;
    const b = gs[t].data;
    for (let i = 0; i < a.length; i++) {
      a[i] -= lr * b[i];
      b[i] = 0;
    }
  }
}
