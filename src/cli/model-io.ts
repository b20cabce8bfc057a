import { DataError } from "../data/errors.js";
import { modelFromJson, modelToJson, type TrainedModel } from "../model/file.js";
import { UsageError } from "./errors.js";
import { readJsonFile, writeFileAtomic } from "./fsutil.js";

export function saveModel(path: string, m: TrainedModel): void {
  writeFileAtomic(path, JSON.stringify(modelToJson(m)));
}

/** A model file, checked to be of the kind the command needs (a bAbI question answerer or a dialog model). */
export function loadModelFile(path: string, kind: "babi" | "dialog" = "babi"): TrainedModel {
  let json: unknown;
  try {
    json = readJsonFile(path);
  } catch (e) {
    if (e instanceof UsageError && /not valid JSON/.test(e.message))
      throw new DataError(path, null, "not valid JSON");
    throw e;
  }
  const m = modelFromJson(json, path);
  if (kind === "babi" && m.dialog) {
    throw new DataError(path, null, "a dialog model: use `memn2n chat` or `memn2n dialog test` with it");
  }
  if (kind === "dialog" && !m.dialog) {
    throw new DataError(path, null, "not a dialog model (train one with `memn2n dialog train`)");
  }
  return m;
}
