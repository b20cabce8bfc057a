// Where the page gets data and models: the bAbI and Dialog bAbI files that `memn2n serve` lists under
// data/, and the shipped models copied next to the page at build time (models/). Both are relative URLs,
// so the built folder works from any static host; a host without data/ still trains on dropped files.

export interface DataIndex {
  /** Per bAbI set ("en", "en-10k"), per task: the file names. */
  babi: Record<string, Record<string, { train: string | null; test: string | null }>>;
  dialog: string[];
  /** The Penn Treebank files (ptb.train.txt, ...), where the host serves them. */
  ptb?: string[];
}

export interface ShippedModel {
  name: string;
  kind: string;
  figures: Record<string, number>;
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

/** The data files this host serves; null when it serves none (a plain static host). */
export async function dataIndex(): Promise<DataIndex | null> {
  try {
    const r = await fetch("data/index.json");
    if (!r.ok) return null;
    return (await r.json()) as DataIndex;
  } catch {
    return null;
  }
}

export async function babiFile(set: string, name: string): Promise<string> {
  return (await fetchOk(`data/babi/${encodeURIComponent(set)}/${encodeURIComponent(name)}`)).text();
}

export async function dialogFile(name: string): Promise<string> {
  return (await fetchOk(`data/dialog/${encodeURIComponent(name)}`)).text();
}

export async function ptbFile(name: string): Promise<string> {
  return (await fetchOk(`data/ptb/${encodeURIComponent(name)}`)).text();
}

/** A dialog model (for the Chat panel), not a bAbI one. */
export function isDialog(m: ShippedModel): boolean {
  return m.kind.startsWith("dialog");
}

/** A language model (for the Next word panel). */
export function isLanguageModel(m: ShippedModel): boolean {
  return m.kind.startsWith("language model");
}

export async function shippedModels(): Promise<ShippedModel[]> {
  try {
    const r = await fetch("models/models.json");
    if (!r.ok) return [];
    return ((await r.json()) as { models: ShippedModel[] }).models;
  } catch {
    return [];
  }
}

export async function modelBytes(name: string): Promise<ArrayBuffer> {
  return (await fetchOk(`models/${encodeURIComponent(name)}.safetensors`)).arrayBuffer();
}
