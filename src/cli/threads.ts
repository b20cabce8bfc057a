// Threads inside one training run (--threads): the Node side of the kernel's thread pool. The helpers are
// worker threads that do not keep the process alive; the results do not depend on how many there are.

import "./relaxed-simd.js";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { KernelThreads, type ThreadEndpoint } from "../model/kernel-threads.js";
import { useKernelThreads } from "../model/wasm-kernel.js";
import { UsageError } from "./errors.js";
import { wholeOption } from "./whole.js";

/** The most threads a run may use: more than the cores only slows it down, and each costs memory. */
export const MAX_THREADS = 64;

export function parseThreads(v: string | undefined): number {
  if (v === undefined) return Math.min(availableParallelism(), MAX_THREADS);
  const n = wholeOption("--threads", v, 1);
  if (n > MAX_THREADS) throw new UsageError(`--threads: at most ${MAX_THREADS}, got ${n}`);
  return n;
}

/** A helper thread for the kernels (src/cli/kernel-thread.ts). */
export function spawnKernelThread(): ThreadEndpoint {
  const worker = import.meta.url.endsWith(".ts")
    ? new Worker(
        `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(new URL("./kernel-thread.ts", import.meta.url).href)}); });`,
        { eval: true },
      )
    : new Worker(new URL("./kernel-thread.js", import.meta.url));
  return {
    postMessage: (m) => worker.postMessage(m),
    terminate: () => void worker.terminate(),
    unref: () => worker.unref(),
  };
}

/**
 * Runs fn with `threads` threads for the kernels it creates (1: none started). `adaptive` false: the
 * kernels use every thread even where one alone would be faster.
 */
export async function withKernelThreads<T>(
  threads: number,
  fn: () => T | Promise<T>,
  adaptive = true,
): Promise<T> {
  if (threads <= 1) return fn();
  const pool = await KernelThreads.start(threads, spawnKernelThread);
  pool.adaptive = adaptive;
  useKernelThreads(pool);
  try {
    return await fn();
  } finally {
    useKernelThreads(null);
    pool.release();
    pool.close();
  }
}
