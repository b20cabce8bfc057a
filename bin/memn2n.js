#!/usr/bin/env node
// Runs the built CLI; `npm ci` builds it through the `prepare` script.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/run.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("error: memn2n is not built: run `npm run build` (npm ci does it through prepare)\n");
  process.exit(1);
}
await import(entry.href);
