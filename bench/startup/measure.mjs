// Upload size and cold start of a Noema Worker against a hand-written one (`npm run bench`, see
// the header of bench/run.mjs for the sizes). Each Worker is a folder with a wrangler.jsonc.
//
// Upload: `wrangler deploy --dry-run --outdir --metafile` per Worker; wrangler's own
// "Total Upload: … / gzip: …" line is the figure, the esbuild metafile says which packages fill it.
// Startup: workerd's clocks read 0 during module evaluation, so it cannot be timed from inside the
// isolate. Instead each sample starts a fresh `workerd serve` (the wrangler bundle, an empty SQLite
// store) and times from Node: spawn -> socket accepts (workerd boot; it listens before it loads the
// Worker), then the first request, which pays module compilation and evaluation, the Worker, the DO's
// constructor and one sealed Intent with its commit, then a second request (warm). A second start per
// sample sends a request no route answers (any status below 500): that one pays module evaluation and
// nothing else, so the difference is the first Intent. An empty Worker is workerd's own floor.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";

/** Reads a wrangler.jsonc: comments (outside strings) and trailing commas removed. */
/** The cold-start figures' requests to the template's counter (its own routes: the token is only bound, for `/api`). */
export const STARTUP_REQUEST = { method: "POST", path: "/counters/c1/add", body: { amount: 2 } };
export const STARTUP_SECOND = { method: "POST", path: "/counters/c1/take", body: { amount: 1 } };
export const STARTUP_VARS = { NOEMA_API_TOKEN: "bench-token" };

/** A port nothing listens on now. */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

export function readJsonc(file) {
  const text = readFileSync(file, "utf8")
    .replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, str) => str ?? "")
    .replace(/,(\s*[}\]])/g, "$1");
  return JSON.parse(text);
}

export function configOf(dir) {
  for (const name of ["wrangler.jsonc", "wrangler.json"]) {
    try {
      return { file: join(dir, name), config: readJsonc(join(dir, name)) };
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
  }
  throw new Error(`${dir}: no wrangler.jsonc or wrangler.json`);
}

const KIB = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/;

/** Package (or repository folder) an esbuild input path belongs to. */
function owner(path) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(path);
  if (pkg) return pkg[1];
  const local = /(?:^|\/)((?:packages|apps)\/[^/]+)\//.exec(path);
  return local ? local[1] : "(the Worker's own files)";
}

/** Bytes per package in the bundle, largest first, and who in the Worker's own code imports the heavy ones. */
function breakdown(meta) {
  const [, out] = Object.entries(meta.outputs).find(([file]) => file.endsWith(".js"));
  const bytes = {};
  for (const [path, input] of Object.entries(out.inputs)) bytes[owner(path)] = (bytes[owner(path)] ?? 0) + input.bytesInOutput;
  const packages = Object.entries(bytes)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => ({ name, kib: n / 1024 }));
  // Direct importers of each third-party package, from outside that package.
  const importedBy = {};
  for (const [path, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      const target = owner(imp.path);
      if (target === owner(path) || !/node_modules/.test(imp.path)) continue;
      const key = `${target} <- ${imp.original ?? imp.path}`;
      (importedBy[key] ??= new Set()).add(path.replace(/^(\.\.\/)+/, ""));
    }
  }
  return { packages, importedBy: Object.fromEntries(Object.entries(importedBy).map(([k, v]) => [k, [...v].sort()])) };
}

