import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { type Answer, Model } from "../../api/model.js";
import { DataError } from "../../data/errors.js";
import { UsageError } from "../errors.js";
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
    .option("--json", "print one JSON object as the last line")
    .addHelpText(
      "after",
      "\nInteractive: type story sentences one per line; a line ending with ? is a question and gets an answer.\n" +
        "The memory keeps the model's memory size of most recent sentences. `:clear` empties it.",
    )
    .action((question: string | undefined, opts: AskOptions) => ask(question, opts));
}

function readStory(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  const lines = text.split("\n");
  const story: string[] = [];
  lines.forEach((line, i) => {
    if (line.includes("\t")) {
      throw new DataError(
        path,
        i + 1,
        "a question line (with a TAB) in a story; give the question as the argument",
      );
    }
    if (line.trim() !== "") story.push(line.trim());
  });
  return story;
}

async function ask(question: string | undefined, opts: AskOptions): Promise<void> {
  const model = new Model(loadModelFile(opts.model));
  const topK = Number(opts.top);
  if (!Number.isInteger(topK) || topK < 1) throw new UsageError("--top: expected a whole number ≥ 1");
  const story = opts.story ? readStory(opts.story) : [];
  if (question !== undefined) {
    if (question.trim() === "") throw new UsageError("question: empty");
    const a = model.answer(story, question, { topK });
    show(a, opts.json === true);
    return;
  }
  await interactive(model, story, topK);
}

function show(a: Answer, json: boolean): void {
  if (a.unknownWords.length > 0) {
    process.stderr.write(`warning: words the model never saw, ignored: ${a.unknownWords.join(", ")}\n`);
  }
  console.log(`answer: ${a.answer} (p = ${a.probability.toFixed(3)})`);
  if (a.top.length > 1)
    console.log(`ranked: ${a.top.map((t) => `${t.answer} ${t.probability.toFixed(3)}`).join(", ")}`);
  if (a.sentences.length > 0) {
    const hops = a.attention.map((_, h) => `hop ${h + 1}`);
    const rows = a.sentences.map((s, i) => [i + 1, s, ...a.attention.map((p) => mark(p, i))]);
    console.log(formatTable(["#", "sentence", ...hops], rows));
  }
  if (json) {
    console.log(
      JSON.stringify({
        answer: a.answer,
        probability: a.probability,
        top: a.top,
        attention: a.attention,
        sentences: a.sentences,
        unknown_words: a.unknownWords,
      }),
    );
  }
}

/** The weight as a number, starred where it is the hop's largest. */
function mark(p: number[], i: number): string {
  const max = Math.max(...p);
  return `${p[i].toFixed(2)}${p[i] === max ? " *" : "  "}`;
}

async function interactive(model: Model, initial: string[], topK: number): Promise<void> {
  const memory = initial.slice();
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  if (tty) {
    console.log("Type story sentences; end a question with ?. `:clear` empties the memory, Ctrl-D quits.");
    rl.setPrompt("> ");
    rl.prompt();
  }
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === ":clear") {
      memory.length = 0;
    } else if (line.endsWith("?")) {
      show(model.answer(memory, line, { topK }), false);
    } else if (line !== "") {
      memory.push(line);
      if (memory.length > model.config.memorySize) memory.shift();
    }
    if (tty) rl.prompt();
  }
}
