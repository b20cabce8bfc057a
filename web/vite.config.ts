// The page's build: one static folder (dist/web) with the shipped models copied beside it, so that it runs
// from any static host; `memn2n serve` serves the same folder at /.

import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const outDir = join(root, "dist", "web");

export default defineConfig({
  root: here,
  base: "./",
  logLevel: "warn",
  build: { outDir, emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 1024 },
  worker: { format: "es" },
  plugins: [
    {
      name: "memn2n-models",
      apply: "build",
      closeBundle() {
        const from = join(root, "models");
        const to = join(outDir, "models");
        mkdirSync(to, { recursive: true });
        for (const f of readdirSync(from)) {
          if (f.endsWith(".safetensors") || f === "models.json") copyFileSync(join(from, f), join(to, f));
        }
      },
    },
  ],
});
