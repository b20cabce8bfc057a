// The Chat panel: a conversation with a dialog model (the shipped restaurant bot by default), through the
// library's DialogBot: it goes on by itself where the data's users say nothing, and its API calls are
// answered from the knowledge base inside the model; under each reply, the earlier line each hop attended
// to most.

import { strongest } from "./attention.js";
import { $, type Page, percent, saveBytes } from "./page.js";
import { dialogFile, isDialog, modelBytes } from "./sources.js";

const DIALOG_TASKS: Record<number, string> = {
  1: "issuing API calls",
  2: "updating API calls",
  3: "displaying options",
  4: "providing extra information",
  5: "full dialogs",
};

export function setupChat(page: Page): void {
  const { client } = page;
  const botSel = $<HTMLSelectElement>("bot");
  const log = $("chat-log");
  const input = $<HTMLInputElement>("chat-input");
  const status = $("bot-status");
  const errorBox = $("chat-error");
  const send = $<HTMLButtonElement>("send");
  let loaded: string | null = null;

  const dialogModels = page.shipped.filter(isDialog);
  for (const m of dialogModels) botSel.add(new Option(`${m.name} (${m.kind})`, m.name));
  if (dialogModels.length === 0) botSel.add(new Option("(none on this host)", ""));
  else {
    const wanted = page.state.chat.bot;
    botSel.value = dialogModels.some((m) => m.name === wanted) ? wanted : dialogModels[0].name;
  }
  botSel.addEventListener("change", () => {
    page.state.chat.bot = botSel.value;
    page.saveState();
  });

  const load = async (name: string) => {
    errorBox.textContent = "";
    status.textContent = `loading ${name}...`;
    try {
      const bytes = await modelBytes(name);
      const r = await client.request({ type: "load-bot", bytes, name }, "bot", [bytes]);
      loaded = name;
      log.replaceChildren();
      status.textContent = `${r.bot.name}: ${r.bot.candidates} candidate responses${r.bot.kb ? ", answers its API calls from its knowledge base" : ""}. Say hello.`;
      send.disabled = false;
    } catch (err) {
      status.textContent = "";
      errorBox.textContent = `error: ${(err as Error).message}`;
    }
  };
  $("load-bot").addEventListener("click", () => void load(botSel.value));
  setupBotTraining(page, (name) => {
    loaded = name;
    log.replaceChildren();
    send.disabled = false;
  });
  $("chat-reset").addEventListener("click", async () => {
    await client.request({ type: "reset-chat" }, "chat-reset");
    log.replaceChildren();
    input.focus();
  });

  const line = (cls: string, who: string, text: string) => {
    const li = document.createElement("li");
    li.className = cls;
    const w = document.createElement("span");
    w.className = "who";
    w.textContent = who;
    const t = document.createElement("span");
    t.className = "text";
    t.textContent = text;
    li.append(w, t);
    log.append(li);
    return li;
  };

  $<HTMLFormElement>("chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    errorBox.textContent = "";
    if (!loaded) {
      if (!botSel.value) {
        errorBox.textContent = "error: no dialog model on this host";
        return;
      }
      await load(botSel.value);
      if (!loaded) return;
    }
    const said = input.value;
    input.value = "";
    send.disabled = true;
    try {
      const { reply } = await client.request({ type: "say", line: said }, "reply");
      line("user", "you:", said.trim() === "" ? "(says nothing)" : said);
      // The reply, then what the bot went on to say by itself (after "i'm on it", an api_call...).
      const turns = [...(reply.opening ? [reply.opening] : []), reply, ...(reply.followUps ?? [])];
      for (const turn of turns) {
        for (const r of turn.apiResults ?? []) line("result", "kb:", r);
        const li = line("bot", "bot:", turn.response);
        li.dataset.probability = String(turn.probability);
        const hops = document.createElement("div");
        hops.className = "hops";
        hops.textContent =
          turn.memory.length === 0
            ? "(the memory was empty)"
            : strongest(turn.attention)
                .map((h, k) => `hop ${k + 1}: ${memoryLine(turn.memory[h.row])} ${percent(h.weight)}`)
                .join(" · ");
        li.append(hops);
        li.scrollIntoView({ block: "nearest" });
      }
    } catch (err) {
      errorBox.textContent = `error: ${(err as Error).message}`;
    } finally {
      send.disabled = false;
      input.focus();
    }
  });
}

