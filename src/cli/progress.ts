// Shows training events: a progress bar on a terminal, plain lines otherwise (logs, CI, pipes).

import cliProgress from "cli-progress";
import type { TrainEvent } from "../train/trainer.js";

export interface Progress {
  onEvent(e: TrainEvent): void;
  stop(): void;
}

export function createProgress(label: string, quiet: boolean): Progress {
  if (quiet) return { onEvent() {}, stop() {} };
  if (process.stderr.isTTY) return new BarProgress(label);
  return new LineProgress(label);
}

class BarProgress implements Progress {
  private bar: cliProgress.SingleBar;
  private started = false;

  constructor(label: string) {
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} seed {seed} |{bar}| epoch {value}{of} {phase} lr {lr} loss {loss} err {err} valid {verr}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  onEvent(e: TrainEvent): void {
    if (e.type !== "epoch") return;
    // Until linear start ends, the number of epochs is not known: the bar shows none rather than a guess.
    const payload = {
      seed: e.seed,
      of: e.phase === "linear" ? "" : `/${e.totalEpochs}`,
      phase: e.phase === "linear" ? "(linear start)" : "",
      lr: e.lr.toPrecision(2),
      loss: e.trainLoss.toFixed(3),
      err: e.trainError.toFixed(3),
      verr: e.validError.toFixed(3),
    };
    if (!this.started) {
      this.bar.start(e.totalEpochs, e.epoch, payload);
      this.started = true;
    }
    this.bar.setTotal(e.totalEpochs);
    this.bar.update(e.epoch, payload);
    if (e.epoch === e.totalEpochs) {
      this.bar.stop();
      this.started = false;
    }
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}

class LineProgress implements Progress {
  constructor(private readonly label: string) {}

  onEvent(e: TrainEvent): void {
    if (e.type === "linear-start-end") {
      process.stderr.write(`${this.label} seed ${e.seed}: linear start ended after epoch ${e.epoch}\n`);
      return;
    }
    if (e.epoch % 10 !== 0 && e.epoch !== e.totalEpochs && e.epoch !== 1) return;
    const epoch = e.phase === "linear" ? `${e.epoch} (linear start)` : `${e.epoch}/${e.totalEpochs}`;
    process.stderr.write(
      `${this.label} seed ${e.seed} epoch ${epoch} ` +
        `lr ${e.lr.toPrecision(2)} train loss ${e.trainLoss.toFixed(3)} error ${e.trainError.toFixed(3)} ` +
        `valid loss ${e.validLoss.toFixed(3)} error ${e.validError.toFixed(3)}\n`,
    );
  }

  stop(): void {}
}
