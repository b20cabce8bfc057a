// The dialog papers' two figures: per-response accuracy (turns whose response was chosen right) and
// per-dialog accuracy (dialogs all of whose responses were right).

import type { CandidateHead } from "../model/candidate-head.js";
import type { Encoding } from "../model/config.js";
import { createWorkspace, evaluate } from "../model/memn2n.js";
import type { Params } from "../model/params.js";
import type { DialogTest } from "../train/dialog-prepare.js";

export interface DialogScore {
  task: number;
  /** Which test set: tst, tst-OOV, dev. */
  name: string;
  perResponse: number;
  perDialog: number;
  responses: number;
  dialogs: number;
}

export function dialogScores(
  params: Params,
  encoding: Encoding,
  head: CandidateHead,
  tests: DialogTest[],
): DialogScore[] {
  return tests.map((t) => {
    const ws = createWorkspace(params, encoding, t.batch.memorySize, t.batch.sentenceLen, head);
    const wrong = new Uint8Array(t.batch.n);
    const r = evaluate(params, ws, t.batch, false, wrong);
    const failed = new Set<number>();
    const all = new Set<number>();
    t.dialogOf.forEach((d, i) => {
      all.add(d);
      if (wrong[i]) failed.add(d);
    });
    return {
      task: t.task,
      name: t.name,
      perResponse: 1 - r.errors / Math.max(1, r.count),
      perDialog: 1 - failed.size / Math.max(1, all.size),
      responses: r.count,
      dialogs: all.size,
    };
  });
}
