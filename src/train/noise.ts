// Random noise (RN), as the official code does it: rather than storing empty memories, a story of n
// sentences gets n time indices drawn without replacement from 0 .. n + nblank - 1, with nblank uniform in
// [0, ceil(noiseFraction * n)) (so stories of 10 sentences or fewer get none), capped at the last time row and
// sorted so that older sentences keep larger indices. The gaps are the empty memories.

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
    const nblank = span > 0 ? rng.int(span) : 0;
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
