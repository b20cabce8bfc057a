// Training runs with a checkpoint after every epoch (atomic), and resuming from it: what `train` and
// `dialog train` share. Finished runs are kept with their weights so the best can be chosen at the end; runs
// under way are kept as of their last finished epoch, and resume bit for bit.

import { existsSync } from "node:fs";
import type { RunData, RunReport } from "../api/train.js";
import type { Config } from "../model/config.js";
import { createParams, shapeFor } from "../model/params.js";
import {
  type Checkpoint,
  checkpointFromJson,
  checkpointToJson,
  configDifference,
} from "../train/checkpoint.js";
import { runSeeds } from "../train/runs.js";
import { NonFiniteLossError } from "../train/trainer.js";
import { UsageError } from "./errors.js";
import { readJsonFile, writeFileAtomic } from "./fsutil.js";
import { runJobs } from "./pool.js";
import { createProgress } from "./progress.js";

export interface CheckpointedRuns {
  cfg: Config;
  runData: RunData;
  /** What the runs are for; a checkpoint made for anything else is refused on resume. */
  key: Checkpoint["key"];
  ckptPath?: string;
  resume: boolean;
  workers: number;
  label: string;
  quiet: boolean;
}

/** Trains the config's seeds (those not finished in the checkpoint, when resuming); returns every run. */
export async function runCheckpointed(o: CheckpointedRuns): Promise<RunReport[]> {
  const { cfg, runData, ckptPath } = o;
  const ckpt: Checkpoint = o.resume
    ? loadCheckpoint(ckptPath!, o.key, runData)
    : { key: o.key, done: [], inFlight: [] };
  const pending = runSeeds(cfg)
    .map((seed, runIndex) => ({ seed, runIndex }))
    .filter((r) => !ckpt.done.some((d) => d.runIndex === r.runIndex));
  const progress = createProgress(o.label, o.quiet);
  const save = () => {
    if (ckptPath) writeFileAtomic(ckptPath, JSON.stringify(checkpointToJson(ckpt)));
  };
  try {
    await runJobs(
      pending.map(({ seed, runIndex }) => {
        const inFlight = ckpt.inFlight.find((f) => f.runIndex === runIndex);
        return {
          cfg,
          seed,
          data: runData,
          resume: inFlight && { state: inFlight.state, weights: inFlight.weights },
        };
      }),
      o.workers,
      {
        onEvent: (_, e) => progress.onEvent(e),
        onEpoch: (j, state, weights) => {
          const runIndex = pending[j].runIndex;
          ckpt.inFlight = [
            ...ckpt.inFlight.filter((f) => f.runIndex !== runIndex),
            { runIndex, state, weights },
          ];
          save();
        },
        onDone: (j, report) => {
          const runIndex = pending[j].runIndex;
          ckpt.inFlight = ckpt.inFlight.filter((f) => f.runIndex !== runIndex);
          ckpt.done.push({ ...report, runIndex });
          save();
        },
      },
    );
  } catch (e) {
    progress.stop();
    if (e instanceof NonFiniteLossError) {
      const kept = ckptPath && existsSync(ckptPath) ? `; the last good checkpoint is ${ckptPath}` : "";
      throw new Error(`${e.message}${kept}. Try a lower --lr or --max-grad-norm.`);
    }
    throw e;
  }
  progress.stop();
  return [...ckpt.done].sort((a, b) => a.runIndex - b.runIndex);
}

function loadCheckpoint(path: string, key: Checkpoint["key"], data: RunData): Checkpoint {
  if (!existsSync(path)) throw new UsageError(`--resume: no checkpoint at ${path}`);
  const json = readJsonFile(path) as {
    key?: { config?: Record<string, unknown>; tasks?: number[]; set?: string };
  };
  const diff = json.key?.config ? configDifference(key.config, json.key.config) : "config";
  if (diff)
    throw new UsageError(`--resume: ${path} was made with a different ${diff}; give the same options`);
  if (JSON.stringify(json.key?.tasks) !== JSON.stringify(key.tasks) || json.key?.set !== key.set) {
    throw new UsageError(`--resume: ${path} was made for other tasks or another set`);
  }
  return checkpointFromJson(json, path, () =>
    createParams(shapeFor(key.config, data.vocabSize, data.train.sentenceLen, data.train.memorySize)),
  );
}
