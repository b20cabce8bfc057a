// Repeats: N runs of one configuration with seeds seed, seed+1, ..., keeping the best by the configured rule.

import type { Config } from "../model/config.js";
import { better, type RunFigures } from "./trainer.js";

export function runSeeds(cfg: Config): number[] {
  return Array.from({ length: cfg.repeats }, (_, r) => cfg.seed + r);
}

export function pickBest<R extends RunFigures>(runs: R[], cfg: Config): R {
  return runs.reduce((a, b) => better(a, b, cfg.selectBy));
}
