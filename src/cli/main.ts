// The command line: each command registers itself; this file only wires them up and turns failures into one
// line on stderr with an exit code.

import "./relaxed-simd.js";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { registerAsk } from "./commands/ask.js";
import { registerBabi } from "./commands/babi.js";
import { registerChat } from "./commands/chat.js";
import { registerData } from "./commands/data.js";
import { registerDialog } from "./commands/dialog.js";
import { registerDownload } from "./commands/download.js";
import { registerLM } from "./commands/lm.js";
import { registerModels } from "./commands/models.js";
import { registerServe } from "./commands/serve.js";
import { registerTest } from "./commands/test.js";
import { registerTrain } from "./commands/train.js";
import { reportError, UsageError } from "./errors.js";

function packageVersion(): string {
  const path = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("memn2n")
    .version(packageVersion(), "--version", "print the version")
    .description(
      "End-To-End Memory Networks: train and use them on bAbI, goal-oriented dialog and language modelling",
    )
    .exitOverride();
  registerData(program);
  registerTrain(program);
  registerTest(program);
  registerAsk(program);
  registerBabi(program);
  registerDownload(program);
  registerDialog(program);
  registerChat(program);
  registerModels(program);
  registerServe(program);
  registerLM(program);
  for (const cmd of allCommands(program)) cmd.exitOverride();
  return program;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Options that exclude each other (besides every --X with its --no-X). */
const EXCLUSIVE = [
  ["--task", "--tasks"],
  ["--resume", "--force"],
  ["--kb", "--no-kb"],
];

/** Refuses a command line that gives options excluding each other, rather than letting the last one win. */
export function checkExclusive(argv: string[]): void {
  const end = argv.indexOf("--");
  const flags = new Set(
    (end < 0 ? argv : argv.slice(0, end)).filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]),
  );
  for (const f of flags) {
    if (f.startsWith("--no-") && flags.has(`--${f.slice(5)}`))
      throw new UsageError(`--${f.slice(5)} and ${f}: give one`);
  }
  for (const [a, b] of EXCLUSIVE)
    if (flags.has(a) && flags.has(b)) throw new UsageError(`${a} and ${b}: give one`);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    checkExclusive(argv);
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its own `error: ...` line (or the help).
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" ? 0 : 2;
    }
    return reportError(err);
  }
}
