// Fetching the official archives into the user cache: streamed to a .part file while hashing, checked, then
// unpacked into a temporary folder, every file checked against the SHA-256 list the project ships
// (checksums/data.sha256, the files as distributed), and only then renamed into place. A failure at any step
// leaves nothing half-written behind.

import { createHash } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Dataset {
  name: string;
  url: string;
  /** Folder of the unpacked archive that holds the data. */
  top: string;
  /** Where it goes in the cache, which is also its prefix in checksums/data.sha256. */
  dest: string;
}

// https first; a host that does not serve it is fetched over http, which the per-file checksums make as safe.
export const DATASETS: Record<"babi" | "dialog" | "ptb", Dataset> = {
  babi: {
    name: "bAbI tasks v1.2",
    url: "https://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz",
    top: "tasks_1-20_v1-2",
    dest: "babi/tasks_1-20_v1-2",
  },
  dialog: {
    name: "Dialog bAbI tasks",
    url: "https://www.thespermwhale.com/jaseweston/babi/dialog-bAbI-tasks.tgz",
    top: "dialog-bAbI-tasks",
    dest: "dialog-babi",
  },
  ptb: {
    name: "Penn Treebank (Mikolov's simple-examples)",
    url: "https://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz",
    top: "simple-examples/data",
    dest: "ptb",
  },
};

/** A download that failed. `badInput`: the archive is wrong (exit 2, as bad data); otherwise the network. */
export class DownloadError extends Error {
  override name = "DownloadError";
  constructor(
    message: string,
    readonly badInput = true,
  ) {
    super(message);
  }
}

/** The most an archive may unpack to, by default (the bAbI archive is 130 MB unpacked). */
export const MAX_UNPACKED_MB = 1024;

export interface DownloadProgress {
  start(total: number | null): void;
  update(bytes: number): void;
  stop(): void;
}

export interface DownloadResult {
  dir: string;
  bytes: number;
  sha256: string;
  verified: number;
  /** Files of the archive the checksum list does not name: left out of the data folder. */
  dropped: string[];
  /** Where it was fetched from (the http address where the host did not serve https). */
  url: string;
}

/** The package's list of the data files and their SHA-256. */
export const CHECKSUMS = join(PACKAGE_ROOT, "checksums", "data.sha256");

function knownChecksums(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DownloadError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? "unknown error"})`);
  }
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) map.set(m[2], m[1]);
  }
  return map;
}

export async function download(
  ds: Dataset,
  cache: string,
  opts: {
    url?: string;
    sha256?: string;
    progress?: DownloadProgress;
    checksums?: string;
    maxUnpackedMb?: number;
  },
): Promise<DownloadResult> {
  let url = opts.url ?? ds.url;
  const work = join(cache, `.download-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const archive = join(work, "archive.part");
    let fetched: { bytes: number; sha256: string };
    try {
      fetched = await fetchTo(url, archive, opts.progress);
    } catch (e) {
      // the official hosts may not serve https: fall back to http (every file is checked against the list)
      if (opts.url !== undefined || !url.startsWith("https:") || !(e instanceof DownloadError) || e.badInput)
        throw e;
      url = `http:${url.slice("https:".length)}`;
      fetched = await fetchTo(url, archive, opts.progress);
    }
    const { bytes, sha256 } = fetched;
    if (opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
      throw new DownloadError(`${url}: checksum mismatch: expected SHA-256 ${opts.sha256}, got ${sha256}`);
    }
    const unpacked = join(work, "unpacked");
    mkdirSync(unpacked);
    // The headers say how much each file unpacks to: summed before anything is written (a small archive of
    // zeros can hold gigabytes).
    const maxBytes = (opts.maxUnpackedMb ?? MAX_UNPACKED_MB) * 2 ** 20;
    let total = 0;
    const tar = await import("tar");
    try {
      await tar.t({
        file: archive,
        strict: true,
        onReadEntry: (entry) => {
          total += entry.size ?? 0;
        },
      });
    } catch (e) {
      throw new DownloadError(`${url}: not a readable .tar.gz archive (${(e as Error).message})`);
    }
    if (total > maxBytes)
      throw new DownloadError(
        `${url}: the archive unpacks to ${Math.ceil(total / 2 ** 20)} MB, more than --max-unpacked-mb ${maxBytes / 2 ** 20}`,
      );
    try {
      await tar.x({ file: archive, cwd: unpacked, strict: true });
    } catch (e) {
      throw new DownloadError(`${url}: not a readable .tar.gz archive (${(e as Error).message})`);
    }
    const top = join(unpacked, ds.top);
    if (!existsSync(top)) throw new DownloadError(`${url}: the archive has no ${ds.top}/ folder`);
    const known = knownChecksums(opts.checksums ?? CHECKSUMS);
    let verified = 0;
    const dropped: string[] = [];
    const seen = new Set<string>();
    for (const file of walk(top)) {
      const rel = `${ds.dest}/${relative(top, file).split("\\").join("/")}`;
      seen.add(rel);
      const want = known.get(rel);
      if (!want) {
        // a file the list does not name never reaches the data folder: it could pose as a task's file
        dropped.push(rel);
        rmSync(file, { force: true });
        continue;
      }
      const got = createHash("sha256").update(readFileSync(file)).digest("hex");
      if (got !== want)
        throw new DownloadError(`${rel}: checksum mismatch: expected SHA-256 ${want}, got ${got}`);
      verified++;
    }
    // Every file the list names for this data set must be there: an archive with a part is no data set.
    const listed = [...known.keys()].filter((k) => k.startsWith(`${ds.dest}/`));
    const missing = listed.filter((k) => !seen.has(k));
    if (missing.length > 0) {
      throw new DownloadError(
        `${url}: the archive lacks ${missing.length} of the ${listed.length} files the checksum list names (first: ${missing[0]})`,
      );
    }
    if (verified === 0 && !opts.sha256) {
      throw new DownloadError(
        `${url}: no file of the archive could be checked; pass --sha256 to check the archive`,
      );
    }
    const dest = join(cache, ds.dest);
    mkdirSync(dirname(dest), { recursive: true });
    const old = `${dest}.old-${process.pid}`;
    if (existsSync(dest)) renameSync(dest, old);
    renameSync(top, dest);
    rmSync(old, { recursive: true, force: true });
    return { dir: dest, bytes, sha256, verified, dropped, url };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function fetchTo(
  url: string,
  path: string,
  progress?: DownloadProgress,
): Promise<{ bytes: number; sha256: string }> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(
      `cannot download ${url} (${cause?.code ?? cause?.message ?? (e as Error).message}): offline? ` +
        "Get the archive another way and pass its folder with --data.",
      false,
    );
  }
  if (!res.ok || !res.body) throw new DownloadError(`cannot download ${url}: HTTP ${res.status}`, false);
  const total = Number(res.headers.get("content-length")) || null;
  progress?.start(total);
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  let bytes = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      progress?.update(bytes);
    }
  } catch (e) {
    throw new DownloadError(
      `download of ${url} broke off after ${bytes} bytes (${(e as Error).message})`,
      false,
    );
  } finally {
    await new Promise<void>((r) => out.end(r));
    progress?.stop();
  }
  if (total !== null && bytes !== total) {
    throw new DownloadError(`download of ${url} broke off: ${bytes} of ${total} bytes`, false);
  }
  return { bytes, sha256: hash.digest("hex") };
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
