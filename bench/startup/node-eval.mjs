// A Worker's module evaluation in Node's V8, by module: what workerd cannot say (its clocks read 0
// while modules evaluate) and what its CPU times, a few ms apart on a loaded machine, do not resolve.
//
//   node bench/startup/node-eval.mjs <samples> <worker folder or entry>...
//   node bench/startup/node-eval.mjs 25 bench/startup/noema bench/startup/hand
//
// Each Worker is bundled as wrangler bundles it (esbuild, minified, names not kept), with `cloudflare:workers`
// replaced by a bare DurableObject class. Per sample, interleaved, each bundle is imported by a fresh
// `node --log-function-events`: the import's time, and V8's parse of the script (every byte of it:
// nested functions are pre-parsed, top-level arrow functions parsed in full). A second, unminified
// bundle with a clock read at each module's start gives module-scope time by module (its first calls
// include compiling what they call). Medians (min–max). Node's V8 is not workerd's: compare
// Workers with each other here, and confirm a change with ab.mjs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configOf, WORKER_BUNDLE } from "./measure.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [samplesArg, ...given] = process.argv.slice(2);
const samples = Number(samplesArg);
if (!(samples > 0) || given.length === 0) throw new Error("usage: node bench/startup/node-eval.mjs <samples> <worker folder or entry>...");
const ROWS = 12;
const tmp = mkdtempSync(join(tmpdir(), "noema-node-eval-"));
const { build } = await import("esbuild");

const entryOf = (p) => {
  const abs = resolve(root, p);
  if (!statSync(abs).isDirectory()) return abs;
  const { file, config } = configOf(abs);
  return resolve(dirname(file), config.main);
};
const cloudflare = {
  name: "cloudflare-workers",
  setup(b) {
    b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: "cloudflare:workers", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }", loader: "js" }));
  },
};
const bundle = async (entry, minify) =>
  (
    await build({ ...WORKER_BUNDLE, entryPoints: [entry], external: ["node:*"], minify, plugins: [cloudflare] })
  ).outputFiles[0].text;
const moduleName = (path) => path.replace(/^(\.\.\/)+/, "").replace(/.*node_modules\//, "");

const targets = [];
for (const [i, p] of given.entries()) {
  const entry = entryOf(p);
  const minified = join(tmp, `min-${i}.mjs`);
  writeFileSync(minified, await bundle(entry, true));
  // esbuild names each module in a comment line of an unminified bundle: a clock read goes after it.
  const marked = (await bundle(entry, false)).replace(/^\/\/ (\S+\.(?:m?js|ts))$/gm, (line, path) => `${line}\n__noemaT.push([${JSON.stringify(moduleName(path))}, performance.now()]);`);
  const timed = join(tmp, `timed-${i}.mjs`);
  writeFileSync(timed, `const __noemaT = [["(first module)", performance.now()]];\n${marked}\n__noemaT.push(["(end)", performance.now()]);\nglobalThis.__noemaT = __noemaT;\n`);
  targets.push({ label: p, minified, timed, bytes: statSync(minified).size, import: [], parse: [], scope: [], modules: {} });
}

const importer = join(tmp, "import.mjs");
writeFileSync(
  importer,
  `const t0 = performance.now(); await import(process.argv[2]); const t1 = performance.now(); const T = globalThis.__noemaT ?? []; const modules = {};
for (let i = 0; i < T.length - 1; i++) modules[T[i][0]] = (modules[T[i][0]] ?? 0) + T[i + 1][1] - T[i][1];
console.log(JSON.stringify({ ms: t1 - t0, scope: T.length ? T[T.length - 1][1] - T[0][1] : 0, modules }));\n`,
);
const log = join(tmp, "v8.log");
/** V8's parse of the script at `file`, from --log-function-events (`function,parse-script,<script id>,…,<ms>,…`). */
function parseMs(file) {
  const lines = readFileSync(log, "utf8").split("\n");
  const id = lines.find((l) => l.startsWith("script-details,") && l.includes(file))?.split(",")[1];
  const row = lines.find((l) => l.startsWith(`function,parse-script,${id},`));
  return row ? Number(row.split(",")[5]) : Number.NaN;
}

for (let s = 0; s < samples; s++) {
  for (const t of s % 2 ? [...targets].reverse() : targets) {
    const a = JSON.parse(execFileSync(process.execPath, ["--log-function-events", `--logfile=${log}`, "--no-logfile-per-isolate", importer, t.minified], { encoding: "utf8" }));
    t.import.push(a.ms);
    t.parse.push(parseMs(t.minified));
    const b = JSON.parse(execFileSync(process.execPath, [importer, t.timed], { encoding: "utf8" }));
    t.scope.push(b.scope);
    for (const [m, ms] of Object.entries(b.modules)) (t.modules[m] ??= []).push(ms);
  }
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
console.log(`${samples} samples each, interleaved; ms, medians (min–max); Node ${process.version}`);
for (const t of targets) {
  console.log(`${t.label}: ${(t.bytes / 1024).toFixed(1)} KiB minified; import ${fmt(t.import)}, of which V8's parse ${fmt(t.parse)}; module scope (unminified) ${fmt(t.scope)}`);
  const rows = Object.entries(t.modules)
    .map(([m, xs]) => [m, median(xs)])
    .sort((x, y) => y[1] - x[1])
    .slice(0, ROWS);
  for (const [m, ms] of rows) console.log(`  ${ms.toFixed(2).padStart(6)}  ${m}`);
}
