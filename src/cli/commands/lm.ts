// `memn2n lm …`: the language model on Penn Treebank (the paper's section 5). train (checkpointed, resumable),
// test (perplexity of valid and test), next (the likeliest next words and each hop's attention), and run
// (Table 2's rows, written to results/lm-ptb.md).

import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import {
  type LanguageModel,
  LM_TEXT_LIMITS,
  type LMCorpus,
  type LMEpoch,
  LMTraining,
  loadLM,
  readLMCorpus,
  readLMText,
} from "../../api/lm.js";
import { decodeUtf8 } from "../../data/decode.js";
import { DataError, FieldError } from "../../data/errors.js";
import type { LMTextLimits } from "../../data/ptb.js";
import { LM_PAPER_DEFAULTS, type LMConfig, makeLMConfig } from "../../model/config.js";
import { lmCheckpointFromBytes, lmCheckpointToBytes } from "../../train/lm-checkpoint.js";
import { findPtbDir } from "../datadir.js";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../fsutil.js";
import {
  type LMResults,
  type LMRow,
  leaderOf,
  lmResultsFiles,
  lmRunFile,
  prunedText,
  readLMResults,
  writeLMResults,
} from "../lm-results.js";
import { readModelBytes, SHIPPED_DIR, shippedModels } from "../model-io.js";
import { duration, plotter } from "../results.js";
import { parseThreads, withKernelThreads } from "../threads.js";
import { wholeOption } from "../whole.js";

/** Every LMConfig field as an option: [field, flag, kind, help]. */
const LM_OPTIONS: [keyof LMConfig, string, "int" | "float", string][] = [
  ["hops", "--hops", "int", "hops K (Table 2: 3, 6, 7)"],
  ["memory", "--memory", "int", "previous words in memory N (Table 2: 100, 150, 200)"],
  ["dim", "--dim", "int", "units d"],
  ["linDim", "--lin-dim", "int", "units that stay linear after each hop (default d/2; the rest get a ReLU)"],
  ["initHid", "--init-hid", "float", "every unit of the constant query u^1"],
  ["batchSize", "--batch-size", "int", "targets per SGD step"],
  ["lr", "--lr", "float", "learning rate (on the loss summed over a batch)"],
  ["anneal", "--anneal", "float", "lr divisor when an epoch's validation cost does not fall"],
  ["minLr", "--min-lr", "float", "stop once lr falls below this"],
  ["epochs", "--epochs", "int", "most epochs"],
  ["maxGradNorm", "--max-grad-norm", "float", "clip the gradient to this L2 norm"],
  ["initStd", "--init-std", "float", "weights drawn from N(0, this)"],
  ["stepsPerEpoch", "--steps-per-epoch", "int", "SGD steps an epoch (0: training words / batch)"],
  ["seed", "--seed", "int", "seed of the weights and of the order of the targets"],
  [
    "sentenceMemory",
    "--sentence-memory",
    "float",
    "share of the targets trained with only their own sentence in memory, as typed prompts have",
  ],
];

function addLMConfigOptions(cmd: Command): Command {
  for (const [field, flag, , help] of LM_OPTIONS) {
    const d = LM_PAPER_DEFAULTS[field];
    cmd.option(`${flag} <value>`, `${help} (default: ${field === "linDim" ? "d/2" : d})`);
  }
  return cmd;
}

function lmConfigFromOptions(opts: Record<string, unknown>, base: Partial<LMConfig> = {}): LMConfig {
  const o: Partial<LMConfig> = { ...base };
  for (const [field, flag, kind] of LM_OPTIONS) {
    const key = flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof typeof opts;
    const v = opts[key];
    if (v === undefined) continue;
    const n = Number(v);
    if (kind === "int" ? !Number.isInteger(n) : !Number.isFinite(n))
      throw new UsageError(`${flag}: ${kind === "int" ? "a whole number" : "a number"}, got "${v}"`);
    o[field] = n;
  }
  try {
    return makeLMConfig(o);
  } catch (e) {
    const f = (e as { field?: string }).field;
    const opt = LM_OPTIONS.find(([field]) => field === f);
    throw new UsageError(opt ? `${opt[1]}: ${(e as { detail: string }).detail}` : (e as Error).message);
  }
}

function readText(path: string, maxBytes: number): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  if (size > maxBytes) throw new DataError(path, null, `${size} bytes, more than --max-file-mb allows`);
  return decodeUtf8(readFileSync(path), path);
}

