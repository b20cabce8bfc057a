// The softmax every layer uses: memory attention, the word answer layer and the candidate answer layer.

/**
 * Softmax of a[off .. off+n) in place, with `empty` more entries of value 0 in the normaliser (empty memory
 * slots: they take probability but read nothing); returns log of the normaliser.
 */
export function softmaxInPlace(a: Float64Array, off: number, n: number, empty = 0): number {
  let max = empty > 0 ? 0 : Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (a[off + i] > max) max = a[off + i];
  let sum = empty * Math.exp(-max);
  for (let i = 0; i < n; i++) {
    const e = Math.exp(a[off + i] - max);
    a[off + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) a[off + i] /= sum;
  return max + Math.log(sum);
}
