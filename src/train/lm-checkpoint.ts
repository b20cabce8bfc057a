// A language model's training checkpoint: the lm-file container with the best-validation weights (tensors
// "best.AC" ...) beside the current ones, and the trainer's state in the metadata. Bytes in, bytes out.

import { DataError } from "../data/errors.js";
import type { LMVocab } from "../data/ptb.js";
import type { LMConfig } from "../model/config.js";
import type { LMParams } from "../model/lm.js";
import { headOf, meta, paramsOf, tensorsOf } from "../model/lm-file.js";
import { decodeSafetensors, encodeSafetensors } from "../model/safetensors.js";
import type { LMTrainState } from "./lm.js";

export const LM_CHECKPOINT_FORMAT = "memn2n-lm-checkpoint";

export interface LMCheckpoint {
  config: LMConfig;
  vocab: LMVocab;
  params: LMParams;
  best: LMParams;
  state: LMTrainState;
  /** Seconds of training before this checkpoint, over every process that worked on the run. */
  seconds: number;
  /** What the run trains on (a resumed run must see the same data). */
  data: string;
}

export function lmCheckpointToBytes(c: LMCheckpoint): Uint8Array {
  return encodeSafetensors([...tensorsOf(c.params), ...tensorsOf(c.best, "best.")], {
    format: LM_CHECKPOINT_FORMAT,
    version: "1",
    config: JSON.stringify(c.config),
    vocab: JSON.stringify(c.vocab.words),
    state: JSON.stringify(c.state),
    seconds: String(c.seconds),
    data: c.data,
  });
}

export function lmCheckpointFromBytes(bytes: Uint8Array, file: string): LMCheckpoint {
  const st = decodeSafetensors(bytes, file);
  const { config, vocab } = headOf(st, file, LM_CHECKPOINT_FORMAT);
  const state = meta(st, file, "state") as LMTrainState;
  if (
    typeof state !== "object" ||
    state === null ||
    !Number.isInteger(state.epoch) ||
    !Number.isInteger(state.step) ||
    !Array.isArray(state.rng) ||
    !Array.isArray(state.history)
  )
    throw new DataError(file, null, "__metadata__.state: not a trainer state");
  if (state.bestValid === null) state.bestValid = Number.POSITIVE_INFINITY; // JSON has no Infinity
  return {
    config,
    vocab,
    params: paramsOf(st, file, config, vocab),
    best: paramsOf(st, file, config, vocab, "best."),
    state,
    seconds: Number(st.metadata.seconds ?? 0),
    data: st.metadata.data ?? "",
  };
}
