import { readFileSync } from "node:fs";
import { DialogTrainingRun } from "./src/api/dialog.ts";
import { withKernelThreads } from "./src/cli/threads.ts";
const D = "/work/shared/data/dialog-babi/";
const f = (n: string) => ({ name: n, text: readFileSync(D + n, "utf8") });
for (const [kernel, threads] of [["js", 1], ["wasm", 1], ["wasm", 2]] as const) {
  await withKernelThreads(threads, () => {
    const run = new DialogTrainingRun({ task: 5, train: f("dialog-babi-task5-full-dialogs-trn.txt"), dev: f("dialog-babi-task5-full-dialogs-dev.txt"), candidates: f("dialog-babi-candidates.txt"), kb: f("dialog-babi-kb-all.txt"), matchType: true, dialogs: 200, config: { kernel, epochs: 10 } });
    const t0 = performance.now();
    let last;
    while (!run.done) last = run.epoch();
    const dt = (performance.now() - t0) / 1000;
    console.log(kernel, threads, "turns", run.trainQuestions, `${(run.trainQuestions * 10 / dt).toFixed(0)} turns/s`, dt.toFixed(1), "s, dev acc", (1 - last!.validError).toFixed(4));
  });
}