interface DataOptions {
  data?: string;
  maxVocab?: string;
  maxWordChars?: string;
  maxFileMb?: string;
  maxTrainWords?: string;
}

function limitsOf(o: DataOptions): LMTextLimits & { maxFileBytes: number } {
  return {
    ...LM_TEXT_LIMITS,
    maxVocab: o.maxVocab ? wholeOption("--max-vocab", o.maxVocab, 2) : LM_TEXT_LIMITS.maxVocab,
    maxWordChars: o.maxWordChars
      ? wholeOption("--max-word-chars", o.maxWordChars, 1)
      : LM_TEXT_LIMITS.maxWordChars,
    maxFileBytes: (o.maxFileMb ? wholeOption("--max-file-mb", o.maxFileMb, 1) : 1024) * 2 ** 20,
  };
}

function loadCorpus(o: DataOptions): { corpus: LMCorpus; dir: string } {
  const dir = findPtbDir(o.data);
  const limits = limitsOf(o);
  const file = (split: string): [string, string] => {
    const path = join(dir, `ptb.${split}.txt`);
    return [path, readText(path, limits.maxFileBytes)];
  };
  const corpus = readLMCorpus({ train: file("train"), valid: file("valid"), test: file("test") }, limits);
  if (o.maxTrainWords) {
    const n = wholeOption("--max-train-words", o.maxTrainWords, 2);
    corpus.train = corpus.train.slice(0, n);
  }
  return { corpus, dir };
}

function addDataOptions(cmd: Command): Command {
  return cmd
    .option("--data <dir>", "folder of ptb.train.txt, ptb.valid.txt, ptb.test.txt (or of a ptb/ folder)")
    .option("--max-vocab <n>", `most distinct words (default: ${LM_TEXT_LIMITS.maxVocab})`)
    .option("--max-word-chars <n>", `longest word (default: ${LM_TEXT_LIMITS.maxWordChars})`)
    .option("--max-file-mb <n>", "largest text file read, in MB (default: 1024)");
}

/** A language model file, or the shipped language model of that name. */
function resolveLM(given: string): string {
  if (existsSync(given)) return given;
  const names = shippedModels("lm");
  if (/^[\w-]+$/.test(given) && names.includes(given)) return join(SHIPPED_DIR, `${given}.safetensors`);
  throw new UsageError(
    `--model: ${given}: no such file, nor a shipped language model of that name` +
      (names.length > 0 ? ` (shipped: ${names.join(", ")})` : ""),
  );
}

/** The shipped language model `lm test` and `lm next` use when no --model is given. */
export const DEFAULT_LM = "ptb";

function loadLMFile(given: string | undefined): LanguageModel {
  const path = resolveLM(given ?? DEFAULT_LM);
  return loadLM(readModelBytes(path), path);
}

// ---- training ----

export interface LMRunOptions {
  corpus: LMCorpus;
  /** Names the data in the checkpoint: a resumed run must train on the same text. */
  dataKey: string;
  config: LMConfig;
  out?: string;
  checkpoint?: string;
  resume: boolean;
  force: boolean;
  /** Seconds between checkpoints. */
  saveEvery: number;
  /** Stop (with a checkpoint) after this many seconds; 0: none. */
  budget: number;
  label: string;
  quiet: boolean;
  /** A trained model to start from (a fresh run only: a resumed one has its checkpoint's weights). */
  init?: LanguageModel;
  /** Returns a reason to stop the run here (with a checkpoint), or nothing to go on. */
  onEpoch?: (e: LMEpoch, t: LMTraining, seconds: number) => string | undefined;
}

export interface LMRunResult {
  training: LMTraining;
  model: LanguageModel | null;
  seconds: number;
  finished: boolean;
}

