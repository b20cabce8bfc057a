// The library's public face. Everything exported here runs in Node and in a browser alike.
export { type BabiFile, type Example, parseBabi, type Sentence, wordsOf } from "./data/babi.js";
export { type Batch, deriveShape, type Shape, selectRows, vectorize } from "./data/batch.js";
export { decodeUtf8 } from "./data/decode.js";
export { DataError, FieldError } from "./data/errors.js";
export { type Split, splitByStory } from "./data/split.js";
export { ALL_TASKS, parseTaskList, TASK_NAMES, taskFiles } from "./data/tasks.js";
export { tokenize } from "./text/tokenize.js";
export { NULL_ID, UNK_ID, Vocab } from "./text/vocab.js";
export { Rng } from "./util/random.js";