/** A memory line as the user saw it: its speaker word up front, its time word dropped. */
function memoryLine(line: string): string {
  const words = line.split(" ");
  if (/^#\d+$/.test(words[words.length - 1] ?? "")) words.pop();
  const who = words[words.length - 1] === "$u" ? "you" : words[words.length - 1] === "$r" ? "bot" : null;
  if (who) words.pop();
  return `${who ? `${who}: ` : ""}“${words.join(" ")}”`;
}

/** Training a bot in the page: the task's files from this host, a slice of its training dialogs. */
function setupBotTraining(page: Page, onBot: (name: string) => void): void {
  const { client } = page;
  const taskSel = $<HTMLSelectElement>("bot-task");
  const status = $("bot-train-status");
  const progress = $<HTMLProgressElement>("bot-progress");
  const trainBtn = $<HTMLButtonElement>("bot-train");
  const stopBtn = $<HTMLButtonElement>("bot-stop");
  const download = $<HTMLButtonElement>("bot-download");
  const errorBox = $("chat-error");
  const files = page.data?.dialog ?? [];
  for (const [n, name] of Object.entries(DIALOG_TASKS)) taskSel.add(new Option(`${n}: ${name}`, n));
  // The training settings come from the URL and go back into it.
  const chat = page.state.chat;
  const dialogsIn = $<HTMLInputElement>("bot-dialogs");
  const epochsIn = $<HTMLInputElement>("bot-epochs");
  const matchIn = $<HTMLInputElement>("bot-match");
  const phIn = $<HTMLInputElement>("bot-placeholders");
  taskSel.value = String(chat.task in DIALOG_TASKS ? chat.task : 5);
  dialogsIn.value = String(chat.dialogs);
  epochsIn.value = String(chat.epochs);
  matchIn.checked = chat.matchType;
  phIn.checked = chat.placeholders;
  $<HTMLFormElement>("bot-train-form").addEventListener("change", () => {
    chat.task = Number(taskSel.value);
    if (Number.isInteger(Number(dialogsIn.value)) && Number(dialogsIn.value) >= 1)
      chat.dialogs = Number(dialogsIn.value);
    if (Number.isInteger(Number(epochsIn.value)) && Number(epochsIn.value) >= 1)
      chat.epochs = Number(epochsIn.value);
    chat.matchType = matchIn.checked;
    chat.placeholders = phIn.checked;
    page.saveState();
  });
  const fileOf = (task: number, split: string) =>
    files.find((f) => new RegExp(`^dialog-babi-task${task}-[\\w-]*?-${split}\\.txt$`).test(f));
  if (files.length === 0) {
    status.textContent = "This host serves no Dialog bAbI files (run `memn2n serve` with the data).";
    trainBtn.disabled = true;
  }
  client.on("started", (r) => {
    if (r.job !== "dialog") return;
    progress.max = r.totalEpochs;
    progress.value = 0;
    status.textContent = `${r.trainQuestions} training turns, ${r.vocab} words`;
  });
  client.on("epoch", (r) => {
    if (r.job !== "dialog") return;
    progress.value = r.stats.epoch;
    status.textContent =
      `epoch ${r.stats.epoch}/${r.totalEpochs}: dev accuracy per response ${percent(1 - r.stats.validError)}, ` +
      `${Math.round(r.examplesPerSecond).toLocaleString("en")} turns/s, ${r.seconds.toFixed(1)} s`;
  });
  $<HTMLFormElement>("bot-train-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    errorBox.textContent = "";
    const task = Number(taskSel.value);
    trainBtn.disabled = true;
    stopBtn.disabled = false;
    try {
      const need = { train: fileOf(task, "trn"), dev: fileOf(task, "dev") };
      if (!need.train || !need.dev) throw new Error(`dialog task ${task}: no trn or dev file on this host`);
      const named = async (name: string) => ({ name, text: await dialogFile(name) });
      const kbName = "dialog-babi-kb-all.txt";
      status.textContent = "reading the dialogs...";
      const [train, dev, candidates, kb] = await Promise.all([
        named(need.train),
        named(need.dev),
        named("dialog-babi-candidates.txt"),
        files.includes(kbName) ? named(kbName) : Promise.resolve(null),
      ]);
      const r = await client.request(
        {
          type: "train-bot",
          task,
          files: { train, dev, candidates, kb },
          dialogs: Number(dialogsIn.value),
          matchType: matchIn.checked,
          placeholders: phIn.checked,
          config: { epochs: Number(epochsIn.value) },
        },
        "bot-trained",
      );
      progress.value = progress.max;
      status.textContent =
        `${r.stopped ? "Stopped" : "Done"} after ${r.epochs} epochs in ${r.seconds.toFixed(1)} s: ` +
        `dev accuracy per response ${percent(r.devAccuracy)}. Chat with it below.`;
      $("bot-status").textContent = `${r.bot.name}: trained here, ${r.bot.candidates} candidate responses.`;
      download.disabled = false;
      onBot(r.bot.name);
    } catch (err) {
      errorBox.textContent = `error: ${(err as Error).message}`;
    } finally {
      trainBtn.disabled = files.length === 0;
      stopBtn.disabled = true;
    }
  });
  stopBtn.addEventListener("click", () => client.post({ type: "stop" }));
  download.addEventListener("click", async () => {
    const r = await client.request({ type: "save-bot" }, "model-bytes");
    saveBytes(r.bytes, r.name);
  });
}