/** Trains (resuming from the checkpoint when asked), checkpointing every saveEvery seconds and on a signal. */
export async function runLMTraining(o: LMRunOptions): Promise<LMRunResult> {
  let prior = 0;
  let training: LMTraining;
  if (o.checkpoint && existsSync(o.checkpoint) && !o.resume && !o.force)
    throw new UsageError(
      `${o.checkpoint}: the checkpoint of an interrupted run is there: --resume to go on, --force to start over`,
    );
  if (o.resume) {
    if (!o.checkpoint || !existsSync(o.checkpoint))
      throw new UsageError(`--resume: no checkpoint at ${o.checkpoint ?? "(none given)"}`);
    const c = lmCheckpointFromBytes(readFileSync(o.checkpoint), o.checkpoint);
    if (JSON.stringify(c.config) !== JSON.stringify(o.config))
      throw new UsageError(
        `--resume: ${o.checkpoint} was made with another config: ${JSON.stringify(c.config)}`,
      );
    if (c.data !== o.dataKey || c.vocab.size !== o.corpus.vocab.size)
      throw new UsageError(`--resume: ${o.checkpoint} was made on other data (${c.data})`);
    training = new LMTraining(o.corpus, o.config, { resume: c });
    prior = c.seconds;
  } else {
    try {
      training = new LMTraining(o.corpus, o.config, { init: o.init });
    } catch (e) {
      if (e instanceof FieldError && e.field === "init") throw new UsageError(`--init: ${e.detail}`);
      throw e;
    }
  }
  const started = performance.now() / 1000;
  const elapsed = () => prior + performance.now() / 1000 - started;
  const save = () => {
    if (!o.checkpoint) return;
    writeFileAtomic(
      o.checkpoint,
      lmCheckpointToBytes({
        config: o.config,
        vocab: o.corpus.vocab,
        params: training.current(),
        best: training.best,
        state: training.state,
        seconds: elapsed(),
        data: o.dataKey,
      }),
    );
  };
  let stopSignal: string | null = null;
  let stopReason: string | null = null;
  const onSignal = (sig: string) => {
    stopSignal = sig;
  };
  const sigint = () => onSignal("SIGINT");
  const sigterm = () => onSignal("SIGTERM");
  process.on("SIGINT", sigint);
  process.on("SIGTERM", sigterm);
  const progress = new LMProgress(
    o.label,
    o.quiet,
    training.trainer.stepsPerEpoch,
    o.config.batchSize,
    training.state.step,
    training.state.history.at(-1)?.validPpl,
  );
  let lastSave = performance.now() / 1000;
  const budgetEnd = o.budget > 0 ? started + o.budget : Number.POSITIVE_INFINITY;
  try {
    while (!training.done) {
      const e = training.advance(32, (n) => progress.scoring(n, o.corpus.valid.length));
      const now = performance.now() / 1000;
      progress.step(training.state.epoch, training.state.step, training.state.lr, e);
      if (e) stopReason = o.onEpoch?.(e, training, elapsed()) ?? null;
      if (e || now - lastSave >= o.saveEvery) {
        save();
        lastSave = now;
      }
      // the epoch's end scored the validation text, and maybe the test text, and wrote a checkpoint: the
      // rate starts over after all of it, so the first line of the next epoch counts training alone
      if (e) progress.restartRate(training.state.step);
      if (stopSignal !== null || stopReason !== null || now >= budgetEnd) break;
      // Signals reach their handlers only through the event loop.
      await new Promise((res) => setImmediate(res));
    }
  } finally {
    progress.stop();
    process.off("SIGINT", sigint);
    process.off("SIGTERM", sigterm);
  }
  if (!training.done) {
    save();
    training.release();
    process.stderr.write(
      `${o.label}: stopped (${stopSignal ?? stopReason ?? "time budget"}) at epoch ${training.state.epoch} step ${training.state.step}; ` +
        (o.checkpoint ? `checkpoint ${o.checkpoint}: --resume goes on\n` : "no checkpoint kept\n"),
    );
    return { training, model: null, seconds: elapsed(), finished: false };
  }
  progress.line(`${o.label}: scoring the test text with the best-validation weights`);
  const model = training.model(elapsed());
  training.release();
  if (o.out) writeFileAtomic(o.out, model.toBytes());
  if (o.checkpoint && o.out) rmSync(o.checkpoint, { force: true });
  return { training, model, seconds: elapsed(), finished: true };
}

/** What the progress bar says: the epoch's steps, the training rate, the time to the epoch's end. */
export function lmProgressText(p: {
  label: string;
  epoch: number;
  step: number;
  steps: number;
  wordsPerSecond: number;
  batch: number;
  lr: number;
  validPpl: number;
}): string {
  const width = 30;
  const done = Math.min(width, Math.round((width * p.step) / p.steps));
  const left =
    p.wordsPerSecond > 0
      ? ` · ${duration(((p.steps - p.step) * p.batch) / p.wordsPerSecond)} to the epoch's end`
      : "";
  const valid = Number.isNaN(p.validPpl) ? "-" : p.validPpl.toFixed(1);
  return (
    `${p.label} epoch ${p.epoch + 1} |${"█".repeat(done)}${"░".repeat(width - done)}| step ${p.step}/${p.steps} ` +
    `${p.wordsPerSecond.toFixed(0)} words/s${left} · lr ${p.lr.toPrecision(3)} · valid ppl ${valid}`
  );
}

