// The lines a user types or pipes in (ask, chat), checked as the data readers check files: UTF-8 (readline
// turns other bytes into U+FFFD), no NUL, no line over --max-line-chars; each with its 1-based number.

import type { Interface } from "node:readline";
import { DataError } from "../data/errors.js";
import { checkLine } from "../data/limits.js";
import { currentLimits } from "./limits.js";

export async function* checkedLines(rl: Interface, source: string): AsyncGenerator<string> {
  let lineNo = 0;
  for await (const raw of rl) {
    // Back to the event loop once a line: a reader that closed the pipe (`| head`) is heard at once.
    await new Promise((r) => setImmediate(r));
    lineNo++;
    if (raw.includes("\uFFFD") || raw.includes("\0"))
      throw new DataError(source, lineNo, "not valid UTF-8 text");
    checkLine(raw, source, lineNo, currentLimits());
    yield raw;
  }
}
