// One of the bench's concurrent trainers: builds its own data and trainer, waits for the start signal so that
// all of them train at the same time, then reports its training throughput.
import { parentPort, workerData } from "node:worker_threads";
import { type Config, makeConfig } from "../src/model/config.js";
import { prepare, type TaskExamples } from "../src/train/prepare.js";
import { Trainer } from "../src/train/trainer.js";

const { cfg, tasks, epochs, seed } = workerData as {
  cfg: Config;
  tasks: TaskExamples[];
  epochs: number;
  seed: number;
};
const config = makeConfig(cfg);
const data = prepare(tasks, config);
const trainer = new Trainer(config, data.vocab.size, data.train, data.valid, seed);
trainer.trainPass(false, config.lr);
parentPort!.postMessage({ type: "ready" });
parentPort!.once("message", () => {
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) trainer.trainPass(false, config.lr);
  const seconds = (performance.now() - t0) / 1000;
  parentPort!.postMessage({ type: "result", examplesPerSec: (epochs * data.train.n) / seconds });
});
