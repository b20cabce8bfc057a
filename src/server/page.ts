// The web page and the data files it trains on, served read-only. The page's files are read once at start
// into memory; the data files are listed once at start (only bAbI `qaN_*.txt`, `dialog-babi-*` and
// `ptb.{train,valid,test}.txt` names).
// A URL is looked up among those names and never joined onto a path, so nothing else of the disk can be
// reached. Every response carries the cross-origin isolation headers (COOP, COEP) that SharedArrayBuffer
// needs.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { LanguageModel } from "../api/lm.js";
import { taskFiles } from "../data/tasks.js";
import { modelToSafetensors } from "../model/file.js";
import { HttpError } from "./errors.js";
import type { Registry, Served } from "./registry.js";

/** Where the page and the data are; null: not served. */
export interface PageSettings {
  page: string | null;
  /** bAbI folders by set name ("en", "en-10k"), the Dialog bAbI folder and the Penn Treebank folder. */
  data: { babi: Record<string, string>; dialog: string | null; ptb?: string | null } | null;
  /** The shipped language models (files in the package), for the page's Next word panel. */
  languageModels?: { name: string; file: string }[];
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
  ".safetensors": "application/octet-stream",
  ".txt": "text/plain; charset=utf-8",
};

const DIALOG_FILE = /^dialog-babi-[\w-]+\.txt$/;
const PTB_FILE = /^ptb\.(train|valid|test)\.txt$/;

/** The most a page folder may hold in memory. */
const MAX_PAGE_BYTES = 64 * 1024 * 1024;

export function isolationHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header("cross-origin-opener-policy", "same-origin")
    .header("cross-origin-embedder-policy", "require-corp")
    .header("cross-origin-resource-policy", "same-origin")
    .header("x-content-type-options", "nosniff");
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * The page's files by URL path, read into memory. Its models/ folder (the static build's copy of the shipped
 * models) is left out: the server gives the page the models it serves instead.
 */
export function readPage(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  let total = 0;
  for (const p of walk(dir)) {
    const type = TYPES[extname(p)];
    const path = `/${relative(dir, p).split(sep).join("/")}`;
    if (!type || path.startsWith("/models/")) continue;
    total += statSync(p).size;
    if (total > MAX_PAGE_BYTES) throw new Error(`${dir}: more than ${MAX_PAGE_BYTES} bytes of page files`);
    files.set(path, { body: readFileSync(p), type });
  }
  return files;
}

/** What data/index.json lists, and each listed file's path on disk by its URL. */
export function listData(data: NonNullable<PageSettings["data"]>): {
  index: {
    babi: Record<string, Record<string, { train: string | null; test: string | null }>>;
    dialog: string[];
    ptb: string[];
  };
  files: Map<string, string>;
} {
  const files = new Map<string, string>();
  const babi: Record<string, Record<string, { train: string | null; test: string | null }>> = {};
  for (const [set, dir] of Object.entries(data.babi)) {
    const tasks: Record<string, { train: string | null; test: string | null }> = {};
    for (const [task, f] of taskFiles(readdirSync(dir))) {
      tasks[task] = { train: f.train, test: f.test };
      for (const name of [f.train, f.test]) if (name) files.set(`/data/babi/${set}/${name}`, join(dir, name));
    }
    babi[set] = tasks;
  }
  const dialog = data.dialog
    ? readdirSync(data.dialog)
        .filter((n) => DIALOG_FILE.test(n))
        .sort()
    : [];
  for (const name of dialog) files.set(`/data/dialog/${name}`, join(data.dialog!, name));
  const ptb = data.ptb
    ? readdirSync(data.ptb)
        .filter((n) => PTB_FILE.test(n))
        .sort()
    : [];
  for (const name of ptb) files.set(`/data/ptb/${name}`, join(data.ptb!, name));
  return { index: { babi, dialog, ptb }, files };
}

/** A served model as the page's model list describes it (the shape of models/models.json). */
function listed(s: Served): { name: string; kind: string; figures: Record<string, number> } {
  const t = s.trained;
  if (t.dialog) {
    const figures: Record<string, number> = {};
    for (const d of t.meta.dialogTests ?? []) {
      figures[`${d.name} per-response`] = d.perResponse;
      figures[`${d.name} per-dialog`] = d.perDialog;
    }
    return { name: s.name, kind: `dialog task ${t.dialog.task}`, figures };
  }
  const tasks = t.meta.tasks ?? [];
  const errors = Object.values(t.meta.testErrors ?? {});
  return {
    name: s.name,
    kind: tasks.length === 1 ? `bAbI task ${tasks[0]}` : `bAbI, ${tasks.length} tasks`,
    figures: errors.length > 0 ? { "test error": errors.reduce((a, b) => a + b, 0) / errors.length } : {},
  };
}

