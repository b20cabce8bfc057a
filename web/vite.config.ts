// The page's build: one static folder (dist/web) with the shipped models copied beside it, so that it runs
// from any static host; `memn2n serve` serves the same folder at /.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
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
      // `npm run dev:web`: the shipped models at models/, as the build and `memn2n serve` have them.
      name: "memn2n-models-dev",
      apply: "serve",
      configureServer(server) {
        server.middlewares.use("/models", (req, res, next) => {
          const name = decodeURIComponent((req.url ?? "").split("?")[0].replace(/^\//, ""));
          if (!/^[\w.-]+\.safetensors$|^models\.json$/.test(name)) return next();
          const file = join(root, "models", name);
          if (!existsSync(file)) return next();
          res.setHeader(
            "content-type",
            name.endsWith(".json") ? "application/json" : "application/octet-stream",
          );
          res.end(readFileSync(file));
        });
      },
    },
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
