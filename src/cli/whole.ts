// A whole-number option's value, checked: its own module, since the option readers of every layer of the
// CLI (limits, threads, the config's options) use it and none of them should import another for it.

import { UsageError } from "./errors.js";

/** An option's whole number of at least `min`, or one line naming the option. */
export function wholeOption(flag: string, v: string, min = 0): number {
  if (!/^\d+$/.test(v) || Number(v) < min) {
    throw new UsageError(`${flag}: expected a whole number ≥ ${min}, got ${v}`);
  }
  return Number(v);
}
