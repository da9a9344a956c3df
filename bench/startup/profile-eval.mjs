// CPU profile of a Worker's cold start inside workerd: where module evaluation, or the first
// request, goes by module and by function, which bench/startup/measure.mjs's timings cannot say.
//
//   node bench/startup/profile-eval.mjs [worker folder=bench/startup/noema] [unrouted|first] [runs=5] [out.cpuprofile]
//   PROFILE_MINIFY=0 ...   the same bundle unminified (wrangler's `minify` off), for readable names
//   PROFILE_CALLERS=<text> ...   also the self samples of functions whose name holds <text> (as printed
//                                below, `name module:line`), by their callers two frames up
//   PROFILE_ROWS=<n> ...   rows per table (default 30)
//   PROFILE_HEAP=1 ...   what allocates instead of what runs: V8's sampling heap profiler, one sample
//                        per HEAP_UNIT bytes allocated (collected or not), by the same modules and functions
//
// Bundles the folder as `wrangler deploy --dry-run` does, with its source map, and per run starts a
// fresh `workerd serve` on an empty store with the inspector on, opens the Worker's inspector
// session as soon as it is there, starts V8's profiler and sends one request.
// - `unrouted`: module evaluation and a 404, as measure.mjs's `:eval` starts. With the inspector on,
//   workerd evaluates the main module before it listens, so here the main module is a stub that
//   imports the bundle on the first request, under the profiler (without the Durable Objects,
//   whose classes a main module must export itself).
// - `first`: the template's first Intent (POST /counters/c1/add) after the modules were evaluated:
//   the Durable Object's construction, its first wake and one sealed Intent.
// Samples are counted (not their time deltas, which a loaded machine stretches), mapped through the
// source map to a package's file or to workerd's own modules (`node-internal:…`), and summed over
// the runs. Module-scope code is one function of the bundle, which V8 gives no lines for. The
// profiler makes compiling dearer (it records every function compiled), so code loaded in bulk
// (node:crypto, say) weighs more here than in the bench's CPU times; compare shares, then measure.
// The last run's profile is written for Chrome DevTools.
import { LEAST_UPPER_BOUND, TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { performance } from "node:perf_hooks";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { openInspector } from "../inspector.mjs";
import { configOf, upload, workerdConfig, wranglerRunner } from "./measure.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [dirArg = "bench/startup/noema", which = "unrouted", runsArg = "5", out = join(tmpdir(), "noema-eval.cpuprofile")] = process.argv.slice(2);
const SAMPLE_US = 50;
const HEAP = process.env.PROFILE_HEAP === "1";
/** Bytes per sample with PROFILE_HEAP. */
const HEAP_UNIT = 64;
const ROWS = Number(process.env.PROFILE_ROWS ?? 30);
const REQUESTS = {
  unrouted: { method: "GET", path: "/__noema_bench_unrouted" },
  first: { method: "POST", path: "/counters/c1/add", body: JSON.stringify({ amount: 2 }) },
};
const request = REQUESTS[which];
if (!request) throw new Error(`request: unrouted or first, not ${which}`);

const tmp = mkdtempSync(join(tmpdir(), "noema-eval-profile-"));
const { run, tail } = wranglerRunner(root);
const given = resolve(root, dirArg);
const { file: givenFile, config } = configOf(given);
// PROFILE_MINIFY=0: the same bundle unminified, so that module-scope code maps to its source lines.
const minify = process.env.PROFILE_MINIFY !== "0" && config.minify;
const dir = minify === config.minify ? given : join(tmp, "unminified");
if (dir !== given) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "wrangler.json"), JSON.stringify({ ...config, main: resolve(dirname(givenFile), config.main), minify: false }));
}
const bundle = await upload({ label: "profiled", dir, tmp, run, tail });
const map = new TraceMap(readFileSync(join(bundle.outdir, "index.js.map"), "utf8"));
const workerd = join(root, "node_modules", "workerd", "bin", "workerd");
// The stub main module: imports the bundle on the first request, under the profiler.
const stubDir = join(tmp, "stub");
mkdirSync(stubDir, { recursive: true });
writeFileSync(join(stubDir, "index.js"), 'export default { async fetch(request, env, ctx) { const m = await import("./worker.js"); return m.default.fetch(request, env, ctx); } };\n');
writeFileSync(join(stubDir, "worker.js"), readFileSync(join(bundle.outdir, "index.js"), "utf8").replace(/\/\/# sourceMappingURL=.*$/m, ""));

/** A source path as a module name: package/file, the Worker's own files by name. */
function moduleOf(source) {
  if (!source) return "(no source)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)(.*)$/.exec(source);
  if (pkg) return `${pkg[1]}/${pkg[2]}`;
  const local = /(?:^|\/)((?:packages|apps)\/.*)$/.exec(source);
  return local ? local[1] : source.replace(/^(\.\.\/)+/, "");
}

async function profiledStart(i) {
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const inspector = port + 1;
  const store = join(tmp, `store-${i}`);
  mkdirSync(store, { recursive: true });
  const configFile = join(tmp, "profiled.capnp");
  writeFileSync(configFile, workerdConfig({ config: which === "unrouted" ? { ...config, durable_objects: undefined } : config, outdir: which === "unrouted" ? stubDir : bundle.outdir, port, store, vars: { NOEMA_API_TOKEN: "t" }, from: tmp }));
  const child = spawn(workerd, ["serve", configFile, "--inspector-addr", `127.0.0.1:${inspector}`], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    let targets;
    for (let k = 0; ; k++) {
      try {
        targets = await (await fetch(`http://127.0.0.1:${inspector}/json`)).json();
        if (targets.length) break;
      } catch {
        // not listening yet
      }
      if (k > 3000 || child.exitCode !== null) throw new Error(`no inspector:\n${stderr}`);
      await sleep(5);
    }
    const { send, close } = await openInspector(targets[0].webSocketDebuggerUrl);
    if (HEAP) {
      await send("HeapProfiler.enable");
      await send("HeapProfiler.startSampling", { samplingInterval: HEAP_UNIT, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    } else {
      await send("Profiler.enable");
      await send("Profiler.setSamplingInterval", { interval: SAMPLE_US });
      await send("Profiler.start");
    }
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}${request.path}`, {
      method: request.method,
      headers: { "content-type": "application/json" },
      ...(request.body ? { body: request.body } : {}),
    });
    await res.text();
    const ms = performance.now() - t0;
    if (res.status >= 500) throw new Error(`${request.path} -> ${res.status}`);
    const { result } = await send(HEAP ? "HeapProfiler.stopSampling" : "Profiler.stop");
    close();
    return { profile: HEAP ? cpuShaped(result.profile) : result.profile, ms };
  } finally {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** A sampling heap profile as a CPU profile's nodes and samples: one sample per HEAP_UNIT bytes a function allocated. */
function cpuShaped(heap) {
  const nodes = [];
  const samples = [];
  const walk = (node) => {
    nodes.push({ id: node.id, callFrame: node.callFrame, children: node.children.map((c) => c.id) });
    for (let k = Math.round(node.selfSize / HEAP_UNIT); k > 0; k--) samples.push(node.id);
    node.children.forEach(walk);
  };
  walk(heap.head);
  return { nodes, samples };
}

const runs = Number(runsArg);
const byModule = new Map();
const byFunction = new Map();
const byModuleInclusive = new Map();
const byFunctionInclusive = new Map();
const callers = process.env.PROFILE_CALLERS;
const byCaller = new Map();
let total = 0;
let last;
const wall = [];
for (let i = 0; i < runs; i++) {
  const { profile, ms } = await profiledStart(i);
  wall.push(ms);
  last = profile;
  const nodes = new Map(profile.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const where = (x) => {
    const f = x.callFrame;
    if (!f.url) return { module: `(${f.functionName || "native"})`, fn: f.functionName || "(native)" };
    if (which === "unrouted" && f.url === "index.js") return { module: "(stub)", fn: `${f.functionName} (stub)` };
    // workerd's own JavaScript (node:crypto and what it loads, for one).
    if (f.url !== (which === "unrouted" ? "worker.js" : "index.js")) return { module: `(${f.url})`, fn: `${f.functionName || "(anonymous)"} (${f.url})` };
    if (f.lineNumber < 0) return { module: "(module scope)", fn: "(module scope)", top: true };
    const p = originalPositionFor(map, { line: f.lineNumber + 1, column: f.columnNumber });
    const module = moduleOf(p.source);
    return { module, fn: `${f.functionName || p.name || "(anonymous)"} ${module}:${p.line ?? "?"}` };
  };
  const cache = new Map();
  const at = (id) => cache.get(id) ?? cache.set(id, where(nodes.get(id))).get(id);
  // Counted in samples, not in their time deltas: on a loaded machine a gap where the sampler was not
  // scheduled would be charged to whichever sample came next.
  const add = (m, k, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  profile.samples.forEach((id) => {
    total += 1;
    const w = at(id);
    if (!w.top) {
      add(byFunction, w.fn);
      add(byModule, w.module);
      if (callers && w.fn.includes(callers)) {
        const up = parent.get(id);
        const up2 = up === undefined ? undefined : parent.get(up);
        add(byCaller, [up, up2].map((u) => (u === undefined ? "-" : at(u).fn)).join(" < "));
      }
    }
    const seen = new Set();
    for (let up = id; up !== undefined; up = parent.get(up)) {
      const { module, fn } = at(up);
      if (!seen.has(module)) add(byModuleInclusive, module);
      if (!seen.has(fn)) add(byFunctionInclusive, fn);
      seen.add(module).add(fn);
    }
  });
  // Module-scope code is one function per bundle: its samples go to the source lines they hit.
  for (const x of profile.nodes) {
    if (!at(x.id).top) continue;
    let placed = 0;
    for (const { line, ticks } of x.positionTicks ?? []) {
      const p = originalPositionFor(map, { line, column: 0, bias: LEAST_UPPER_BOUND });
      const module = moduleOf(p.source);
      add(byModule, `${module} (module scope)`, ticks);
      add(byFunction, `(module scope) ${module}:${p.line ?? "?"}`, ticks);
      placed += ticks;
    }
    if (x.hitCount > placed) add(byModule, "(module scope, no line)", x.hitCount - placed);
  }
}
writeFileSync(out, JSON.stringify(last));
const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, ROWS);
const print = (title, m) => {
  console.log(title);
  for (const [k, v] of sorted(m)) console.log(`${(v / runs).toFixed(1).padStart(7)} ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
};
wall.sort((a, b) => a - b);
const busy = total - (byModule.get("((idle))") ?? 0);
console.log(`${dir}: ${bundle.totalKiB} KiB / gzip ${bundle.gzipKiB} KiB; request ${which}; ${runs} runs; wall ms under the profiler ${wall.map((w) => w.toFixed(1)).join(", ")}`);
if (HEAP) console.log(`PROFILE_HEAP: a sample is ${HEAP_UNIT} bytes allocated (${((total / runs) * HEAP_UNIT / 1024).toFixed(0)} KiB per run)`);
console.log(`samples per run: ${(total / runs).toFixed(0)}, not idle ${(busy / runs).toFixed(0)} (share of those below); last profile: ${out}`);
print("self samples per run, by module", byModule);
print("inclusive samples per run, by module (once per stack)", byModuleInclusive);
print("inclusive samples per run, by function (once per stack)", byFunctionInclusive);
print("self samples per run, by function", byFunction);
if (callers) print(`self samples of ${callers}, by caller < its caller`, byCaller);
