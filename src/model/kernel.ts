// A kernel runs the forward/backward passes and the SGD step for a trainer. Two implementations do the same
// maths: the readable float64 one in memn2n.ts (the reference: gradient checks and the PyTorch fixtures run
// against it), and a float32 SIMD one in WebAssembly (wasm-kernel.ts), several times faster, which training
// uses by default. Either way the Params object holds the current weights after `sync()`.

import type { Batch } from "../data/batch.js";
import type { CandidateHead } from "./candidate-head.js";
import type { ClipMode, Encoding, KernelName } from "./config.js";
import { type BatchResult, createWorkspace, runRows, type Workspace } from "./memn2n.js";
import { clipGradients, sgdStep } from "./optim.js";
import { type Params, zerosLike } from "./params.js";

/** Strong supervision of the attention, as the kernels take it (config superviseAttention, superviseRest). */
export interface Supervision {
  weight: number;
  last: boolean;
  spread: boolean;
}

export const NO_SUPERVISION: Supervision = { weight: 0, last: false, spread: false };

export interface Kernel {
  readonly name: KernelName;
  /** Threads the kernel computes on. */
  readonly threads: number;
  /** Loss and errors over `count` rows of a batch; with `grad`, gradients are added for the next step. */
  run(
    batch: Batch,
    rows: Int32Array,
    count: number,
    linear: boolean,
    grad: boolean,
    noisyTime: Int32Array | null,
  ): BatchResult;
  /** Clips the gradients, takes an SGD step and zeroes the gradients. */
  step(lr: number, maxNorm: number, clip: ClipMode): void;
  /** Copies the kernel's weights into the Params object. */
  sync(): void;
  /** Copies the Params object's weights into the kernel (after a restore). */
  load(): void;
}

export class JsKernel implements Kernel {
  readonly name = "js";
  readonly threads = 1;
  private readonly grads: Params;
  private readonly ws: Workspace;

  constructor(
    private readonly params: Params,
    encoding: Encoding,
    head: CandidateHead | null = null,
    supervision: Supervision = NO_SUPERVISION,
  ) {
    this.grads = zerosLike(params);
    this.ws = createWorkspace(params, encoding, 1, 1, head);
    this.ws.supervise = supervision.weight;
    this.ws.superviseLast = supervision.last;
    this.ws.superviseSpread = supervision.spread;
  }

  run(
    batch: Batch,
    rows: Int32Array,
    count: number,
    linear: boolean,
    grad: boolean,
    noisyTime: Int32Array | null,
  ) {
    return runRows(this.params, this.ws, batch, rows, count, linear, grad ? this.grads : null, noisyTime);
  }

  step(lr: number, maxNorm: number, clip: ClipMode): void {
    clipGradients(this.grads, maxNorm, clip);
    sgdStep(this.params, this.grads, lr);
  }

  sync(): void {}

  load(): void {}
}
