// A training worker thread: runs the jobs the pool sends, one at a time, and reports back.
import { parentPort, workerData } from "node:worker_threads";
import { KernelThreads } from "../model/kernel-threads.js";
import { useKernelThreads } from "../model/wasm-kernel.js";
import { executeJob, type Job, toWire, type WorkerMessage, type WorkerSetup } from "./pool.js";
import { spawnKernelThread } from "./threads.js";

// The runs here start on this thread alone; the pool grows when the sweep gives this worker more cores.
const setup = workerData as WorkerSetup;
if (setup.capacity > 1) {
  const pool = KernelThreads.growing(setup.capacity, spawnKernelThread, {
    cells: setup.budget,
    index: setup.index,
  });
  pool.adaptive = setup.adaptive;
  useKernelThreads(pool);
}

const port = parentPort!;
const send = (m: WorkerMessage) => port.postMessage(m);

port.on("message", (m: { type: "job"; job: Job }) => {
  try {
    const report = executeJob(
      m.job,
      (event) => send({ type: "event", event }),
      (state, weights) => send({ type: "epoch", state, weights }),
    );
    send({ type: "done", report: toWire(report) });
  } catch (e) {
    const err = e as Error & { epoch?: number; seed?: number };
    send({ type: "error", name: err.name, message: err.message, epoch: err.epoch, seed: err.seed });
  }
});
