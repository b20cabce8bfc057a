// Every Config field as a CLI option, from one table, so that nothing the model has is out of reach of the
// command line. Only the options a user gives override the defaults.

import { type Command, InvalidArgumentError, Option } from "commander";
import { FieldError } from "../data/errors.js";
import { parseTaskList } from "../data/tasks.js";
import {
  CONFIG_CHOICES,
  type Config,
  ConfigError,
  jointDefaults,
  makeConfig,
  PAPER_DEFAULTS,
} from "../model/config.js";
import { BABI_SETS } from "./datadir.js";
import { UsageError } from "./errors.js";

/** "choice": one of the field's CONFIG_CHOICES; "tasks": a task list such as 1-6,9-20 (empty: all). */
type Kind = "int" | "float" | "bool" | "weight" | "choice" | "tasks";

const OPTIONS: [keyof Config, string, Kind, string][] = [
  ["hops", "--hops", "int", "memory hops K"],
  ["dim", "--dim", "int", "embedding size d (20; 50 with --joint)"],
  [
    "encoding",
    "--encoding",
    "choice",
    "sentence encoding: the official code's position encoding, the paper's printed one, or bag of words",
  ],
  ["temporal", "--temporal", "bool", "temporal encoding"],
  ["linearStart", "--linear-start", "bool", "linear start"],
  ["lsRule", "--ls-rule", "choice", "how linear start ends: validation loss stops falling, or fixed epochs"],
  ["lsEpochs", "--ls-epochs", "int", "most linear-start epochs (valid rule) or their number (fixed rule)"],
  [
    "lsPatience",
    "--ls-patience",
    "int",
    "linear-start epochs without a new validation-loss low before it ends (15; 30 joint 10k)",
  ],
  ["lsLr", "--ls-lr", "float", "learning rate during linear start"],
  [
    "attendEmpty",
    "--attend-empty",
    "bool",
    "memory softmax also over empty slots (score 0), as the official code",
  ],
  ["randomNoise", "--random-noise", "bool", "random noise: empty memories as random time gaps in training"],
  ["noiseFraction", "--noise-fraction", "float", "fraction of empty memories for random noise"],
  ["tying", "--tying", "choice", "weight tying"],
  ["nonlin", "--nonlin", "choice", "nonlinearity on the controller state after each hop"],
  ["hopMap", "--hop-map", "bool", "u' = H u + o with adjacent tying too (layer-wise always has H)"],
  [
    "relativeTime",
    "--relative-time",
    "bool",
    "each hop scores slots by their time offset from what the last hop read",
  ],
  [
    "superviseAttention",
    "--supervise-attention",
    "weight",
    "strong supervision: the attention of hop k learns the k-th supporting fact, with this loss weight (1 when given alone)",
  ],
  [
    "superviseRest",
    "--supervise-rest",
    "choice",
    "hops past the last supporting fact: free, or on the last one",
  ],
  [
    "superviseExtra",
    "--supervise-extra",
    "choice",
    "supporting facts past the last hop: dropped, or spread with its own over its target",
  ],
  [
    "superviseTasks",
    "--supervise-tasks",
    "tasks",
    "the tasks whose supporting facts are taught (e.g. 1-6,9-20; the others learn from the answers alone)",
  ],
  [
    "balanceTasks",
    "--balance-tasks",
    "bool",
    "joint: repeat each task's training questions to about as many as the largest task's (task 3's 1k file beside 10k ones)",
  ],
  [
    "matchQuestion",
    "--match-question",
    "bool",
    "memory words that occur in the question become words naming their place in it (#q1, #q2, ...)",
  ],
  ["memorySize", "--memory-size", "int", "most recent sentences kept in memory"],
  ["sentenceLen", "--sentence-len", "int", "most words per sentence (0: as the data needs)"],
  ["epochs", "--epochs", "int", "epochs after linear start (100; 60 joint 1k, 20 joint 10k)"],
  ["lr", "--lr", "float", "learning rate"],
  ["annealEvery", "--anneal-every", "int", "halve the learning rate every N epochs"],
  ["annealFactor", "--anneal-factor", "float", "factor applied at each anneal"],
  ["batchSize", "--batch-size", "int", "questions per batch (loss summed over the batch)"],
  ["maxGradNorm", "--max-grad-norm", "float", "clip gradients to this L2 norm"],
  ["clip", "--clip", "choice", "clip each matrix's gradient, or all together"],
  ["initStd", "--init-std", "float", "standard deviation of the initial weights"],
  ["validFraction", "--valid-fraction", "float", "fraction of training questions held out (by story)"],
  ["seed", "--seed", "int", "seed of the first run (run r uses seed + r)"],
  ["splitSeed", "--split-seed", "int", "seed of the validation split (default: --seed)"],
  ["repeats", "--repeats", "int", "runs with different seeds; the best is kept"],
  ["candidateWords", "--candidate-words", "bool", "dialog: the vocabulary also holds the candidates' words"],
  ["selectBy", "--select-by", "choice", "keep the run with the lowest validation or training error"],
];