/** `upload`'s `run` and `tail` for a script that owns no other processes: this repository's wrangler, its output into `logFile`. */
export function wranglerRunner(root) {
  const node = join(root, "node_modules", ".bin", "node");
  const run = (args, logFile) =>
    spawn(`${node} ${join(root, "node_modules", "wrangler", "bin", "wrangler.js")} ${args.map((a) => JSON.stringify(a)).join(" ")} > ${JSON.stringify(logFile)} 2>&1`, {
      shell: true,
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
  return { run, tail: (file) => readFileSync(file, "utf8").slice(-2000) };
}

/**
 * Bundles a Worker folder as `wrangler deploy --dry-run` does and reads its upload size.
 * `run(args, logFile)` spawns wrangler (bench/run.mjs owns processes); returns the bundle folder too.
 */
export async function upload({ label, dir, tmp, run, tail }) {
  const { file } = configOf(dir);
  const outdir = join(tmp, `upload-${label}`);
  const metafile = join(tmp, `upload-${label}.meta.json`);
  const logFile = join(tmp, `upload-${label}.log`);
  // --name: a template's wrangler.jsonc may still hold a placeholder name.
  const child = run(["deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile, "--config", file, "--name", `noema-bench-${label}`], logFile);
  const code = await new Promise((ok) => child.on("exit", ok));
  const log = readFileSync(logFile, "utf8");
  const m = KIB.exec(log);
  if (code !== 0 || !m) throw new Error(`wrangler deploy --dry-run of ${dir} failed (${code}):\n${tail(logFile)}`);
  return { dir, outdir, totalKiB: Number(m[1]), gzipKiB: Number(m[2]), ...breakdown(JSON.parse(readFileSync(metafile, "utf8"))) };
}

/**
 * What-if bundles of the same entry with esbuild in-process, with wrangler's options (minified as
 * the template ships; "as is" must match wrangler's figure): what a cut would save in bytes and,
 * timed by bench/run.mjs, at module evaluation.
 * - withoutJsonSchema: zod's JSON Schema generation stubbed out. The Worker needs it for operation
 *   hashes (a Sieve's `op:` entries, on a freeze, a message or an explanation) and `GET /nomos`, but
 *   never while its modules load: its bytes are the parse cost of code a start does not run.
 * - withoutFeatures: the modules of the features the template's counter never uses (Cryostasis,
 *   messages, the diff of two laws, verification and the inspector's reads) stubbed out: what
 *   loading them only for a law that uses them could save at most. Each stubbed export is one
 *   object that absorbs every use, so module scope still runs; only its evaluation is timed, a
 *   request would fail.
 */
/** Modules the withoutFeatures what-if stubs out, by path. */
const FEATURE_MODULES = [
  /core\/dist\/cryostasis\/(store|builtins)\.js$/,
  /core\/dist\/seal\/(cryostasis|messages|verify)\.js$/,
  /core\/dist\/message\/(store|builtin)\.js$/,
  /core\/dist\/connection\/diff\.js$/,
  /cloudflare\/dist\/(cryostasis|messages|verification|inspection)\.js$/,
];
/** A module with the same exports as the one at `path`, each an object that any access, call or `new` returns again. */
async function absorbing(build, path) {
  const r = await build({ entryPoints: [path], write: false, format: "esm", metafile: true, logLevel: "silent", outdir: "out" });
  const names = Object.values(r.metafile.outputs)[0].exports;
  const proxy = "const P = new Proxy(function () {}, { get: (_, k) => (k === Symbol.iterator ? function* () {} : k === Symbol.toPrimitive ? () => '' : P), apply: () => P, construct: () => P });";
  return [proxy, ...names.map((n) => (n === "default" ? "export default P;" : `export const ${n} = P;`))].join("\n");
}

/**
 * esbuild's options for a Worker bundle as wrangler makes one with `"keep_names": false`, as the
 * template and both startup Workers set it: no `__name` call per function and class.
 */
export const WORKER_BUNDLE = { bundle: true, write: false, format: "esm", platform: "browser", conditions: ["workerd", "worker", "browser"], target: "es2024", keepNames: false, logLevel: "error" };

export async function whatIf(entry, outRoot, { minify = true } = {}) {
  const { build } = await import("esbuild");
  const variants = {
    asIs: {},
    withoutJsonSchema: { stubs: [[/zod\/v4\/core\/json-schema-processors\.js$/, "export const toJSONSchema = () => ({}); export const allProcessors = {};"]] },
    withoutFeatures: { absorb: FEATURE_MODULES },
  };
  const out = {};
  for (const [name, v] of Object.entries(variants)) {
    const plugin = {
      name: "what-if",
      setup(b) {
        for (const [filter, contents] of v.stubs ?? []) b.onLoad({ filter }, () => ({ contents, loader: "js" }));
        for (const filter of v.absorb ?? []) b.onLoad({ filter }, async (a) => ({ contents: await absorbing(build, a.path), loader: "js" }));
      },
    };
    const r = await build({ ...WORKER_BUNDLE, entryPoints: [entry], external: ["cloudflare:*", "node:*"], minify, plugins: [plugin] });
    const code = r.outputFiles[0].contents;
    const outdir = join(outRoot, `whatif-${name}`);
    mkdirSync(outdir, { recursive: true });
    writeFileSync(join(outdir, "index.js"), code);
    out[name] = { totalKiB: code.length / 1024, gzipKiB: gzipSync(code, { level: 9 }).length / 1024, outdir };
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Cold start under workerd
// ---------------------------------------------------------------------------------------

const capnpString = (s) => JSON.stringify(String(s));

/** A workerd config serving the bundle in `outdir` with the Worker's DO namespaces on a SQLite disk store. */
export function workerdConfig({ config, outdir, port, store, vars, from }) {
  const modules = readdirSync(outdir, { recursive: true })
    .map(String)
    .filter((f) => /\.(m?js)$/.test(f))
    .sort((a, b) => (a === "index.js" ? -1 : b === "index.js" ? 1 : a.localeCompare(b)));
  if (modules.length === 0) throw new Error(`${outdir}: no bundled module`);
  const dos = config.durable_objects?.bindings ?? [];
  const bindings = [
    ...dos.map((d) => `(name = ${capnpString(d.name)}, durableObjectNamespace = ${capnpString(d.class_name)})`),
    ...Object.entries({ ...config.vars, ...vars }).map(([k, v]) => `(name = ${capnpString(k)}, text = ${capnpString(typeof v === "string" ? v : JSON.stringify(v))})`),
  ];
  const flags = (config.compatibility_flags ?? []).map(capnpString);
  // STARTUP_V8_FLAGS="--a --b": V8 flags for every started workerd (say, --trace-gc-nvp, or a larger
  // young generation to see what a start's scavenges cost); workerd takes them from its config.
  const v8Flags = (process.env.STARTUP_V8_FLAGS ?? "").split(" ").filter(Boolean).map(capnpString);
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  v8Flags = [ ${v8Flags.join(", ")} ],
  services = [ (name = "main", worker = .w), (name = "disk", disk = (path = ${capnpString(store)}, writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ ${modules.map((m) => `(name = ${capnpString(m)}, esModule = embed ${capnpString(relative(from, join(outdir, m)))})`).join(", ")} ],
  compatibilityDate = ${capnpString(config.compatibility_date ?? "2026-11-01")},
  compatibilityFlags = [ ${flags.join(", ")} ],
  bindings = [ ${bindings.join(", ")} ],
  durableObjectNamespaces = [ ${dos.map((d) => `(className = ${capnpString(d.class_name)}, uniqueKey = ${capnpString(d.class_name)}, enableSql = true)`).join(", ")} ],
  durableObjectStorage = (localDisk = "disk"),
);
`;
}

/**
 * CPU time workerd's threads have run, in ms (Linux: the first field of each thread's schedstat, in
 * ns); NaN elsewhere. What a request costs in CPU moves far less than its wall time on a loaded machine.
 */
/** Kills a workerd started in its own process group, and waits until it has exited. */
export async function killGroup(child) {
  const exited = new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
  await exited;
}

export function cpuMs(pid) {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

function accepts(port) {
  return new Promise((ok) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      ok(true);
    });
    socket.once("error", () => ok(false));
  });
}

async function send(base, request) {
  const res = await fetch(`${base}${request.path}`, {
    method: request.method ?? "POST",
    headers: { "content-type": "application/json", ...request.headers },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const text = await res.text();
  const ok = request.anyAnswer ? res.status < 500 : (request.status ?? [200, 201]).includes(res.status);
  if (!ok) throw new Error(`${request.method ?? "POST"} ${request.path} -> ${res.status}: ${text.slice(0, 500)}`);
}

/** One cold start: fresh workerd, fresh store. Times in ms from spawn. */
async function coldStart({ target, tmp, sample, workerd, track }) {
  const port = await freePort();
  const store = join(tmp, `startup-store-${target.label}-${sample}`);
  mkdirSync(store, { recursive: true });
  const configFile = join(tmp, `startup-${target.label}.capnp`);
  // capnp's `embed` takes a path relative to the config file.
  writeFileSync(configFile, workerdConfig({ config: target.config, outdir: target.outdir, port, store, vars: target.vars, from: tmp }));
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  // With STARTUP_V8_FLAGS, V8's own output (--trace-gc, say) goes to stderr, tagged by target:
  // unbuffered, or the kill at the end of the start would lose it.
  const traced = Boolean(process.env.STARTUP_V8_FLAGS);
  const child = traced
    ? spawn("stdbuf", ["-o0", workerd, "serve", configFile], { detached: true, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(workerd, ["serve", configFile], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  if (traced) child.stdout.on("data", (d) => process.stderr.write(String(d).replace(/^(?=.)/gm, `${target.label} #${sample}: `)));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  track(child);
  try {
    const deadline = t0 + 30_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}) for ${target.label}:\n${stderr}`);
      if (performance.now() > deadline) throw new Error(`workerd for ${target.label} did not listen within 30 s:\n${stderr}`);
      await sleep(1);
    }
    const listenMs = performance.now() - t0;
    const cpu0 = cpuMs(child.pid);
    await send(base, target.request);
    const firstMs = performance.now() - t0 - listenMs;
    const firstCpuMs = cpuMs(child.pid) - cpu0;
    // Traced, V8's lines before this one came from module evaluation and the first request.
    if (traced) process.stderr.write(`${target.label} #${sample}: (first request answered)\n`);
    const t2 = performance.now();
    await send(base, target.second ?? target.request);
    return { listenMs, firstMs, totalMs: listenMs + firstMs, secondMs: performance.now() - t2, firstCpuMs };
  } finally {
    await killGroup(child);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Answered by no route: module evaluation and a trivial response, nothing else. */
const UNROUTED = { method: "GET", path: "/__noema_bench_unrouted", anyAnswer: true };

/**
 * `targets`: [{label, config, outdir, request, second?, vars?}], the first the floor (empty Worker);
 * every other target also gets a `<label>:eval` start with an unrouted request (`evalOnly`: only that).
 * Samples are interleaved, the order rotated per sample; one warm-up round is discarded.
 */
export async function startup({ targets: given, samples, tmp, workerd, track }) {
  const probe = (t) => ({ ...t, label: `${t.label}:eval`, request: UNROUTED, second: UNROUTED });
  const targets = [given[0], ...given.slice(1).flatMap((t) => (t.evalOnly ? [probe(t)] : [t, probe(t)]))];
  const raw = Object.fromEntries(targets.map((t) => [t.label, []]));
  for (let sample = -1; sample < samples; sample++) {
    const order = targets.map((_, i) => targets[(i + Math.max(0, sample)) % targets.length]);
    for (const target of order) {
      const r = await coldStart({ target, tmp, sample: sample + 1, workerd, track });
      if (sample >= 0) raw[target.label].push(r);
    }
  }
  const out = {};
  for (const [label, rs] of Object.entries(raw)) {
    out[label] = Object.fromEntries(["listenMs", "firstMs", "totalMs", "secondMs", "firstCpuMs"].map((k) => [k, median(rs.map((r) => r[k]))]));
    out[label].minFirstMs = Math.min(...rs.map((r) => r.firstMs));
    out[label].samples = rs;
  }
  return out;
}

export const relativeTo = (root, p) => relative(root, resolve(p));
