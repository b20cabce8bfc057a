// Sweeps split over processes or machines (`babi --shard k/n`, `dialog run --shard k/n`): the slice a shard
// takes, the command it records, and the checks that merge the parts of one run back into all its runs.

import type { ReportFigures } from "../api/train.js";
import type { Config } from "../model/config.js";
import { UsageError } from "./errors.js";
import { readJsonFile } from "./fsutil.js";

/** `--shard k/n`: 1 ≤ k ≤ n. */
export function parseShard(v: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const k = m ? Number(m[1]) : 0;
  const n = m ? Number(m[2]) : 0;
  if (!m || n < 1 || k < 1 || k > n) throw new UsageError(`--shard: expected k/n with 1 ≤ k ≤ n, got ${v}`);
  return [k, n];
}

/** The command as the unsharded run would print it: the arguments without `--shard k/n`. */
export function commandWithoutShard(argv: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--shard") {
      i++;
      continue;
    }
    if (argv[i].startsWith("--shard=")) continue;
    out.push(argv[i]);
  }
  return `memn2n ${out.join(" ")}`;
}

/** What every part file holds: its shard, what the whole run was, and its runs by their index in it. */
export interface Part {
  format: string;
  version: 1;
  shard: [number, number];
  command: string;
  config: Config;
  reports: { index: number; report: ReportFigures }[];
  wall_seconds: number;
}

export interface PartKind<P extends Part> {
  format: P["format"];
  /** What a part is a part of, in messages: "sweep", "dialog run". */
  what: string;
  /** The command that shards it: "babi", "dialog run". */
  command: string;
  /** How many runs the whole run has. */
  total: (p: P) => number;
  /** Whether two parts are of the same run (beyond the command and config, which every kind checks). */
  same: (a: P, b: P) => boolean;
}

/**
 * The parts of one sharded run, checked to be all n of them, each once, of the same run; its reports in
 * the order of the whole run, the wall time of all shards, the command that writes to `out`, and the note.
 */
export function mergeParts<P extends Part>(
  files: string[],
  kind: PartKind<P>,
  out: string,
): { first: P; parts: P[]; reports: ReportFigures[]; wall: number; command: string; note: string } {
  const label = `${kind.command.split(" ")[0]} merge`;
  const read = files.map((f) => {
    const j = readJsonFile(f) as Partial<P>;
    if (j.format !== kind.format || j.version !== 1 || !Array.isArray(j.reports) || !j.shard) {
      throw new UsageError(
        `${f}: not a part file of a sharded ${kind.what} (memn2n ${kind.command} --shard k/n)`,
      );
    }
    return { file: f, part: j as P };
  });
  const first = read[0].part;
  const n = first.shard[1];
  for (const { file, part } of read) {
    const same =
      part.shard[1] === n &&
      part.command === first.command &&
      JSON.stringify(part.config) === JSON.stringify(first.config) &&
      kind.same(part, first);
    if (!same) throw new UsageError(`${file}: a part of another ${kind.what} than ${read[0].file}`);
  }
  const have = new Set(read.map((p) => p.part.shard[0]));
  if (have.size !== read.length) throw new UsageError(`${label}: a shard was given twice`);
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !have.has(k));
  if (missing.length > 0) throw new UsageError(`${label}: shard ${missing.join(", ")} of ${n} missing`);
  const reports: ReportFigures[] = new Array(kind.total(first));
  for (const { part } of read) for (const r of part.reports) reports[r.index] = r.report;
  if (reports.some((r) => r === undefined))
    throw new UsageError(`${label}: the parts do not cover every run`);
  return {
    first,
    parts: read.map((r) => r.part),
    reports,
    wall: read.reduce((s, p) => s + p.part.wall_seconds, 0),
    command: first.command.replace(/ --out \S+/, ` --out ${out}`),
    note: `Run as ${n} shards (memn2n ${kind.command} --shard k/${n}), merged; the wall time adds up the shards'.`,
  };
}
