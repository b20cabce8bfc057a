// Finding and reading the Dialog bAbI files: the Node edge of the dialog data layer.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { decodeUtf8 } from "../data/decode.js";
import { type Dialog, parseCandidates, parseDialogs } from "../data/dialog.js";
import { KnowledgeBase } from "../data/kb.js";
import { type DialogInput, type DialogSplit, dialogInputOf } from "../train/dialog-prepare.js";
import { dataRoots } from "./datadir.js";
import { UsageError } from "./errors.js";
import { checkFileSize, currentLimits } from "./limits.js";

export const DIALOG_FOLDER = "dialog-babi";
export const DIALOG_TASKS = [1, 2, 3, 4, 5, 6];
const FILE = /^dialog-babi-task(\d)-[\w-]*?-(trn|dev|tst|tst-OOV)\.txt$/;

/** The dialog folder: --data itself, or `dialog-babi` under MEMN2N_DATA, ../shared/data or the cache. */
export function findDialogDir(explicit?: string): string {
  const env = process.env.MEMN2N_DATA;
  if (!explicit && env && !existsSync(env)) throw new UsageError(`MEMN2N_DATA=${env}: no such folder`);
  const tried: string[] = [];
  for (const root of dataRoots(explicit)) {
    for (const dir of explicit ? [root, join(root, DIALOG_FOLDER)] : [join(root, DIALOG_FOLDER)]) {
      tried.push(dir);
      if (existsSync(dir) && readdirSync(dir).some((n) => FILE.test(n))) return dir;
    }
  }
  if (explicit && !existsSync(explicit)) throw new UsageError(`--data ${explicit}: no such folder`);
  throw new UsageError(
    `no Dialog bAbI data found. Looked in:\n${tried.join("\n")}\n` +
      "Pass --data DIR (a folder of dialog-babi-task*.txt files), set MEMN2N_DATA, " +
      "or run `memn2n download --dialog`.",
  );
}

function readText(path: string): string {
  let bytes: Buffer;
  checkFileSize(path);
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  return decodeUtf8(bytes, path);
}

export const KB_FILE = "dialog-babi-kb-all.txt";

export function readKnowledgeBase(path: string): KnowledgeBase {
  return KnowledgeBase.parse(readText(path), path, currentLimits());
}

export function readDialogFile(path: string): Dialog[] {
  return parseDialogs(readText(path), path, currentLimits());
}

/** The file of one split of a task, or null when the folder has none. */
export function dialogFile(dir: string, task: number, split: string): string | null {
  const name = readdirSync(dir).find((n) => {
    const m = FILE.exec(n);
    return m !== null && Number(m[1]) === task && m[2] === split;
  });
  return name ? join(dir, name) : null;
}

function split(dir: string, task: number, name: string): DialogSplit {
  const file = dialogFile(dir, task, name);
  if (!file)
    throw new UsageError(`task ${task}: no ${name} file (dialog-babi-task${task}-*-${name}.txt) in ${dir}`);
  return { name, file, dialogs: readDialogFile(file) };
}

/** Everything a task needs: training, dev and test dialogs (tst-OOV too where it exists), candidates, entities. */
export function loadDialogTask(
  dir: string,
  task: number,
  testSets: string[] = ["tst", "tst-OOV"],
): DialogInput {
  if (!DIALOG_TASKS.includes(task)) throw new UsageError(`--task: the dialog tasks are 1 to 6, got ${task}`);
  const train = split(dir, task, "trn");
  const dev = split(dir, task, "dev");
  const tests = testSets.filter((s) => dialogFile(dir, task, s) !== null).map((s) => split(dir, task, s));
  const candFile = join(
    dir,
    task === 6 ? "dialog-babi-task6-dstc2-candidates.txt" : "dialog-babi-candidates.txt",
  );
  const candidates = parseCandidates(readText(candFile), candFile, currentLimits());
  // DSTC2 (task 6) has no knowledge-base file.
  const kb = task === 6 ? undefined : readKnowledgeBase(join(dir, KB_FILE));
  return dialogInputOf({ task, train, dev, tests, candidates, kb });
}

export function resolveDialogDir(explicit?: string): string {
  return explicit ? resolve(findDialogDir(explicit)) : findDialogDir();
}
