import { readFileSync } from "node:fs";
import { parseBabi } from "./src/data/babi.ts";
import { makeConfig } from "./src/model/config.ts";
import { prepare } from "./src/train/prepare.ts";
import { Trainer } from "./src/train/trainer.ts";
import { withKernelThreads } from "./src/cli/threads.ts";
const D = "/work/shared/data/babi/tasks_1-20_v1-2/en/";
for (const [task, file] of [[1, "qa1_single-supporting-fact"], [2, "qa2_two-supporting-facts"], [3, "qa3_three-supporting-facts"]] as const) {
  const name = (p: string) => readFileSync(D + `${file}_${p}.txt`, "utf8");
  const cfg = makeConfig({ linearStart: false, randomNoise: false });
  const data = prepare([{ task, train: parseBabi(name("train"), "t").examples, test: parseBabi(name("test"), "t").examples }], cfg);
  const r: number[] = [];
  let th = 0;
  for (const threads of [1, 2]) {
    await withKernelThreads(threads, () => {
      const t = new Trainer(cfg, data.vocab.size, data.train, data.valid, 1);
      t.trainPass(false, cfg.lr);
      const E = 10;
      let dt = Infinity;
      for (let rep = 0; rep < 4; rep++) {
        const t0 = performance.now();
        for (let e = 0; e < E; e++) t.trainPass(false, cfg.lr);
        dt = Math.min(dt, (performance.now() - t0) / 1000);
      }
      r.push((E * data.train.n) / dt);
      th = (t as any).kernel.threads;
    });
  }
  console.log(`task ${task}: ${r.map(Math.round).join(" / ")} ex/s, ${(r[1] / r[0]).toFixed(2)}x (kept ${th} threads)`);
}
