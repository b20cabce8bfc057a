// One place decides how a failure reaches the user: a single `error:` line and an exit code, never a stack
// trace (set MEMN2N_DEBUG=1 to see one).

import { DataError, FieldError } from "../data/errors.js";

/** A wrong command line or a missing resource: exit 2 like bad data. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function exitCodeFor(err: unknown): number {
  // a download whose archive is wrong is bad input too (DownloadError.badInput, duck-typed to keep this file
  // free of the downloader)
  if ((err as { name?: string; badInput?: boolean })?.name === "DownloadError")
    return (err as { badInput: boolean }).badInput ? 2 : 1;
  return err instanceof DataError || err instanceof FieldError || err instanceof UsageError ? 2 : 1;
}

export function reportError(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message.split("\n")[0]}\n`);
  for (const extra of message.split("\n").slice(1)) process.stderr.write(`  ${extra}\n`);
  if (process.env.MEMN2N_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return exitCodeFor(err);
}
