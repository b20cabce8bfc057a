// What an interrupted training needs to continue exactly where it stopped: the finished runs (with their
// weights when a model is to be chosen among them and saved; a sweep keeps only their figures), and the runs
// under way: their trainer state and weights. Pure JSON in and out; the CLI writes it atomically.

import { z } from "zod";
import { DataError } from "../data/errors.js";
import { type Config, PAPER_DEFAULTS } from "../model/config.js";
import { namedTensors, type Params, weightsOf } from "../model/params.js";
import type { RunFigures, TrainState } from "./trainer.js";

export const CHECKPOINT_FORMAT = "memn2n-checkpoint";

export interface FinishedRun {
  run: RunFigures & { params?: Params };
  tests: { task: number; error: number; loss: number; questions: number }[];
  testError: number;
  seconds: number;
}

export interface InFlightRun {
  runIndex: number;
  state: TrainState;
  weights: Record<string, number[]>;
}

export interface Checkpoint {
  /** What the runs were started with; resuming with anything else is refused. */
  key: { config: Config; tasks: number[]; set: string };
  /** Finished runs, with their run index. */
  done: (FinishedRun & { runIndex: number })[];
  /** Runs under way (several when they train in parallel), as of their last finished epoch. */
  inFlight: InFlightRun[];
  /** Wall seconds every process that worked on these runs spent, up to this checkpoint's writing. */
  wallSeconds?: number;
}

/** Loads weights into `p`, checking every tensor is there with its size. */
export function setWeights(p: Params, w: Record<string, number[]>, file: string, field: string): void {
  for (const t of namedTensors(p)) {
    const a = w[t.name];
    if (!Array.isArray(a) || a.length !== t.data.length) {
      throw new DataError(file, null, `${field}.${t.name}: expected ${t.data.length} floats`);
    }
    t.data.set(a);
  }
}

export function checkpointToJson(c: Checkpoint): unknown {
  return {
    format: CHECKPOINT_FORMAT,
    version: 1,
    key: c.key,
    done: c.done.map((d) => ({
      ...d,
      run: d.run.params ? { ...d.run, params: weightsOf(d.run.params) } : d.run,
    })),
    inFlight: c.inFlight,
    ...(c.wallSeconds !== undefined ? { wallSeconds: c.wallSeconds } : {}),
  };
}

const weightsShape = z.record(z.string(), z.array(z.number()));

const shape = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(1),
  key: z.object({ config: z.record(z.string(), z.unknown()), tasks: z.array(z.number()), set: z.string() }),
  done: z.array(
    z
      .object({
        runIndex: z.number().int(),
        run: z.object({ params: weightsShape.optional() }).passthrough(),
      })
      .passthrough(),
  ),
  inFlight: z.array(
    z.object({
      runIndex: z.number().int(),
      state: z.object({ rng: z.array(z.number()).length(6) }).passthrough(),
      weights: weightsShape,
    }),
  ),
  wallSeconds: z.number().min(0).optional(),
});

/**
 * Parsed checkpoint JSON; `makeParams` gives an empty parameter set for the run of that index. With
 * `doneWeights` every finished run must carry its weights (a model is to be chosen among them).
 */
export function checkpointFromJson(
  json: unknown,
  file: string,
  makeParams: (runIndex: number) => Params,
  doneWeights: boolean,
): Checkpoint {
  const r = shape.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new DataError(file, null, `${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  const j = json as {
    key: Checkpoint["key"];
    done: (Omit<FinishedRun, "run"> & {
      runIndex: number;
      run: RunFigures & { params?: Record<string, number[]> };
    })[];
    inFlight: InFlightRun[];
    wallSeconds?: number;
  };
  const done = j.done.map((d, i) => {
    if (!d.run.params) {
      if (doneWeights)
        throw new DataError(file, null, `done.${i}.run.params: missing (a sweep's checkpoint?)`);
      return { ...d, run: { ...d.run, params: undefined } };
    }
    const params = makeParams(d.runIndex);
    setWeights(params, d.run.params, file, `done.${i}.run.params`);
    return { ...d, run: { ...d.run, params } };
  });
  for (const f of j.inFlight) {
    setWeights(makeParams(f.runIndex), f.weights, file, `inFlight.${f.runIndex}.weights`);
  }
  return { key: j.key, done, inFlight: j.inFlight, wallSeconds: j.wallSeconds };
}

/** The first field in which two configs differ, or null. */
export function configDifference(a: Config, b: Record<string, unknown>): string | null {
  // A field a checkpoint predates (undefined) was trained as its default; lists compare by their items.
  const same = (k: keyof Config) =>
    JSON.stringify(a[k] ?? null) === JSON.stringify((k in b ? b[k] : PAPER_DEFAULTS[k]) ?? null);
  for (const k of Object.keys(a) as (keyof Config)[]) if (!same(k)) return k;
  return null;
}
