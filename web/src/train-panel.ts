// The Train panel: data (a bAbI task this host serves, or dropped files), the config form with the paper's
// defaults, live training with its charts, and a model file to load or the trained model to download.

import {
  ConfigError,
  FAIL_THRESHOLD,
  jointDefaults,
  makeConfig,
  OUR_BEST,
  PAPER_DEFAULTS,
  paperColumn,
  TASK_NAMES,
} from "../../src/index.js";
import { EpochChart } from "./chart.js";
import { $, addTaskOptions, type Page, percent, saveBytes } from "./page.js";
import { phaseText } from "./progress.js";
import type { ModelInfo } from "./protocol.js";
import { babiFile } from "./sources.js";
import { FORM_FIELDS, type FormConfig } from "./url-state.js";

export function setupTrain(page: Page): void {
  const { client } = page;
  const form = $<HTMLFormElement>("train-form");
  const taskSel = $<HTMLSelectElement>("task");
  const setSel = $<HTMLSelectElement>("set");
  const trainBtn = $<HTMLButtonElement>("train");
  const stopBtn = $<HTMLButtonElement>("stop");
  const progress = $<HTMLProgressElement>("progress");
  const status = $("train-status");
  const result = $("result");
  const errorBox = $("train-error");
  /** An error where the user is looking: the box sits under Train, and scrolls into view from anywhere. */
  const showError = (e: unknown) => {
    errorBox.textContent = `error: ${(e as Error).message}`;
    errorBox.scrollIntoView({ block: "nearest" });
  };
  const dataStatus = $("data-status");
  const modelStatus = $("model-status");
  const download = $<HTMLButtonElement>("download");
  const loss = new EpochChart($("chart-loss"), [
    { label: "training", color: "#1f5fbf" },
    { label: "validation", color: "#d0661a" },
  ]);
  const error = new EpochChart(
    $("chart-error"),
    [
      { label: "training", color: "#1f5fbf" },
      { label: "validation", color: "#d0661a" },
    ],
    "percent",
  );

  addTaskOptions(taskSel);
  taskSel.add(new Option("1-20: all tasks, one joint model", String(JOINT)));
  const input = (f: keyof FormConfig) => $<HTMLInputElement | HTMLSelectElement>(`cfg-${f}`);
  const showState = () => {
    taskSel.value = String(page.state.task);
    setSel.value = page.state.set;
    for (const f of FORM_FIELDS) {
      const el = input(f);
      const v = page.state.config[f];
      if (el instanceof HTMLInputElement && el.type === "checkbox") el.checked = v as boolean;
      else el.value = String(v);
    }
    showData();
  };
  const readForm = () => {
    page.state.task = Number(taskSel.value);
    page.state.set = setSel.value === "en-10k" ? "en-10k" : "en";
    const c = page.state.config as unknown as Record<string, unknown>;
    for (const f of FORM_FIELDS) {
      const el = input(f);
      if (el instanceof HTMLInputElement && el.type === "checkbox") c[f] = el.checked;
      else if (typeof PAPER_DEFAULTS[f] === "number")
        c[f] = el.value.trim() === "" ? Number.NaN : Number(el.value);
      else c[f] = el.value;
    }
    page.saveState();
  };
  const showData = () => {
    document.dispatchEvent(new Event("memn2n:data-changed"));
    const own = page.own.train;
    if (own) {
      dataStatus.textContent = `Training on your file ${own.name}${page.own.test ? `, tested on ${page.own.test.name}` : " (no test file)"}.`;
      const back = document.createElement("button");
      back.type = "button";
      back.textContent = "Use the bAbI task instead";
      back.addEventListener("click", () => {
        page.own = { train: null, test: null };
        showData();
      });
      dataStatus.append(" ", back);
      return;
    }
    const files = page.taskFiles();
    if (page.data && page.state.task === JOINT) {
      const have = Object.keys(TASK_NAMES).filter((n) => page.taskFiles(Number(n))?.train).length;
      dataStatus.textContent = `bAbI ${page.state.set === "en" ? "1k" : "10k"}: all 20 tasks, one joint model (${have} of 20 training files here), tested on each task's test file.`;
    } else if (!page.data) {
      dataStatus.textContent =
        "This host serves no bAbI files (run `memn2n serve` with the data): drop your own, or load a shipped model.";
    } else if (!files?.train || !files.test) {
      dataStatus.textContent = `Task ${page.state.task} has no ${files?.train ? "test" : "training"} file in the ${page.state.set} set here.`;
    } else {
      dataStatus.textContent = `bAbI ${page.state.set === "en" ? "1k" : "10k"}: ${files.train}, tested on ${files.test}.`;
    }
  };
  // The Ask panel picks tasks too.
  document.addEventListener("memn2n:task-changed", () => {
    page.own = { train: null, test: null };
    showState();
    showData();
  });
  // Picking a task or a set means that task: a dropped file stops being used, as the select and URL say.
  for (const sel of [taskSel, setSel]) {
    sel.addEventListener("change", () => {
      page.own = { train: null, test: null };
    });
  }
  // The joint model's size and length, as the paper trains it (d = 50; 60 epochs on 1k, 20 on 10k).
  taskSel.addEventListener("change", () => {
    if (Number(taskSel.value) !== JOINT) return;
    const j = jointDefaults(setSel.value === "en-10k");
    input("dim").value = String(j.dim);
    input("epochs").value = String(j.epochs);
  });
  form.addEventListener("change", () => {
    readForm();
    showData();
  });
  // Two presets, the settings folded below them: the paper's model, and the options behind our best results.
  const presets = {
    paper: { label: "the paper's model (MemN2N PE LS RN, Table 1)", config: PAPER_DEFAULTS },
    best: {
      label:
        "our best (ReLU hops with H, relative time, question-match words, the supporting facts as a second loss)",
      config: { ...PAPER_DEFAULTS, ...OUR_BEST },
    },
  } as const;
  const presetStatus = $("preset-status");
  const showPreset = () => {
    const cfg = page.state.config as unknown as Record<string, unknown>;
    const same = (c: Record<string, unknown>) => FORM_FIELDS.every((f) => f === "seed" || cfg[f] === c[f]);
    const which = Object.values(presets).find((p) => same(p.config as unknown as Record<string, unknown>));
    presetStatus.textContent = which ? `Settings: ${which.label}.` : "Settings: your own (see below).";
  };
  for (const [name, preset] of Object.entries(presets)) {
    $(`preset-${name}`).addEventListener("click", () => {
      for (const f of FORM_FIELDS) {
        if (f === "seed") continue;
        (page.state.config as unknown as Record<string, unknown>)[f] = (
          preset.config as unknown as Record<string, unknown>
        )[f];
      }
      page.saveState();
      showState();
      showPreset();
    });
  }
  form.addEventListener("change", showPreset);
  showPreset();
  // A link with settings of its own opens on them.
  if (presetStatus.textContent?.includes("your own")) $<HTMLDetailsElement>("settings").open = true;

  // Dropped or chosen files: each is checked by the same reader as the CLI's before it is used.
  const drop = $("drop");
  const ownInput = $<HTMLInputElement>("own-files");
  const takeFiles = async (files: File[]) => {
    errorBox.textContent = "";
    const own = { ...page.own };
    for (const f of files) {
      const text = await f.text();
      try {
        const parsed = await client.request({ type: "parse", text, name: f.name }, "parsed");
        const entry = { name: f.name, text };
        if (/test/i.test(f.name) && files.length > 1) own.test = entry;
        else if (/test/i.test(f.name) && own.train) own.test = entry;
        else own.train = entry;
        status.textContent = `${f.name}: ${parsed.stories} stories, ${parsed.questions.length} questions`;
      } catch (e) {
        showError(e);
        return;
      }
    }
    page.own = own;
    showData();
  };
  ownInput.addEventListener("change", () => {
    void takeFiles([...(ownInput.files ?? [])]);
    ownInput.value = "";
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    void takeFiles([...(e.dataTransfer?.files ?? [])]);
  });

  let running = false;
  const setRunning = (on: boolean) => {
    running = on;
    trainBtn.disabled = on;
    stopBtn.disabled = !on;
    // The form describes the model being trained: it cannot change under a run.
    for (const f of document.querySelectorAll<HTMLFieldSetElement>("#train-form fieldset")) f.disabled = on;
  };
  client.on("started", (r) => {
    if (r.job !== "babi") return;
    progress.max = r.totalEpochs;
    progress.value = 0;
    status.textContent = `${r.trainQuestions} training questions, ${r.vocab} words`;
  });
  client.on("epoch", (r) => {
    if (r.job !== "babi") return;
    const s = r.stats;
    progress.max = r.totalEpochs;
    progress.value = s.epoch;
    loss.push(s.epoch, [s.trainLoss, s.validLoss]);
    error.push(s.epoch, [s.trainError, s.validError]);
    status.textContent =
      `${phaseText(s.epoch, s.phase, r.totalEpochs, { ...PAPER_DEFAULTS, ...page.state.config })}: ` +
      `validation error ${percent(s.validError)}, ${Math.round(r.examplesPerSecond).toLocaleString("en")} examples/s ` +
      `on ${r.threads} thread${r.threads > 1 ? "s" : ""}, ` +
      `${r.seconds.toFixed(1)} s`;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (running) return;
    readForm();
    errorBox.textContent = "";
    result.textContent = "";
    clearFieldError();
    // The library's own check of the config, before anything is cleared: a bad value is shown at its field.
    try {
      makeConfig({ ...page.state.config });
    } catch (err) {
      if (err instanceof ConfigError && showFieldError(err.field, err.detail)) return;
      showError(err);
      return;
    }
    setRunning(true);
    try {
      const data = await trainingData(page);
      loss.clear();
      error.clear();
      const joint = data.task === JOINT && "tasks" in data;
      const done = await client.request(
        {
          type: "train",
          ...data,
          // The joint schedule of the paper (60 epochs halving every 15 on 1k), under the form's own values.
          config: joint
            ? { ...jointDefaults(page.state.set === "en-10k"), ...page.state.config, joint: true }
            : { ...page.state.config },
        },
        "trained",
      );
      progress.value = progress.max;
      const paper = paperFigure(page, done.model);
      const test = done.testError === null ? "no test file" : `test error ${percent(done.testError)}`;
      const verdict =
        done.testError === null ? "" : done.testError > FAIL_THRESHOLD ? " (failed: above 5%)" : " (passed)";
      result.dataset.testError = String(done.testError);
      result.dataset.epochs = String(done.epochs);
      result.textContent =
        `${done.stopped ? "Stopped" : "Done"} after ${done.epochs} epochs in ${done.seconds.toFixed(1)} s: ` +
        `${test}${verdict}; validation error ${percent(done.validError)}.${paper}`;
      if (done.model.tasks.length > 1) result.append(jointTable(page, done.model));
      page.setModel(done.model);
    } catch (err) {
      showError(err);
    } finally {
      setRunning(false);
    }
  });
  stopBtn.addEventListener("click", () => client.post({ type: "stop" }));
  form.addEventListener("change", clearFieldError);

  // Models: a file, and the trained one's download (the shipped ones load from Ask).
  const modelFile = $<HTMLInputElement>("model-file");
  modelFile.addEventListener("change", async () => {
    const f = modelFile.files?.[0];
    modelFile.value = "";
    if (!f) return;
    errorBox.textContent = "";
    try {
      const bytes = await f.arrayBuffer();
      const r = await client.request({ type: "load-model", bytes, name: f.name }, "model", [bytes]);
      page.setModel(r.model);
    } catch (err) {
      showError(err);
    }
  });
  download.addEventListener("click", async () => {
    const r = await client.request({ type: "save-model" }, "model-bytes");
    saveBytes(r.bytes, r.name);
  });
  page.onModel((m) => {
    download.disabled = false;
    const tasks =
      m.tasks.length === 1
        ? `task ${m.tasks[0]}`
        : m.tasks.length > 1
          ? `${m.tasks.length} tasks`
          : "your data";
    modelStatus.textContent = `Model ${m.name}: ${tasks}, ${m.config.hops} hops, d = ${m.config.dim}, ${m.vocab} words, ${m.answers} answers. Ask it in the Ask tab.`;
    if (m.tasks.length === 1 && m.tasks[0] >= 1 && m.tasks[0] <= 20 && !page.own.train) {
      page.state.task = m.tasks[0];
      page.saveState();
      showState();
    }
  });
  showState();
}

