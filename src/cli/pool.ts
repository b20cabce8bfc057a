// Runs training jobs on worker threads, one per core by default. A job's result depends on its seed and
// data only, never on which worker ran it or how many there were. With one worker the jobs run in this
// thread through the same code.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type RunData, type RunReport, runOne } from "../api/train.js";
import type { Config } from "../model/config.js";
import { createParams, type Floats, namedTensors, shapeFor, weightsOf } from "../model/params.js";
import { setWeights } from "../train/checkpoint.js";
import { NonFiniteLossError, type TrainEvent, type TrainState } from "../train/trainer.js";
import { withKernelThreads } from "./threads.js";

export interface Job {
  cfg: Config;
  seed: number;
  data: RunData;
  /** An interrupted run's last checkpointed state and weights. */
  resume?: { state: TrainState; weights: Record<string, number[]> };
}

export interface JobCallbacks {
  onEvent?: (job: number, e: TrainEvent) => void;
  /** After every epoch: the run's state and weights, for a checkpoint. */
  onEpoch?: (job: number, state: TrainState, weights: Record<string, number[]>) => void;
  onDone?: (job: number, report: RunReport) => void;
}

/** What crosses a thread boundary: the report with its weights as plain arrays. */
export interface WireReport extends Omit<RunReport, "run"> {
  run: Omit<RunReport["run"], "params"> & { weights: Record<string, Floats> };
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Runs one job in this thread (also what each worker does). */
export function executeJob(
  job: Job,
  onEvent: (e: TrainEvent) => void,
  onEpoch: (state: TrainState, weights: Record<string, number[]>) => void,
): RunReport {
  return runOne(job.cfg, job.data, job.seed, {
    onEvent,
    resume: job.resume
      ? (t) => {
          setWeights(t.params, job.resume!.weights, "checkpoint", "weights");
          t.restore(job.resume!.state);
        }
      : undefined,
    afterEpoch: (t) => onEpoch(t.state, weightsOf(t.params)),
  });
}

export function toWire(r: RunReport): WireReport {
  const { params, ...run } = r.run;
  return {
    ...r,
    run: { ...run, weights: Object.fromEntries(namedTensors(params).map((t) => [t.name, t.data])) },
  };
}

export function fromWire(w: WireReport, cfg: Config, data: RunData): RunReport {
  const params = createParams(shapeFor(cfg, data.vocabSize, data.train.sentenceLen, data.train.memorySize));
  for (const t of namedTensors(params)) t.data.set(w.run.weights[t.name]);
  const { weights: _, ...run } = w.run;
  return { ...w, run: { ...run, params } };
}

/**
 * Runs the jobs on `workers` worker threads (one: in this thread), each run on one thread while others
 * wait to start, and on up to `runThreads` once cores fall idle (in this thread: on `runThreads`).
 * `adaptive` false: runs use every thread they are given, even where one would be faster (for tests).
 */
export async function runJobs(
  jobs: Job[],
  workers: number,
  cb: JobCallbacks = {},
  runThreads = 1,
  adaptive = true,
): Promise<RunReport[]> {
  const results: RunReport[] = new Array(jobs.length);
  if (workers <= 1 || jobs.length <= 1) {
    // Runs one after another in this process: each on `threads` threads.
    await withKernelThreads(
      runThreads,
      () => {
        jobs.forEach((job, i) => {
          results[i] = executeJob(
            job,
            (e) => cb.onEvent?.(i, e),
            (s, w) => cb.onEpoch?.(i, s, w),
          );
          cb.onDone?.(i, results[i]);
        });
      },
      adaptive,
    );
    return results;
  }
  let next = 0;
  const count = Math.min(workers, jobs.length);
  // How many threads each worker's run may use: one each while runs wait; then the cores of the workers
  // that have nothing left to run go to those still running (their kernels take them in between batches).
  const budget = new Int32Array(new SharedArrayBuffer(count * 4)).fill(1);
  const busy = new Array<boolean>(count).fill(true);
  const shareOut = () => {
    const running = busy.flatMap((b, i) => (b ? [i] : []));
    const spare = count - running.length;
    running.forEach((w, r) => {
      Atomics.store(budget, w, 1 + Math.floor(spare / running.length) + (r < spare % running.length ? 1 : 0));
    });
  };
  const threads = Array.from({ length: count }, (_, index) =>
    startWorker({ budget, index, capacity: Math.max(1, runThreads), adaptive }),
  );
  try {
    await Promise.all(
      threads.map(
        (w, index) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const feed = () => {
              if (next >= jobs.length) {
                busy[index] = false;
                shareOut();
                resolve();
                return;
              }
              current = next++;
              w.postMessage({ type: "job", job: jobs[current] });
            };
            w.on("message", (m: WorkerMessage) => {
              if (m.type === "event") cb.onEvent?.(current, m.event);
              else if (m.type === "epoch") cb.onEpoch?.(current, m.state, m.weights);
              else if (m.type === "done") {
                const job = jobs[current];
                results[current] = fromWire(m.report, job.cfg, job.data);
                cb.onDone?.(current, results[current]);
                feed();
              } else if (m.type === "error") {
                reject(
                  m.name === "NonFiniteLossError"
                    ? new NonFiniteLossError(m.epoch ?? 0, m.seed ?? 0)
                    : Object.assign(new Error(m.message), { name: m.name }),
                );
              }
            });
            w.on("error", reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return results;
}

/** What a worker is started with: where it reads its run's thread budget, and the most it may use. */
export interface WorkerSetup {
  budget: Int32Array;
  index: number;
  capacity: number;
  adaptive: boolean;
}

/** The built worker.js; when running from source (tests, through tsx), the worker loads tsx first. */
function startWorker(workerData: WorkerSetup): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./worker.js", import.meta.url), { workerData });
  const src = new URL("./worker.ts", import.meta.url).href;
  const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(src)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

export type WorkerMessage =
  | { type: "event"; event: TrainEvent }
  | { type: "epoch"; state: TrainState; weights: Record<string, number[]> }
  | { type: "done"; report: WireReport }
  | { type: "error"; name: string; message: string; epoch?: number; seed?: number };