export function pageRoutes(
  app: FastifyInstance,
  settings: PageSettings,
  registry: Registry,
  guarded = false,
  /** The shipped language models: each file's bytes and its model, read once by the caller. */
  languageModels: { name: string; body: Buffer; model: LanguageModel }[] = [],
): void {
  // With a token guarding the API, the page's open routes hand out the package's own models only.
  const open = (s: Served) => !guarded || s.shipped;
  const page = settings.page ? readPage(settings.page) : null;
  const data = settings.data ? listData(settings.data) : null;
  const hide = { schema: { hide: true } };
  if (page?.has("/index.html")) {
    for (const [path, f] of page) {
      const send = async (_req: unknown, reply: FastifyReply) => {
        const immutable = path.startsWith("/assets/");
        return isolationHeaders(reply)
          .type(f.type)
          .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
          .send(f.body);
      };
      app.get(path, hide, send);
      if (path === "/index.html") app.get("/", hide, send);
    }
  } else {
    app.get("/", hide, async () => {
      throw new HttpError(
        404,
        "url",
        settings.page
          ? `the page is not built in ${settings.page}: run \`npm run build:web\``
          : "this server was started without the page (--no-page)",
      );
    });
  }
  // The models the server serves, in the layout of the static build's models/ folder; the shipped language
  // models (package files, open to all) beside them.
  const bytes = new WeakMap<Served, Buffer>();
  const lms = new Map(
    languageModels.map((l) => {
      const f = l.model.file;
      const figures: Record<string, number> = {};
      if (f.figures?.testPpl) figures["test perplexity"] = f.figures.testPpl;
      const kind = `language model (PTB, ${f.config.hops} hops, memory ${f.config.memory}, d ${f.config.dim})`;
      return [l.name, { body: l.body, listed: { name: l.name, kind, figures } }];
    }),
  );
  app.get("/models/models.json", hide, async (_req, reply) =>
    isolationHeaders(reply)
      .header("cache-control", "no-cache")
      .send({
        models: [...registry.all().filter(open).map(listed), ...[...lms.values()].map((l) => l.listed)],
      }),
  );
  app.get<{ Params: { file: string } }>("/models/:file", hide, async (req, reply) => {
    const name = req.params.file.replace(/\.safetensors$/, "");
    const found = req.params.file.endsWith(".safetensors") ? registry.get(name) : undefined;
    const s = found && open(found) ? found : undefined;
    const lm = req.params.file.endsWith(".safetensors") ? lms.get(name) : undefined;
    if (!s && lm)
      return isolationHeaders(reply)
        .type("application/octet-stream")
        .header("cache-control", "no-cache")
        .send(lm.body);
    if (!s) throw new HttpError(404, "url", `no model ${req.params.file} (see /models/models.json)`);
    let body = bytes.get(s);
    if (!body) {
      body = Buffer.from(modelToSafetensors(s.trained));
      bytes.set(s, body);
    }
    return isolationHeaders(reply)
      .type("application/octet-stream")
      .header("cache-control", "no-cache")
      .send(body);
  });
  app.get("/data/index.json", hide, async (_req, reply) => {
    if (!data) throw new HttpError(404, "url", "this server serves no data files (--data DIR to serve some)");
    return isolationHeaders(reply).header("cache-control", "no-cache").send(data.index);
  });
  app.get<{ Params: { "*": string } }>("/data/*", hide, async (req, reply) => {
    const path = req.url.split("?")[0];
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw new HttpError(400, "url", "not a valid URL encoding");
    }
    const file = data?.files.get(decoded);
    if (!file) throw new HttpError(404, "url", `no data file ${decoded} (see /data/index.json)`);
    const body = await readFile(file);
    return isolationHeaders(reply)
      .type("text/plain; charset=utf-8")
      .header("cache-control", "no-cache")
      .send(body);
  });
}

/** Paths the page uses that stay open under --token: the page's files and the data it trains on. */
export function isPagePath(path: string): boolean {
  return path === "/" || path === "/index.html" || /^\/(assets|models|data)\//.test(path);
}
