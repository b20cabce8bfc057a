import cliProgress from "cli-progress";
import type { Command } from "commander";
import { cacheDir } from "../datadir.js";
import { DATASETS, type DownloadProgress, download, MAX_UNPACKED_MB } from "../download.js";
import { UsageError } from "../errors.js";
import { wholeOption } from "../whole.js";

interface DownloadOptions {
  cache?: string;
  url?: string;
  sha256?: string;
  dialog?: boolean;
  ptb?: boolean;
  json?: boolean;
  checksums?: string;
  maxUnpackedMb?: string;
}

export function registerDownload(program: Command): void {
  program
    .command("download")
    .description(
      "fetch the official bAbI v1.2 archive (or, with --dialog, the dialog tasks; with --ptb, Penn Treebank) into the user cache",
    )
    .option("--cache <dir>", "cache folder (default: $XDG_CACHE_HOME/memn2n or ~/.cache/memn2n)")
    .option("--dialog", "the Dialog bAbI tasks instead of the QA tasks")
    .option("--ptb", "Penn Treebank (the language model's text) instead of the QA tasks")
    .option(
      "--max-unpacked-mb <n>",
      `the most the archive may unpack to, in MB (default: ${MAX_UNPACKED_MB})`,
    )
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
  if (opts.dialog && opts.ptb) throw new UsageError("--dialog and --ptb: give one");
  const ds = opts.dialog ? DATASETS.dialog : opts.ptb ? DATASETS.ptb : DATASETS.babi;
  const cache = opts.cache ?? cacheDir();
  // With --json, stdout holds the JSON line only; what goes on meanwhile goes to stderr.
  const say = (line: string) => (opts.json ? process.stderr.write(`${line}\n`) : console.log(line));
  say(`downloading ${ds.name} from ${opts.url ?? ds.url}`);
  const r = await download(ds, cache, {
    url: opts.url,
    sha256: opts.sha256,
    progress: progressBar(),
    checksums: opts.checksums,
    maxUnpackedMb: opts.maxUnpackedMb ? wholeOption("--max-unpacked-mb", opts.maxUnpackedMb, 1) : undefined,
  });
  if (r.url !== (opts.url ?? ds.url))
    say(`(the host does not serve https: fetched ${r.url}; every file is checked)`);
  say(`${r.bytes} bytes, SHA-256 ${r.sha256}`);
  say(
    `${r.verified} files checked against checksums/data.sha256` +
      (r.dropped.length > 0
        ? `; ${r.dropped.length} not listed there left out (${r.dropped.slice(0, 3).join(", ")}${r.dropped.length > 3 ? ", ..." : ""})`
        : ""),
  );
  say(`unpacked into ${r.dir}`);
  if (opts.json)
    console.log(
      JSON.stringify({
        dir: r.dir,
        bytes: r.bytes,
        sha256: r.sha256,
        verified: r.verified,
        dropped: r.dropped,
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
