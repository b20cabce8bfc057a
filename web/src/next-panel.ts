// The Next word panel: the memory network as a language model (the paper's section 5). Type words; the
// model's ten likeliest next words appear with their probabilities, and under them one strip per hop: its
// attention over the words in memory. A model is loaded (a shipped one) or trained here on a slice of Penn
// Treebank, with its perplexity drawn live.

import { LM_PAPER_DEFAULTS, makeLMConfig, type NextWords } from "../../src/index.js";
import { cellColours } from "./attention.js";
import { EpochChart } from "./chart.js";
import { $, type Page } from "./page.js";
import type { LMInfo } from "./protocol.js";
import { isLanguageModel, modelBytes, ptbFile } from "./sources.js";

/** Words of memory the strips show (the last ones); the rest of a long memory is summed in one cell. */
const SHOWN = 12;

export function setupNext(page: Page): void {
  const { client } = page;
  const select = $<HTMLSelectElement>("lm-model");
  const loadBtn = $<HTMLButtonElement>("lm-load");
  const status = $("lm-status");
  const form = $<HTMLFormElement>("lm-form");
  const input = $<HTMLInputElement>("lm-input");
  const top = $<HTMLOListElement>("lm-top");
  const strips = $("lm-attention");
  const errorBox = $("lm-error");
  const trainForm = $<HTMLFormElement>("lm-train-form");
  const trainBtn = $<HTMLButtonElement>("lm-train");
  const stopBtn = $<HTMLButtonElement>("lm-stop");
  const progress = $<HTMLProgressElement>("lm-progress");
  const trainStatus = $("lm-train-status");
  const chart = new EpochChart(
    $("lm-chart"),
    [
      { label: "training perplexity", color: "#1f5fbf" },
      { label: "validation perplexity", color: "#d0661a" },
    ],
    "perplexity",
  );
  let ready = false;

  const shipped = page.shipped.filter(isLanguageModel);
  for (const m of shipped) {
    const ppl = m.figures["test perplexity"];
    select.add(
      new Option(
        `${m.name} (${m.kind}${ppl === undefined ? "" : `, test perplexity ${ppl.toFixed(1)}`})`,
        m.name,
      ),
    );
  }
  if (shipped.length === 0) {
    select.add(new Option("(none on this host: train one below)", ""));
    loadBtn.disabled = true;
  }
  const ptb = page.data?.ptb ?? [];
  const hasPtb = ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"].every((f) => ptb.includes(f));
  if (!hasPtb) {
    trainBtn.disabled = true;
    trainStatus.textContent =
      "This host serves no Penn Treebank text: run `memn2n serve` beside the data (or `memn2n download ptb`).";
  }
  if (shipped.length === 0) $<HTMLDetailsElement>("lm-train-box").open = true;

  const describe = (info: LMInfo) => {
    const c = info.config;
    const figures = [
      info.validPpl !== null && Number.isFinite(info.validPpl)
        ? `validation perplexity ${info.validPpl.toFixed(1)}`
        : null,
      info.testPpl !== null ? `test perplexity ${info.testPpl.toFixed(1)}` : null,
    ].filter((x) => x !== null);
    status.textContent =
      `${info.name}: ${c.hops} hops over the last ${c.memory} words, d = ${c.dim}, ${info.vocab} words` +
      (figures.length > 0 ? `; ${figures.join(", ")}` : "");
  };

  const show = (n: NextWords) => {
    // bars relative to the likeliest word, which gets the whole width
    const most = n.top[0]?.p ?? 1;
    top.replaceChildren(
      ...n.top.map((w) => {
        const li = document.createElement("li");
        const word = document.createElement("span");
        word.className = "word";
        word.textContent = w.word;
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.width = `${Math.max(0.5, (100 * w.p) / most).toFixed(1)}%`;
        const p = document.createElement("span");
        p.className = "p";
        p.textContent = `${(100 * w.p).toFixed(1)}%`;
        li.append(word, bar, p);
        li.dataset.p = String(w.p);
        return li;
      }),
    );
    strips.replaceChildren(...n.attention.map((hop, h) => strip(n.context, hop, h)));
    if (n.unknown.length > 0)
      errorBox.textContent = `not in the model's vocabulary, read as <unk>: ${n.unknown.join(" ")}`;
    else errorBox.textContent = "";
  };

  const predict = async () => {
    if (!ready) return;
    try {
      const r = await client.request({ type: "lm-next", text: input.value }, "lm-next");
      show(r.next);
    } catch (e) {
      errorBox.textContent = `error: ${(e as Error).message}`;
    }
  };
  let timer: ReturnType<typeof setTimeout> | null = null;
  input.addEventListener("input", () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void predict(), 120);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void predict();
  });

  const loaded = (info: LMInfo) => {
    ready = true;
    describe(info);
    document.body.dataset.lm = info.name;
    void predict();
  };

  const load = async (name: string) => {
    status.textContent = `loading ${name}…`;
    try {
      const bytes = await modelBytes(name);
      const r = await client.request({ type: "lm-load", bytes, name }, "lm-model", [bytes]);
      loaded(r.info);
    } catch (e) {
      status.textContent = `error: ${(e as Error).message}`;
    }
  };
  loadBtn.addEventListener("click", () => {
    if (select.value) void load(select.value);
  });
  // The tab lands on a prediction: the first time it shows, the shipped model loads (not before: the page's
  // first screen is Ask, and the language model is megabytes).
  const panel = $("panel-next");
  const firstShow = () => {
    if (panel.hidden || ready || shipped.length === 0) return;
    observer.disconnect();
    void load(select.value);
  };
  const observer = new MutationObserver(firstShow);
  observer.observe(panel, { attributes: true, attributeFilter: ["hidden"] });
  firstShow();

  const field = (id: string) => $<HTMLInputElement>(id);
  field("lm-hops").value = "2";
  field("lm-memory").value = "50";
  field("lm-dim").value = "64";
  field("lm-epochs").value = "5";
  field("lm-words").value = "100000";

  client.on("lm-started", (r) => {
    chart.clear();
    progress.max = r.stepsPerEpoch * r.epochs;
    progress.value = 0;
    trainStatus.textContent = `training on ${r.trainWords} words (${r.vocab} distinct)…`;
  });
  client.on("lm-progress", (r) => {
    progress.value = (r.epoch - 1) * r.stepsPerEpoch + r.step;
    trainStatus.textContent = `epoch ${r.epoch}: step ${r.step} of ${r.stepsPerEpoch}, ${r.wordsPerSecond.toFixed(0)} words/s`;
  });
  client.on("lm-epoch", (r) => {
    chart.push(r.epoch.epoch, [r.epoch.trainPpl, r.epoch.validPpl]);
    trainStatus.textContent = `epoch ${r.epoch.epoch}: validation perplexity ${r.epoch.validPpl.toFixed(1)} (training ${r.epoch.trainPpl.toFixed(1)}), ${r.seconds.toFixed(1)} s`;
  });

  trainForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    errorBox.textContent = "";
    let config: ReturnType<typeof makeLMConfig>;
    const words = Number(field("lm-words").value);
    try {
      config = makeLMConfig({
        hops: Number(field("lm-hops").value),
        memory: Number(field("lm-memory").value),
        dim: Number(field("lm-dim").value),
        epochs: Number(field("lm-epochs").value),
        // a small model on a slice learns faster with a larger step than the paper's full-size one
        lr: 0.05,
        batchSize: LM_PAPER_DEFAULTS.batchSize,
      });
      if (!Number.isInteger(words) || words < 1000 || words > 1_000_000)
        throw new Error("training words: a whole number from 1000 to 1000000");
    } catch (err) {
      trainStatus.textContent = `error: ${(err as Error).message}`;
      return;
    }
    trainBtn.disabled = true;
    stopBtn.disabled = false;
    trainStatus.textContent = "reading Penn Treebank…";
    try {
      const [train, valid, test] = await Promise.all(
        ["ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"].map(ptbFile),
      );
      const r = await client.request(
        { type: "lm-train", train, valid, test, trainWords: words, validWords: 10_000, config },
        "lm-trained",
      );
      trainStatus.textContent = `${r.stopped ? "stopped" : "done"} after ${r.epochs} epochs, ${r.seconds.toFixed(1)} s`;
      progress.value = progress.max;
      loaded(r.info);
    } catch (err) {
      trainStatus.textContent = `error: ${(err as Error).message}`;
    } finally {
      trainBtn.disabled = !hasPtb;
      stopBtn.disabled = true;
    }
  });
  stopBtn.addEventListener("click", () => client.post({ type: "stop" }));
}

/** One hop's attention over the words in memory: a row of cells, the last words' each, older ones summed. */
function strip(context: string[], hop: number[], h: number): HTMLTableElement {
  const table = document.createElement("table");
  table.className = "strip";
  table.createCaption().textContent = `hop ${h + 1}`;
  const row = table.insertRow();
  // the last words each in a cell; two or more older ones summed in one
  const cut = context.length > SHOWN + 1 ? context.length - SHOWN : 0;
  const cells: { word: string; w: number }[] = [];
  if (cut > 0) cells.push({ word: `${cut} earlier words`, w: hop.slice(0, cut).reduce((a, b) => a + b, 0) });
  for (let i = cut; i < context.length; i++) cells.push({ word: context[i], w: hop[i] });
  for (const c of cells) {
    const td = row.insertCell();
    const { background, color } = cellColours(c.w);
    td.style.background = background;
    td.style.color = color;
    td.dataset.weight = String(c.w);
    td.title = `${c.word}: ${c.w.toFixed(3)}`;
    const word = document.createElement("span");
    word.textContent = c.word;
    const w = document.createElement("small");
    w.textContent = c.w.toFixed(2);
    td.append(word, w);
  }
  return table;
}
