// A training worker thread: runs the jobs the pool sends, one at a time, and reports back.
import { parentPort } from "node:worker_threads";
import { executeJob, type Job, toWire, type WorkerMessage } from "./pool.js";

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