/** Task 0 in the page: every task of the set, one joint model (the paper's joint rows). */
export const JOINT = 0;

/** A task's training and test files as this host serves them, or null where it has no training file. */
async function readTask(page: Page, task: number) {
  const files = page.taskFiles(task);
  if (!files?.train) return null;
  const [train, test] = await Promise.all([
    babiFile(page.state.set, files.train),
    files.test ? babiFile(page.state.set, files.test) : Promise.resolve(null),
  ]);
  return { task, train, trainName: files.train, test, testName: files.test ?? "test" };
}

async function trainingData(page: Page) {
  const noTrainingFile = (task: number) =>
    new Error(`task ${task}: no training file in the ${page.state.set} set on this host`);
  if (page.state.task === JOINT && !page.own.train) {
    const tasks = await Promise.all(
      Object.keys(TASK_NAMES).map(async (n) => {
        const t = await readTask(page, Number(n));
        if (!t) throw noTrainingFile(Number(n));
        return t;
      }),
    );
    return { train: "", trainName: "", test: null, testName: "", task: JOINT, tasks };
  }
  if (page.own.train) {
    return {
      train: page.own.train.text,
      trainName: page.own.train.name,
      test: page.own.test?.text ?? null,
      testName: page.own.test?.name ?? "test",
      task: 0,
    };
  }
  const t = await readTask(page, page.state.task);
  if (!t) {
    throw page.data
      ? noTrainingFile(page.state.task)
      : new Error("this host serves no bAbI files: drop a training file above");
  }
  return t;
}

