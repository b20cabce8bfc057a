// `node scripts/together.mjs lint typecheck ...` runs those npm scripts at once, as many as there are cores,
// each one's output printed whole when it ends (never interleaved), and fails if any fails. `npm test` runs
// its checks this way: each is one single-threaded process of several seconds.
import { spawn } from "node:child_process";
import { inLanes } from "./lanes.mjs";

const names = process.argv.slice(2);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const failed = [];

const run = (name) =>
  new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(npm, ["run", "--silent", name], { stdio: ["ignore", "pipe", "pipe"] });
    const out = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => out.push(b));
    child.on("close", (code) => {
      const text = Buffer.concat(out).toString();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `> npm run ${name}: ${code === 0 ? "ok" : `failed (exit ${code})`}, ${seconds} s\n`,
      );
      if (text.trim() !== "") process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
      if (code !== 0) failed.push(name);
      resolve();
    });
  });

await inLanes(names, run);
if (failed.length > 0) {
  process.stderr.write(`failed: ${failed.join(", ")}\n`);
  process.exitCode = 1;
}
