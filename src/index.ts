// The library's public face. Everything exported here runs in Node and in a browser alike.
export {
  type BotReply,
  DialogBot,
  DialogTrainingRun,
  type DialogTrainOptions,
  type DialogTrainResult,
  loadDialogBot,
  trainDialogRuns,
} from "./api/dialog.js";
export {
  LanguageModel,
  type LMEpoch,
  type LMFigures,
  LMTraining,
  lmConfig,
  loadLM,
  type NextWords,
  readLMCorpus,
  trainLM,
} from "./api/lm.js";
export {
  type Answer,
  type AnswerOptions,
  DONT_KNOW,
  type DontKnow,
  loadModel,
  Model,
  type RankedAnswer,
} from "./api/model.js";
export { TrainingRun, type TrainOptions, type TrainResult, train, trainRuns } from "./api/train.js";
export { type BabiFile, type Example, parseBabi, type Sentence, wordsOf } from "./data/babi.js";
export { type Batch, deriveShape, type Shape, selectRows, vectorize } from "./data/batch.js";
export { decodeUtf8 } from "./data/decode.js";
export {
  type Dialog,
  dialogExamples,
  parseCandidates,
  parseDialogs,
} from "./data/dialog.js";
export { DataError, FieldError } from "./data/errors.js";
export { KnowledgeBase, parseKnowledgeBase, withKbResults } from "./data/kb.js";
export { Placeholders } from "./data/placeholders.js";
export { EOS, type LMCorpus, LMVocab, readLMText } from "./data/ptb.js";
export { type Split, splitByStory } from "./data/split.js";
export { ALL_TASKS, parseTaskList, TASK_NAMES, taskFiles } from "./data/tasks.js";
export { type DialogScore, dialogScores } from "./eval/dialog.js";
export { errorPercent, type TaskError, taskErrors } from "./eval/errors.js";
export { FAIL_THRESHOLD, PAPER_COLUMNS, type PaperColumn, paperColumn } from "./eval/paper.js";
export {
  CONFIG_CHOICES,
  type Config,
  ConfigError,
  dialogDefaults,
  jointDefaults,
  LM_PAPER_DEFAULTS,
  type LMConfig,
  makeConfig,
  makeLMConfig,
  OUR_BEST,
  PAPER_DEFAULTS,
} from "./model/config.js";
export {
  MODEL_FORMAT,
  MODEL_VERSION,
  type ModelJson,
  modelFromJson,
  modelFromSafetensors,
  modelToJson,
  modelToSafetensors,
} from "./model/file.js";
export {
  KernelThreads,
  serveKernelThread,
  type ThreadEndpoint,
  type ThreadPort,
} from "./model/kernel-threads.js";
export { decodeSafetensors, encodeSafetensors } from "./model/safetensors.js";
export {
  kernelThreadCount,
  preferFusedKernels,
  useKernelThreads,
  wasmAvailable,
} from "./model/wasm-kernel.js";
export { tokenize } from "./text/tokenize.js";
export { NULL_ID, UNK_ID, Vocab } from "./text/vocab.js";
export type { EpochStats, TrainEvent } from "./train/trainer.js";
export { Rng } from "./util/random.js";