/** Options of the dialog commands only, and of the bAbI ones only (dialog turns have no supporting facts). */
const DIALOG_ONLY: (keyof Config)[] = ["candidateWords"];
const BABI_ONLY: (keyof Config)[] = [
  "matchQuestion",
  "superviseAttention",
  "superviseRest",
  "superviseExtra",
  "superviseTasks",
  "balanceTasks",
];

/** Every Config field as an option; `defaults` is what the help shows (the dialog commands have their own). */
export function addConfigOptions(cmd: Command, defaults: Partial<Config> | null = null): Command {
  const dialog = defaults !== null;
  for (const [key, flag, kind, text] of OPTIONS) {
    if (dialog ? BABI_ONLY.includes(key) : DIALOG_ONLY.includes(key)) continue;
    const def = { ...PAPER_DEFAULTS, ...defaults }[key];
    // The bAbI notes in parentheses ("50 with --joint") say nothing about the dialog defaults.
    const desc = (dialog ? text.replace(/ \([^)]*\)$/, "") : text).replace(/^dialog: /, "");
    if (kind === "weight") {
      cmd.addOption(new Option(`${flag} [w]`, `${desc} (default: off)`).preset("1").argParser(parseNumber));
      continue;
    }
    if (kind === "tasks") {
      cmd.addOption(new Option(`${flag} <list>`, `${desc} (default: all)`).argParser(parseTasks));
      continue;
    }
    if (kind === "bool") {
      cmd.addOption(new Option(flag, `${desc} (default: ${def ? "on" : "off"})`));
      cmd.addOption(new Option(flag.replace("--", "--no-"), `turn ${flag} off`));
    } else if (kind === "choice") {
      const values = CONFIG_CHOICES[key as keyof typeof CONFIG_CHOICES];
      cmd.addOption(new Option(`${flag} <value>`, `${desc} (default: ${def})`).choices(values));
    } else {
      const parse = kind === "int" ? parseWhole : parseNumber;
      const shown = def === null ? "" : ` (default: ${def})`;
      cmd.addOption(
        new Option(`${flag} <${kind === "int" ? "n" : "x"}>`, `${desc}${shown}`).argParser(parse),
      );
    }
  }
  if (!defaults) {
    cmd.option("--joint", "one model over all the given tasks (d = 50 and the paper's joint schedule)");
  }
  return cmd;
}

function parseTasks(v: string): number[] {
  try {
    return parseTaskList(v);
  } catch (e) {
    if (e instanceof FieldError) throw new InvalidArgumentError(e.detail);
    throw e;
  }
}

function parseWhole(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("expected a whole number.");
  return Number(v);
}

function parseNumber(v: string): number {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) throw new InvalidArgumentError("expected a number.");
  return x;
}

/**
 * The config from the paper's defaults, the joint defaults when --joint (or `base`, e.g. the dialog
 * defaults), and the options given.
 */
export function configFromOptions(
  opts: Record<string, unknown>,
  set: string,
  base?: Partial<Config>,
): Config {
  const given: Partial<Config> = {};
  for (const [key] of OPTIONS) {
    if (opts[key] !== undefined) (given as Record<string, unknown>)[key] = opts[key];
  }
  const joint = opts.joint === true;
  try {
    const defaults = base ?? (joint ? jointDefaults(set.includes("10k")) : {});
    return makeConfig({ ...defaults, ...given, joint });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const flag = OPTIONS.find(([k]) => k === e.field)?.[1] ?? e.field;
    throw new UsageError(`${flag}: ${e.detail}`);
  }
}

/** --data and --set: where the bAbI files are (every command that reads them). */
export function addDataOptions(cmd: Command, o: { training?: boolean } = {}): Command {
  cmd
    .option("--data <dir>", "bAbI folder: the release root or a folder of qaN_*train.txt files")
    .option("--set <name>", `which set of the release (${BABI_SETS.join(", ")})`, "en");
  if (o.training)
    cmd.option(
      "--fallback-set <name>",
      "where --set lacks a task's training file, read it from this set (e.g. the 10k task 3 from en)",
    );
  return cmd;
}

/** --workers, --json and --quiet: the options of commands that train. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option("--workers <n>", "runs trained at once, on worker threads (default: one per core)")
    .option(
      "--threads <n>",
      "threads inside a run trained alone (one run, or --workers 1), and the most a sweep's run takes once cores fall idle; the weights do not depend on it (default: one per core)",
    )
    .option("--json", "print one JSON object as the last line")
    .option("--quiet", "no progress output");
}