/**
 * Training words a second over the last half minute of steps. A rate since the epoch began would stay low
 * for the rest of the epoch after a laptop sleeps or the process is paused; a window recovers in 30 s.
 */
export class StepRate {
  private samples: { step: number; ms: number }[] = [];

  constructor(
    private readonly batch: number,
    private readonly windowMs = 30_000,
  ) {}

  /** Starts over from `step` at `ms`: steps before it (an earlier epoch, a validation pass) do not count. */
  reset(step: number, ms: number): void {
    this.samples = [{ step, ms }];
  }

  /** Words a second from the window's oldest sample to this one; 0 until there is a step to count. */
  add(step: number, ms: number): number {
    if (this.samples.length === 0) this.reset(step, ms);
    else this.samples.push({ step, ms });
    // keep one sample at or before the window's start, so the window is never empty of time
    while (this.samples.length > 2 && ms - this.samples[1].ms >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const seconds = (ms - first.ms) / 1000;
    return seconds > 0 && step > first.step ? ((step - first.step) * this.batch) / seconds : 0;
  }
}

/** A progress bar on a terminal, a line a minute otherwise. */
class LMProgress {
  private readonly tty = process.stderr.isTTY === true;
  private lastLine = performance.now();
  // The rate counts training steps only: it starts over after the scoring and the checkpoint that end
  // each epoch (restartRate), so a 20-second scoring pass does not read as a slow step.
  private readonly rate: StepRate;
  private lastValid: number;

  constructor(
    private readonly label: string,
    private readonly quiet: boolean,
    private readonly steps: number,
    private readonly batch: number,
    /** Where a resumed run goes on. */
    fromStep: number,
    lastValidPpl: number | undefined,
  ) {
    this.lastValid = lastValidPpl ?? Number.NaN;
    this.rate = new StepRate(batch);
    this.rate.reset(fromStep, performance.now());
  }

  step(epoch: number, step: number, lr: number, e: LMEpoch | null): void {
    if (this.quiet) return;
    const now = performance.now();
    if (e) {
      this.lastValid = e.validPpl;
      this.clear();
      process.stderr.write(
        `${this.label} epoch ${e.epoch}: train ppl ${e.trainPpl.toFixed(1)}, valid ppl ${e.validPpl.toFixed(1)}, lr ${e.lr.toPrecision(3)}\n`,
      );
      return;
    }
    const wordsPerSecond = this.rate.add(step, now);
    const text = lmProgressText({
      label: this.label,
      epoch,
      step,
      steps: this.steps,
      wordsPerSecond,
      batch: this.batch,
      lr,
      validPpl: this.lastValid,
    });
    if (this.tty) process.stderr.write(`\r${text}\x1b[K`);
    else if (now - this.lastLine > 60_000) {
      process.stderr.write(`${text}\n`);
      this.lastLine = now;
    }
  }

  restartRate(step: number): void {
    this.rate.reset(step, performance.now());
  }

  scoring(done: number, total: number): void {
    if (this.quiet || !this.tty || done % (128 * 64) !== 0) return;
    process.stderr.write(`\r${this.label} scoring the validation text: ${done}/${total} words\x1b[K`);
  }

  line(text: string): void {
    if (this.quiet) return;
    this.clear();
    process.stderr.write(`${text}\n`);
  }

  private clear(): void {
    if (this.tty) process.stderr.write("\r\x1b[K");
  }

