// The messages between the page and its Worker. The Worker holds the models and does every computation
// (training, answering, the bot), through the library's face in src/, so the page never freezes and gives
// the same answers as the CLI and the server.

import type { Answer, BotReply, Config, EpochStats, LMConfig, LMEpoch, NextWords } from "../../src/index.js";

export type ConfigFields = Partial<Config>;

export interface NamedText {
  name: string;
  text: string;
}

/** What the page shows of a loaded bAbI model. */
export interface ModelInfo {
  name: string;
  tasks: number[];
  config: Config;
  vocab: number;
  answers: number;
  testErrors: Record<string, number> | null;
}

/** What the page shows of a loaded language model. */
export interface LMInfo {
  name: string;
  config: LMConfig;
  vocab: number;
  validPpl: number | null;
  testPpl: number | null;
}

export interface BotInfo {
  name: string;
  candidates: number;
  kb: boolean;
}

/** A question of a bAbI test file, for the Ask panel. */
export interface DataQuestion {
  story: string[];
  /** Ids of the supporting sentences, as positions in `story` (0-based). */
  supporting: number[];
  question: string;
  answer: string;
}

export type Request =
  | {
      type: "train";
      train: string;
      trainName: string;
      test: string | null;
      testName: string;
      task: number;
      config: ConfigFields;
      /** A joint model over several tasks (task 0): each task's files; train/test above are then unused. */
      tasks?: { task: number; train: string; trainName: string; test: string | null; testName: string }[];
    }
  | { type: "stop" }
  | { type: "load-model"; bytes: ArrayBuffer; name: string }
  | { type: "save-model" }
  | { type: "answer"; story: string[]; question: string }
  | { type: "parse"; text: string; name: string }
  | { type: "load-bot"; bytes: ArrayBuffer; name: string }
  | {
      type: "train-bot";
      task: number;
      files: { train: NamedText; dev: NamedText; candidates: NamedText; kb: NamedText | null };
      dialogs: number;
      matchType: boolean;
      placeholders: boolean;
      config: ConfigFields;
    }
  | { type: "save-bot" }
  | {
      type: "lm-train";
      /** The Penn Treebank texts; training reads the first trainWords words of train, validWords of valid. */
      train: string;
      valid: string;
      test: string;
      trainWords: number;
      validWords: number;
      config: Partial<LMConfig>;
    }
  | { type: "lm-load"; bytes: ArrayBuffer; name: string }
  | { type: "lm-next"; text: string }
  | { type: "say"; line: string }
  | { type: "reset-chat" };

/** Which panel's training run an event belongs to. */
export type Job = "babi" | "dialog";

export type Reply =
  | { type: "ready"; simd: boolean; threads: number }
  | { type: "started"; job: Job; totalEpochs: number; trainQuestions: number; vocab: number }
  | {
      type: "epoch";
      job: Job;
      stats: EpochStats;
      totalEpochs: number;
      examplesPerSecond: number;
      /** Threads the run computes on (it keeps to one where that proved faster). */
      threads: number;
      seconds: number;
    }
  | {
      type: "trained";
      stopped: boolean;
      trainError: number;
      validError: number;
      testError: number | null;
      epochs: number;
      seconds: number;
      model: ModelInfo;
    }
  | { type: "model"; model: ModelInfo }
  | { type: "model-bytes"; bytes: ArrayBuffer; name: string }
  | { type: "answer"; answer: Answer }
  | { type: "parsed"; name: string; questions: DataQuestion[]; stories: number }
  | { type: "bot"; bot: BotInfo }
  | {
      type: "bot-trained";
      stopped: boolean;
      devAccuracy: number;
      epochs: number;
      seconds: number;
      bot: BotInfo;
    }
  | { type: "reply"; reply: BotReply; user: string }
  | { type: "chat-reset" }
  | { type: "lm-started"; vocab: number; trainWords: number; stepsPerEpoch: number; epochs: number }
  | { type: "lm-progress"; epoch: number; step: number; stepsPerEpoch: number; wordsPerSecond: number }
  | { type: "lm-epoch"; epoch: LMEpoch; seconds: number }
  | { type: "lm-trained"; stopped: boolean; epochs: number; seconds: number; info: LMInfo }
  | { type: "lm-model"; info: LMInfo }
  | { type: "lm-next"; next: NextWords }
  | { type: "error"; during: Request["type"] | "init"; message: string };
