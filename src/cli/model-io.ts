import { DataError } from "../data/errors.js";
import { modelFromJson, modelToJson, type TrainedModel } from "../model/file.js";
import { UsageError } from "./errors.js";
import { readJsonFile, writeFileAtomic } from "./fsutil.js";

export function saveModel(path: string, m: TrainedModel): void {
  writeFileAtomic(path, JSON.stringify(modelToJson(m)));
}

export function loadModelFile(path: string): TrainedModel {
  let json: unknown;
  try {
    json = readJsonFile(path);
  } catch (e) {
    if (e instanceof UsageError && /not valid JSON/.test(e.message))
      throw new DataError(path, null, "not valid JSON");
    throw e;
  }
  return modelFromJson(json, path);
}
