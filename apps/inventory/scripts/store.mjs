// Builds the storefront (store/main.tsx, React) into dist/assets/store/, served by `wrangler dev` and `wrangler deploy`
// as static assets next to the Worker: the page, its bundle, SQLite's JavaScript as a chunk of its own,
// and sqlite3.wasm beside them (loaded as new URL("sqlite3.wasm", import.meta.url), never from a CDN).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * `name`: the folder under dist/assets (the page's path). `law`: a module to bundle in place of
 * ../src/law.js, exporting `inventoryLaw` (the browser tests build the page of the app's next release).
 */
export async function buildStore({ name = "store", law } = {}) {
  const out = join(app, "dist", "assets", name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const main = join(app, "store", "main.tsx");
  await build({
    entryPoints: { store: main },
    outdir: out,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    // The page's own tsconfig (React's JSX), not the repository's (Hono's JSX for the inspector), and React's production build.
    tsconfig: join(app, "ui", "tsconfig.json"),
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
    plugins: law ? [{ name: "law", setup: (b) => void b.onResolve({ filter: /^\.\.\/src\/law\.js$/ }, (args) => (args.importer === main ? { path: law } : undefined)) }] : [],
  });
  const require = createRequire(join(app, "..", "..", "packages", "client", "package.json"));
  const sqlite = dirname(require.resolve("@sqlite.org/sqlite-wasm"));
  copyFileSync(join(sqlite, "sqlite3.wasm"), join(out, "sqlite3.wasm"));
  copyFileSync(join(app, "store", "index.html"), join(out, "index.html"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildStore();
