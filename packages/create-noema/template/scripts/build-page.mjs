// Builds the counter page (page/) into dist/assets/, which wrangler serves as static assets next to
// the Worker (wrangler.jsonc `assets`): the page, its bundle, SQLite's JavaScript as a chunk of its own,
// and sqlite3.wasm beside them, loaded as new URL("sqlite3.wasm", import.meta.url): never from a CDN.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "assets");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "page", "main.ts")],
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  logLevel: "warning",
});
// The WASM of the SQLite that @noema/client depends on (its copy, wherever npm put it).
const client = createRequire(join(root, "package.json")).resolve("@noema/client/package.json");
const sqlite = dirname(createRequire(client).resolve("@sqlite.org/sqlite-wasm"));
copyFileSync(join(sqlite, "sqlite3.wasm"), join(out, "sqlite3.wasm"));
copyFileSync(join(root, "page", "index.html"), join(out, "index.html"));
