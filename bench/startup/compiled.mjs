// What V8 compiles during a cold start, by module: the source each start compiles to bytecode
// (V8's `--log-function-events`), for the unrouted start (module evaluation and a 404) and for the
// first request (the same, the Durable Object's construction and one sealed Intent), and what the
// first request compiles beyond the unrouted start. A function is compiled on its first call, so
// this is the code a start runs, in bytes of the minified bundle; the hand-written Worker beside it.
//
//   node bench/startup/compiled.mjs <bundle folder> [samples=3] [rows=25]
//
// The folder is what `wrangler deploy --dry-run --outdir` writes (index.js and its source map). Each
// sample starts a fresh workerd on an empty store per target and request; figures are medians.
// Logging slows compilation: read bytes here, times from ab.mjs.
import { LEAST_UPPER_BOUND, TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { configOf, freePort, killGroup, STARTUP_REQUEST, STARTUP_VARS, upload, workerdConfig, wranglerRunner } from "./measure.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [dirArg, samplesArg = "3", rowsArg = "25"] = process.argv.slice(2);
if (!dirArg) throw new Error("usage: node bench/startup/compiled.mjs <bundle folder> [samples] [rows]");
const samples = Number(samplesArg);
const tmp = mkdtempSync(join(tmpdir(), "noema-compiled-"));
const { run, tail } = wranglerRunner(root);
const workerd = join(root, "node_modules", "workerd", "bin", "workerd");
const hand = await upload({ label: "hand", dir: join(root, "bench", "startup", "hand"), tmp, run, tail });
const targets = [
  { label: "hand-written", config: configOf(join(root, "bench", "startup", "hand")).config, outdir: hand.outdir },
  { label: dirArg, config: configOf(join(root, "bench", "startup", "noema")).config, outdir: resolve(dirArg) },
];
const REQUESTS = { unrouted: { method: "GET", path: "/__noema_bench_unrouted" }, first: STARTUP_REQUEST };

const accepts = (port) =>
  new Promise((ok) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => (s.destroy(), ok(true)));
    s.once("error", () => ok(false));
  });

/** V8's function events of one cold start, as [kind, start, end] of the bundle's script. */
async function start(target, which, sample) {
  const logDir = join(tmp, `log-${target.label.replace(/\W/g, "_")}-${which}-${sample}`);
  mkdirSync(logDir, { recursive: true });
  process.env.STARTUP_V8_FLAGS = `--log-function-events --logfile=${join(logDir, "v8.log")} --no-logfile-per-isolate`;
  const port = await freePort();
  const store = join(logDir, "store");
  mkdirSync(store);
  const configFile = join(logDir, "w.capnp");
  writeFileSync(configFile, workerdConfig({ config: target.config, outdir: target.outdir, port, store, vars: STARTUP_VARS, from: logDir }));
  const child = spawn(workerd, ["serve", configFile], { detached: true, stdio: ["ignore", "ignore", "ignore"] });
  try {
    while (!(await accepts(port))) await sleep(1);
    const r = REQUESTS[which];
    const res = await fetch(`http://127.0.0.1:${port}${r.path}`, { method: r.method, headers: { "content-type": "application/json" }, ...(r.body ? { body: JSON.stringify(r.body) } : {}) });
    await res.text();
    if (res.status >= 500) throw new Error(`${target.label} ${r.path} -> ${res.status}`);
  } finally {
    await killGroup(child);
  }
  const file = readdirSync(logDir).find((f) => f.startsWith("v8"));
  const rows = readFileSync(join(logDir, file), "utf8").split("\n").map((l) => l.split(","));
  const script = rows.find((p) => p[0] === "script-details" && p[2] === "index.js")?.[1];
  return rows.filter((p) => p[0] === "function" && p[1] === "interpreter" && p[2] === script).map((p) => [Number(p[3]), Number(p[4])]);
}

/** A bundle offset's module, through the source map. */
function modules(outdir) {
  const src = readFileSync(join(outdir, "index.js"), "utf8");
  const mapFile = join(outdir, "index.js.map");
  if (!existsSync(mapFile)) return () => "(no source map)";
  const map = new TraceMap(readFileSync(mapFile, "utf8"));
  const lineStarts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") lineStarts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const m = (lo + hi + 1) >> 1;
      if (lineStarts[m] <= offset) lo = m;
      else hi = m - 1;
    }
    const at = { line: lo + 1, column: offset - lineStarts[lo] };
    const p = originalPositionFor(map, at);
    const source = p.source ?? originalPositionFor(map, { ...at, bias: LEAST_UPPER_BOUND }).source;
    if (!source) return "(no source)";
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)(.*)$/.exec(source);
    if (pkg) return `${pkg[1]}/${pkg[2]}`;
    const local = /(?:^|\/)((?:packages|apps|bench)\/.*)$/.exec(source);
    return local ? local[1] : source;
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
const kib = (n) => (n / 1024).toFixed(1);
for (const target of targets) {
  const moduleOf = modules(target.outdir);
  /** Per request, per sample: bytes compiled by module, the whole script's body (offset 0) left out. */
  const by = { unrouted: [], first: [] };
  for (let i = 0; i < samples; i++) {
    for (const which of ["unrouted", "first"]) {
      const m = {};
      for (const [s, e] of await start(target, which, i)) if (s > 0) m[moduleOf(s)] = (m[moduleOf(s)] ?? 0) + e - s;
      by[which].push(m);
    }
  }
  const total = (which) => median(by[which].map((m) => Object.values(m).reduce((a, b) => a + b, 0)));
  console.log(`${target.label}: functions compiled, KiB of the bundle: unrouted start ${kib(total("unrouted"))}, first request ${kib(total("first"))}`);
  const names = new Set(by.first.flatMap((m) => Object.keys(m)));
  const extra = [...names].map((n) => [n, median(by.first.map((m) => m[n] ?? 0)) - median(by.unrouted.map((m) => m[n] ?? 0))]).filter(([, d]) => d > 0);
  extra.sort((a, b) => b[1] - a[1]);
  console.log(`  the first request beyond the unrouted start, by module (KiB): ${kib(extra.reduce((a, [, d]) => a + d, 0))}`);
  for (const [n, d] of extra.slice(0, Number(rowsArg))) console.log(`  ${kib(d).padStart(6)}  ${n}`);
}
