// The benches' sections of bench/RESULTS.md: each bench writes the lines between its own markers
// (<!-- NAME:begin --> ... <!-- NAME:end -->) and leaves the others' as they are.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export const RESULTS_MD = join(import.meta.dirname, "RESULTS.md");

/** The section NAME of RESULTS.md: `lines` between its markers, replacing the old ones, or appended. */
export function writeSection(name: string, lines: string[]): string {
  const section = [`<!-- ${name}:begin -->`, ...lines, `<!-- ${name}:end -->`].join("\n");
  const old = readFileSync(RESULTS_MD, "utf8");
  const re = new RegExp(`<!-- ${name}:begin -->[\\s\\S]*<!-- ${name}:end -->`);
  writeFileSync(RESULTS_MD, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}\n`);
  return section;
}

/** The sections of RESULTS.md other benches wrote, to keep when one rewrites the whole file. */
export function otherSections(names: string[]): string[] {
  let old = "";
  try {
    old = readFileSync(RESULTS_MD, "utf8");
  } catch {}
  return names
    .map((name) => new RegExp(`<!-- ${name}:begin -->[\\s\\S]*<!-- ${name}:end -->`).exec(old)?.[0])
    .filter((x): x is string => x !== undefined);
}

/** This machine, as each bench's section names it: CPU, cores, memory and Node. */
export function machineLine(): string {
  return `${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** The middle value (of an even count, the mean of the two middle ones). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