  stop(): void {
    this.clear();
  }
}

// ---- the commands ----

interface TrainOptions extends DataOptions, Record<string, unknown> {
  out?: string;
  init?: string;
  checkpoint?: string;
  resume?: boolean;
  force?: boolean;
  saveEvery?: string;
  timeBudget?: string;
  threads?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerLM(program: Command): void {
  const lm = program
    .command("lm")
    .description("the language model on Penn Treebank (the paper's section 5): train, test, next, run");

  const train = lm
    .command("train")
    .description("train a language model (the paper's recipe) and write it to a file")
    .option("--out <file>", "where to write the model (.safetensors)")
    .option("--checkpoint <file>", "checkpoint, written every --save-every seconds (default: <out>.ckpt)")
    .option(
      "--resume",
      "go on from the checkpoint of an interrupted run (the same weights as one never stopped)",
    )
    .option("--force", "start over where the checkpoint of an interrupted run is")
    .option(
      "--init <model>",
      "start from a trained model's weights (a file or a shipped name; same shape and vocabulary)",
    )
    .option("--save-every <seconds>", "seconds between checkpoints (default: 120)")
    .option("--time-budget <seconds>", "stop after this long, with a checkpoint (default: none)")
    .option("--max-train-words <n>", "train on the first n words of the training text only")
    .option("--threads <n>", "threads (default: the cores)")
    .option("--json", "print the result as one JSON line")
    .option("--quiet", "no progress");
  addDataOptions(train);
  addLMConfigOptions(train);
  train.action(async (opts: TrainOptions) => {
    const config = lmConfigFromOptions(opts);
    const { corpus, dir } = loadCorpus(opts);
    const checkpoint = opts.checkpoint ?? (opts.out ? `${opts.out}.ckpt` : undefined);
    const threads = parseThreads(opts.threads);
    const init = opts.init !== undefined ? loadLMFile(opts.init) : undefined;
    const r = await withKernelThreads(threads, () =>
      runLMTraining({
        corpus,
        dataKey: `${resolve(dir)} train ${corpus.train.length} words`,
        config,
        out: opts.out,
        checkpoint,
        resume: opts.resume === true,
        force: opts.force === true,
        saveEvery: opts.saveEvery ? wholeOption("--save-every", opts.saveEvery, 1) : 120,
        budget: opts.timeBudget ? wholeOption("--time-budget", opts.timeBudget, 1) : 0,
        label: `lm ${config.hops} hops, memory ${config.memory}`,
        quiet: opts.quiet === true || opts.json === true,
        init,
      }),
    );
    const s = r.training.state;
    const f = r.model?.file.figures;
    if (!opts.json) {
      console.log(
        `epochs ${s.epoch}, best validation perplexity ${Math.exp(s.bestValid).toFixed(1)} after epoch ${s.bestEpoch}` +
          (f?.testPpl ? `, test perplexity ${f.testPpl.toFixed(1)}` : "") +
          `, ${duration(r.seconds)}`,
      );
      if (opts.out && r.finished) console.log(`model written to ${opts.out}`);
    } else {
      console.log(
        JSON.stringify({
          config,
          finished: r.finished,
          epochs: s.epoch,
          best_epoch: s.bestEpoch,
          valid_ppl: Math.exp(s.bestValid),
          test_ppl: f?.testPpl ?? null,
          seconds: r.seconds,
          history: s.history,
          model: r.finished ? (opts.out ?? null) : null,
        }),
      );
    }
  });

  const test = lm
    .command("test")
    .description("perplexity of a language model on the validation and test texts")
    .option("--model <file>", "the model (a file, or a shipped language model's name; default: ptb)")
    .option("--threads <n>", "threads (default: the cores)")
    .option("--json", "print the result as one JSON line");
  addDataOptions(test);
  test.action(async (opts: DataOptions & { model?: string; threads?: string; json?: boolean }) => {
    const m = loadLMFile(opts.model);
    const dir = findPtbDir(opts.data);
    const limits = limitsOf(opts);
    const read = (split: string) => {
      const path = join(dir, `ptb.${split}.txt`);
      return readLMText(readText(path, limits.maxFileBytes), path, m.vocab, limits, false);
    };
    const valid = read("valid");
    const testWords = read("test");
    const [v, t] = await withKernelThreads(parseThreads(opts.threads), () => [
      m.perplexity(valid, m.config.batchSize),
      m.perplexity(testWords, m.config.batchSize),
    ]);
    if (opts.json)
      console.log(
        JSON.stringify({
          valid_ppl: v,
          test_ppl: t,
          valid_words: valid.length,
          test_words: testWords.length,
        }),
      );
    else
      console.log(
        `validation perplexity ${v.toFixed(2)} (${valid.length} words), test perplexity ${t.toFixed(2)} (${testWords.length} words)`,
      );
  });

  lm.command("next")
    .description("the likeliest next words after a text, and each hop's attention over its last words")
    .argument("<text...>", "the words so far")
    .option("--model <file>", "the model (a file, or a shipped language model's name; default: ptb)")
    .option("--top <k>", "how many words (default: 10)")
    .option("--json", "print the result as one JSON line")
    .action((words: string[], opts: { model?: string; top?: string; json?: boolean }) => {
      const m = loadLMFile(opts.model);
      const k = opts.top ? wholeOption("--top", opts.top, 1) : 10;
      if (k > 1000) throw new UsageError(`--top: at most 1000, got ${k}`);
      const r = m.next(words.join(" "), k);
      if (opts.json) {
        console.log(JSON.stringify(r));
        return;
      }
      if (r.unknown.length > 0)
        process.stderr.write(`note: not in the vocabulary, read as <unk>: ${r.unknown.join(" ")}\n`);
      for (const w of r.top) console.log(`${w.word.padEnd(16)} ${(100 * w.p).toFixed(2)}%`);
      const shown = r.context.slice(-8);
      const off = r.context.length - shown.length;
      console.log(
        `\nattention over the last ${shown.length} of ${r.context.length} words in memory, per hop:`,
      );
      console.log(`      ${shown.map((w) => w.padStart(9)).join("")}`);
      r.attention.forEach((a, h) => {
        console.log(
          `hop ${String(h + 1).padEnd(2)}${a
            .slice(off)
            .map((x) => x.toFixed(3).padStart(9))
            .join("")}`,
        );
      });
    });

  registerRun(lm);
}

// ---- lm run: Table 2 ----

function registerRun(lm: Command): void {
  const run = lm
    .command("run")
    .description(
      "train Table 2's rows (hops x memory) and write results/lm-ptb.md beside the paper's figures",
    )
    .option("--rows <list>", "rows as HOPSxMEMORY, comma separated (default: 3x100,6x150,7x200)")
    .option("--work <dir>", "checkpoints and models of the rows (default: .memn2n-lm)")
    .option(
      "--results <file>",
      "the results file (default: results/lm-ptb.md, with .json and .svg beside it)",
    )
    .option("--time-budget <seconds>", "stop after this long, with checkpoints: run again to go on")
    .option("--save-every <seconds>", "seconds between checkpoints (default: 120)")
    .option("--max-train-words <n>", "train on the first n words only (quick trials)")
    .option(
      "--repeats <n>",
      "runs of each row, with seeds --seed, --seed + 1, ...; the best by validation perplexity is the row's figure (the paper's Table 2: best of 10)",
    )
    .option(
      "--prune-after <epoch>",
      "from this epoch on, stop a run whose best validation perplexity is more than --prune-margin above its row's best finished run's, and go on to the next seed",
    )
    .option(
      "--prune-margin <ppl>",
      `with --prune-after: how far behind a run may be (default: ${PRUNE_MARGIN})`,
    )
    .option(
      "--reference-curve <file>",
      "the JSON lines of ../shared/reference/memn2n_lm.py's run of the row (given with one --rows), printed beside ours",
    )
    .option("--threads <n>", "threads (default: the cores)")
    .option("--quiet", "no progress");
  addDataOptions(run);
  addLMConfigOptions(run);
  run.action(
    async (
      opts: TrainOptions & {
        rows?: string;
        work?: string;
        results?: string;
        referenceCurve?: string;
        repeats?: string;
        pruneAfter?: string;
        pruneMargin?: string;
      },
    ) => {
      const { corpus, dir } = loadCorpus(opts);
      const rows = (opts.rows ?? "3x100,6x150,7x200").split(",").map((r) => {
        const m = /^(\d+)x(\d+)$/.exec(r.trim());
        if (!m) throw new UsageError(`--rows: "${r}" is not HOPSxMEMORY (e.g. 6x150)`);
        return { hops: Number(m[1]), memory: Number(m[2]) };
      });
      const work = resolve(opts.work ?? ".memn2n-lm");
      const files = lmResultsFiles(resolve(opts.results ?? "results/lm-ptb.md"));
      const record: LMResults = existsSync(files.json) ? readLMResults(files.json) : { rows: [] };
      const threads = parseThreads(opts.threads);
      const started = performance.now() / 1000;
      const budget = opts.timeBudget ? wholeOption("--time-budget", opts.timeBudget, 1) : 0;
      const cores = availableParallelism();
      if (opts.referenceCurve && rows.length !== 1)
        throw new UsageError("--reference-curve: give one row (--rows)");
      const referenceCurve = opts.referenceCurve ? readReferenceCurve(opts.referenceCurve) : undefined;
      const repeats = opts.repeats ? wholeOption("--repeats", opts.repeats, 1) : 1;
      if (repeats > MAX_REPEATS) throw new UsageError(`--repeats: at most ${MAX_REPEATS}, got ${repeats}`);
      const prune = pruneOf(opts);
      const plot = await plotter();
      const writeResults = () => {
        record.rows.sort(
          (a, b) =>
            a.config.hops - b.config.hops ||
            a.config.memory - b.config.memory ||
            a.config.seed - b.config.seed,
        );
        writeLMResults(files, record, plot);
      };
      const firstSeed = lmConfigFromOptions(opts, rows[0]).seed;
      // the reference's curve goes beside a run already there at once, whether or not it trains on now
      const named = record.rows.find(
        (r) => r.name === `${rows[0].hops}x${rows[0].memory}` && r.config.seed === firstSeed,
      );
      if (referenceCurve && named) {
        named.reference = referenceCurve;
        writeResults();
      }
      const runs = rows.flatMap((row) =>
        Array.from({ length: repeats }, (_, i) => ({ row, seed: firstSeed + i, first: i === 0 })),
      );
      for (const { row, seed, first } of runs) {
        const config = { ...lmConfigFromOptions(opts, row), seed };
        const name = `${row.hops}x${row.memory}`;
        const isRun = (r: LMRow) => r.name === name && r.config.seed === seed;
        const existing = record.rows.find(isRun);
        if (existing?.finished) {
          if (JSON.stringify(existing.config) === JSON.stringify(config)) continue;
          // another recipe under the same row and seed would overwrite a finished run and its model file
          const changed = (Object.keys(config) as (keyof LMConfig)[])
            .filter((k) => existing.config[k] !== config[k])
            .map((k) => `${k} ${existing.config[k]} there, ${config[k]} here`);
          throw new UsageError(
            `${files.json} has a finished ${name} run of seed ${seed} made with another config ` +
              `(${changed.join("; ")}): give this one its own --results and --work`,
          );
        }
        const left = budget > 0 ? budget - (performance.now() / 1000 - started) : 0;
        if (budget > 0 && left < 30) break;
        const file = lmRunFile(name, seed);
        const checkpoint = join(work, `${file}.ckpt`);
        const label = `lm ${name}${repeats > 1 || seed !== LM_PAPER_DEFAULTS.seed ? ` seed ${seed}` : ""}`;
        // a results file carried to another machine, or a cleared --work: say so rather than quietly
        // putting the recorded epochs back to none
        const resuming = existsSync(checkpoint);
        if (existing && !existing.finished && !resuming)
          console.error(
            `${label}: ${files.json} has ${existing.epochs} epoch${existing.epochs === 1 ? "" : "s"} of this run ` +
              `but ${checkpoint} is not there: starting it over from epoch 1`,
          );
        const command = `memn2n lm run --rows ${name}${commandOptions(opts)}`;
        const leader = prune ? leaderOf(record, name, config) : null;
        // Late epochs move validation little (by 0.7 perplexity at most, from epoch 25 to the end, over our
        // runs of Table 2's rows), so a run that far behind the leader cannot win the row; its epochs go to
        // the next seed. Validation alone decides; the run keeps its checkpoint.
        const behind = (epochs: number, validPpl: number | null): LMRow["pruned"] =>
          prune &&
          leader &&
          epochs >= prune.after &&
          validPpl !== null &&
          validPpl > leader.validPpl! + prune.margin
            ? {
                epoch: epochs,
                after: prune.after,
                margin: prune.margin,
                seed: leader.config.seed,
                validPpl: leader.validPpl!,
              }
            : undefined;
        const pruned =
          existing && !existing.finished && resuming ? behind(existing.epochs, existing.validPpl) : undefined;
        if (existing && pruned) {
          existing.pruned = pruned;
          writeResults();
          if (opts.quiet !== true)
            console.error(
              `${label}: stopped at epoch ${pruned.epoch} (${prunedText(existing, pruned)}): not trained further`,
            );
          continue;
        }
        const entry: LMRow = {
          name,
          config,
          command,
          finished: false,
          epochs: 0,
          seconds: 0,
          threads,
          machine: `${cores} cores`,
          history: [],
          validPpl: null,
          testPpl: null,
          bestEpoch: 0,
          date: new Date().toISOString().slice(0, 10),
          // an unfinished run's test figure so far, and the epoch whose weights gave it (not a run started over)
          ...(existing && !existing.finished && resuming && existing.testPpl !== null
            ? { testPpl: existing.testPpl, testEpoch: existing.testEpoch }
            : {}),
          ...(existing?.reference ? { reference: existing.reference } : {}),
          ...(referenceCurve && first ? { reference: referenceCurve } : {}),
        };
        const save = () => {
          record.rows = [...record.rows.filter((r) => !isRun(r)), entry];
          writeResults();
        };
        const r = await withKernelThreads(threads, () =>
          runLMTraining({
            corpus,
            dataKey: `${resolve(dir)} train ${corpus.train.length} words`,
            config,
            out: join(work, `${file}.safetensors`),
            checkpoint,
            resume: resuming,
            force: false,
            saveEvery: opts.saveEvery ? wholeOption("--save-every", opts.saveEvery, 1) : 120,
            budget: budget > 0 ? left : 0,
            label,
            quiet: opts.quiet === true,
            onEpoch: (_e, t, seconds) => {
              entry.epochs = t.state.epoch;
              entry.history = t.state.history;
              entry.seconds = seconds;
              entry.validPpl = Math.exp(t.state.bestValid);
              entry.bestEpoch = t.state.bestEpoch;
              // A row may take several sessions: its test figure at the best validation epoch so far, measured
              // when validation finds a new best. Validation alone picks the epoch; this only reports it.
              if (entry.testEpoch !== t.state.bestEpoch) {
                entry.testPpl = t.bestTestPerplexity();
                entry.testEpoch = t.state.bestEpoch;
              }
              entry.pruned = behind(entry.epochs, entry.validPpl);
              save();
              return entry.pruned ? prunedText(entry, entry.pruned) : undefined;
            },
          }),
        );
        entry.seconds = r.seconds;
        entry.epochs = r.training.state.epoch;
        entry.history = r.training.state.history;
        if (r.finished && r.model?.file.figures) {
          entry.finished = true;
          entry.testPpl = r.model.file.figures.testPpl;
          entry.validPpl = r.model.file.figures.validPpl;
          entry.bestEpoch = r.model.file.figures.bestEpoch;
          entry.testEpoch = entry.bestEpoch;
        }
        save();
        if (!r.finished && !entry.pruned) break;
      }
      console.log(`results in ${files.md}`);
    },
  );
}

/** memn2n_lm.py's stdout: a JSON line per epoch, then its final line (test perplexity at the best epoch). */
function readReferenceCurve(path: string): NonNullable<LMRow["reference"]> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--reference-curve ${path}: cannot read (${(e as NodeJS.ErrnoException).code})`);
  }
  const validPpl: number[] = [];
  const trainPpl: number[] = [];
  let testPpl: number | null = null;
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let j: { epoch?: number; valid_ppl?: number; train_ppl?: number; test_ppl_at_best_valid?: number };
    try {
      j = JSON.parse(line);
    } catch {
      throw new DataError(path, i + 1, "not a JSON line of memn2n_lm.py");
    }
    if (typeof j.test_ppl_at_best_valid === "number") testPpl = j.test_ppl_at_best_valid;
    else if (typeof j.valid_ppl === "number" && typeof j.train_ppl === "number") {
      validPpl.push(j.valid_ppl);
      trainPpl.push(j.train_ppl);
    }
  });
  return {
    source: "../shared/reference/memn2n_lm.py on this machine (CPU, one seed)",
    validPpl,
    trainPpl,
    testPpl,
  };
}

function commandOptions(opts: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [, flag] of LM_OPTIONS) {
    const key = flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[key] !== undefined) parts.push(`${flag} ${opts[key]}`);
  }
  if (opts.maxTrainWords) parts.push(`--max-train-words ${opts.maxTrainWords}`);
  if (opts.repeats) parts.push(`--repeats ${opts.repeats}`);
  if (opts.pruneAfter) parts.push(`--prune-after ${opts.pruneAfter}`);
  if (opts.pruneMargin) parts.push(`--prune-margin ${opts.pruneMargin}`);
  // where the checkpoints and the results are: the same command finds them again
  if (opts.work) parts.push(`--work ${opts.work}`);
  if (opts.results) parts.push(`--results ${opts.results}`);
  return parts.length > 0 ? ` ${parts.join(" ")}` : "";
}

const MAX_REPEATS = 100;
const PRUNE_MARGIN = 1.5;

/** `--prune-after E [--prune-margin M]`, checked. */
function pruneOf(o: { pruneAfter?: string; pruneMargin?: string }): { after: number; margin: number } | null {
  if (o.pruneAfter === undefined) {
    if (o.pruneMargin !== undefined) throw new UsageError("--prune-margin: give --prune-after too");
    return null;
  }
  const after = wholeOption("--prune-after", o.pruneAfter, 1);
  if (o.pruneMargin === undefined) return { after, margin: PRUNE_MARGIN };
  const margin = Number(o.pruneMargin);
  // digits alone can still overflow to Infinity, which would quietly never prune
  if (!/^\d+(\.\d+)?$/.test(o.pruneMargin) || !Number.isFinite(margin))
    throw new UsageError(`--prune-margin: expected a perplexity ≥ 0 (e.g. 1.5), got ${o.pruneMargin}`);
  return { after, margin };
}
