// Sweeps split over processes or machines (`babi --shard k/n`, `dialog run --shard k/n`): the slice a shard
// takes, the command it records, and the checks that merge the parts of one run back into all its runs.

import { z } from "zod";
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

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const whole = z.number().int().nonnegative();
const fraction = finite.refine((x) => x >= 0 && x <= 1, "must be a fraction from 0 to 1");

/** A run's figures as a part file stores them (the shape `ReportFigures` has), every field checked. */
const reportSchema = z.object({
  run: z.object({
    seed: whole,
    epochs: whole,
    lsEpochs: whole,
    trainError: fraction,
    validError: fraction,
    validLoss: finite,
    history: z.array(z.record(z.string(), z.unknown())).max(1_000_000),
  }),
  tests: z.array(z.object({ task: whole, error: fraction, loss: finite, questions: whole })).max(10_000),
  dialog: z
    .array(
      z.object({
        task: whole,
        name: z.string().max(100),
        perResponse: fraction,
        perDialog: fraction,
        responses: whole,
        dialogs: whole,
      }),
    )
    .max(100)
    .optional(),
  testError: finite,
  seconds: finite.refine((x) => x >= 0, "must be ≥ 0"),
});

/** What every part holds; each kind adds its own fields (`extra`). */
const partSchema = z.object({
  version: z.literal(1),
  shard: z
    .tuple([z.number().int().min(1), z.number().int().min(1).max(100_000)])
    .refine(([k, n]) => k <= n, "must be [k, n] with 1 ≤ k ≤ n"),
  command: z.string().max(100_000),
  config: z.record(z.string(), z.unknown()),
  reports: z.array(z.object({ index: whole, report: reportSchema })).max(1_000_000),
  wall_seconds: finite.refine((x) => x >= 0, "must be ≥ 0"),
});

export interface PartKind<P extends Part> {
  /** The kind's own fields, checked as the common ones are. */
  extra: z.ZodRawShape;
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
  const schema = partSchema.extend(kind.extra);
  const read = files.map((f) => {
    const j = readJsonFile(f) as { format?: unknown };
    if (typeof j !== "object" || j === null || j.format !== kind.format) {
      throw new UsageError(
        `${f}: not a part file of a sharded ${kind.what} (memn2n ${kind.command} --shard k/n)`,
      );
    }
    const parsed = schema.safeParse(j);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`${f}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
    }
    return { file: f, part: j as unknown as P };
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
  // Every run exactly once, each in the part whose slice it is (shard k of n runs the indices i with
  // i mod n = k - 1): a forged or damaged part cannot replace another's runs or leave one out.
  const total = kind.total(first);
  const reports: (ReportFigures | undefined)[] = Array.from({ length: total }, () => undefined);
  for (const { file, part } of read) {
    for (const [j, r] of part.reports.entries()) {
      const where = `${file}: reports.${j}.index`;
      if (r.index >= total)
        throw new UsageError(`${where}: ${r.index} is past the ${total} runs of the ${kind.what}`);
      if (r.index % n !== part.shard[0] - 1)
        throw new UsageError(`${where}: run ${r.index} is not in shard ${part.shard[0]} of ${n}`);
      if (reports[r.index] !== undefined) throw new UsageError(`${where}: run ${r.index} given twice`);
      reports[r.index] = r.report;
    }
  }
  const hole = reports.indexOf(undefined);
  if (hole >= 0) throw new UsageError(`${label}: the parts do not cover every run (run ${hole} is missing)`);
  return {
    first,
    parts: read.map((r) => r.part),
    reports: reports as ReportFigures[],
    wall: read.reduce((s, p) => s + p.part.wall_seconds, 0),
    command: first.command.replace(/ --out \S+/, ` --out ${out}`),
    note: `Run as ${n} shards (memn2n ${kind.command} --shard k/${n}), merged; the wall time adds up the shards'.`,
  };
}
