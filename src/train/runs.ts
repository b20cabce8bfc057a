// Repeats: N runs of one configuration with seeds seed, seed+1, ..., keeping the best by the configured rule.

import type { Config } from "../model/config.js";
import type { Prepared } from "./prepare.js";
import { better, finishRun, type RunResult, type TrainEvent, Trainer } from "./trainer.js";

export function runSeeds(cfg: Config): number[] {
  return Array.from({ length: cfg.repeats }, (_, r) => cfg.seed + r);
}

export function trainOne(
  cfg: Config,
  data: Prepared,
  seed: number,
  onEvent?: (e: TrainEvent) => void,
): RunResult {
  const t = new Trainer(cfg, data.vocab.size, data.train, data.valid, seed, onEvent);
  t.run();
  return finishRun(t);
}

export function pickBest(runs: RunResult[], cfg: Config): RunResult {
  return runs.reduce((a, b) => better(a, b, cfg.selectBy));
}
