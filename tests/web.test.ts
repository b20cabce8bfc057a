// The web page in a real browser: the built page (dist/web) served by `memn2n serve`, driven by chromium.
// Trains task 1 and watches the chart grow, asks an edited story and reads the heatmap (the same numbers as
// the library in Node), loads a shipped model, books a table in the chat to the phone number, reads the
// errors of a malformed bAbI file and of a broken model file, and reloads a shared URL. Screenshots at
// 1280 and 390 px go to test-output/.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { loadDialogBot } from "../src/api/dialog.js";
import { loadModel } from "../src/api/model.js";
import { TrainingRun } from "../src/api/train.js";
import { parseBabi } from "../src/data/babi.js";
import { buildPage, launch, type Served, serve } from "./browser.js";
import { BABI_EN, BOOKING, ROOT } from "./helpers.js";

const OUT = join(ROOT, "test-output");
const STORY = ["Mary moved to the bathroom.", "John went to the hallway.", "Mary travelled to the office."];

let server: Served;
let browser: Browser;

before(async () => {
  buildPage();
  mkdirSync(OUT, { recursive: true });
  [server, browser] = await Promise.all([serve(), launch()]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(query = "", width = 1280): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(`${server.base}/${query}`);
  await page.waitForSelector("body[data-ready=true]");
  return { page, errors };
}

async function loadShipped(page: Page, name: string) {
  await page.click("#tab-ask");
  await page.selectOption("#ask-shipped", name);
  await page.click("#ask-load");
  await page.waitForFunction(
    (n) => document.querySelector("#ask-model")?.textContent?.startsWith(`Answering with ${n} `),
    name,
  );
}

/** After a resize has settled (the charts follow their boxes a frame later): nothing sticks out sideways. */
const noOverflow = (page: Page) =>
  page.evaluate(async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => requestAnimationFrame(r));
    return document.documentElement.scrollWidth <= document.documentElement.clientWidth;
  });

