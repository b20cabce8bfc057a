// The process entry point of the CLI (bin/memn2n.js runs the built copy of this file).
import { main } from "./main.js";

// A reader that stops early (`memn2n ask < questions.txt | head -1`) closes our stdout: stop quietly, as
// Unix tools do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}

// A command may have set an exit code of its own while going on (an interactive error).
process.exitCode = (await main(process.argv.slice(2))) || process.exitCode;
