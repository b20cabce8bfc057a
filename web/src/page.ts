// What the panels share: the Worker, the URL state, the data this host serves, and the loaded model.

import { errorPercent, TASK_NAMES } from "../../src/index.js";
import type { ModelInfo } from "./protocol.js";
import { type DataIndex, isDialog, isLanguageModel, modelBytes, type ShippedModel } from "./sources.js";
import { formatState, type PageState } from "./url-state.js";
import type { WorkerClient } from "./worker-client.js";

export interface OwnFiles {
  train: { name: string; text: string } | null;
  test: { name: string; text: string } | null;
}

export class Page {
  model: ModelInfo | null = null;
  own: OwnFiles = { train: null, test: null };
  private readonly modelListeners: ((m: ModelInfo) => void)[] = [];

  constructor(
    readonly client: WorkerClient,
    public state: PageState,
    readonly data: DataIndex | null,
    readonly shipped: ShippedModel[],
    readonly simd: boolean,
    /** Threads a training run computes on (1 where the page is not cross-origin isolated). */
    readonly threads: number,
  ) {}

  saveState(): void {
    history.replaceState(null, "", formatState(this.state) + location.hash);
  }

  setModel(m: ModelInfo): void {
    this.model = m;
    for (const fn of this.modelListeners) fn(m);
  }

  onModel(fn: (m: ModelInfo) => void): void {
    this.modelListeners.push(fn);
  }

  /** Loads a shipped model into the Worker and makes it the page's model (Ask and Train both offer them). */
  async loadShipped(name: string): Promise<ModelInfo> {
    const bytes = await modelBytes(name);
    const r = await this.client.request({ type: "load-model", bytes, name }, "model", [bytes]);
    this.setModel(r.model);
    return r.model;
  }

  /** The shipped bAbI models as a select's options, with their test figures, the default (babi) chosen. */
  fillShipped(select: HTMLSelectElement): boolean {
    for (const m of this.shipped.filter((m) => !isDialog(m) && !isLanguageModel(m))) {
      const err = m.figures["test error"];
      const failed = m.figures["failed tasks"];
      const figure = `${err === undefined ? "" : `, test error ${errorPercent(err)}`}${failed === undefined ? "" : `, ${failed} failed`}`;
      select.add(new Option(`${m.name} (${m.kind}${figure})`, m.name));
    }
    if (select.options.length === 0) {
      select.add(new Option("(none on this host)", ""));
      return false;
    }
    // The default model answers every task, and is the best one shipped.
    select.value = select.querySelector('option[value="babi"]') ? "babi" : select.options[0].value;
    return true;
  }

  /** The bAbI files of a task in the chosen set, if this host serves them. */
  taskFiles(
    task = this.state.task,
    set = this.state.set,
  ): { train: string | null; test: string | null } | null {
    return this.data?.babi[set]?.[String(task)] ?? null;
  }
}

/** The 20 bAbI tasks as a select's options, "1: single supporting fact" and so on (Ask and Train). */
export function addTaskOptions(select: HTMLSelectElement): void {
  for (const [n, name] of Object.entries(TASK_NAMES))
    select.add(new Option(`${n}: ${name.replaceAll("-", " ")}`, n));
}

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Hands bytes to the browser as a download. */
export function saveBytes(bytes: ArrayBuffer, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
