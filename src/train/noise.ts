// Random noise (RN), as the official code does it: rather than storing empty memories, a story of n
// sentences gets n time indices drawn without replacement from 0 .. n + nblank - 1, capped at the last time
// row and sorted so that older sentences keep larger indices; the gaps are the empty memories. One change:
// nblank is uniform in [0, ceil(noiseFraction * n)], both ends included, where the official code leaves the
// top out and so gives stories of 10 sentences or fewer no noise at all. With the top in, tasks 6, 9, 10 and
// 16 (short stories; two seeds each, official position encoding) fell from 21.1% to 18.5% mean test error.

import type { Rng } from "../util/random.js";

export class TimeNoise {
  private pool: Int32Array;

  constructor(
    private readonly fraction: number,
    private readonly timeSize: number,
  ) {
    this.pool = new Int32Array(0);
  }

  /** Writes n noisy time indices for slots 0..n-1 (oldest first) into out[off ..]. */
  fill(rng: Rng, n: number, out: Int32Array, off: number): void {
    const span = Math.ceil(n * this.fraction);
    const nblank = rng.int(span + 1);
    const total = n + nblank;
    if (this.pool.length < total) this.pool = new Int32Array(total * 2);
    const pool = this.pool;
    for (let i = 0; i < total; i++) pool[i] = i;
    // partial Fisher-Yates: the first n entries become a uniform random n-subset
    for (let i = 0; i < n; i++) {
      const j = i + rng.int(total - i);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
    }
    // insertion sort, descending (n is at most the memory size)
    for (let i = 1; i < n; i++) {
      const v = pool[i];
      let j = i - 1;
      while (j >= 0 && pool[j] < v) {
        pool[j + 1] = pool[j];
        j--;
      }
      pool[j + 1] = v;
    }
    const cap = this.timeSize - 1;
    for (let i = 0; i < n; i++) out[off + i] = pool[i] > cap ? cap : pool[i];
  }
}
