// The models a server holds, by name, loaded through the library's face; reloading builds a new set and
// swaps it in whole, so a reload that fails leaves the old models serving.

import { readFileSync } from "node:fs";
import { DialogBot } from "../api/dialog.js";
import { Model } from "../api/model.js";
import { DataError } from "../data/errors.js";
import { modelFromText, type TrainedModel } from "../model/file.js";

export interface ModelSpec {
  name: string;
  file: string;
  /** One of the package's own models (public anyway): the page may fetch it without the token. */
  shipped?: boolean;
}

export interface Served {
  name: string;
  file: string;
  kind: "babi" | "dialog";
  trained: TrainedModel;
  model: Model | null;
  bot: DialogBot | null;
  shipped: boolean;
}

/** What GET /v1/models/{name} says of a model. */
export function infoOf(s: Served): Record<string, unknown> {
  const t = s.trained;
  return {
    name: s.name,
    kind: s.kind,
    endpoint: s.kind === "babi" ? `/v1/models/${s.name}/answer` : `/v1/models/${s.name}/reply`,
    config: t.config,
    vocabularySize: t.vocab.size,
    ...(s.kind === "babi"
      ? { answers: t.answers.length }
      : {
          candidates: t.dialog!.candidates.length,
          task: t.dialog!.task,
          matchType: t.dialog!.matchType,
          placeholders: t.dialog!.placeholders ?? null,
          knowledgeBase: t.dialog!.kb ? t.dialog!.kb.rows.length : null,
        }),
    training: t.meta,
    card: t.card ?? null,
  };
}

export function loadServed(spec: ModelSpec): Served {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(spec.file);
  } catch (e) {
    throw new DataError(
      spec.file,
      null,
      `cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`,
    );
  }
  const trained = modelFromText(bytes, spec.file);
  const kind = trained.dialog ? "dialog" : "babi";
  return {
    name: spec.name,
    file: spec.file,
    shipped: spec.shipped === true,
    kind,
    trained,
    model: kind === "babi" ? new Model(trained) : null,
    bot: kind === "dialog" ? new DialogBot(trained) : null,
  };
}

export class Registry {
  private models = new Map<string, Served>();

  constructor(readonly specs: ModelSpec[]) {}

  /** Loads every model, or throws the first file's error and keeps what was served before. */
  load(): void {
    const next = new Map<string, Served>();
    for (const spec of this.specs) next.set(spec.name, loadServed(spec));
    this.models = next;
  }

  get(name: string): Served | undefined {
    return this.models.get(name);
  }

  all(): Served[] {
    return [...this.models.values()];
  }
}
