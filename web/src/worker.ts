// The page's Worker: trains, answers and chats through the library (src/index.ts), the same calls as the
// CLI and the server. Training runs an epoch at a time and yields between epochs, so Stop is heard at once.

import {
  type DialogBot,
  DialogTrainingRun,
  type EpochStats,
  KernelThreads,
  kernelThreadCount,
  type LanguageModel,
  LMTraining,
  lmConfig,
  loadDialogBot,
  loadLM,
  loadModel,
  type Model,
  modelToSafetensors,
  parseBabi,
  readLMCorpus,
  TrainingRun,
  useKernelThreads,
  wasmAvailable,
} from "../../src/index.js";
import type { BotInfo, DataQuestion, Job, LMInfo, ModelInfo, Reply, Request } from "./protocol.js";

const scope = self as unknown as {
  postMessage(message: Reply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
};

let model: Model | null = null;
let modelName = "model";
let bot: DialogBot | null = null;
let botName = "bot";
let lm: LanguageModel | null = null;
let lmName = "lm";
let stopRequested = false;
let training = false;

const send = (r: Reply, transfer: Transferable[] = []) => scope.postMessage(r, transfer);

// A macrotask without setTimeout's clamping: lets queued messages (Stop) in between epochs.
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldToMessages = () =>
  new Promise<void>((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });

function infoOf(m: Model, name: string): ModelInfo {
  return {
    name,
    tasks: m.meta.tasks ?? [],
    config: m.config,
    vocab: m.vocab.size,
    answers: m.answers.length,
    testErrors: (m.meta.testErrors as Record<string, number> | undefined) ?? null,
  };
}

interface EpochRun {
  readonly done: boolean;
  readonly totalEpochs: number;
  readonly trainQuestions: number;
  readonly threads: number;
  epoch(): EpochStats;
}

/** Runs epochs until done or stopped, reporting each; yields between epochs so that Stop gets in. */
async function runEpochs(job: Job, run: EpochRun, vocab: number, t0: number): Promise<void> {
  if (training) throw new Error("a training run is already going: stop it first");
  training = true;
  stopRequested = false;
  try {
    send({ type: "started", job, totalEpochs: run.totalEpochs, trainQuestions: run.trainQuestions, vocab });
    while (!run.done && !stopRequested) {
      const e0 = performance.now();
      const stats = run.epoch();
      const dt = (performance.now() - e0) / 1000;
      send({
        type: "epoch",
        job,
        stats,
        totalEpochs: run.totalEpochs,
        examplesPerSecond: run.trainQuestions / Math.max(dt, 1e-6),
        threads: run.threads,
        seconds: (performance.now() - t0) / 1000,
      });
      await yieldToMessages();
    }
  } finally {
    training = false;
  }
}

async function train(req: Extract<Request, { type: "train" }>): Promise<void> {
  const t0 = performance.now();
  const joint = req.tasks !== undefined;
  const trainExamples = joint ? [] : parseBabi(req.train, req.trainName).examples;
  const testExamples = joint || req.test === null ? undefined : parseBabi(req.test, req.testName).examples;
  const run = new TrainingRun({
    train: trainExamples,
    test: testExamples,
    task: req.task,
    // A joint model: every task's files, each read by the same parser (its name in any error).
    tasks: req.tasks?.map((t) => ({
      task: t.task,
      train: parseBabi(t.train, t.trainName).examples,
      test: t.test === null ? undefined : parseBabi(t.test, t.testName).examples,
    })),
    config: req.config,
  });
  await runEpochs("babi", run, run.data.vocab.size, t0);
  const result = run.finish();
  model = result.model;
  modelName = req.tasks
    ? `babi-joint-seed-${result.seed}`
    : req.task > 0
      ? `babi-task-${req.task}-seed-${result.seed}`
      : `model-seed-${result.seed}`;
  send({
    type: "trained",
    stopped: !run.done,
    trainError: result.trainError,
    validError: result.validError,
    testError: result.testError,
    epochs: result.epochs,
    seconds: (performance.now() - t0) / 1000,
    model: infoOf(model, modelName),
  });
}

function botInfo(b: DialogBot, name: string): BotInfo {
  return { name, candidates: b.model.dialog!.candidates.length, kb: b.kb !== null };
}

async function trainBot(req: Extract<Request, { type: "train-bot" }>): Promise<void> {
  const t0 = performance.now();
  const run = new DialogTrainingRun({
    task: req.task,
    ...req.files,
    kb: req.files.kb ?? undefined,
    matchType: req.matchType,
    placeholders: req.placeholders,
    dialogs: req.dialogs,
    config: req.config,
  });
  await runEpochs("dialog", run, run.data.vocab.size, t0);
  const result = run.finish();
  bot = result.bot;
  botName = `dialog-task-${req.task}-${req.dialogs}-dialogs`;
  send({
    type: "bot-trained",
    stopped: !run.done,
    devAccuracy: result.devAccuracy,
    epochs: result.epochs,
    seconds: (performance.now() - t0) / 1000,
    bot: botInfo(bot, botName),
  });
}

function lmInfo(m: LanguageModel, name: string): LMInfo {
  const f = m.file.figures;
  return {
    name,
    config: m.config,
    vocab: m.vocab.size,
    validPpl: f?.validPpl ?? null,
    testPpl: f?.testPpl ?? null,
  };
}

/** The lines of a text up to its first n words (whole lines), for a slice of the corpus. */
function firstWords(text: string, n: number): string {
  let words = 0;
  let end = 0;
  while (end < text.length && words < n) {
    let next = text.indexOf("\n", end);
    if (next < 0) next = text.length;
    words +=
      text
        .slice(end, next)
        .split(/\s+/)
        .filter((w) => w !== "").length + 1;
    end = next + 1;
  }
  return text.slice(0, end);
}

/** Trains a language model a few steps at a time, reporting progress and each epoch's perplexities. */
async function trainLM(req: Extract<Request, { type: "lm-train" }>): Promise<void> {
  if (training) throw new Error("a training run is already going: stop it first");
  const t0 = performance.now();
  const config = lmConfig(req.config);
  const corpus = readLMCorpus({
    train: ["ptb.train.txt", firstWords(req.train, req.trainWords)],
    valid: ["ptb.valid.txt", firstWords(req.valid, req.validWords)],
    test: ["ptb.test.txt", firstWords(req.test, req.validWords)],
  });
  const run = new LMTraining(corpus, config);
  training = true;
  stopRequested = false;
  try {
    const steps = run.trainer.stepsPerEpoch;
    send({
      type: "lm-started",
      vocab: corpus.vocab.size,
      trainWords: corpus.train.length,
      stepsPerEpoch: steps,
      epochs: config.epochs,
    });
    let words = 0;
    while (!run.done && !stopRequested) {
      const e = run.advance(16);
      words += 16 * config.batchSize;
      const seconds = (performance.now() - t0) / 1000;
      if (e) send({ type: "lm-epoch", epoch: e, seconds });
      else
        send({
          type: "lm-progress",
          epoch: run.state.epoch + 1,
          step: run.state.step,
          stepsPerEpoch: steps,
          wordsPerSecond: words / seconds,
        });
      await yieldToMessages();
    }
    const seconds = (performance.now() - t0) / 1000;
    const stopped = !run.done;
    lm = run.model(seconds, run.state.epoch > 0);
    lmName = `lm-${config.hops}x${config.memory}-d${config.dim}`;
    send({ type: "lm-trained", stopped, epochs: run.state.epoch, seconds, info: lmInfo(lm, lmName) });
  } finally {
    run.release();
    training = false;
  }
}

/** The questions of a bAbI test file with their stories as written (ids stripped) and supporting lines. */
function questionsOf(text: string, name: string): { questions: DataQuestion[]; stories: number } {
  const file = parseBabi(text, name);
  const lines = text.split("\n");
  const questions = file.examples.map((ex) => {
    const statements: { id: number; text: string }[] = [];
    for (let i = ex.line - 2; i >= 0; i--) {
      const m = /^(\d+) ([^\t]*)$/.exec(lines[i].replace(/\r$/, ""));
      if (!m) {
        const id = /^(\d+) /.exec(lines[i]);
        if (id && Number(id[1]) === 1) break;
        continue;
      }
      statements.unshift({ id: Number(m[1]), text: m[2].trim() });
      if (Number(m[1]) === 1) break;
    }
    const question = lines[ex.line - 1].replace(/^\d+ /, "").split("\t")[0].trim();
    return {
      story: statements.map((s) => s.text),
      supporting: ex.supporting.map((id) => statements.findIndex((s) => s.id === id)).filter((i) => i >= 0),
      question,
      answer: ex.answer,
    };
  });
  return { questions, stories: file.stories };
}

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case "train":
      return train(req);
    case "stop":
      stopRequested = true;
      return;
    case "load-model": {
      const m = loadModel(new Uint8Array(req.bytes), req.name);
      model = m;
      modelName = req.name.replace(/\.(safetensors|json)$/, "");
      send({ type: "model", model: infoOf(m, modelName) });
      return;
    }
    case "save-model": {
      if (!model) throw new Error("no model yet: train one or load one");
      const bytes = model.toSafetensors();
      const copy = bytes.slice().buffer;
      send({ type: "model-bytes", bytes: copy, name: `${modelName}.safetensors` }, [copy]);
      return;
    }
    case "answer": {
      if (!model) throw new Error("no model yet: train one or load one");
      send({ type: "answer", answer: model.answer(req.story, req.question) });
      return;
    }
    case "parse":
      send({ type: "parsed", name: req.name, ...questionsOf(req.text, req.name) });
      return;
    case "load-bot": {
      bot = loadDialogBot(new Uint8Array(req.bytes), req.name);
      botName = req.name.replace(/\.(safetensors|json)$/, "");
      send({ type: "bot", bot: botInfo(bot, botName) });
      return;
    }
    case "train-bot":
      return trainBot(req);
    case "save-bot": {
      if (!bot) throw new Error("no bot yet: train one or load one");
      const bytes = modelToSafetensors(bot.model).slice().buffer;
      send({ type: "model-bytes", bytes, name: `${botName}.safetensors` }, [bytes]);
      return;
    }
    case "say": {
      if (!bot) throw new Error("no bot yet: load the restaurant model");
      send({ type: "reply", reply: bot.say(req.line), user: req.line });
      return;
    }
    case "lm-train":
      return trainLM(req);
    case "lm-load": {
      lm = loadLM(new Uint8Array(req.bytes), req.name);
      lmName = req.name.replace(/\.safetensors$/, "");
      send({ type: "lm-model", info: lmInfo(lm, lmName) });
      return;
    }
    case "lm-next": {
      if (!lm) throw new Error("no language model yet: train one or load one");
      send({ type: "lm-next", next: lm.next(req.text, 10) });
      return;
    }
    case "reset-chat":
      bot?.reset();
      send({ type: "chat-reset" });
      return;
  }
}

scope.onmessage = (e) => {
  handle(e.data).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    send({ type: "error", during: e.data.type, message });
  });
};

/** More threads than a batch has slices (32 rows, 8 per slice) would idle. */
const MAX_THREADS = 4;

/**
 * Threads for training: where the page is cross-origin isolated (SharedArrayBuffer; `memn2n serve` sends
 * the headers) and the machine has cores to spare, helper Workers share each batch with this one.
 */
async function startThreads(): Promise<number> {
  const n = Math.min(navigator.hardwareConcurrency ?? 1, MAX_THREADS);
  if (!self.crossOriginIsolated || n < 2 || !wasmAvailable()) return 1;
  try {
    const pool = await KernelThreads.start(n, () => {
      const w = new Worker(new URL("./kernel-thread.ts", import.meta.url), { type: "module" });
      return { postMessage: (m) => w.postMessage(m), terminate: () => w.terminate() };
    });
    useKernelThreads(pool);
    return kernelThreadCount();
  } catch {
    return 1;
  }
}

startThreads().then((threads) => send({ type: "ready", simd: wasmAvailable(), threads }));
