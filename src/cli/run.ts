// The process entry point of the CLI (bin/memn2n.js runs the built copy of this file).
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
