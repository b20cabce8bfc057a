// The dialog use as a library: train a response-ranking model on a Dialog bAbI task, and talk to it. The
// bot keeps the conversation so far as its memory (the user's wishes and the API results), and answers each
// user line with the candidate response it scores highest.

import type { Sentence } from "../data/babi.js";
import { vectorize } from "../data/batch.js";
import { CandidateSet, matchIndex } from "../data/candidates.js";
import {
  BOT_WORD,
  carryOnOf,
  dialogTokens,
  isResultLine,
  memoryOf,
  opensSilent,
  parseCandidates,
  parseDialogs,
  responseShape,
  SILENCE,
  typedTokens,
  USER_WORD,
} from "../data/dialog.js";
import { DataError, FieldError } from "../data/errors.js";
import { KnowledgeBase } from "../data/kb.js";
import { checkLineCount, checkText, DEFAULT_LIMITS, type Limits } from "../data/limits.js";
import { Placeholders, placeholderRank } from "../data/placeholders.js";
import { type DialogScore, dialogScores } from "../eval/dialog.js";
import { argmaxCandidate, type CandidateHead, createHead } from "../model/candidate-head.js";
import { type Config, dialogDefaults, makeConfig } from "../model/config.js";
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
  type DialogSplit,
  dialogInputOf,
  type PreparedDialog,
  prepareDialog,
  withPlaceholders,
} from "../train/dialog-prepare.js";
import { runSeeds } from "../train/runs.js";
import { finishRun, type TrainEvent, Trainer } from "../train/trainer.js";
import { type RankedAnswer, stripId } from "./model.js";
import { bestReport, EpochRun, type RunData, type RunHooks, type RunReport, runOne } from "./train.js";

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
  const trained = trainedDialogModel(cfg, data, best, input, matchType);
  return { config: cfg, matchType, data, runs, best, trained };
}

