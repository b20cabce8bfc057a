import cliProgress from "cli-progress";
import type { Command } from "commander";
import { cacheDir } from "../datadir.js";
import { DATASETS, type DownloadProgress, download } from "../download.js";
import { UsageError } from "../errors.js";

interface DownloadOptions {
  cache?: string;
  url?: string;
  sha256?: string;
  dialog?: boolean;
  json?: boolean;
  checksums?: string;
}

export function registerDownload(program: Command): void {
  program
    .command("download")
    .description(
      "fetch the official bAbI v1.2 archive (or, with --dialog, the dialog tasks) into the user cache",
    )
    .option("--cache <dir>", "cache folder (default: $XDG_CACHE_HOME/memn2n or ~/.cache/memn2n)")
    .option("--dialog", "the Dialog bAbI tasks instead of the QA tasks")
    .option("--url <url>", "download from this address instead of the official one")
    .option("--sha256 <hex>", "also require this SHA-256 of the archive itself")
    .option(
      "--checksums <file>",
      "the files expected and their SHA-256 (default: the package's checksums/data.sha256)",
    )
    .option("--json", "print one JSON object as the last line")
    .action((opts: DownloadOptions) => downloadCommand(opts));
}

async function downloadCommand(opts: DownloadOptions): Promise<void> {
  if (opts.sha256 && !/^[0-9a-fA-F]{64}$/.test(opts.sha256))
    throw new UsageError("--sha256: expected 64 hex digits");
  if (opts.url !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(opts.url).protocol;
    } catch {}
    if (protocol !== "http:" && protocol !== "https:")
      throw new UsageError(`--url: not an http(s) URL: ${opts.url}`);
  }
  const ds = opts.dialog ? DATASETS.dialog : DATASETS.babi;
  const cache = opts.cache ?? cacheDir();
  // With --json, stdout holds the JSON line only; what goes on meanwhile goes to stderr.
  const say = (line: string) => (opts.json ? process.stderr.write(`${line}\n`) : console.log(line));
  say(`downloading ${ds.name} from ${opts.url ?? ds.url}`);
  const r = await download(ds, cache, {
    url: opts.url,
    sha256: opts.sha256,
    progress: progressBar(),
    checksums: opts.checksums,
  });
  say(`${r.bytes} bytes, SHA-256 ${r.sha256}`);
  say(
    `${r.verified} files checked against checksums/data.sha256${r.unverified.length ? `, ${r.unverified.length} not listed there` : ""}`,
  );
  say(`unpacked into ${r.dir}`);
  if (opts.json)
    console.log(
      JSON.stringify({
        dir: r.dir,
        bytes: r.bytes,
        sha256: r.sha256,
        verified: r.verified,
        unverified: r.unverified,
      }),
    );
}

function progressBar(): DownloadProgress {
  if (!process.stderr.isTTY) {
    let next = 0.25;
    let total: number | null = null;
    return {
      start: (t) => {
        total = t;
      },
      update: (bytes) => {
        if (total && bytes / total >= next) {
          process.stderr.write(`downloaded ${Math.round((100 * bytes) / total)}%\n`);
          next += 0.25;
        }
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: "|{bar}| {percentage}% {value}/{total} bytes", stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (t) => bar.start(t ?? 0, 0),
    update: (b) => bar.update(b),
    stop: () => bar.stop(),
  };
}
