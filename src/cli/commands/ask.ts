import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { type Answer, DONT_KNOW, Model } from "../../api/model.js";
import { decodeUtf8 } from "../../data/decode.js";
import { DataError, FieldError } from "../../data/errors.js";
import { checkLine } from "../../data/limits.js";
import { UsageError } from "../errors.js";
import { addLimitOptions, applyLimits, checkFileSize, currentLimits } from "../limits.js";
import { checkedLines } from "../lines.js";
import { loadModelFile } from "../model-io.js";
import { formatTable } from "../table.js";

interface AskOptions {
  model: string;
  story?: string;
  top: string;
  json?: boolean;
}

export function registerAsk(program: Command): void {
  program
    .command("ask")
    .description("answer a question about a story; without a question, an interactive prompt")
    .argument("[question]", 'the question, e.g. "Where is the milk?"')
    .option("--model <file|name>", "a model file from `memn2n train`, or a shipped model's name", "babi")
    .option("--story <file>", "the story: one sentence per line, oldest first")
    .option("--top <k>", "how many ranked answers to show", "3")
    .option("--json", "each answer as one JSON line instead of text (JSON Lines)")
    .addHelpText(
      "after",
      "\nInteractive: type story sentences one per line; a line ending with ? is a question and gets an answer.\n" +
        "The memory keeps the model's memory size of most recent sentences. `:clear` empties it.",
    )
    .action((question: string | undefined, opts: AskOptions) => ask(question, opts));
  addLimitOptions(program.commands[program.commands.length - 1]);
}

function readStory(path: string): string[] {
  let bytes: Buffer;
  checkFileSize(path);
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  const lines = decodeUtf8(bytes, path).split("\n");
  const story: string[] = [];
  lines.forEach((line, i) => {
    if (line.includes("\t")) {
      throw new DataError(
        path,
        i + 1,
        "a question line (with a TAB) in a story; give the question as the argument",
      );
    }
    if (line.includes("\0")) throw new DataError(path, i + 1, "a NUL byte: not a text file");
    checkLine(line, path, i + 1, currentLimits());
    if (line.trim() !== "") story.push(line.trim());
  });
  return story;
}

async function ask(question: string | undefined, opts: AskOptions): Promise<void> {
  applyLimits(opts as unknown as Record<string, unknown>);
  const model = new Model(loadModelFile(opts.model));
  const topK = Number(opts.top);
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError("--top: expected a whole number ≥ 1");
  const story = opts.story ? readStory(opts.story) : [];
  if (question !== undefined) {
    if (question.trim() === "") throw new UsageError("question: empty");
    show(model.answer(story, question, { topK, limits: currentLimits() }), 0, opts.json === true);
    return;
  }
  await interactive(model, story, topK, opts.json === true);
}

/** Prints an answer; the story's sentences keep their numbers (`first` sentences came before the memory). */
function show(a: Answer, before: number, json: boolean): void {
  if (a.unknownWords.length > 0) {
    process.stderr.write(`warning: words the model never saw, ignored: ${a.unknownWords.join(", ")}\n`);
  }
  const first = before + a.dropped;
  if (a.dropped > 0) {
    process.stderr.write(
      `note: the model's memory holds ${a.sentences.length} sentences; the ${a.dropped} before sentence ${first + 1} were dropped\n`,
    );
  }
  if (json) {
    console.log(
      JSON.stringify({
        answer: a.answer,
        probability: a.probability,
        top: a.top,
        attention: a.attention,
        sentences: a.sentences,
        first_sentence: first + 1,
        dropped: first,
        unknown_words: a.unknownWords,
        dont_know: a.dontKnow === null ? null : DONT_KNOW[a.dontKnow],
      }),
    );
    return;
  }
  if (a.dontKnow !== null) {
    console.log(DONT_KNOW[a.dontKnow]);
    return;
  }
  console.log(`answer: ${a.answer} (p = ${a.probability.toFixed(3)})`);
  if (a.top.length > 1)
    console.log(`ranked: ${a.top.map((t) => `${t.answer} ${t.probability.toFixed(3)}`).join(", ")}`);
  const hops = a.attention.map((_, h) => `hop ${h + 1}`);
  const rows = a.sentences.map((s, i) => [first + i + 1, s, ...a.attention.map((p) => mark(p, i))]);
  console.log(formatTable(["#", "sentence", ...hops], rows));
}

/** The weight as a number, starred where it is the hop's largest. */
function mark(p: number[], i: number): string {
  const max = Math.max(...p);
  return `${p[i].toFixed(2)}${p[i] === max ? " *" : "  "}`;
}

async function interactive(model: Model, initial: string[], topK: number, json: boolean): Promise<void> {
  const M = model.config.memorySize;
  // Only the memory's worth of sentences is kept; `before` counts the ones that fell out.
  const memory = initial.slice(-M);
  let before = initial.length - memory.length;
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  if (tty) {
    console.log("Type story sentences; end a question with ?. `:clear` empties the memory, Ctrl-D quits.");
    rl.setPrompt("> ");
    rl.prompt();
  }
  for await (const raw of checkedLines(rl, "stdin")) {
    const line = raw.trim();
    if (line === ":clear") {
      before += memory.length;
      memory.length = 0;
    } else if (line.endsWith("?")) {
      try {
        show(model.answer(memory, line, { topK, limits: currentLimits() }), before, json);
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        process.stderr.write(`error: ${e.message} (type story sentences before a question)\n`);
        process.exitCode = 2;
      }
    } else if (line !== "") {
      memory.push(line);
      if (memory.length > M) {
        memory.shift();
        if (before++ === 0) {
          process.stderr.write(`note: the model's memory holds ${M} sentences: older ones are dropped\n`);
        }
      }
    }
    if (tty) rl.prompt();
  }
}
