// A helper thread of the WebAssembly kernel (src/model/kernel-threads.ts): computes its share of each
// batch of a training run in this process.
import { parentPort } from "node:worker_threads";
import { serveKernelThread } from "../model/kernel-threads.js";

serveKernelThread({ on: (listener) => parentPort!.on("message", listener) });
