// `npm run bench:web`: the page in headless chromium (Debian's), served by `memn2n serve` from the built
// folder on 127.0.0.1. Three figures, each over several tries in fresh browser contexts (no cache):
// - first load: navigation start to the page being interactive (its Worker up, the data and model lists in,
//   the default model loaded and its answer to the first story drawn);
// - training bAbI task 1 with the paper's protocol (PE LS RN, the full schedule) to the end, in the Worker;
// - training all 20 tasks as one joint model with the paper's joint protocol on 1k (PE LS RN, d = 50, 60
//   epochs after linear start), to the end (once: it takes minutes);
// - one answer: from the Ask button to the answer and heatmap on the page, with the shipped task-1 model,
//   the button pressed from a script (the page's own work: the message to the Worker, the answer, the
//   drawing) and by a synthetic mouse click through the DevTools protocol (which adds the renderer's
//   input handling and a frame before the Worker's reply is taken).
// Writes bench/web-results.json and the "Web page" section of bench/RESULTS.md.
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { buildPage, launch, serve } from "../tests/browser.js";
import { median, writeSection } from "./sections.js";

const ROOT = join(import.meta.dirname, "..");
const TRIES = Number(process.env.BENCH_TRIES ?? 5);

buildPage();
const server = await serve();
const browser = await launch();
const version = browser.version();
const load: number[] = [];
const trainWall: number[] = [];
const trainWorker: number[] = [];
const trainEpochs: number[] = [];
const testErrors: number[] = [];
const answers: number[] = [];
const clicked: number[] = [];
const joint = { seconds: 0, epochs: 0, testError: 0, failed: 0 };
try {
  for (let i = 0; i < TRIES; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.base}/?tab=train&task=1`);
    await page.waitForSelector("body[data-ready=true]");
    load.push(await page.evaluate(() => Number(document.body.dataset.readyMs)));
    const t0 = Date.now();
    await page.click("#train");
    await page.waitForFunction(() => document.querySelector("#result")?.textContent !== "", null, {
      timeout: 120_000,
    });
    trainWall.push((Date.now() - t0) / 1000);
    const result = (await page.textContent("#result")) ?? "";
    trainWorker.push(Number(/in (\d+\.\d+) s/.exec(result)?.[1]));
    trainEpochs.push(Number(await page.getAttribute("#result", "data-epochs")));
    testErrors.push(Number(await page.getAttribute("#result", "data-test-error")));
    // Answers with the shipped model, as a user asks them: one click, one answer on the page.
    await page.click("#tab-ask");
    await page.selectOption("#ask-shipped", "babi-task-1");
    await page.click("#ask-load");
    await page.waitForFunction(() =>
      document.querySelector("#ask-model")?.textContent?.startsWith("Answering with babi-task-1 "),
    );
    const ask = async (into: number[], press: () => Promise<void>) => {
      await page.evaluate(() => document.getElementById("answer")!.removeAttribute("data-ms"));
      await press();
      await page.waitForSelector("#answer[data-ms]");
      into.push(Number(await page.getAttribute("#answer", "data-ms")));
    };
    for (let k = 0; k < 20; k++) {
      await ask(answers, () => page.evaluate(() => document.getElementById("ask")!.click()));
      await ask(clicked, () => page.click("#ask"));
    }
    await context.close();
  }
  // The joint 1k protocol, once.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/?tab=train&task=0&dim=50&epochs=60`);
  await page.waitForSelector("body[data-ready=true]");
  const t0 = Date.now();
  await page.click("#train");
  await page.waitForSelector("#joint-table", { timeout: 900_000 });
  joint.seconds = (Date.now() - t0) / 1000;
  joint.epochs = Number(await page.getAttribute("#result", "data-epochs"));
  joint.testError = Number(await page.getAttribute("#result", "data-test-error"));
  joint.failed = await page.locator("#joint-table tr.failed").count();
  await context.close();
} finally {
  await browser.close();
  await server.stop();
}

const figures = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus()[0]?.model.trim()}, ${cpus().length} cores`,
  chromium: version,
  tries: TRIES,
  firstLoadMs: { median: median(load), max: Math.max(...load) },
  trainTask1Seconds: { median: median(trainWall), max: Math.max(...trainWall), worker: median(trainWorker) },
  trainEpochs: median(trainEpochs),
  testError: median(testErrors),
  answerMs: { median: median(answers), max: Math.max(...answers), count: answers.length },
  answerMouseMs: { median: median(clicked), max: Math.max(...clicked), count: clicked.length },
  trainJoint1k: joint,
};
writeFileSync(join(ROOT, "bench", "web-results.json"), `${JSON.stringify(figures, null, 2)}\n`);
const section = writeSection("web", [
  "## Web page",
  "",
  `Made by \`npm run bench:web\` on ${figures.date}: ${figures.machine}; headless chromium ${version}, the built page`,
  `served by \`memn2n serve\` on 127.0.0.1; ${TRIES} tries, each in a fresh browser context (nothing cached).`,
  "",
  "| what | median | worst | budget |",
  "|---|---:|---:|---:|",
  `| first load to interactive (Worker up, data and model lists in, the default model loaded and its first answer drawn) | ${figures.firstLoadMs.median.toFixed(0)} ms | ${figures.firstLoadMs.max.toFixed(0)} ms | 1000 ms |`,
  `| train bAbI task 1, paper's protocol (PE LS RN, ${figures.trainEpochs} epochs), click to result | ${figures.trainTask1Seconds.median.toFixed(2)} s | ${figures.trainTask1Seconds.max.toFixed(2)} s | 3 s |`,
  `| train all 20 tasks as one joint model, 1k, the paper's joint protocol (PE LS RN, d = 50, ${joint.epochs} epochs), click to result (once) | ${joint.seconds.toFixed(1)} s | – | 180 s |`,
  `| one answer (shipped babi-task-1), Ask pressed to answer and heatmap drawn | ${figures.answerMs.median.toFixed(2)} ms | ${figures.answerMs.max.toFixed(2)} ms | 5 ms |`,
  `| the same through a synthetic mouse click (DevTools protocol input) | ${figures.answerMouseMs.median.toFixed(2)} ms | ${figures.answerMouseMs.max.toFixed(2)} ms | – |`,
  "",
  `Test error of the task-1 runs: ${(figures.testError * 100).toFixed(1)}% (median); the Worker's own training time ${figures.trainTask1Seconds.worker.toFixed(2)} s. The joint run: ${(joint.testError * 100).toFixed(1)}% mean test error, ${joint.failed} failed (the paper's joint 1k: 12.4%, 11).`,
  "An answer is timed on the page from the Ask button's submit to the heatmap in the DOM, 20 per try. Pressed",
  "from a script, that is the page's own work; a synthetic mouse click adds the renderer's input handling and",
  "a frame before the Worker's reply is taken, as the second row shows.",
]);
console.log(section);
