// The dialog use as a library: train a response-ranking model on a Dialog bAbI task, and talk to it. The
// bot keeps the conversation so far as its memory (the user's wishes and the API results), and answers each
// user line with the candidate response it scores highest.

import type { Sentence } from "../data/babi.js";
import { vectorize } from "../data/batch.js";
import { CandidateSet, matchIndex } from "../data/candidates.js";
import { BOT_WORD, dialogTokens, memoryOf, SILENCE, USER_WORD } from "../data/dialog.js";
import { DataError } from "../data/errors.js";
import type { DialogScore } from "../eval/dialog.js";
import { argmaxCandidate, type CandidateHead, createHead } from "../model/candidate-head.js";
import type { Config } from "../model/config.js";
import { modelFromText, type TrainedModel } from "../model/file.js";
import {
  attentionOf,
  createWorkspace,
  ensureWorkspace,
  forwardExample,
  type Workspace,
} from "../model/memn2n.js";
import type { Vocab } from "../text/vocab.js";
import {
  candidateTableOf,
  type DialogInput,
  type PreparedDialog,
  prepareDialog,
} from "../train/dialog-prepare.js";
import { runSeeds } from "../train/runs.js";
import type { RunResult } from "../train/trainer.js";
import { stripId } from "./model.js";
import { bestReport, type RunData, type RunHooks, type RunReport, runOne } from "./train.js";

export interface DialogTrainReport {
  config: Config;
  matchType: boolean;
  data: PreparedDialog;
  runs: RunReport[];
  best: RunReport;
  trained: TrainedModel;
}

/** What a run of a dialog task needs (what crosses to a worker thread). */
export function dialogRunData(data: PreparedDialog): RunData {
  return {
    vocabSize: data.vocab.size,
    train: data.train,
    valid: data.valid,
    tests: [],
    candidates: data.table,
    dialogTests: data.tests,
  };
}

/** Trains cfg.repeats runs one after another and keeps the best on the dev set. */
export function trainDialogRuns(
  input: DialogInput,
  cfg: Config,
  matchType: boolean,
  hooks: RunHooks = {},
): DialogTrainReport {
  const data = prepareDialog(input, cfg, matchType);
  const runData = dialogRunData(data);
  const runs = runSeeds(cfg).map((seed) => runOne(cfg, runData, seed, hooks));
  const best = bestReport(runs, cfg);
  const trained = trainedDialogModel(cfg, data, best.run, input.task, matchType);
  return { config: cfg, matchType, data, runs, best, trained };
}

export function trainedDialogModel(
  cfg: Config,
  data: PreparedDialog,
  run: RunResult,
  task: number,
  matchType: boolean,
): TrainedModel {
  return {
    config: cfg,
    vocab: data.vocab,
    answers: [],
    params: run.params,
    meta: { tasks: [task], seed: run.seed, epochs: run.epochs, validError: run.validError },
    dialog: {
      task,
      matchType,
      candidates: data.candidates.keys,
      entities: Object.fromEntries(data.candidates.entityType),
    },
  };
}

/** One test set's figures as the CLI and results print them. */
export function scoreLine(s: DialogScore): Record<string, number | string> {
  return {
    set: s.name,
    per_response_accuracy: s.perResponse,
    per_dialog_accuracy: s.perDialog,
    responses: s.responses,
    dialogs: s.dialogs,
  };
}

export interface BotReply {
  /** The chosen response. */
  response: string;
  probability: number;
  /** attention[hop][i]: weight of memory line i (see `memory`) at that hop. */
  attention: number[][];
  /** The memory lines the reply was computed from, oldest first, with their speaker and time words. */
  memory: string[];
  unknownWords: string[];
}

/** A bot from a dialog model file's contents (a JSON string or the parsed object); `name` labels errors. */
export function loadDialogBot(json: string | object, name = "model"): DialogBot {
  const trained = modelFromText(json, name);
  if (!trained.dialog) throw new DataError(name, null, "dialog: not a dialog model");
  return new DialogBot(trained);
}

/** A dialog model's candidates and entity types. */
export function candidateSetOf(trained: TrainedModel): CandidateSet {
  if (!trained.dialog) {
    throw new DataError("model", null, "dialog: not a dialog model (train one with `memn2n dialog train`)");
  }
  const spec = trained.dialog;
  return new CandidateSet(
    spec.candidates.map((c) => c.split(" ")),
    new Map(Object.entries(spec.entities)),
  );
}

/** The answer layer of a trained dialog model. */
export function headOf(trained: TrainedModel, set = candidateSetOf(trained)): CandidateHead {
  const vocab = trained.vocab;
  return createHead(candidateTableOf(set, vocab, trained.dialog?.matchType === true), vocab.size);
}

/**
 * A conversation with a trained dialog model. `say` takes the user's line (an empty line is `<SILENCE>`)
 * and returns the bot's reply; both go into the memory. `addResult` stores an API result line
 * (`resto_x R_cuisine italian`) as the bot's knowledge-base lookups do in the data.
 */
export class DialogBot {
  private readonly vocab: Vocab;
  private readonly cfg: Config;
  private readonly set: CandidateSet;
  private readonly head: CandidateHead;
  private readonly ws: Workspace;
  private history: { tokens: string[]; turn: number }[] = [];
  private turn = 0;

  constructor(private readonly trained: TrainedModel) {
    this.vocab = trained.vocab;
    this.cfg = trained.config;
    this.set = candidateSetOf(trained);
    this.head = headOf(trained, this.set);
    this.ws = createWorkspace(trained.params, this.cfg.encoding, 1, 1, this.head);
  }

  /** Forgets the conversation. */
  reset(): void {
    this.history = [];
    this.turn = 0;
  }

  addResult(line: string): void {
    const tokens = dialogTokens(stripId(line));
    if (tokens.length > 0) this.history.push({ tokens: [...tokens, BOT_WORD], turn: this.turn });
  }

  say(userLine: string): BotReply {
    const user = dialogTokens(userLine);
    const query = user.length > 0 ? user : [SILENCE];
    this.turn++;
    const M = this.cfg.memorySize;
    const all = memoryOf(this.history, this.turn);
    const sentences: Sentence[] = all.slice(Math.max(0, all.length - M));
    const example = { story: 0, line: 0, sentences: all, question: query, answer: "", supporting: [] };
    let J = query.length;
    for (const s of sentences) J = Math.max(J, s.tokens.length);
    const batch = vectorize(
      [{ ...example, sentences }],
      this.vocab,
      { memorySize: Math.max(1, sentences.length), sentenceLen: J },
      () => 0,
    );
    if (this.trained.dialog!.matchType) batch.match = matchIndex(this.set, [example]);
    const p = this.trained.params;
    ensureWorkspace(this.ws, p, batch.memorySize, batch.sentenceLen);
    forwardExample(p, this.ws, batch, 0, batch.time, 0, false);
    const best = argmaxCandidate(this.head);
    const attention = attentionOf(this.ws, p.hops, sentences.length);
    const response = this.set.keys[best];
    this.history.push({ tokens: [...query, USER_WORD], turn: this.turn });
    this.history.push({ tokens: [...this.set.candidates[best], BOT_WORD], turn: this.turn });
    return {
      response,
      probability: this.head.probs[best],
      attention,
      memory: sentences.map((s) => s.tokens.join(" ")),
      unknownWords: [...new Set(query.filter((w) => !this.vocab.has(w)))],
    };
  }
}
