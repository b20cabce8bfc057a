// The Ask panel: a story to edit (or a random test story of the task), a question, the model's answer with
// its probability and the top 5, and every hop's attention over the story; Correct / Wrong when the
// question and story are the data's own.

import { DONT_KNOW } from "../../src/index.js";
import { attentionTable } from "./attention.js";
import { modelFigure } from "./model-figure.js";
import { $, addTaskOptions, type Page, percent } from "./page.js";
import type { DataQuestion } from "./protocol.js";
import { babiFile } from "./sources.js";

const EXAMPLE_STORY = [
  "Mary moved to the bathroom.",
  "John went to the hallway.",
  "Daniel went back to the hallway.",
  "Sandra moved to the garden.",
  "John moved to the office.",
  "Mary went to the office.",
];

/** Sets up the panel; resolves once the page has landed on an answer (the best shipped model loaded). */
export async function setupAsk(page: Page): Promise<void> {
  const { client } = page;
  const story = $<HTMLTextAreaElement>("story");
  const question = $<HTMLInputElement>("question");
  const answerBox = $("answer");
  const attentionBox = $("attention");
  const figureBox = $("figure");
  const errorBox = $("ask-error");
  const modelLine = $("ask-model");
  const randomBtn = $<HTMLButtonElement>("random-story");
  story.value = EXAMPLE_STORY.join("\n");
  question.value = "Where is Mary?";

  /** The data question on show, while the story and question are left as the data has them. */
  let fromData: DataQuestion | null = null;
  const questions = new Map<string, DataQuestion[]>();
  const storyLines = () =>
    story.value
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");

  const testSet = async (): Promise<{ key: string; text: string; name: string } | null> => {
    if (page.own.test) return { key: `own:${page.own.test.name}`, ...page.own.test };
    const files = page.taskFiles();
    if (!files?.test) return null;
    const key = `${page.state.set}:${files.test}`;
    if (questions.has(key)) return { key, text: "", name: files.test };
    return { key, text: await babiFile(page.state.set, files.test), name: files.test };
  };
  const showModel = () => {
    const m = page.model;
    modelLine.textContent = m
      ? `Answering with ${m.name} (${m.tasks.length === 1 && m.tasks[0] > 0 ? `task ${m.tasks[0]}` : `${m.tasks.length} tasks`}).`
      : "No model yet: load a shipped one above, or train one in the Train tab.";
    randomBtn.disabled = !(page.own.test || page.taskFiles()?.test);
  };
  page.onModel((m) => {
    // The control says which model answers, wherever it was loaded from.
    const sel = document.getElementById("ask-shipped") as HTMLSelectElement | null;
    if (sel?.querySelector(`option[value="${CSS.escape(m.name)}"]`)) sel.value = m.name;
    showModel();
  });
  document.addEventListener("memn2n:data-changed", showModel);

  // The task of the random test stories: the page's task, shared with the Train panel.
  const taskSel = $<HTMLSelectElement>("ask-task");
  addTaskOptions(taskSel);
  const showTask = () => {
    if (page.state.task >= 1) taskSel.value = String(page.state.task);
  };
  showTask();
  document.addEventListener("memn2n:task-changed", showTask);
  taskSel.addEventListener("change", () => {
    page.state.task = Number(taskSel.value);
    page.saveState();
    document.dispatchEvent(new Event("memn2n:task-changed"));
    showModel();
    void randomStory().then((ok) => (ok ? ask() : undefined));
  });

  /** Fills in a random test question of the task (false where this host has no test file for it). */
  const randomStory = async (): Promise<boolean> => {
    errorBox.textContent = "";
    try {
      const set = await testSet();
      if (!set) throw new Error(`task ${page.state.task}: no test file on this host`);
      if (!questions.has(set.key)) {
        const r = await client.request({ type: "parse", text: set.text, name: set.name }, "parsed");
        questions.set(set.key, r.questions);
      }
      const list = questions.get(set.key)!;
      const q = list[Math.floor(Math.random() * list.length)];
      fromData = q;
      story.value = q.story.join("\n");
      question.value = q.question;
      answerBox.textContent = "";
      attentionBox.textContent = "";
      figureBox.hidden = true;
      return true;
    } catch (err) {
      errorBox.textContent = `error: ${(err as Error).message}`;
      return false;
    }
  };
  randomBtn.addEventListener("click", () => void randomStory());

  const ask = async () => {
    errorBox.textContent = "";
    const lines = storyLines();
    const data =
      fromData && sameLines(fromData.story, lines) && fromData.question === question.value.trim()
        ? fromData
        : null;
    try {
      const t0 = performance.now();
      const { answer } = await client.request(
        { type: "answer", story: lines, question: question.value },
        "answer",
      );
      answerBox.replaceChildren();
      const main = document.createElement("p");
      main.className = "answer-main";
      main.id = "answer-text";
      main.textContent = answer.dontKnow
        ? DONT_KNOW[answer.dontKnow]
        : `${answer.answer} (${percent(answer.probability)})`;
      if (data && !answer.dontKnow) {
        const v = document.createElement("span");
        const ok = answer.answer === data.answer;
        v.className = ok ? "verdict-correct" : "verdict-wrong";
        v.id = "verdict";
        v.textContent = ok ? "  Correct" : `  Wrong: the data says ${data.answer}`;
        main.append(v);
      }
      const top = document.createElement("ol");
      top.className = "top";
      top.setAttribute("aria-label", "The five most probable answers");
      for (const t of answer.top) {
        const li = document.createElement("li");
        li.textContent = `${t.answer}: ${percent(t.probability)}`;
        top.append(li);
      }
      answerBox.append(main);
      if (!answer.dontKnow) answerBox.append(top);
      if (answer.unknownWords.length > 0) {
        const p = document.createElement("p");
        p.className = "status";
        p.textContent = `Words the model never saw (ignored): ${answer.unknownWords.join(", ")}`;
        answerBox.append(p);
      }
      if (answer.dropped > 0) {
        const p = document.createElement("p");
        p.className = "status";
        p.textContent = `The memory holds the last ${answer.sentences.length} sentences; ${answer.dropped} earlier ones did not fit.`;
        answerBox.append(p);
      }
      const supporting = new Set(
        (data?.supporting ?? []).map((i) => i - answer.dropped).filter((i) => i >= 0),
      );
      const table = attentionTable({ sentences: answer.sentences, attention: answer.attention, supporting });
      attentionBox.replaceChildren(table);
      if (answer.dontKnow) figureBox.hidden = true;
      else {
        const figure = modelFigure(answer);
        $("figure-svg").replaceChildren(figure.svg);
        figureBox.hidden = false;
        // A sentence of the table, pointed at or focused, shows its share of every hop's read-out.
        [...table.tBodies[0].rows].forEach((row, i) => {
          row.tabIndex = 0;
          const on = () => figure.highlight(i);
          const off = () => figure.highlight(null);
          row.addEventListener("mouseenter", on);
          row.addEventListener("focus", on);
          row.addEventListener("mouseleave", off);
          row.addEventListener("blur", off);
        });
      }
      answerBox.dataset.ms = (performance.now() - t0).toFixed(2);
    } catch (err) {
      // No answer beside an error: the last one would look like this input's.
      answerBox.replaceChildren();
      attentionBox.replaceChildren();
      figureBox.hidden = true;
      errorBox.textContent = `error: ${(err as Error).message}`;
    }
  };
  $<HTMLFormElement>("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void ask();
  });

  const shippedSel = $<HTMLSelectElement>("ask-shipped");
  const loadBtn = $<HTMLButtonElement>("ask-load");
  if (!page.fillShipped(shippedSel)) loadBtn.disabled = true;
  const load = async (name: string) => {
    errorBox.textContent = "";
    modelLine.textContent = `Loading ${name}...`;
    try {
      await page.loadShipped(name);
      await ask();
    } catch (err) {
      showModel();
      errorBox.textContent = `error: ${(err as Error).message}`;
    }
  };
  loadBtn.addEventListener("click", () => void load(shippedSel.value));
  showModel();
  // Land on an answer: the default model, loaded and answering a random test story of the task (the example
  // story where this host serves no test file), before anything is asked.
  if (!page.model && shippedSel.value) {
    if (!randomBtn.disabled && page.state.task >= 1) await randomStory();
    await load(shippedSel.value);
  }
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x.trim() === b[i]);
}