function paperFigure(page: Page, m: ModelInfo): string {
  if (m.tasks.length > 1) {
    const col = paperColumn({ ...m.config, set: page.state.set, joint: true });
    return col ? ` The paper (${col.name}): ${col.mean}% mean, ${col.failed} failed.` : "";
  }
  if (m.tasks.length !== 1 || m.tasks[0] < 1) return "";
  const c = m.config;
  const col = paperColumn({ ...c, set: page.state.set, joint: false });
  const fig = col?.errors[m.tasks[0] - 1];
  if (!col) return " The paper has no column for this config.";
  if (fig === null || fig === undefined)
    return ` The paper (${col.name}) gives only a mean here: ${col.mean}%.`;
  return ` The paper (${col.name}): ${fig.toFixed(1)}%.`;
}

/** Shows an error beside the config field it names (marked invalid, in view, focused); false: no such field. */
function showFieldError(field: string, detail: string): boolean {
  const input = document.getElementById(`cfg-${field}`) as HTMLInputElement | null;
  if (!input) return false;
  const settings = document.getElementById("settings") as HTMLDetailsElement | null;
  if (settings) settings.open = true;
  const note = document.createElement("span");
  note.className = "field-error";
  note.id = `cfg-${field}-error`;
  note.setAttribute("role", "alert");
  note.textContent = detail;
  input.after(note);
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", note.id);
  input.scrollIntoView({ block: "center" });
  input.focus();
  return true;
}

function clearFieldError(): void {
  for (const note of document.querySelectorAll(".field-error")) note.remove();
  for (const input of document.querySelectorAll('[aria-invalid="true"]')) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

/** A joint model's test error per task, beside the paper's joint column where it has one. */
function jointTable(page: Page, m: ModelInfo): HTMLTableElement {
  const col = paperColumn({ ...m.config, set: page.state.set, joint: true });
  const table = document.createElement("table");
  table.id = "joint-table";
  table.className = "joint";
  table.createCaption().textContent = `Test error per task${col ? `, beside the paper's ${col.name}` : ""}`;
  const head = table.createTHead().insertRow();
  for (const h of ["task", "ours", ...(col ? ["paper"] : [])]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const t of m.tasks) {
    const row = body.insertRow();
    const e = m.testErrors?.[t];
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = `${t}: ${TASK_NAMES[t]?.replaceAll("-", " ") ?? ""}`;
    row.append(th);
    row.insertCell().textContent = e === undefined ? "–" : percent(e);
    if (e !== undefined && e > FAIL_THRESHOLD) row.className = "failed";
    if (col)
      row.insertCell().textContent = col.errors[t - 1] === null ? "–" : `${col.errors[t - 1]!.toFixed(1)}%`;
  }
  return table;
}
