// `memn2n chat`: talk to a dialog model. Each user line gets the bot's reply, computed from the conversation
// so far; lines may also come from a script file or a pipe (tests, demos).

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { type BotReply, DialogBot, isApiResult } from "../../api/dialog.js";
import { UsageError } from "../errors.js";
import { addLimitOptions, applyLimits, checkFileSize, currentLimits } from "../limits.js";
import { checkedLines } from "../lines.js";
import { loadModelFile } from "../model-io.js";
import { knowledgeBaseOf } from "./dialog.js";

interface ChatOptions {
  model: string;
  script?: string;
  showAttention?: boolean;
  top: string;
  json?: boolean;
  /** A file, or false with --no-kb; absent: the model's own knowledge base. */
  kb?: string | false;
}

export function registerChat(program: Command): void {
  program
    .command("chat")
    .description("talk to a dialog model: it answers each line from the conversation so far")
    .option(
      "--model <file|name>",
      "a model file from `memn2n dialog train`, or a shipped model's name",
      "restaurant",
    )
    .option("--script <file>", "read the user's lines from a file instead of the terminal")
    .option("--show-attention", "after each reply, the memory lines each hop attended to most")
    .option("--top <k>", "memory lines shown per hop with --show-attention", "3")
    .option("--json", "one JSON object per reply instead of text")
    .option("--kb <file>", "answer the bot's API calls from this knowledge base (default: the model's own)")
    .option("--no-kb", "no lookups: API results are typed in as lines, as the data gives them")
    .addHelpText(
      "after",
      "\nAn empty line is <SILENCE> (let the bot go on). A line `resto_x R_cuisine italian` is an API result:\n" +
        "it goes into the memory without a reply. `:reset` starts a new conversation, Ctrl-D quits.",
    )
    .action((opts: ChatOptions) => chat(opts));
  addLimitOptions(program.commands[program.commands.length - 1]);
}

async function chat(opts: ChatOptions): Promise<void> {
  const top = Number(opts.top);
  if (!Number.isInteger(top) || top < 1) throw new UsageError("--top: expected a whole number ≥ 1");
  applyLimits(opts as unknown as Record<string, unknown>);
  if (opts.script) checkFileSize(opts.script);
  const trained = loadModelFile(opts.model, "dialog");
  const kb =
    opts.kb === false ? null : typeof opts.kb === "string" ? knowledgeBaseOf(trained, opts.kb) : undefined;
  const bot = new DialogBot(trained, { kb });
  const input = opts.script ? createReadStream(opts.script) : process.stdin;
  if (opts.script) {
    input.on("error", () => {});
  }
  const tty = !opts.script && process.stdin.isTTY === true;
  const rl = createInterface({ input, output: process.stdout, terminal: tty });
  if (tty) {
    console.log(`Dialog task ${trained.dialog?.task} model. Type as the user; Ctrl-D quits.`);
    rl.setPrompt("you> ");
    rl.prompt();
  }
  const source = opts.script ?? "stdin";
  let dropped = 0;
  try {
    for await (const raw of checkedLines(rl, source)) {
      const line = raw.trim();
      if (line === ":reset") bot.reset();
      // A result line typed by hand only where no knowledge base answers: with one, only it writes results.
      else if (!bot.kb && isApiResult(line)) bot.addResult(line);
      else {
        const reply = bot.say(line, undefined, { limits: currentLimits() });
        if (reply.dropped > 0 && dropped === 0) {
          process.stderr.write(
            `note: the model's memory holds ${reply.memory.length} lines: older lines of the conversation are dropped\n`,
          );
        }
        dropped = reply.dropped;
        // Lines from a script or a pipe are not on the screen as typed ones are: show what the bot answers.
        if (!tty && !opts.json) console.log(`you: ${line === "" ? "<silence>" : line}`);
        show(reply, line, opts.showAttention === true, top, opts.json === true);
      }
      if (tty) rl.prompt();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (opts.script && code) throw new UsageError(`${opts.script}: cannot read (${code})`);
    throw e;
  }
}

function show(r: BotReply, user: string, attention: boolean, top: number, json: boolean): void {
  // The greeting first, where the bot speaks before the user's first line is answered.
  if (r.opening) showTurn(r.opening, "", attention, top, json);
  showTurn(r, user, attention, top, json);
  // What the bot went on to say by itself, as if the user had said nothing.
  for (const f of r.followUps ?? []) showTurn(f, "", attention, top, json);
}

function showTurn(r: BotReply, user: string, attention: boolean, top: number, json: boolean): void {
  if (json) {
    console.log(
      JSON.stringify({
        user,
        bot: r.response,
        probability: r.probability,
        attention: r.attention,
        ...(r.apiResults ? { api_results: r.apiResults } : {}),
      }),
    );
    return;
  }
  if (r.unknownWords.length > 0) {
    process.stderr.write(`warning: words the model never saw, ignored: ${r.unknownWords.join(", ")}\n`);
  }
  for (const line of r.apiResults ?? []) console.log(`api: ${line}`);
  console.log(`bot: ${r.response}`);
  if (!attention || r.memory.length === 0) return;
  r.attention.forEach((p, h) => {
    const order = p
      .map((w, i) => [w, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, top);
    console.log(`  hop ${h + 1}: ${order.map(([w, i]) => `${w.toFixed(2)} "${r.memory[i]}"`).join("  ")}`);
  });
}