test("the page trains task 1 in its Worker: the chart grows epoch by epoch and the test error falls below 10%", async () => {
  // With the supporting facts (the form's second fieldset), so that the weights below show they reach training.
  const { page, errors } = await open(
    "?tab=train&task=1&ls=0&epochs=15&sup=0.3&rest=last&extra=spread&match=1",
  );
  assert.equal(
    await page.evaluate(() => crossOriginIsolated),
    true,
    "COOP and COEP make the page cross-origin isolated",
  );
  assert.equal(await page.inputValue("#cfg-epochs"), "15");
  assert.equal(await page.inputValue("#cfg-superviseAttention"), "0.3");
  // Every value the chart's host took, in order: one point more per epoch.
  await page.evaluate(() => {
    const w = window as unknown as { points: number[] };
    w.points = [];
    const host = document.getElementById("chart-error")!;
    new MutationObserver(() => w.points.push(Number(host.dataset.points))).observe(host, {
      attributes: true,
      attributeFilter: ["data-points"],
    });
  });
  await page.click("#train");
  await page.waitForFunction(() => document.querySelector("#result")?.textContent !== "", null, {
    timeout: 60_000,
  });
  assert.equal(await page.textContent("#train-error"), "");
  const points = await page.evaluate(() => (window as unknown as { points: number[] }).points);
  const grown = points.filter((p) => p > 0);
  assert.deepEqual(
    grown,
    Array.from({ length: 15 }, (_, i) => i + 1),
    "one point per epoch, in order",
  );
  const testError = Number(await page.getAttribute("#result", "data-test-error"));
  assert.ok(testError < 0.1, `test error ${testError}`);
  assert.match(
    (await page.textContent("#result"))!,
    /Done after 15 epochs .* test error \d+\.\d% .*The paper \(MemNN \(strong supervision\)\): 0\.0%/,
  );
  assert.match((await page.textContent("#train-status"))!, /^schedule: epoch 15 of 15: .* examples\/s/);
  assert.equal(await page.isDisabled("#download"), false);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const bytes = readFileSync((await download.path())!);
  const m = loadModel(new Uint8Array(bytes), "downloaded.safetensors");
  assert.deepEqual(m.meta.tasks, [1]);
  assert.equal(m.config.superviseAttention, 0.3);
  assert.equal(m.config.superviseRest, "last");
  assert.equal(m.config.matchQuestion, true);
  // The page's threads (it is cross-origin isolated) train the library's model in Node bit for bit.
  const threads = Math.min(4, availableParallelism());
  assert.equal(
    await page.getAttribute("body", "data-threads"),
    String(threads),
    "the page's pool of threads",
  );
  assert.match((await page.textContent("#train-status"))!, new RegExp(`on (1|${threads}) threads?,`));
  const file = (name: string) => readFileSync(join(BABI_EN, name), "utf8");
  const node = new TrainingRun({
    train: file("qa1_single-supporting-fact_train.txt"),
    test: file("qa1_single-supporting-fact_test.txt"),
    task: 1,
    config: {
      linearStart: false,
      epochs: 15,
      superviseAttention: 0.3,
      superviseRest: "last",
      superviseExtra: "spread",
      matchQuestion: true,
    },
  });
  while (!node.done) node.epoch();
  const want = node.finish().model.toJSON();
  assert.deepEqual(m.toJSON().weights, want.weights, "the same weights as in Node");
  await page.screenshot({ path: join(OUT, "train-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(page), "nothing wider than 390 px");
  await page.screenshot({ path: join(OUT, "train-390.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("Ask: an edited story gets the library's answer, and the heatmap's cells are its attention, hop by hop", async () => {
  const { page, errors } = await open("?tab=ask");
  await loadShipped(page, "babi-task-1");
  await page.click("#tab-ask");
  await page.fill("#story", `${STORY.join("\n")}\n\n`);
  await page.fill("#question", "Where is Mary?");
  await page.press("#question", "Enter");
  const want = loadModel(readFileSync(join(ROOT, "models/babi-task-1.safetensors"))).answer(
    STORY,
    "Where is Mary?",
  );
  assert.equal(want.answer, "office");
  // The page landed on the default model's answer to its example story; this one replaces it.
  await page.waitForFunction(
    (t) => document.querySelector("#answer-text")?.textContent === t,
    `office (${(want.probability * 100).toFixed(1)}%)`,
  );
  assert.equal(await page.locator(".top li").count(), 5);
  const cells = await page.$$eval("#attention tbody tr", (rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].map((td) => Number((td as HTMLElement).dataset.weight))),
  );
  const byRow = STORY.map((_, i) => want.attention.map((hop) => hop[i]));
  assert.deepEqual(cells, byRow, "rows = sentences, columns = hops, the same numbers as in Node");
  assert.deepEqual(await page.$$eval("#attention tbody th", (ths) => ths.map((t) => t.textContent)), STORY);
  // A random test story of task 1: the supporting fact is marked and the verdict shown.
  await page.click("#random-story");
  await page.waitForFunction(() => !document.querySelector("#answer-text"));
  await page.click("#ask");
  await page.waitForSelector("#verdict");
  assert.match((await page.textContent("#verdict"))!, /Correct/);
  assert.equal(await page.locator("#attention tr.support").count(), 1);
  const ms = Number(await page.getAttribute("#answer", "data-ms"));
  assert.ok(ms > 0);
  await page.screenshot({ path: join(OUT, "ask-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(page));
  await page.screenshot({ path: join(OUT, "ask-390.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("first load: Ask answers with the default model, and the drawing shows its hops, live for the question", async () => {
  const { page, errors } = await open();
  // Landed on an answer to a random test story of task 1: nothing visited, nothing clicked.
  assert.equal(await page.getAttribute("#tab-ask", "aria-selected"), "true");
  assert.match((await page.textContent("#ask-model"))!, /^Answering with babi /);
  assert.equal(await page.inputValue("#ask-task"), "1");
  assert.match((await page.textContent("#answer-text"))!, /^\w+ \(\d+\.\d%\)\s+(Correct|Wrong)/);
  const hops = await page.locator("svg.model-figure .fig-hop").count();
  const want = loadModel(readFileSync(join(ROOT, "models/babi.safetensors")));
  assert.equal(hops, want.config.hops);
  // Every label of the drawing inside its frame (the answer's label once ran past the right edge).
  const spill = await page.$eval("svg.model-figure", (s) => {
    const svg = s as SVGSVGElement;
    const box = svg.getBBox();
    return box.x + box.width - svg.viewBox.baseVal.width;
  });
  assert.ok(spill <= 0, `the drawing runs ${spill.toFixed(1)} units past its right edge`);
  await page.screenshot({ path: join(OUT, "landing-1280.png"), fullPage: true });
  // Another task from the picker: a story of that task, answered at once.
  await page.selectOption("#ask-task", "15");
  // Task 15's questions ask what someone is afraid of (task 1's, where someone is).
  await page.waitForFunction(
    () =>
      /^What is \w+ afraid of\?$/.test((document.getElementById("question") as HTMLInputElement).value) &&
      document.querySelector("#verdict"),
  );
  assert.match(page.url(), /task=15/);
  // The drawing follows the question.
  await page.fill("#story", STORY.join("\n"));
  await page.fill("#question", "Where is Mary?");
  await page.press("#question", "Enter");
  await page.waitForFunction(() => document.querySelector("#answer-text")?.textContent?.startsWith("office"));
  const before = await page.innerHTML("#figure-svg");
  await page.fill("#question", "Where is John?");
  await page.press("#question", "Enter");
  await page.waitForFunction((b) => document.querySelector("#figure-svg")?.innerHTML !== b, before);
  assert.match((await page.textContent("#answer-text"))!, /^hallway/);
  // A sentence, focused by keyboard, shows its share of each hop's read-out.
  await page.focus("#attention tbody tr:nth-child(2)");
  const notes = await page.$$eval("svg.model-figure .fig-note", (ns) => ns.map((n) => n.textContent ?? ""));
  assert.equal(notes.filter((t) => /^-?\d+% of o/.test(t)).length, hops);
  // No word known: "I don't know", and no drawing of an answer that is none.
  await page.fill("#question", "Qu'est-ce que c'est?");
  await page.press("#question", "Enter");
  await page.waitForFunction(() =>
    document.querySelector("#answer-text")?.textContent?.startsWith("I don't know"),
  );
  assert.equal(await page.isHidden("#figure"), true);
  await page.fill("#question", "Where is John?");
  await page.press("#question", "Enter");
  await page.waitForSelector("#figure:not([hidden])");
  await page.screenshot({ path: join(OUT, "typed-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(page));
  await page.screenshot({ path: join(OUT, "typed-390.png"), fullPage: true });
  // A 5,000-word sentence: the library's one-line error, no stale answer beside it.
  await page.fill("#story", Array.from({ length: 5000 }, () => "a").join(" "));
  await page.press("#question", "Enter");
  await page.waitForFunction(() => document.querySelector("#ask-error")?.textContent !== "");
  assert.equal(
    await page.textContent("#ask-error"),
    "error: story.0: a sentence of 5000 words, more than the limit of 200",
  );
  assert.equal(await page.locator("#answer-text").count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("Chat: a whole booking with the shipped restaurant bot, by keyboard, ends with the phone number", async () => {
  const { page, errors } = await open("?tab=chat");
  await page.click("#load-bot");
  await page.waitForFunction(() =>
    document.querySelector("#bot-status")?.textContent?.includes("candidate responses"),
  );
  const bot = loadDialogBot(readFileSync(join(ROOT, "models/restaurant.safetensors")));
  const want = BOOKING.flatMap((line) => {
    const r = bot.say(line);
    return [r.response, ...(r.followUps ?? []).map((f) => f.response)];
  });
  for (const line of BOOKING) {
    const before = await page.locator("#chat-log li.bot").count();
    await page.fill("#chat-input", line);
    await page.press("#chat-input", "Enter");
    await page.waitForFunction((n) => document.querySelectorAll("#chat-log li.bot").length > n, before);
  }
  const got = await page.$$eval("#chat-log li.bot .text", (els) => els.map((e) => e.textContent));
  assert.deepEqual(got, want, "the same replies as the library's DialogBot");
  assert.ok(want.some((r) => r.startsWith("api_call")));
  assert.ok(
    got.some((r) => /^here it is resto_\S+_phone$/.test(r ?? "")),
    got.join("\n"),
  );
  assert.ok(
    (await page.locator("#chat-log li.result").count()) > 0,
    "the knowledge base's results are shown",
  );
  assert.match(
    (await page.locator("#chat-log li.bot .hops").last().textContent())!,
    /^hop 1: (you|bot): “.*” \d+\.\d%/,
  );
  await page.screenshot({ path: join(OUT, "chat-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(page));
  await page.screenshot({ path: join(OUT, "chat-390.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("bad input: a dropped file that is not bAbI and a model file that does not parse get the CLI's messages", async () => {
  const { page, errors } = await open("?tab=train");
  const bad = "1 Mary went home.\n2 Where is Mary?\thome\t7\n";
  let want = "";
  try {
    parseBabi(bad, "bad.txt");
  } catch (e) {
    want = (e as Error).message;
  }
  assert.match(want, /^bad\.txt:2: /);
  await page.setInputFiles("#own-files", {
    name: "bad.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(bad),
  });
  await page.waitForFunction(() => document.querySelector("#train-error")?.textContent !== "");
  assert.equal(await page.textContent("#train-error"), `error: ${want}`);
  // A bad setting: the library's message beside its field, marked invalid, focused and in view.
  await page.click("#settings summary");
  await page.fill("#cfg-dim", "0");
  await page.click("#train");
  await page.waitForSelector("#cfg-dim-error");
  assert.equal(await page.textContent("#cfg-dim-error"), "must be a whole number of at least 1, got 0");
  assert.equal(await page.getAttribute("#cfg-dim", "aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "cfg-dim");
  const box = (await page.locator("#cfg-dim-error").boundingBox())!;
  assert.ok(box.y >= 0 && box.y + box.height <= 900, `in view: ${JSON.stringify(box)}`);
  await page.fill("#cfg-dim", "20");
  await page.press("#cfg-dim", "Tab");
  assert.equal(await page.locator(".field-error").count(), 0);
  // The same through a real drop onto the drop zone.
  await page.fill("#cfg-epochs", "3");
  await page.evaluate(() => (document.getElementById("train-error")!.textContent = ""));
  const dt = await page.evaluateHandle((text) => {
    const t = new DataTransfer();
    t.items.add(new File([text], "dropped.txt", { type: "text/plain" }));
    return t;
  }, bad);
  await page.dispatchEvent("#drop", "drop", { dataTransfer: dt });
  await page.waitForFunction(() => document.querySelector("#train-error")?.textContent !== "");
  assert.equal(await page.textContent("#train-error"), `error: ${want.replace("bad.txt", "dropped.txt")}`);
  // A good dropped file trains.
  const good = readFileSync(join(BABI_EN, "qa1_single-supporting-fact_train.txt"), "utf8")
    .split("\n")
    .slice(0, 300)
    .join("\n");
  await page.setInputFiles("#own-files", {
    name: "mine.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(good),
  });
  await page.waitForFunction(() =>
    document.querySelector("#data-status")?.textContent?.includes("your file mine.txt"),
  );
  await page.click("#train");
  await page.waitForFunction(
    () =>
      document.querySelector("#result")?.textContent !== "" ||
      document.querySelector("#train-error")?.textContent !== "",
  );
  assert.equal(await page.textContent("#train-error"), "");
  assert.match((await page.textContent("#result"))!, /Done after \d+ epochs .*no test file/);
  // Picking a task drops the file: the page trains on what the select and the URL say.
  await page.selectOption("#task", "2");
  assert.match((await page.textContent("#data-status"))!, /^bAbI 1k: qa2_/);
  // A model file that does not parse names the field.
  await page.setInputFiles("#model-file", {
    name: "broken.json",
    mimeType: "application/json",
    buffer: Buffer.from('{"format":"memn2n"}'),
  });
  await page.waitForFunction(() => document.querySelector("#train-error")?.textContent !== "");
  assert.match((await page.textContent("#train-error"))!, /^error: broken\.json: \S+: /);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the URL holds the task, the config and the seed: a reloaded link shows the same form", async () => {
  const query =
    "?tab=train&task=6&set=en&hops=2&dim=30&encoding=bow&te=0&ls=0&rn=1&epochs=7&lr=0.02&seed=9" +
    "&nonlin=relu&h=1&clip=global&rel=1&sup=0.5&rest=last&extra=spread&match=1";
  const { page, errors } = await open(query);
  const form = () =>
    page.evaluate(() =>
      [
        "task",
        "cfg-hops",
        "cfg-dim",
        "cfg-encoding",
        "cfg-epochs",
        "cfg-lr",
        "cfg-seed",
        "cfg-temporal",
        "cfg-linearStart",
        "cfg-randomNoise",
        "cfg-nonlin",
        "cfg-hopMap",
        "cfg-clip",
        "cfg-relativeTime",
        "cfg-superviseAttention",
        "cfg-superviseRest",
        "cfg-superviseExtra",
        "cfg-matchQuestion",
      ].map((id) => {
        const el = document.getElementById(id) as HTMLInputElement;
        return el.type === "checkbox" ? el.checked : el.value;
      }),
    );
  assert.deepEqual(await form(), [
    ...["6", "2", "30", "bow", "7", "0.02", "9", false, false, true],
    ...["relu", true, "global", true, "0.5", "last", "spread", true],
  ]);
  // The form changes the URL; the link reproduces the form.
  await page.fill("#cfg-seed", "12");
  await page.press("#cfg-seed", "Tab");
  await page.selectOption("#task", "3");
  const url = page.url();
  assert.match(url, /task=3/);
  assert.match(url, /seed=12/);
  const { page: again } = await open(new URL(url).search);
  assert.deepEqual(
    await again.evaluate(() => (document.getElementById("cfg-seed") as HTMLInputElement).value),
    "12",
  );
  assert.equal(await again.inputValue("#task"), "3");
  // The presets: "our best" sets the options behind the best results, and the URL keeps them.
  assert.match((await again.textContent("#preset-status"))!, /your own/);
  await again.click("#preset-best");
  assert.match((await again.textContent("#preset-status"))!, /^Settings: our best/);
  for (const kv of ["nonlin=relu", "h=1", "rel=1", "sup=0.3", "extra=spread", "match=1", "ls=0", "dim=50"])
    assert.ok(again.url().includes(kv), `${kv} in ${again.url()}`);
  await again.click("#preset-paper");
  assert.match((await again.textContent("#preset-status"))!, /^Settings: the paper's model/);
  assert.equal(await again.inputValue("#cfg-seed"), "12", "a preset keeps the seed");
  // The tabs by keyboard: the last one wraps round to the first.
  await again.focus("#tab-train");
  await again.keyboard.press("ArrowRight");
  assert.equal(await again.isVisible("#panel-next"), true);
  assert.match(again.url(), /tab=next/);
  await again.keyboard.press("ArrowRight");
  assert.equal(await again.isVisible("#panel-ask"), true);
  assert.match(again.url(), /tab=ask/);
  assert.deepEqual(errors, []);
  await page.close();
  await again.close();
});

test("the server serves only the data files it listed, read-only", async () => {
  const index = (await (await fetch(`${server.base}/data/index.json`)).json()) as {
    babi: Record<string, unknown>;
    dialog: string[];
  };
  assert.ok(index.babi.en);
  assert.ok(index.dialog.includes("dialog-babi-kb-all.txt"));
  const ok = await fetch(`${server.base}/data/babi/en/qa1_single-supporting-fact_train.txt`);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("cross-origin-embedder-policy"), "require-corp");
  for (const path of [
    "/data/babi/en/..%2F..%2FREADME.md",
    "/data/../package.json",
    "/data/babi/en/%2e%2e/SHA256SUMS",
    "/data/dialog/README.txt",
    "/index.html/../../package.json",
  ]) {
    const r = await fetch(`${server.base}${path}`);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(await r.text(), /"name": "memn2n"/);
  }
  const post = await fetch(`${server.base}/data/babi/en/qa1_single-supporting-fact_train.txt`, {
    method: "POST",
  });
  assert.equal(post.status, 404);
  // The page's model list is what the server serves (here: every shipped model), each as safetensors.
  const listed = (await (await fetch(`${server.base}/models/models.json`)).json()) as {
    models: { name: string }[];
  };
  const shipped = JSON.parse(readFileSync(join(ROOT, "models/models.json"), "utf8")) as {
    models: { name: string }[];
  };
  assert.deepEqual(listed.models.map((m) => m.name).sort(), shipped.models.map((m) => m.name).sort());
  const bytes = new Uint8Array(
    await (await fetch(`${server.base}/models/babi-task-1.safetensors`)).arrayBuffer(),
  );
  const file = readFileSync(join(ROOT, "models/babi-task-1.safetensors"));
  assert.deepEqual(
    loadModel(bytes).answer(STORY, "Where is Mary?"),
    loadModel(file).answer(STORY, "Where is Mary?"),
  );
  assert.equal((await fetch(`${server.base}/models/nothing.safetensors`)).status, 404);
});

test("Chat: a bot trained in the page from the Dialog bAbI files (task 1, a slice) talks back", async () => {
  const { page, errors } = await open("?tab=chat");
  await page.click("#bot-train-box summary");
  await page.selectOption("#bot-task", "1");
  await page.fill("#bot-dialogs", "60");
  await page.fill("#bot-epochs", "8");
  await page.uncheck("#bot-placeholders");
  await page.click("#bot-train");
  await page.waitForFunction(
    () =>
      /^(Done|Stopped)/.test(document.querySelector("#bot-train-status")?.textContent ?? "") ||
      document.querySelector("#chat-error")?.textContent !== "",
    null,
    { timeout: 120_000 },
  );
  assert.equal(await page.textContent("#chat-error"), "");
  const status = (await page.textContent("#bot-train-status"))!;
  const m = /^Done after 8 epochs .* dev accuracy per response (\d+\.\d)%/.exec(status);
  assert.ok(m, status);
  assert.ok(Number(m[1]) > 60, status);
  await page.fill("#chat-input", "good morning");
  await page.press("#chat-input", "Enter");
  await page.waitForSelector("#chat-log li.bot");
  assert.equal(await page.textContent("#chat-log li.bot .text"), "hello what can i help you with today");
  // The bot's training settings are in the URL: the link opens on them.
  for (const kv of ["btask=1", "bdialogs=60", "bepochs=8", "bph=0"])
    assert.ok(page.url().includes(kv), page.url());
  const { page: again } = await open(new URL(page.url()).search);
  assert.deepEqual(
    await again.evaluate(() =>
      ["bot-task", "bot-dialogs", "bot-epochs"].map(
        (id) => (document.getElementById(id) as HTMLInputElement).value,
      ),
    ),
    ["1", "60", "8"],
  );
  assert.equal(await again.isChecked("#bot-placeholders"), false);
  await again.close();
  assert.deepEqual(errors, []);
  await page.close();
});

test("Next word: the tab lands on the shipped model's prediction; a model trained in the page on a slice of PTB predicts, with each hop's attention", async () => {
  const { page, errors } = await open("?tab=next");
  assert.equal(await page.isVisible("#panel-next"), true);
  await page.waitForSelector("body[data-lm=ptb]");
  await page.waitForFunction(() => document.querySelectorAll("#lm-top li").length === 10);
  assert.match(
    (await page.textContent("#lm-status"))!,
    /^ptb: 6 hops over the last 150 words, d = 150, 10000 words; validation perplexity [\d.]+, test perplexity [\d.]+$/,
  );
  // "the stock market" after a line end: a verb or a possessive comes next
  assert.ok(
    ["'s", "moves", "closed", "is", "fell", "was", "also", "opened"].includes(
      (await page.textContent("#lm-top li .word"))!,
    ),
  );
  await page.screenshot({ path: join(OUT, "next-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await noOverflow(page), "nothing wider than 390 px");
  await page.screenshot({ path: join(OUT, "next-390.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click("#lm-train-box summary");
  await page.fill("#lm-hops", "2");
  await page.fill("#lm-memory", "10");
  await page.fill("#lm-dim", "16");
  await page.fill("#lm-epochs", "2");
  await page.fill("#lm-words", "20000");
  await page.click("#lm-train");
  await page.waitForSelector("body[data-lm=lm-2x10-d16]", { timeout: 120_000 });
  assert.equal(await page.getAttribute("#lm-chart", "data-points"), "2");
  const [trainPpl, validPpl] = (await page.getAttribute("#lm-chart", "data-last"))!.split(",").map(Number);
  assert.ok(validPpl > 1 && validPpl < 2000 && trainPpl < 2000, `${trainPpl} ${validPpl}`);
  assert.match(
    (await page.textContent("#lm-status"))!,
    /2 hops over the last 10 words, d = 16, \d+ words; validation perplexity [\d.]+, test perplexity [\d.]+/,
  );
  await page.fill("#lm-input", "the company said");
  await page.click("#lm-form button");
  await page.waitForFunction(() => document.querySelectorAll("#lm-top li").length === 10);
  const ps = await page.$$eval("#lm-top li", (lis) => lis.map((li) => Number((li as HTMLElement).dataset.p)));
  assert.ok(
    ps.every((p, i) => p > 0 && (i === 0 || p <= ps[i - 1])),
    String(ps),
  );
  // one strip per hop over the line end and the three words typed; each hop's weights add up to 1
  const hops = await page.$$eval("#lm-attention table.strip", (ts) =>
    ts.map((t) => [...t.querySelectorAll("td")].map((td) => Number((td as HTMLElement).dataset.weight))),
  );
  assert.equal(hops.length, 2);
  for (const h of hops) {
    assert.equal(h.length, 4);
    assert.ok(Math.abs(h.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  }
  assert.ok(page.url().includes("tab=next"));
  assert.deepEqual(errors, []);
  await page.close();
});

test("the built folder works from a plain static file host: no data there, the shipped models beside it", async () => {
  const dir = join(ROOT, "dist", "web");
  const types: Record<string, string> = {
    html: "text/html",
    js: "text/javascript",
    css: "text/css",
    json: "application/json",
  };
  const host = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const rel = path === "/" ? "index.html" : path.slice(1);
    try {
      if (rel.includes("..")) throw new Error("no");
      const body = readFileSync(join(dir, rel));
      res.writeHead(200, { "content-type": types[rel.split(".").pop() ?? ""] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
  const port = (host.address() as { port: number }).port;
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector("body[data-ready=true]");
    assert.match((await page.textContent("#data-status"))!, /serves no bAbI files/);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.equal(await page.getAttribute("body", "data-threads"), "1", "no SharedArrayBuffer: one thread");
    assert.match((await page.textContent("#notice"))!, /training runs on one thread/);
    await loadShipped(page, "babi-task-1");
    await page.click("#tab-ask");
    await page.click("#ask");
    await page.waitForSelector("#answer-text");
    assert.match((await page.textContent("#answer-text"))!, /^office \(/);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    host.closeAllConnections();
    host.close();
  }
});

test("opened from disk (file://), the built page says how to serve it", async () => {
  const page = await browser.newPage();
  await page.goto(`file://${join(ROOT, "dist", "web", "index.html")}`);
  await page.waitForSelector("#file-notice:not([hidden])");
  assert.match((await page.textContent("#file-notice"))!, /npx memn2n serve/);
  await page.close();
});

test("without WebAssembly SIMD the page says so and trains on the JavaScript code", async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // A runtime whose WebAssembly cannot compile the SIMD kernel: the Worker's script, with Module refusing.
  await page.route(/\/assets\/worker-[\w-]+\.js$/, async (route) => {
    const res = await route.fetch();
    const body = `WebAssembly.Module = function () { throw new WebAssembly.CompileError("SIMD unsupported"); };\n${await res.text()}`;
    await route.fulfill({ response: res, body });
  });
  await page.goto(`${server.base}/?tab=train&task=1&ls=0&epochs=5`);
  await page.waitForSelector("body[data-ready=true]");
  assert.match(
    (await page.textContent("#notice"))!,
    /no WebAssembly SIMD: training runs on the JavaScript code/,
  );
  await page.click("#train");
  await page.waitForFunction(() => document.querySelector("#result")?.textContent !== "", null, {
    timeout: 60_000,
  });
  assert.match((await page.textContent("#result"))!, /^Done after 5 epochs/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("Train: all 20 tasks as one joint model in the page, with the test error per task beside the paper's", async () => {
  const { page, errors } = await open("?tab=train&task=0&ls=0&epochs=2&dim=20");
  assert.match(
    (await page.textContent("#data-status"))!,
    /all 20 tasks, one joint model \(20 of 20 training files/,
  );
  await page.click("#train");
  await page.waitForSelector("#joint-table", { timeout: 120_000 });
  assert.equal(await page.textContent("#train-error"), "");
  assert.equal(await page.locator("#joint-table tbody tr").count(), 20);
  assert.match((await page.textContent("#result"))!, /^Done after 2 epochs .*test error \d+\.\d%/);
  assert.match((await page.textContent("#ask-model"))!, /Answering with babi-joint-seed-1 \(20 tasks\)/);
  // Picking the joint model from the list sets the paper's joint size and length in the form.
  await page.selectOption("#task", "1");
  await page.selectOption("#task", "0");
  assert.deepEqual([await page.inputValue("#cfg-dim"), await page.inputValue("#cfg-epochs")], ["50", "60"]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("Stop ends a long run between epochs and keeps the model trained so far", async () => {
  const { page, errors } = await open("?tab=train&task=3&ls=0&epochs=1000");
  await page.click("#train");
  await page.waitForFunction(() => Number(document.getElementById("chart-loss")?.dataset.points) >= 2);
  await page.click("#stop");
  await page.waitForFunction(() => document.querySelector("#result")?.textContent !== "", null, {
    timeout: 30_000,
  });
  const result = (await page.textContent("#result"))!;
  const m = /^Stopped after (\d+) epochs/.exec(result);
  assert.ok(m, result);
  assert.ok(Number(m[1]) < 1000);
  assert.equal(await page.isDisabled("#train"), false);
  assert.match((await page.textContent("#model-status"))!, /task 3/);
  assert.deepEqual(errors, []);
  await page.close();
});
