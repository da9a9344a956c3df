// The client bundle as a browser app ships it: esbuild, minified, ESM, gzip. The SQLite WASM (and
// its JavaScript glue, loaded on first use as a chunk of its own) is counted apart.
// `node packages/client/scripts/size.mjs` after `npm run build`.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const dir = mkdtempSync(join(tmpdir(), "noema-client-size-"));
// NOEMA_SIZE_EXTERNAL=node-sql-parser measures the bundle without the SQL parser the core's Sieve derivation pulls in today.
const external = ["react", "zod", ...(process.env.NOEMA_SIZE_EXTERNAL ?? "").split(",").filter(Boolean)];
const entries = {
  // The client with its browser database and queue, no law: what @noema/client adds to an app.
  client: `export { NoemaClient } from "@noema/client"; export { openBrowserDatabase, indexedDbQueue } from "@noema/client/browser";`,
  // The same with React hooks (React itself external, as the app already ships it).
  react: `export { NoemaClient } from "@noema/client"; export { openBrowserDatabase, indexedDbQueue } from "@noema/client/browser"; export * from "@noema/client/react";`,
};
// esbuild leaves `new URL("sqlite3.wasm", import.meta.url)` to the app's bundler, which copies the file: measured where it is.
const wasm = gzipSync(readFileSync(join(process.cwd(), "node_modules/@sqlite.org/sqlite-wasm/dist/sqlite3.wasm"))).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
try {
  for (const [name, source] of Object.entries(entries)) {
    const entry = join(dir, `${name}.js`);
    writeFileSync(entry, source);
    const out = join(dir, `out-${name}`);
    const result = await build({
      entryPoints: [entry], bundle: true, minify: true, format: "esm", platform: "browser", splitting: true, outdir: out,
      external, metafile: true, logLevel: "silent", absWorkingDir: process.cwd(), nodePaths: [join(process.cwd(), "node_modules")],
      loader: { ".wasm": "file" },
    });
    const files = readdirSync(out);
    let main = 0;
    let glue = 0;
    for (const f of files) {
      const gz = gzipSync(readFileSync(join(out, f))).length;
      const output = Object.entries(result.metafile.outputs).find(([p]) => p.endsWith(f))?.[1];
      if (Object.keys(output?.inputs ?? {}).some((i) => i.includes("sqlite-wasm"))) glue += gz;
      else main += gz;
    }
    const inputs = {};
    for (const out of Object.values(result.metafile.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
        const pkg = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? input.split("/").slice(0, 3).join("/");
        inputs[pkg] = (inputs[pkg] ?? 0) + bytesInOutput;
      }
    }
    console.log(`${name}: JavaScript ${kib(main)} gzip; apart: SQLite's JavaScript glue ${kib(glue)} gzip (a chunk of its own), sqlite3.wasm ${kib(wasm)} gzip`);
    for (const [pkg, bytes] of Object.entries(inputs).sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${pkg}: ${kib(bytes)} minified`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