/** A trained dialog model as its file holds it; with the task's knowledge base when it has one. */
export function trainedDialogModel(
  cfg: Config,
  data: PreparedDialog,
  report: RunReport,
  input: DialogInput,
  matchType: boolean,
): TrainedModel {
  const { run } = report;
  return {
    config: cfg,
    vocab: data.vocab,
    answers: [],
    params: run.params,
    meta: {
      tasks: [input.task],
      seed: run.seed,
      epochs: run.epochs,
      validError: run.validError,
      ...(report.dialog
        ? {
            dialogTests: report.dialog.map((d) => ({
              name: d.name,
              perResponse: d.perResponse,
              perDialog: d.perDialog,
            })),
          }
        : {}),
    },
    dialog: {
      task: input.task,
      matchType,
      candidates: data.candidates.keys,
      entities: Object.fromEntries(data.candidates.entityType),
      ...(input.placeholders ? { placeholders: input.placeholders } : {}),
      ...(input.kb ? { kb: { attributes: input.kb.attributes, rows: input.kb.rows } } : {}),
      carryOn: carryOnOf(input.train.dialogs, (r) => responseShape(r, data.candidates.entityType)),
      ...(opensSilent(input.train.dialogs) ? { opens: true } : {}),
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
  /** The k most probable responses (among those the bot may give). */
  top: RankedAnswer[];
  /** attention[hop][i]: weight of memory line i (see `memory`) at that hop. */
  attention: number[][];
  /** The memory lines the reply was computed from, oldest first, with their speaker and time words. */
  memory: string[];
  /** Earlier lines the memory had no room for (the model's memory size). */
  dropped: number;
  /** The conversation after this reply, as lines `replyTo` takes back. */
  history: string[];
  unknownWords: string[];
  /**
   * The result lines of the bot's last API call that the knowledge base answered and that went into the
   * memory before this reply.
   */
  apiResults?: string[];
  /**
   * The replies the bot went on with by itself, in order, each as after a silence of the user: where the
   * data's users always say nothing next (after "i'm on it", after an api_call). `history` is then the
   * conversation after the last of them.
   */
  followUps?: BotReply[];
  /** The bot's greeting before this reply, where the data's dialogs open with the bot speaking first. */
  opening?: BotReply;
}

export interface ReplyOptions {
  /** How many ranked responses to return (default 5). */
  topK?: number;
  /** Bounds on the user's line and a given history, checked before anything is allocated (DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
}

export interface BotOptions {
  /** The knowledge base that answers the bot's API calls: the model's own by default; null: none. */
  kb?: KnowledgeBase | null;
}

/** A bot from a dialog model file's contents (a JSON string or the parsed object); `name` labels errors. */
export function loadDialogBot(
  content: string | object | Uint8Array,
  name = "model",
  options: BotOptions = {},
): DialogBot {
  const trained = modelFromText(content, name);
  if (!trained.dialog) throw new DataError(name, null, "dialog: not a dialog model");
  return new DialogBot(trained, options);
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

/** What a dialog model has heard: the memory lines so far, the turn count, and an API call awaiting results. */
export class Conversation {
  history: { tokens: string[]; turn: number; result?: string[] }[] = [];
  turn = 0;
  /** The bot's last reply, when it was an API call that the user has not answered yet. */
  pendingCall: string[] | null = null;
  /** The conversation as lines of the data's format: `user<TAB>bot` turns and API result lines. */
  lines: string[] = [];
}

/** The most history lines a conversation replays (a dialog of the data has at most a few hundred). */
export const MAX_HISTORY = 10_000;

/**
 * The lines of a long conversation a reply reads: far more than the memory holds (50 sentences) and than the
 * data's longest dialogs, so every dialog of the data's length is replied to as from its whole transcript,
 * and a reply costs the same at the ten-thousandth turn as at the thousandth. The server's sessions read
 * this many; the bot's own conversation (the CLI's chat, the page) is cut back to it once it holds twice as
 * many.
 */
export const CONVERSATION_WINDOW = 1000;

/**
 * A conversation with a trained dialog model. `say` takes the user's line as a person types it (punctuation
 * split off as the data's text has it; an empty line is `<SILENCE>`) and returns the bot's reply; both go
 * into the memory. Where the data's users always say nothing next ("i'm on it"), the bot goes on by itself
 * (`followUps`). When the bot has a knowledge base and its reply is an `api_call`, the restaurants it finds
 * go into the memory as the data's API result lines before it answers the user's next line, unless that
 * line changes the request (names a cuisine, place, party size or price): the data's dialogs then hold no
 * results for the call. `addResult` stores such a line by hand. A line of words it never saw, when nothing
 * in its memory tells the candidates apart, gets NOT_UNDERSTOOD rather than the first candidate.
 * A placeholder model sees the restaurants of the memory as `resto@1`, `resto@2`, ... (best rating
 * first) and its reply is written back with their names.
 * The bot keeps one conversation of its own; `replyTo` answers from a history given as lines instead
 * (a stateless service), and `say(line, conversation)` continues any Conversation.
 */
export class DialogBot {
  private readonly vocab: Vocab;
  private readonly cfg: Config;
  private readonly set: CandidateSet;
  private readonly head: CandidateHead;
  private readonly ws: Workspace;
  /** Per candidate, the highest placeholder rank it names (0: none). */
  private readonly ranks: Int32Array;
  readonly kb: KnowledgeBase | null;
  /** The shapes of the responses after which the bot goes on by itself: the model file's `carryOn`. */
  private readonly carryOn: Set<string>;
  private readonly entityType: Map<string, string>;
  private conversation = new Conversation();

  constructor(
    private readonly trained: TrainedModel,
    options: BotOptions = {},
  ) {
    this.vocab = trained.vocab;
    this.cfg = trained.config;
    this.set = candidateSetOf(trained);
    this.head = headOf(trained, this.set);
    this.ws = createWorkspace(trained.params, this.cfg.encoding, 1, 1, this.head);
    this.ranks = Int32Array.from(this.set.candidates, (c) => Math.max(0, ...c.map(placeholderRank)));
    this.carryOn = new Set(trained.dialog!.carryOn ?? []);
    this.entityType = new Map(Object.entries(trained.dialog!.entities));
    const spec = trained.dialog!.kb;
    this.kb =
      options.kb !== undefined ? options.kb : spec ? new KnowledgeBase(spec.attributes, spec.rows) : null;
  }

  get model(): TrainedModel {
    return this.trained;
  }

  /** Forgets the conversation. */
  reset(): void {
    this.conversation = new Conversation();
  }

  addResult(line: string, conv = this.conversation): void {
    const text = stripId(line);
    const tokens = dialogTokens(text);
    if (tokens.length === 0) return;
    conv.history.push({ tokens: [...tokens, BOT_WORD], turn: conv.turn, result: tokens });
    conv.lines.push(text.trim());
  }

  /**
   * A conversation from its lines, as the data writes them: `user<TAB>bot` for a turn (an empty user part
   * is silence), `entity R_attribute value` for an API result. `field` names the lines in errors.
   */
  conversationOf(lines: string[], field = "history"): Conversation {
    if (lines.length > MAX_HISTORY) {
      throw new FieldError(
        field,
        `${lines.length} lines, more than the ${MAX_HISTORY} a conversation may hold`,
      );
    }
    const conv = new Conversation();
    lines.forEach((line, i) => {
      const tab = line.indexOf("\t");
      if (tab < 0) {
        if (!isApiResult(line)) {
          throw new FieldError(
            `${field}.${i}`,
            "expected `user<TAB>bot` or an API result `entity R_attribute value`",
          );
        }
        this.addResult(line, conv);
        conv.pendingCall = null;
        return;
      }
      const user = dialogTokens(line.slice(0, tab));
      const bot = dialogTokens(line.slice(tab + 1));
      if (bot.length === 0)
        throw new FieldError(`${field}.${i}`, "a turn without the bot's response after the TAB");
      conv.turn++;
      const said = user.length > 0 ? user : [SILENCE];
      conv.history.push({ tokens: [...said, USER_WORD], turn: conv.turn });
      conv.history.push({ tokens: [...bot, BOT_WORD], turn: conv.turn });
      conv.lines.push(`${said.join(" ")}\t${bot.join(" ")}`);
      conv.pendingCall = this.kb?.answers(bot) ? bot : null;
    });
    return conv;
  }

  /** The reply to `user` after the conversation `history` (lines as `conversationOf` takes them). */
  replyTo(history: string[], user: string, options: ReplyOptions = {}): BotReply {
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    checkLineCount(history.length, "history", limits, "lines");
    history.forEach((line, i) => {
      checkText(line, `history.${i}`, limits, dialogTokens, "line");
    });
    return this.say(user, this.conversationOf(history), options);
  }

  say(userLine: string, conv = this.conversation, options: ReplyOptions = {}): BotReply {
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    checkText(userLine, "user", limits, dialogTokens, "line");
    if (conv === this.conversation && conv.lines.length > 2 * CONVERSATION_WINDOW) {
      // a long chat reads its last lines only, as a server session does (amortised: once every window)
      conv = this.conversation = this.conversationOf(conv.lines.slice(-CONVERSATION_WINDOW));
    }
    const user = typedTokens(userLine, (w) => this.vocab.has(w));
    // Where the data's bot speaks first (task 6's greeting), it greets before it answers the first line.
    const opening =
      this.trained.dialog!.opens && conv.history.length === 0 && user.length > 0
        ? this.turn([], conv, options).reply
        : undefined;
    const first = this.turn(user, conv, options);
    // Where the data's user always says nothing next ("i'm on it", an api_call), the bot goes on by itself.
    const followUps: BotReply[] = [];
    let last = first;
    while (followUps.length < MAX_FOLLOW_UPS && this.goesOn(last.said)) {
      last = this.turn([], conv, options);
      followUps.push(last.reply);
    }
    return {
      ...first.reply,
      ...(opening ? { opening } : {}),
      ...(followUps.length > 0 ? { followUps } : {}),
      // The last turn's copy of the conversation is the whole of it: no second copy.
      history: last.reply.history,
    };
  }

  /** Whether the bot goes on by itself after saying `said` (the model's view): the data's users never speak then. */
  private goesOn(said: string[] | null): boolean {
    return said !== null && this.carryOn.has(responseShape(said, this.entityType));
  }

  /** One turn: the user's tokens (none: silence) in, the bot's reply out, both into the memory. */
  private turn(
    user: string[],
    conv: Conversation,
    options: ReplyOptions,
  ): { reply: BotReply; said: string[] | null } {
    const raw = user.length > 0 ? user : [SILENCE];
    // A pending API call is looked up unless the user changes the request: the data's users who do, and only
    // they, name a cuisine, place, party size or price ("instead could it be in madrid"), and the data then
    // holds no results for the old call. Any other line ("sounds good") lets the lookup through.
    const changes = user.some((w) => this.entityType.has(w));
    const results = conv.pendingCall && this.kb && !changes ? this.kb.lookup(conv.pendingCall) : null;
    conv.pendingCall = null;
    if (results) {
      conv.history = conv.history.filter((h) => !h.result);
      conv.lines = conv.lines.filter((l) => l.includes("\t"));
      for (const line of results) this.addResult(line, conv);
    }
    conv.turn++;
    const ph = this.trained.dialog!.placeholders
      ? new Placeholders(conv.history.flatMap((h) => (h.result ? [h.result] : [])))
      : null;
    const view = (ws: string[]) => (ph ? ws.map((w) => ph.toModel(w)) : ws);
    const query = view(raw);
    const M = this.cfg.memorySize;
    const all = memoryOf(
      conv.history.map((h) => ({
        tokens: view(h.result ? [...asInData(h.result), BOT_WORD] : h.tokens),
        turn: h.turn,
      })),
      conv.turn,
    );
    const from = Math.max(0, all.length - M);
    const sentences: Sentence[] = all.slice(from);
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
    // A placeholder model may only name the restaurants its memory holds.
    const allowed = ph ? (c: number) => this.ranks[c] <= ph.size : () => true;
    const words = (c: number) =>
      ph ? this.set.candidates[c].map((w) => ph.fromModel(w) ?? w) : this.set.candidates[c];
    const best = argmaxCandidate(this.head, allowed);
    const probs = this.head.probs;
    const order: number[] = [];
    for (let c = 0; c < this.head.count; c++) if (allowed(c)) order.push(c);
    order.sort((a, b) => probs[b] - probs[a] || a - b);
    const top = order
      .slice(0, Math.max(1, options.topK ?? 5))
      .map((c) => ({ answer: words(c).join(" "), probability: probs[c] }));
    const attention = attentionOf(this.ws, p.hops, sentences.length);
    const unknownWords = [...new Set(query.filter((w) => !this.vocab.has(w)))];
    // What the user sees of the memory: restaurant names rather than placeholders, "(waiting)" for silence.
    const memory = conv.history
      .slice(from)
      .map((h, i) => [...h.tokens.map(shownWord), sentences[i].tokens.at(-1)!].join(" "));
    const common = {
      attention,
      memory,
      dropped: from,
      unknownWords,
      ...(results ? { apiResults: results } : {}),
    };
    // Nothing of the line is known and nothing in the memory tells the candidates apart: any choice would be
    // the first candidate's by chance (an api_call), so the bot says so, and the turn stays out of memory.
    const tie = order.length > 1 && probs[order[0]] - probs[order[1]] <= 1e-9 * probs[order[0]];
    if (user.length > 0 && query.every((w) => !this.vocab.has(w)) && tie) {
      conv.turn--;
      const reply = { response: NOT_UNDERSTOOD, probability: 0, top, ...common, history: [...conv.lines] };
      return { reply, said: null };
    }
    const response = words(best);
    // The user reads a restaurant's own phone number and address where the knowledge base has them.
    const values = valuesOf(conv.history);
    const shown = response.map((w) => values.get(w) ?? w);
    conv.history.push({ tokens: [...raw, USER_WORD], turn: conv.turn });
    conv.history.push({ tokens: [...response, BOT_WORD], turn: conv.turn });
    conv.lines.push(`${raw.join(" ")}\t${response.join(" ")}`);
    if (this.kb?.answers(response)) conv.pendingCall = response;
    const reply = {
      response: shown.join(" "),
      probability: probs[best],
      top,
      ...common,
      history: [...conv.lines],
    };
    return { reply, said: this.set.candidates[best] };
  }
}

/**
 * The attributes whose value the data writes as the restaurant's name and a suffix (`resto_x_phone`): the
 * model was trained on those words, whatever a knowledge base holds instead.
 */
const NAMED_VALUES: Record<string, string> = { r_phone: "_phone", r_address: "_address" };

/** A result line as the model read such lines in training: a phone or address written the data's way. */
function asInData(tokens: string[]): string[] {
  const suffix = NAMED_VALUES[tokens[1]];
  return suffix && tokens.length >= 3 ? [tokens[0], tokens[1], `${tokens[0]}${suffix}`] : tokens;
}

/** From a conversation's result lines: the data's word for a phone or address -> the knowledge base's value. */
function valuesOf(history: { tokens: string[]; result?: string[] }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of history) {
    const r = h.result;
    if (r && r.length >= 3 && NAMED_VALUES[r[1]])
      out.set(`${r[0]}${NAMED_VALUES[r[1]]}`, r.slice(2).join(" "));
  }
  return out;
}

/** The most replies the bot goes on with by itself after one line of the user's. */
export const MAX_FOLLOW_UPS = 5;

/** The bot's reply to a line none of whose words it knows, when nothing in its memory decides either. */
export const NOT_UNDERSTOOD = "sorry, i did not understand that: i know none of its words";

/** A memory word as a person reads it: the data's internal spellings of silence and attributes spelled out. */
function shownWord(w: string): string {
  if (w === SILENCE) return "(waiting)";
  return /^r_\w+$/.test(w) ? w.slice(2) : w;
}

/** An API result line as the data writes it: `entity R_attribute value` (an id before it is allowed). */
export function isApiResult(line: string): boolean {
  return isResultLine(dialogTokens(stripId(line)));
}

/** A file's name (for messages) and text. */
export interface NamedText {
  name: string;
  text: string;
}

export interface DialogTrainOptions {
  task: number;
  train: NamedText;
  /** The dev dialogs: the validation set. */
  dev: NamedText;
  test?: NamedText;
  candidates: NamedText;
  /** The knowledge base (tasks 1-5): the bot answers its own API calls from it. */
  kb?: NamedText;
  matchType?: boolean;
  /** Restaurants as placeholders ranked by rating, as `memn2n dialog train --placeholders`. */
  placeholders?: boolean;
  /** Train on the first this many training dialogs only (a quicker, weaker bot). */
  dialogs?: number;
  /** Any hyperparameters; the rest are the dialog defaults. */
  config?: Partial<Config>;
  onEvent?: (e: TrainEvent) => void;
  /** Bounds on the files' lines, utterances and dialogs, checked as they are read (DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
}

export interface DialogTrainResult {
  bot: DialogBot;
  trained: TrainedModel;
  devAccuracy: number;
  tests: DialogScore[];
  epochs: number;
}

/**
 * One dialog training run, an epoch at a time (as TrainingRun for bAbI): from the files' text to a bot,
 * the same steps as `memn2n dialog train` (read, placeholders, prepare, train, score on the test dialogs).
 */
export class DialogTrainingRun extends EpochRun {
  readonly config: Config;
  readonly data: PreparedDialog;
  private readonly input: DialogInput;
  private readonly matchType: boolean;
  protected readonly trainer: Trainer;

  constructor(o: DialogTrainOptions) {
    super();
    this.config = makeConfig({ ...dialogDefaults(), ...o.config });
    this.matchType = o.matchType === true;
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    const split = (name: string, f: NamedText, keep = Infinity): DialogSplit => ({
      name,
      file: f.name,
      dialogs: parseDialogs(f.text, f.name, limits).slice(0, keep),
    });
    if (o.dialogs !== undefined && !(Number.isInteger(o.dialogs) && o.dialogs >= 1)) {
      throw new FieldError("dialogs", `a whole number of dialogs, at least 1, got ${o.dialogs}`);
    }
    const input = dialogInputOf({
      task: o.task,
      train: split("trn", o.train, o.dialogs),
      dev: split("dev", o.dev),
      tests: o.test ? [split("tst", o.test)] : [],
      candidates: parseCandidates(o.candidates.text, o.candidates.name, limits),
      kb: o.kb ? KnowledgeBase.parse(o.kb.text, o.kb.name, limits) : undefined,
    });
    this.input = o.placeholders ? withPlaceholders(input) : input;
    this.data = prepareDialog(this.input, this.config, this.matchType);
    const head = createHead(this.data.table, this.data.vocab.size);
    const d = this.data;
    this.trainer = new Trainer(
      this.config,
      d.vocab.size,
      d.train,
      d.valid,
      this.config.seed,
      o.onEvent,
      head,
    );
  }

  finish(): DialogTrainResult {
    const run = finishRun(this.trainer);
    const tests = dialogScores(run.params, this.config.encoding, this.trainer.head!, this.data.tests);
    const report: RunReport = { run, tests: [], dialog: tests, testError: 0, seconds: 0 };
    const trained = trainedDialogModel(this.config, this.data, report, this.input, this.matchType);
    return {
      bot: new DialogBot(trained),
      trained,
      devAccuracy: 1 - run.validError,
      tests,
      epochs: run.epochs,
    };
  }
}
