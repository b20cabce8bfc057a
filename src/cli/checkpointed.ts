// Training runs with a checkpoint after every epoch (atomic), and resuming from it: what `train`, `dialog
// train` and the `babi` sweep share. Finished runs are kept (with their weights when the best is to be saved
// as a model); runs under way are kept as of their last written epoch, and resume bit for bit.

import { existsSync } from "node:fs";
import type { ReportFigures, RunData, RunReport } from "../api/train.js";
import { DataError } from "../data/errors.js";
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
  /** The runs: a seed and its data each, in order (the index of a run is its place here). */
  runs: { seed: number; data: RunData }[];
  /** What the runs are for; a checkpoint made for anything else is refused on resume. */
  key: Checkpoint["key"];
  ckptPath?: string;
  resume: boolean;
  /** Start over even where the checkpoint of an interrupted run is (it is overwritten). */
  force?: boolean;
  workers: number;
  /** Threads inside each run trained in this process (one run, or one worker). */
  threads?: number;
  /** Least seconds between two writes for the runs under way (finished runs are written at once). */
  saveEvery?: number;
  label: string;
  quiet: boolean;
  /** A run finished; first called for each run the resumed checkpoint had finished (`resumed` true). */
  onDone?: (runIndex: number, report: ReportFigures, resumed: boolean) => void;
  /** Resuming: the wall seconds the interrupted processes had spent on these runs. */
  onResume?: (priorWallSeconds: number) => void;
}

/** The seeds of the config over one data set: the runs of `train` and `dialog train`. */
export function seedRuns(cfg: Config, data: RunData): CheckpointedRuns["runs"] {
  return runSeeds(cfg).map((seed) => ({ seed, data }));
}

/**
 * Trains the runs (those not finished in the checkpoint, when resuming) and returns them all, in order. With
 * `keepWeights` each finished run keeps its weights in the checkpoint, to choose a model among them; a sweep
 * keeps only the figures, so its checkpoint stays small however many runs it holds.
 */
export async function runCheckpointed(o: CheckpointedRuns & { keepWeights: true }): Promise<RunReport[]>;
export async function runCheckpointed(o: CheckpointedRuns & { keepWeights: false }): Promise<ReportFigures[]>;
export async function runCheckpointed(
  o: CheckpointedRuns & { keepWeights: boolean },
): Promise<ReportFigures[]> {
  const { cfg, runs, ckptPath } = o;
  if (!o.resume && !o.force && ckptPath && existsSync(ckptPath)) {
    throw new UsageError(
      `${ckptPath}: the checkpoint of an interrupted run is there: --resume continues it, --force starts over`,
    );
  }
  const ckpt: Checkpoint = o.resume
    ? loadCheckpoint(ckptPath!, o.key, cfg, runs, o.keepWeights)
    : { key: o.key, done: [], inFlight: [] };
  const priorWall = ckpt.wallSeconds ?? 0;
  const t0 = performance.now() / 1000;
  if (o.resume) o.onResume?.(priorWall);
  for (const d of ckpt.done) o.onDone?.(d.runIndex, d, true);
  const pending = runs
    .map((r, runIndex) => ({ ...r, runIndex }))
    .filter((r) => !ckpt.done.some((d) => d.runIndex === r.runIndex));
  const progress = createProgress(o.label, o.quiet);
  // The first epoch is written at once, then at most every saveEvery seconds.
  let lastSave = Number.NEGATIVE_INFINITY;
  const save = (force: boolean) => {
    const now = performance.now() / 1000;
    if (!ckptPath || (!force && now - lastSave < (o.saveEvery ?? 0))) return;
    ckpt.wallSeconds = priorWall + (now - t0);
    writeFileAtomic(ckptPath, JSON.stringify(checkpointToJson(ckpt)));
    lastSave = now;
  };
  try {
    await runJobs(
      pending.map(({ seed, data, runIndex }) => {
        const inFlight = ckpt.inFlight.find((f) => f.runIndex === runIndex);
        return { cfg, seed, data, resume: inFlight && { state: inFlight.state, weights: inFlight.weights } };
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
          save(false);
        },
        onDone: (j, report) => {
          const runIndex = pending[j].runIndex;
          const kept = o.keepWeights ? report : { ...report, run: { ...report.run, params: undefined } };
          ckpt.inFlight = ckpt.inFlight.filter((f) => f.runIndex !== runIndex);
          ckpt.done.push({ ...kept, runIndex });
          save(true);
          o.onDone?.(runIndex, kept, false);
        },
      },
      o.threads ?? 1,
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

function loadCheckpoint(
  path: string,
  key: Checkpoint["key"],
  cfg: Config,
  runs: CheckpointedRuns["runs"],
  doneWeights: boolean,
): Checkpoint {
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
  return checkpointFromJson(
    json,
    path,
    (runIndex) => {
      const data = runs[runIndex]?.data;
      if (!data) throw new DataError(path, null, `runIndex ${runIndex}: there are ${runs.length} runs`);
      return createParams(shapeFor(cfg, data.vocabSize, data.train.sentenceLen, data.train.memorySize));
    },
    doneWeights,
  );
}
