// `npm run bench`: a hand-written reservation Durable Object (no framework) against Noema's
// InventoryAttractor, measured in the same run and interleaved so that drift hits both sides.
//
// What it measures, once per wrangler observability setting (on, then off):
//   1. in-DO transactions/s: `loop(n)` runs n reservations inside one request (each its own
//      transactionSync, all sharing one output-gate commit). Each batch uses a fresh DO so every
//      target starts from empty tables: the inventory invariant sums all active reservations, so
//      its cost grows with every reservation held, on both sides alike.
//   2. Worker -> DO RPC calls/s with 1 and 32 in flight (each call pays its own commit).
//   3. HTTP req/s through `wrangler dev` with autocannon, one reservation per request.
//   4. (first run only) a breakdown of Noema's path, and Cryostasis: the cost of freezing (a
//      reservation Intent with and without a `$freeze` of its release, in-DO; `freeze()` from code
//      against sedimentation over RPC), wake throughput (due entries woken by calling the
//      Attractor's alarm() inside the DO until none is due), and what 100,000 pending entries cost
//      (freezing one more with them vs without, and storage per entry).
//   5. (before the wrangler runs, on a quiet machine) Worker figures, bench/startup/measure.mjs:
//      - upload size: `wrangler deploy --dry-run --outdir --metafile` of a Noema Worker (default
//        bench/startup/noema, the create-noema counter on today's API) and of a hand-written one doing
//        the same SQL with a SHA-256 chained log (bench/startup/hand); wrangler's "Total Upload / gzip"
//        line, the bundle by package (esbuild metafile) with who imports zod and node-sql-parser, and
//        what-if bundles (esbuild with wrangler's options; without zod's JSON Schema code), sized and
//        timed at module evaluation;
//      - cold start: per sample a fresh `workerd serve` of each bundle on an empty SQLite store; the
//        first request pays module evaluation + DO constructor + one sealed Intent; a second start with
//        an unrouted request isolates module evaluation; an empty Worker is workerd's floor. Medians.
//        (workerd's clocks read 0 while modules evaluate, so this is timed from Node.)
// Targets: hand-plain (plain log row), hand-chain (SHA-256 chained log row), noema (the real
// InventoryAttractor; over RPC/HTTP the Worker builds the Intent like the inventory API does),
// noema-app (HTTP only: the inventory Hono app itself, with bearer auth), noema-prebuilt (RPC
// only, diagnostic: one Intent built per measurement, so its gap to noema is the Worker-side build).
//
// Sizes (environment variables):
//   BENCH_SECONDS=5              autocannon duration per HTTP cell, seconds
//   BENCH_CONNECTIONS=1,16,64    autocannon connections, one cell each
//   BENCH_HTTP_TARGETS=hand-chain,noema,noema-app
//   BENCH_OBSERVABILITY=on,off   one `wrangler dev` run per setting
//   BENCH_LOOP_N=500             reservations per in-DO batch (one fresh DO per batch)
//   BENCH_LOOP_SECONDS=6         in-DO phase budget per wrangler run (batches rotate targets)
//   BENCH_RPC_CALLS=500          RPC calls per measurement (one fresh DO per measurement)
//   BENCH_RPC_CONCURRENCY=1,32   calls in flight
//   BENCH_RPC_ROUNDS=3           interleaved rounds per concurrency
//   BENCH_RPC_SLICES=5           each round's calls go in this many slices, the targets taking turns
//                                slice by slice, so a swing of the machine's load hits all of them
//   BENCH_PROFILE_N=500          iterations per part of the Noema breakdown (0: skip); first run only
//   BENCH_PROFILE_REPS=5         rounds of the breakdown (fresh DOs each); the fastest round counts
//   BENCH_PROFILE_PARTS=         a comma-separated subset of its parts ("hand" for the hand-written loops), e.g.
//                                reserveOnly,reserveAndFreeze for the freezing ratio alone; all when empty
//   BENCH_WAKE_N=10000           Cryostasis: entries frozen due and woken in one fresh DO (0: skip); first run only
//   BENCH_WAKE_PLAIN_N=2000      plain sedimentations of the same Intent after the wake, for comparison
//   BENCH_PENDING_N=100000       Cryostasis: entries kept pending in one fresh DO (0: skip); first run only
//   BENCH_PENDING_PROBE=500      freezes timed per probe, with N and with ~0 entries pending
//   BENCH_PENDING_ROUNDS=3       probe rounds, alternating the two DOs; the fastest counts
//   BENCH_GROWTH=0,1000,10000,50000  write cost by active reservations (first run only; "" skips): per n a fresh
//                                Noema DO and a fresh hand-written one, filled in bulk with n active reservations
//   BENCH_GROWTH_PROBE=500       writes timed per kind and n (reserve + $freeze / hand reserve, setStock)
//   BENCH_GROWTH_ROUNDS=3        probe rounds per DO; the fastest counts
//   BENCH_GROWTH_WAKE_N=10000    due releases woken among BENCH_GROWTH_WAKE_ACTIVE active reservations (0: skip),
//   BENCH_GROWTH_WAKE_ACTIVE=50000  and the same n among no others, for the ratio
//   BENCH_VERIFY_N=300000        Verification: sediments in one fresh DO's log (bulk-built), verified while writes arrive (0: skip); first run only
//   BENCH_VERIFY_EVERY=50        ms between those writes
//   BENCH_BYTES_N=10000          Bytes on disk per sediment / reservation / active reservation, and per hand-written log row (0: skip); first run only
//   BENCH_ARCHIVE_N=20000        archival to R2: sediments filled then archived in one fresh DO (0: skip); first run only
//   BENCH_ARCHIVE_SEGMENT=10000  entries per segment (the default, DEFAULT_SEGMENT_ENTRIES)
//   BENCH_MESSAGES_N=2000        messages: sent by one sender and delivered by its alarm, first run only (0: skip)
//   BENCH_MESSAGES_RECEIVERS=50  distinct receivers they fan out to; the baseline makes the same calls as plain RPC
//   BENCH_MESSAGES_ROUNDS=2      rounds (fresh sender and receivers each), alternating which side runs first
//   BENCH_ORDERS_N=200           orders of 3 lines per measurement, through an OrderAttractor or sent directly (0: skip); first run only
//   BENCH_ORDERS_CONCURRENCY=1,16  orders in flight
//   BENCH_ORDERS_ROUNDS=2        interleaved rounds per concurrency
//   BENCH_SYNC_SUBSCRIBERS=0,1,100,1000  sync latency (issue 19 §4): subscribers per World, one cell each, first run only
//                                ("" skips; 0 times the write alone, in the DO)
//   BENCH_SYNC_ROUNDS=3          rounds per cell (each: BENCH_SYNC_WRITES writes per side, the sides taking turns); the
//                                budget's p50 and p99 pool every round's samples, per-round ratios are printed beside
//   BENCH_SYNC_WRITES=10         writes per side per round; every subscriber's receipt of each is a sample
//   BENCH_SYNC_INSIDE=20         per cell, writes timed inside the DO (write + broadcast, no network), fastest of the rounds (0: skip)
//   BENCH_SYNC_WARMUP=3          writes per side before the rounds (the JIT still optimizes Noema's write path for ~1,500)
//   BENCH_SYNC_CONTROL=1         0: no A/A control (a second hand-written World, measured as a third side against the baseline)
//   BENCH_SYNC_ROWS=1000         bytes per update: stock rows in the World (0: skip)
//   BENCH_SYNC_BUNDLE=1          0: skip the @noema/client browser bundle size
//   BENCH_SYNC_APPLY=50          optimistic sends timed in Chromium (/usr/bin/chromium), after warm-up (0: skip)
//   BENCH_ONLY=sync              run only the sync figures (bundle, one `wrangler dev` run with latency and bytes)
//   BENCH_ONLY=orders            run only the orders figures (one `wrangler dev` run; BENCH_ORDERS_* sizes)
//   BENCH_OUT=bench/results/latest.json
//   BENCH_DIST=                  a folder for the bundled bench Worker: reused when it holds one (index.js), else bundled
//                                into it and kept; lets runs of two builds alternate (e.g. before and after a change)
//   BENCH_LOCAL_TRACES=1         0 (or X_LOCAL_OBSERVABILITY=false in the environment): `wrangler dev` without its
//                                local trace collector, which runs JavaScript for every span on both sides and which
//                                production does not have; each wrangler section's header says which ran
//   BENCH_WRANGLER=1             0: skip parts 1-4 (the `wrangler dev` runs), e.g. for the Worker figures alone
//   BENCH_UPLOAD=1               0: skip the upload sizes (and the what-if bundles)
//   BENCH_STARTUP_SAMPLES=7      cold starts per Worker, interleaved, after one discarded round (0: skip)
//   BENCH_STARTUP_NOEMA=bench/startup/noema   folder with the Noema Worker's wrangler.jsonc, e.g. a project
//                                scaffolded by create-noema (npm installed) to measure the template itself
//   BENCH_STARTUP_HAND=bench/startup/hand     the hand-written Worker
//   BENCH_STARTUP_REQUEST='{"method":"POST","path":"/counters/c1/add","body":{"amount":2}}'  first request (JSON)
//   BENCH_STARTUP_SECOND='{"method":"POST","path":"/counters/c1/take","body":{"amount":1}}'  warm second request
//   BENCH_STARTUP_VARS='{"NOEMA_API_TOKEN":"bench-token"}'  text bindings given to both Workers
// Cryostasis (first run only): the freezing cost is part of the breakdown (BENCH_PROFILE_N, _REPS) and
// of RPC (freeze() from code vs sedimentation of the same Intent, BENCH_RPC_CALLS x BENCH_RPC_ROUNDS at
// each BENCH_RPC_CONCURRENCY); wake throughput and the cost of pending entries have their own sizes.
// Defaults take about 5 minutes on 2 cores (6.5 under a load of 8). Smoke run: BENCH_SECONDS=1 BENCH_LOOP_SECONDS=1 BENCH_RPC_ROUNDS=1
// BENCH_WAKE_N=500 BENCH_PENDING_N=2000 BENCH_PENDING_PROBE=100 BENCH_STARTUP_SAMPLES=3.
// Worker figures only (~40 s): BENCH_WRANGLER=0.
// Results: bench/results/latest.json; new keys `upload` and `startup` next to `runs`, and per run
// `breakdown` (µs per part of a reservation). bench/results/baseline-main-smoke.json: the smoke run
// on main before issue 7's changes, for comparison.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, URLSearchParams } from "node:url";
import autocannon from "autocannon";
import { configOf, cpuMs, freePort, STARTUP_REQUEST, STARTUP_SECOND, STARTUP_VARS, startup, upload, whatIf } from "./startup/measure.mjs";
import { optimisticApply } from "./sync/apply.mjs";
import { CLIENT_JS_TARGET_GZIP_KIB, clientBundle, printSync, SYNC_BYTES_TARGET, SYNC_LATENCY_TARGET, syncBytes, syncLatency } from "./sync/measure.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;

function num(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return n;
}
function list(name, fallback, allowed) {
  const items = (env[name] ?? fallback).split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (allowed && !allowed.includes(item)) throw new Error(`${name}: "${item}" is not one of ${allowed.join(", ")}`);
  }
  return items;
}

const TOKEN = "bench-token"; // the `vars` value in bench/worker/wrangler.jsonc

function json(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${name} must be JSON, got "${raw}"`);
  }
}

const config = {
  seconds: num("BENCH_SECONDS", 5),
  connections: list("BENCH_CONNECTIONS", "1,16,64").map(Number),
  httpTargets: list("BENCH_HTTP_TARGETS", "hand-chain,noema,noema-app", ["hand-plain", "hand-chain", "noema", "noema-app"]),
  observability: list("BENCH_OBSERVABILITY", "on,off", ["on", "off"]),
  loopN: num("BENCH_LOOP_N", 500),
  loopSeconds: num("BENCH_LOOP_SECONDS", 6),
  rpcCalls: num("BENCH_RPC_CALLS", 500),
  rpcConcurrency: list("BENCH_RPC_CONCURRENCY", "1,32").map(Number),
  rpcRounds: num("BENCH_RPC_ROUNDS", 3),
  rpcSlices: Math.max(1, num("BENCH_RPC_SLICES", 5)),
  profileN: num("BENCH_PROFILE_N", 500),
  profileReps: num("BENCH_PROFILE_REPS", 5),
  profileParts: list("BENCH_PROFILE_PARTS", ""),
  wakeN: num("BENCH_WAKE_N", 10_000),
  wakePlainN: num("BENCH_WAKE_PLAIN_N", 2000),
  pendingN: num("BENCH_PENDING_N", 100_000),
  pendingProbe: num("BENCH_PENDING_PROBE", 500),
  pendingRounds: num("BENCH_PENDING_ROUNDS", 3),
  growth: list("BENCH_GROWTH", "0,1000,10000,50000").map(Number),
  growthProbe: num("BENCH_GROWTH_PROBE", 500),
  growthRounds: num("BENCH_GROWTH_ROUNDS", 3),
  growthWakeN: num("BENCH_GROWTH_WAKE_N", 10_000),
  growthWakeActive: num("BENCH_GROWTH_WAKE_ACTIVE", 50_000),
  verifyN: num("BENCH_VERIFY_N", 300_000),
  verifyEvery: num("BENCH_VERIFY_EVERY", 50),
  bytesN: num("BENCH_BYTES_N", 10_000),
  archiveN: num("BENCH_ARCHIVE_N", 20_000),
  archiveSegment: num("BENCH_ARCHIVE_SEGMENT", 10_000),
  messagesN: num("BENCH_MESSAGES_N", 2000),
  messagesReceivers: num("BENCH_MESSAGES_RECEIVERS", 50),
  messagesRounds: num("BENCH_MESSAGES_ROUNDS", 2),
  ordersN: num("BENCH_ORDERS_N", 200),
  ordersConcurrency: list("BENCH_ORDERS_CONCURRENCY", "1,16").map(Number),
  ordersRounds: num("BENCH_ORDERS_ROUNDS", 2),
  syncSubscribers: list("BENCH_SYNC_SUBSCRIBERS", "0,1,100,1000").map(Number),
  syncRounds: num("BENCH_SYNC_ROUNDS", 3),
  syncWrites: num("BENCH_SYNC_WRITES", 10),
  syncInside: num("BENCH_SYNC_INSIDE", 20),
  syncRows: num("BENCH_SYNC_ROWS", 1000),
  syncBundle: num("BENCH_SYNC_BUNDLE", 1) > 0,
  syncApply: num("BENCH_SYNC_APPLY", 50),
  syncControl: num("BENCH_SYNC_CONTROL", 1) > 0,
  syncWarmup: num("BENCH_SYNC_WARMUP", 3),
  localTraces: num("BENCH_LOCAL_TRACES", 1) > 0 && env.X_LOCAL_OBSERVABILITY !== "false",
  only: list("BENCH_ONLY", "", ["sync", "orders"]),
  out: resolve(root, env.BENCH_OUT ?? "bench/results/latest.json"),
  dist: env.BENCH_DIST ? resolve(env.BENCH_DIST) : undefined,
  wranglerRuns: num("BENCH_WRANGLER", 1) > 0,
  upload: num("BENCH_UPLOAD", 1) > 0,
  startupSamples: num("BENCH_STARTUP_SAMPLES", 7),
  startupNoema: resolve(root, env.BENCH_STARTUP_NOEMA ?? "bench/startup/noema"),
  startupHand: resolve(root, env.BENCH_STARTUP_HAND ?? "bench/startup/hand"),
  startupRequest: json("BENCH_STARTUP_REQUEST", STARTUP_REQUEST),
  startupSecond: json("BENCH_STARTUP_SECOND", STARTUP_SECOND),
  startupVars: json("BENCH_STARTUP_VARS", STARTUP_VARS),
};
/** Issue 8: a reservation at the largest BENCH_GROWTH count may cost at most this times one at the smallest. */
const GROWTH_TARGET = 1.3;
/** Freezing (an Intent plus a `$freeze` step, or `freeze()` from code) should cost less than this times a plain sedimentation. */
const FREEZE_TARGET = 1.5;

const DO_TARGETS = ["hand-plain", "hand-chain", "noema"];
// Diagnostic: the Intent built once per measurement, so the difference to `noema` is the Worker-side build.
const RPC_TARGETS = [...DO_TARGETS, "noema-prebuilt"];
const RESERVE_BODY = JSON.stringify({ locationId: "main", quantity: 1 });

// ---------------------------------------------------------------------------------------
// Processes: everything this script starts is killed on exit, error or signal.
// ---------------------------------------------------------------------------------------

const tmp = mkdtempSync(join(tmpdir(), "noema-bench-"));
const children = new Set();

function killGroup(child, signal) {
  try {
    // detached: the child leads its own process group, so workerd goes down with wrangler.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function cleanup() {
  for (const child of children) killGroup(child, "SIGKILL");
  children.clear();
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping wrangler`);
    process.exit(130);
  });
}

// npm scripts put Node 22 first on PATH; wrangler refuses Node 20, so run its entry with that node explicitly.
const localNode = join(root, "node_modules", ".bin", "node");
const nodeBin = existsSync(localNode) ? localNode : process.execPath;
const wranglerJs = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const childEnv = { ...env, WRANGLER_SEND_METRICS: "false" };

function run(args, logFile, extraEnv = {}) {
  const log = openSync(logFile, "a");
  const child = spawn(nodeBin, [wranglerJs, ...args], { cwd: root, detached: true, stdio: ["ignore", log, log], env: { ...childEnv, ...extraEnv } });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

function tail(file, lines = 30) {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(-lines).join("\n") : "(no log)";
}


/** The bench config with overrides, written to the temp folder so wrangler's own files land there too. */
function writeConfig(file, overrides) {
  const source = readFileSync(join(root, "bench/worker/wrangler.jsonc"), "utf8");
  // The file has only whole-line comments.
  const { $schema: _schema, ...base } = JSON.parse(source.replace(/^\s*\/\/.*$/gm, ""));
  const path = join(tmp, file);
  writeFileSync(path, JSON.stringify({ ...base, ...overrides }, null, 2));
  return path;
}

/**
 * Bundles once with wrangler, then serves the frozen bundle: `wrangler dev` on the sources
 * would reload whenever anyone edits them, in the middle of a measurement.
 */
/** Where the bundled bench Worker is. */
const distDir = () => config.dist ?? join(tmp, "dist");

async function bundle() {
  if (existsSync(join(distDir(), "index.js"))) {
    console.log(`bench Worker: ${distDir()}/index.js, bundled earlier (BENCH_DIST)`);
    return;
  }
  const logFile = join(tmp, "bundle.log");
  const config = writeConfig("wrangler.bundle.json", { main: join(root, "bench/worker/index.ts") });
  const child = run(["deploy", "--dry-run", "--outdir", distDir(), "--config", config], logFile);
  const code = await new Promise((ok) => child.on("exit", ok));
  if (code !== 0) throw new Error(`bundling the bench worker failed:\n${tail(logFile)}`);
}

async function startWrangler(observability) {
  const port = await freePort();
  const tag = observability ? "on" : "off";
  const logFile = join(tmp, `wrangler-${tag}.log`);
  const persist = join(tmp, `persist-${tag}`);
  const configFile = writeConfig(`wrangler.observability-${tag}.json`, {
    main: join(distDir(), "index.js"),
    no_bundle: true,
    observability: { enabled: observability },
  });
  const args = ["dev", "--config", configFile, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persist];
  // X_LOCAL_OBSERVABILITY=false: wrangler's local trace store (a SQLite file it writes on every request,
  // even with observability off in the config) stays off.
  const child = run(args, logFile, config.localTraces ? {} : { X_LOCAL_OBSERVABILITY: "false" });
  const base = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 90_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${tail(logFile)}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return { child, base, logFile };
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`wrangler dev did not answer on ${base} within 90 s:\n${tail(logFile)}`);
}

/**
 * CPU ms the workerd processes of a `wrangler dev` (its process group) have run so far (Linux; NaN
 * elsewhere). Every Durable Object and the Worker run there, so what a measurement adds to it is
 * what it cost, whatever else loads the machine.
 */
function workerdCpuMs(child) {
  let pids;
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return Number.NaN; // no /proc: not Linux
  }
  let ms = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...
      const [comm, rest] = [stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), stat.slice(stat.lastIndexOf(")") + 2).split(" ")];
      if (comm === "workerd" && Number(rest[2]) === child.pid) ms += cpuMs(pid);
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}

async function stopWrangler(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((ok) => child.once("exit", ok));
  killGroup(child, "SIGTERM");
  const timer = sleep(5000).then(() => killGroup(child, "SIGKILL"));
  await Promise.race([exited, timer]);
  await exited;
}

// ---------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------

let seq = 0;
const fresh = (prefix) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

async function post(base, path, params) {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { method: "POST" });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} ${JSON.stringify(params)} -> ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function setup(base, target, name) {
  const r = await post(base, "/setup", { target: target === "noema-app" ? "noema" : target, name });
  if (r.schemaMatches === false) throw new Error("hand-written DDL/invariant differ from the inventory Nomos: update bench/worker/hand.ts");
}

/** Rotates the order each round so no target always runs first or last. */
const rotate = (items, round) => items.map((_, i) => items[(i + round) % items.length]);
const rate = (count, ms) => (ms > 0 ? (count * 1000) / ms : 0);

async function inDo(base) {
  const acc = Object.fromEntries(DO_TARGETS.map((t) => [t, { reservations: 0, insideMs: 0, outsideMs: 0, batches: 0, bestMs: Infinity }]));
  // Warm-up: JIT and first-wake costs out of the figures.
  for (const t of DO_TARGETS) {
    const name = fresh(`warm-${t}`);
    await setup(base, t, name);
    await post(base, "/loop", { target: t, name, n: config.loopN });
  }
  const deadline = performance.now() + config.loopSeconds * 1000;
  for (let round = 0; round === 0 || performance.now() < deadline; round++) {
    for (const t of rotate(DO_TARGETS, round)) {
      const name = fresh(`loop-${t}`);
      await setup(base, t, name);
      const r = await post(base, "/loop", { target: t, name, n: config.loopN });
      const a = acc[t];
      a.reservations += r.n;
      a.insideMs += r.insideMs;
      a.outsideMs += r.outsideMs;
      a.batches++;
      a.bestMs = Math.min(a.bestMs, r.insideMs);
    }
  }
  return Object.fromEntries(
    Object.entries(acc).map(([t, a]) => [
      t,
      {
        ...a,
        perSecond: rate(a.reservations, a.insideMs),
        perSecondWithCommit: rate(a.reservations, a.outsideMs),
        // The least disturbed batch: a steadier figure on a shared machine.
        bestBatchPerSecond: rate(config.loopN, a.bestMs),
      },
    ]),
  );
}

async function rpc(base, cpu) {
  const out = {};
  for (const c of config.rpcConcurrency) {
    out[c] = Object.fromEntries(RPC_TARGETS.map((t) => [t, { calls: 0, ms: 0, cpuMs: 0, rounds: [], cpuRounds: [] }]));
    // Warm-up each path at this concurrency.
    for (const t of RPC_TARGETS) {
      const name = fresh(`rpcw-${t}`);
      await setup(base, t, name);
      await post(base, "/rpc", { target: t, name, k: Math.min(100, config.rpcCalls), c });
    }
  }
  // A round gives each target a fresh DO and its calls in slices, the targets taking turns slice
  // by slice (in a rotated order): the load of a shared machine swings within seconds, as long as
  // one target's whole measurement, and would otherwise land on whichever target ran then.
  const slices = Array.from({ length: config.rpcSlices }, (_, i) => Math.floor((config.rpcCalls * (i + 1)) / config.rpcSlices) - Math.floor((config.rpcCalls * i) / config.rpcSlices));
  for (let round = 0; round < config.rpcRounds; round++) {
    for (const c of config.rpcConcurrency) {
      const names = {};
      const acc = {};
      for (const t of RPC_TARGETS) {
        names[t] = fresh(`rpc-${t}`);
        await setup(base, t, names[t]);
        acc[t] = { calls: 0, ms: 0, cpuMs: 0 };
      }
      for (const [i, k] of slices.entries()) {
        if (k === 0) continue;
        for (const t of rotate(RPC_TARGETS, round + i)) {
          const before = cpu?.();
          const r = await post(base, "/rpc", { target: t, name: names[t], k, c });
          if (cpu) acc[t].cpuMs += cpu() - before;
          acc[t].calls += r.k;
          acc[t].ms += r.ms;
        }
      }
      for (const t of RPC_TARGETS) {
        out[c][t].calls += acc[t].calls;
        out[c][t].ms += acc[t].ms;
        out[c][t].cpuMs += acc[t].cpuMs;
        out[c][t].rounds.push(rate(acc[t].calls, acc[t].ms));
        // Calls per CPU second: a ratio of these reads like one of calls/s (higher is cheaper).
        if (cpu) out[c][t].cpuRounds.push(rate(acc[t].calls, acc[t].cpuMs));
      }
    }
  }
  for (const byTarget of Object.values(out)) {
    for (const v of Object.values(byTarget)) {
      v.perSecond = rate(v.calls, v.ms);
      if (cpu) v.cpuMicrosPerCall = v.calls > 0 ? (v.cpuMs * 1000) / v.calls : null;
    }
  }
  return out;
}

function httpRequest(base, target, name) {
  if (target === "noema-app") {
    return {
      url: `${base}/api/products/${name}/reservations`,
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    };
  }
  return { url: `${base}/http/${target}/${name}`, headers: { "content-type": "application/json" } };
}

async function cannon(base, target, name, opts) {
  const { url, headers } = httpRequest(base, target, name);
  const result = await autocannon({ url, method: "POST", headers, body: RESERVE_BODY, ...opts });
  return {
    perSecond: result.duration > 0 ? result["2xx"] / result.duration : 0,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
  };
}

async function http(base) {
  for (const t of config.httpTargets) {
    const name = fresh(`httpw-${t}`);
    await setup(base, t, name);
    const w = await cannon(base, t, name, { connections: 4, amount: 200 });
    if (w.ok !== 200) throw new Error(`HTTP warm-up for ${t} failed: ${JSON.stringify(w)}`);
  }
  const out = {};
  for (const [i, c] of config.connections.entries()) {
    out[c] = {};
    for (const t of rotate(config.httpTargets, i)) {
      const name = fresh(`http-${t}`);
      await setup(base, t, name);
      out[c][t] = await cannon(base, t, name, { connections: c, duration: config.seconds });
    }
  }
  return out;
}

/**
 * Archival to R2 (issue 8 §4): a fresh DO fills its log, then archives it one segment per run the
 * way the alarm chore does (encode, put, read back and hash, one transaction to record and delete).
 * Baselines in the same DO and run: one plain R2 put of each segment's text, and a put + get.
 */
async function archival(base) {
  const a = await post(base, "/archive", { name: fresh("archive"), n: config.archiveN, segment: config.archiveSegment });
  if (a.segments !== Math.floor(config.archiveN / config.archiveSegment)) throw new Error(`archive bench: ${a.segments} segments`);
  const perSecond = rate(a.n, a.archiveMs);
  // Writes one at a time while one segment is archived (and just after), against the same writes alone.
  const w = await post(base, "/archive-stall", { name: fresh("archive-stall"), segment: config.archiveSegment, k: 200 });
  const max = (xs) => Math.max(...xs);
  const p50 = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const during = [...w.during, ...w.after];
  return {
    ...a,
    writeDuring: {
      writes: w.during.length,
      archiveMs: w.archiveMs,
      maxMs: max(during),
      p50Ms: p50(w.during),
      afterMaxMs: max(w.after),
      aloneMaxMs: max(w.alone),
      aloneP50Ms: p50(w.alone),
      // The slowest five of each: one outlier or a pattern.
      slowest: [...during].sort((x, y) => y - x).slice(0, 5),
      slowestAlone: [...w.alone].sort((x, y) => y - x).slice(0, 5),
    },
    perSecond,
    bytesPerEntry: a.bytes / a.n,
    putPerSecond: rate(a.n, a.putMs),
    putGetPerSecond: rate(a.n, a.putGetMs),
    vsPut: ratio(rate(a.n, a.putMs), perSecond),
    vsPutGet: ratio(rate(a.n, a.putGetMs), perSecond),
  };
}

function printArchival(a) {
  return [
    `Archival to R2 (local): ${fmt(a.perSecond)} entries/s (${a.n} sediments in ${a.segments} segments of ${a.segmentEntries}, ${fmt(a.bytesPerEntry)} bytes per entry, ${(a.archiveMs / 1000).toFixed(2)} s)`,
    `  baseline, the same bytes: plain put ${fmt(a.putPerSecond)} entries/s (archival costs ${fmtRatio(a.vsPut)}), put + get ${fmt(a.putGetPerSecond)} entries/s (${fmtRatio(a.vsPutGet)})`,
    `  a write over RPC while a segment of ${a.segmentEntries} is archived (${a.writeDuring.archiveMs} ms, ${a.writeDuring.writes} writes, then 20 after): max ${a.writeDuring.maxMs} ms (just after: ${a.writeDuring.afterMaxMs}), median ${a.writeDuring.p50Ms} ms; alone: max ${a.writeDuring.aloneMaxMs} ms, median ${a.writeDuring.aloneP50Ms} ms`,
    `    slowest: ${a.writeDuring.slowest.join(", ")} ms; alone: ${a.writeDuring.slowestAlone.join(", ")} ms`,
  ];
}

async function profile(base) {
  return post(base, "/profile", { name: fresh("profile"), n: config.profileN, reps: config.profileReps, parts: config.profileParts.join(",") });
}

/** Cryostasis: freeze() over RPC against sedimentation of the same Intent, wake throughput, pending entries. */
async function cryostasis(base) {
  const out = { rpc: {} };
  const modes = ["sediment", "freeze"];
  for (const c of config.rpcConcurrency) {
    out.rpc[c] = Object.fromEntries(modes.map((m) => [m, { calls: 0, ms: 0 }]));
    for (const mode of modes) await post(base, "/rpc-freeze", { name: fresh(`cryow-${mode}`), mode, k: Math.min(100, config.rpcCalls), c });
  }
  for (let round = 0; round < config.rpcRounds; round++) {
    for (const c of config.rpcConcurrency) {
      for (const mode of rotate(modes, round)) {
        const r = await post(base, "/rpc-freeze", { name: fresh(`cryo-${mode}`), mode, k: config.rpcCalls, c });
        out.rpc[c][mode].calls += r.k;
        out.rpc[c][mode].ms += r.ms;
      }
    }
  }
  for (const v of Object.values(out.rpc)) {
    for (const m of modes) v[m].perSecond = rate(v[m].calls, v[m].ms);
    // Time per call, freezing over sedimenting: the figure the target is about.
    v.freezeVsSediment = ratio(v.sediment.perSecond, v.freeze.perSecond);
  }
  if (config.wakeN > 0) {
    const w = await post(base, "/wake", { name: fresh("wake"), n: config.wakeN, plain: config.wakePlainN });
    if (w.sealed !== w.n || w.left !== 0) throw new Error(`wake bench: ${w.sealed} of ${w.n} woke sealed, ${w.refused} refused, ${w.left} left`);
    out.wake = {
      ...w,
      freezePerSecond: rate(w.n, w.freezeMs),
      perSecond: rate(w.n, w.wakeMs),
      plainPerSecond: rate(w.plainN, w.plainMs),
    };
    out.wake.wakeVsPlain = ratio(out.wake.plainPerSecond, out.wake.perSecond);
  }
  if (config.pendingN > 0) {
    const p = await post(base, "/pending", { name: fresh("pending"), n: config.pendingN, probe: config.pendingProbe, rounds: config.pendingRounds });
    if (p.after.pending !== p.n) throw new Error(`pending bench: ${p.after.pending} of ${p.n} entries pending`);
    const us = (ms) => (ms * 1000) / p.probe;
    out.pending = {
      ...p,
      fillPerSecond: rate(p.n, p.fillMs),
      bytesPerEntry: (p.after.databaseSize - p.before.databaseSize) / p.n,
      rowBytesPerEntry: p.after.rowBytes / p.n,
      freezeMicros: { empty: us(p.best.empty.freezeMs), full: us(p.best.full.freezeMs) },
      stepMicros: { empty: us(p.best.empty.stepMs), full: us(p.best.full.stepMs) },
    };
    out.pending.freezeFullVsEmpty = ratio(out.pending.freezeMicros.full, out.pending.freezeMicros.empty);
    out.pending.stepFullVsEmpty = ratio(out.pending.stepMicros.full, out.pending.stepMicros.empty);
  }
  return out;
}

/**
 * Write cost by active reservations (issue 8 §1): µs per reservation (Noema: the API's reserve +
 * $freeze; hand-written: its reserve with the same full invariant) and per setStock, at each n;
 * then the wake rate of due releases among many active reservations.
 */
async function growth(base) {
  const out = { byActive: {} };
  // Discarded: the first fresh DOs of a run pay for compiling the path, which would flatter every later n.
  if (config.growth.length > 0) await post(base, "/growth", { name: fresh("growth-warmup"), n: 0, k: config.growthProbe, rounds: 1 });
  for (const n of config.growth) {
    const g = await post(base, "/growth", { name: fresh(`growth-${n}`), n, k: config.growthProbe, rounds: config.growthRounds });
    const us = (ms) => (ms * 1000) / g.noema.k;
    out.byActive[n] = {
      noema: { reserveMicros: us(g.noema.reserveMs), setStockMicros: us(g.noema.setStockMs) },
      hand: { reserveMicros: us(g.hand.reserveMs), setStockMicros: us(g.hand.setStockMs) },
    };
  }
  const ns = config.growth;
  if (ns.length > 1) {
    const [lo, hi] = [out.byActive[ns[0]], out.byActive[ns.at(-1)]];
    out.reserveHighVsLow = { noema: ratio(hi.noema.reserveMicros, lo.noema.reserveMicros), hand: ratio(hi.hand.reserveMicros, lo.hand.reserveMicros) };
    out.setStockHighVsLow = { noema: ratio(hi.noema.setStockMicros, lo.noema.setStockMicros), hand: ratio(hi.hand.setStockMicros, lo.hand.setStockMicros) };
  }
  if (config.growthWakeN > 0) {
    const wake = async (others) => {
      const w = await post(base, "/release-wake", { name: fresh(`relwake-${others}`), n: config.growthWakeN, others });
      if (w.released !== w.n || w.active !== others) throw new Error(`release wake bench: ${w.released} of ${w.n} released, ${w.active} active (want ${others})`);
      return { ...w, perSecond: rate(w.n, w.wakeMs) };
    };
    const others = Math.max(0, config.growthWakeActive - config.growthWakeN);
    await wake(0); // discarded, as above
    out.wake = { among: await wake(others), alone: await wake(0) };
    out.wake.aloneVsAmong = ratio(out.wake.alone.perSecond, out.wake.among.perSecond);
  }
  return out;
}

function printGrowth(g) {
  const ns = Object.keys(g.byActive);
  const lines = [`Write cost by active reservations (µs per write, ${config.growthProbe} per kind, best of ${config.growthRounds}; target reserve@max / reserve@0 <= ${GROWTH_TARGET}x):`];
  lines.push(`  ${pad("active reservations", 34)}${ns.map((n) => lpad(Number(n).toLocaleString("en-US"), 10)).join("")}${lpad("max/0", 10)}`);
  const row = (label, side, key, r) => lines.push(`  ${pad(label, 34)}${ns.map((n) => lpad(g.byActive[n][side][key].toFixed(1), 10)).join("")}${lpad(fmtRatio(r ?? null), 10)}`);
  row("noema reserve + $freeze", "noema", "reserveMicros", g.reserveHighVsLow?.noema);
  row("hand-written reserve (full check)", "hand", "reserveMicros", g.reserveHighVsLow?.hand);
  row("noema setStock", "noema", "setStockMicros", g.setStockHighVsLow?.noema);
  row("hand-written setStock (full check)", "hand", "setStockMicros", g.setStockHighVsLow?.hand);
  if (g.wake) {
    const { among, alone } = g.wake;
    lines.push(
      `  wake: ${fmt(among.perSecond)} due releases/s among ${(among.others + among.n).toLocaleString("en-US")} active (${among.n} due, ${among.batches} alarm batches); ${fmt(alone.perSecond)}/s among ${alone.n.toLocaleString("en-US")} = ${fmtRatio(g.wake.aloneVsAmong)}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// Verification and bytes (issue 8 §3, §4 row size)
// ---------------------------------------------------------------------------------------

/** Median and maximum of a list of milliseconds. */
function spread(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { n: sorted.length, median: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null, max: sorted.length ? sorted[sorted.length - 1] : null };
}

/**
 * A log of BENCH_VERIFY_N sediments verified three ways while reservations arrive every
 * BENCH_VERIFY_EVERY ms: `verify()` as it is now (sliced, native hash), the same blocking pass
 * with the native hash, and the blocking pass with the pure-JS hash (verify() before issue 8).
 */
async function verification(base) {
  const v = await post(base, "/verify", { name: fresh("verify"), n: config.verifyN, every: config.verifyEvery });
  const side = (x) => ({ ms: x.ms, perSecond: rate(v.n, x.ms), writes: spread(x.writeMs) });
  const out = { n: v.n, bytesPerSediment: v.bytesPerSediment, sliced: side(v.sliced), slicedAlone: side(v.slicedAlone), nativeBlocking: side(v.nativeBlocking), blocking: side(v.blocking) };
  // The rate of verify() on its own, and while it shares the object with the writes.
  out.rateVsBefore = ratio(out.slicedAlone.perSecond, out.blocking.perSecond);
  out.rateWithWritesVsBefore = ratio(out.sliced.perSecond, out.blocking.perSecond);
  return out;
}

async function bytes(base) {
  const b = await post(base, "/bytes", { name: fresh("bytes"), n: config.bytesN });
  return { ...b, sedimentVsHandLogRow: ratio(b.sediment, b.handLogRow), activeVsHandChain: ratio(b.activeReservation, b.handChainReservation) };
}

function printVerification(run) {
  const lines = [];
  const v = run.verification;
  if (v) {
    const w = (x) => (x.writes.n ? `a write during it: median ${x.writes.median} ms, max ${x.writes.max} ms (${x.writes.n} writes)` : "no write landed during it");
    lines.push(`Verification of ${v.n.toLocaleString("en-US")} sediments (${fmt(v.bytesPerSediment)} bytes each on disk), writes every ${config.verifyEvery} ms:`);
    lines.push(`  verify() sliced, native hash: ${(v.sliced.ms / 1000).toFixed(2)} s, ${fmt(v.sliced.perSecond)} entries/s; ${w(v.sliced)} (target max <= 50 ms)`);
    lines.push(`  verify() sliced, native hash, no writes: ${(v.slicedAlone.ms / 1000).toFixed(2)} s, ${fmt(v.slicedAlone.perSecond)} entries/s`);
    lines.push(`  one blocking pass, native hash: ${(v.nativeBlocking.ms / 1000).toFixed(2)} s, ${fmt(v.nativeBlocking.perSecond)} entries/s; ${w(v.nativeBlocking)}`);
    lines.push(`  before (one blocking pass, pure-JS hash): ${(v.blocking.ms / 1000).toFixed(2)} s, ${fmt(v.blocking.perSecond)} entries/s; ${w(v.blocking)}`);
    lines.push(`  rate now / before ${fmtRatio(v.rateVsBefore)} (target >= 1.00x); with the writes served in between ${fmtRatio(v.rateWithWritesVsBefore)}`);
  }
  const b = run.bytes;
  if (b) {
    lines.push(`Bytes on disk (SQLite databaseSize, ${b.n.toLocaleString("en-US")} each, fresh objects):`);
    lines.push(`  per sediment ${fmt(b.sediment)} (target <= 350) vs a hand-written chained log row ${fmt(b.handLogRow)} = ${fmtRatio(b.sedimentVsHandLogRow)}`);
    lines.push(`  per reservation ${fmt(b.reservation)}; per active reservation (reserve + $freeze of its release) ${fmt(b.activeReservation)} vs hand-chain ${fmt(b.handChainReservation)} = ${fmtRatio(b.activeVsHandChain)} (hand-plain ${fmt(b.handPlainReservation)})`);
  }
  if (lines.length) console.log(lines.join("\n"));
}

/**
 * Messages between Attractors: one sender's alarm delivering n messages to many receivers (each
 * applied under its key, a receipt recorded per message), against the same Intents sent as plain
 * DO-to-DO RPC with as many calls in flight. Both run inside the sender DO, fresh receivers each.
 */
async function messages(base) {
  const out = { n: config.messagesN, receivers: config.messagesReceivers, rounds: [], messages: { n: 0, ms: 0 }, plain: { n: 0, ms: 0 } };
  for (let round = 0; round < config.messagesRounds; round++) {
    const r = await post(base, "/messages", { name: fresh("msg"), n: config.messagesN, receivers: config.messagesReceivers, first: round % 2 });
    if (r.messages.sealed !== r.n) throw new Error(`messages bench: ${r.messages.sealed} of ${r.n} receipts sealed`);
    out.rounds.push(r);
    out.inFlight = r.inFlight;
    out.messages.n += r.n;
    out.messages.ms += r.messages.ms;
    out.plain.n += r.n;
    out.plain.ms += r.plain.ms;
  }
  out.messages.perSecond = rate(out.messages.n, out.messages.ms);
  out.plain.perSecond = rate(out.plain.n, out.plain.ms);
  out.messagesVsPlain = ratio(out.messages.perSecond, out.plain.perSecond);
  return out;
}

function printMessages(m) {
  return [
    `Messages, one sender to ${m.receivers} receivers (${m.n} x ${m.rounds.length} rounds, ${m.inFlight} in flight): ${fmt(m.messages.perSecond)} delivered/s (outbox, RPC, receipt sediment each); plain DO-to-DO RPC of the same Intents ${fmt(m.plain.perSecond)}/s; messages / plain = ${fmtRatio(m.messagesVsPlain)}`,
  ];
}

/**
 * Orders: n orders of 3 lines each (create, every line reserved, commit, every line committed)
 * through an OrderAttractor and messages, against the same three reservations and commits sent
 * directly from the Worker; and the latency from creation to `reserved`.
 */
async function orders(base, child) {
  const modes = ["direct", "orders"];
  const out = {};
  for (const c of config.ordersConcurrency) {
    out[c] = Object.fromEntries(modes.map((m) => [m, { orders: 0, ms: 0, cpuMs: 0, p50: [], p95: [], phases: [] }]));
    for (const mode of modes) await post(base, "/orders", { mode, name: fresh(`ordw-${mode}`), n: Math.min(20, config.ordersN), c });
  }
  for (let round = 0; round < config.ordersRounds; round++) {
    for (const c of config.ordersConcurrency) {
      for (const mode of rotate(modes, round)) {
        const cpu0 = workerdCpuMs(child);
        const r = await post(base, "/orders", { mode, name: fresh(`ord-${mode}`), n: config.ordersN, c });
        const a = out[c][mode];
        a.cpuMs += workerdCpuMs(child) - cpu0;
        a.orders += r.n;
        a.ms += r.ms;
        a.p50.push(r.toReserved.p50);
        a.p95.push(r.toReserved.p95);
        if (r.phasesP50) a.phases.push(r.phasesP50);
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  for (const byMode of Object.values(out)) {
    for (const m of modes) {
      const a = byMode[m];
      Object.assign(a, { perSecond: rate(a.orders, a.ms), toReservedP50: median(a.p50), toReservedP95: median(a.p95), cpuMsPerOrder: a.cpuMs / Math.max(1, a.orders) });
      // Where an order's time goes, as the Worker sees it (median over rounds of each round's p50).
      a.phases = a.phases.length === 0 ? undefined : Object.fromEntries(Object.keys(a.phases[0]).map((k) => [k, median(a.phases.map((p) => p[k]))]));
    }
    byMode.ordersVsDirect = ratio(byMode.orders.perSecond, byMode.direct.perSecond);
    byMode.toReservedVsDirect = ratio(byMode.orders.toReservedP50, byMode.direct.toReservedP50);
    // As settled/s would be if CPU were all that bounds it: direct's CPU per order over the order's.
    byMode.cpuDirectVsOrders = ratio(byMode.direct.cpuMsPerOrder, byMode.orders.cpuMsPerOrder);
  }
  return out;
}

function printOrders(o) {
  const cs = Object.keys(o);
  const lines = [`Orders of 3 lines settled per second (create, reserve, commit, committed; ${config.ordersN} orders x ${config.ordersRounds} rounds), and creation → reserved (ms, p50 / p95):`];
  lines.push(`  ${pad("", 34)}${cs.map((n) => lpad(`c=${n}`, 22)).join("")}`);
  const row = (label, m) => `  ${pad(label, 34)}${cs.map((n) => lpad(`${fmt(o[n][m].perSecond)}/s  ${o[n][m].toReservedP50.toFixed(0)} / ${o[n][m].toReservedP95.toFixed(0)}`, 22)).join("")}`;
  lines.push(row("3 reservations sent directly", "direct"));
  lines.push(row("OrderAttractor, by messages", "orders"));
  lines.push(`  ${pad("orders / direct (settled per s)", 34)}${cs.map((n) => lpad(fmtRatio(o[n].ordersVsDirect), 22)).join("")}`);
  lines.push(`  ${pad("orders / direct (→ reserved p50)", 34)}${cs.map((n) => lpad(fmtRatio(o[n].toReservedVsDirect), 22)).join("")}`);
  // workerd's CPU per order moves far less with the machine's load than the rates above.
  if (cs.some((n) => Number.isFinite(o[n].cpuDirectVsOrders))) {
    lines.push(`  ${pad("workerd CPU ms per order, d / o", 34)}${cs.map((n) => lpad(`${o[n].direct.cpuMsPerOrder.toFixed(1)} / ${o[n].orders.cpuMsPerOrder.toFixed(1)}`, 22)).join("")}`);
    lines.push(`  ${pad("direct / orders (CPU per order)", 34)}${cs.map((n) => lpad(fmtRatio(o[n].cpuDirectVsOrders), 22)).join("")}`);
  }
  const phases = (n) => o[n].orders.phases;
  if (cs.some((n) => phases(n))) {
    lines.push("  an order's phases, p50 ms (create call, → reserved, commit call, → committed):");
    lines.push(`  ${pad("", 34)}${cs.map((n) => lpad(phases(n) ? Object.values(phases(n)).map((v) => v.toFixed(0)).join(" / ") : "", 22)).join("")}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
const ratio = (a, b) => (b > 0 ? a / b : null);
const fmtRatio = (r) => (r === null ? "-" : `${r.toFixed(2)}x`);
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

/** Per-round ratios of two targets' rates, with their median, min and max. */
function roundRatios(a, b) {
  const each = (a.rounds ?? []).map((x, i) => ratio(x, b.rounds[i]));
  const sorted = each.filter((x) => x !== null).sort((x, y) => x - y);
  if (sorted.length === 0) return { each, median: null, min: null, max: null };
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { each, median, min: sorted[0], max: sorted.at(-1) };
}

function ratios(run) {
  const d = run.inDo;
  const r = {
    inDo: {
      vsChain: ratio(d.noema.perSecond, d["hand-chain"].perSecond),
      vsPlain: ratio(d.noema.perSecond, d["hand-plain"].perSecond),
      bestBatchVsChain: ratio(d.noema.bestBatchPerSecond, d["hand-chain"].bestBatchPerSecond),
    },
    rpc: {},
    http: {},
  };
  for (const [c, v] of Object.entries(run.rpc)) {
    r.rpc[c] = {
      vsChain: ratio(v.noema.perSecond, v["hand-chain"].perSecond),
      vsPlain: ratio(v.noema.perSecond, v["hand-plain"].perSecond),
      // The same round's measurements, a few seconds apart: a load swing between rounds moves
      // both sides of a pair, where it moves the pooled figure above by whichever round it hit.
      vsChainRounds: roundRatios(v.noema, v["hand-chain"]),
      // hand-plain does the chained side's work less the hash: what a pair of equal work spreads to.
      chainVsPlainRounds: roundRatios(v["hand-chain"], v["hand-plain"]),
      // The same by workerd's CPU time per call (hand-chain's over noema's: higher is cheaper).
      ...(v.noema.cpuMicrosPerCall ? { cpuVsChain: ratio(v["hand-chain"].cpuMicrosPerCall, v.noema.cpuMicrosPerCall), cpuVsChainRounds: roundRatios({ rounds: v.noema.cpuRounds }, { rounds: v["hand-chain"].cpuRounds }), cpuChainVsPlainRounds: roundRatios({ rounds: v["hand-chain"].cpuRounds }, { rounds: v["hand-plain"].cpuRounds }) } : {}),
    };
  }
  if (run.profile?.reserveOnly && run.profile.reserveAndFreeze) {
    r.freezeVsSedimentation = ratio(run.profile.reserveAndFreeze.microsPerOp, run.profile.reserveOnly.microsPerOp);
    // The two fresh DOs of a round run one after the other: a load swing between rounds moves both.
    r.freezeVsSedimentationRounds = roundRatios(run.profile.reserveAndFreeze, run.profile.reserveOnly);
  }
  if (run.cryostasis) {
    r.rpcFreezeVsSedimentation = Object.fromEntries(Object.entries(run.cryostasis.rpc).map(([c, v]) => [c, v.freezeVsSediment]));
  }
  for (const [c, v] of Object.entries(run.http)) {
    const ref = v["hand-chain"]?.perSecond;
    r.http[c] = {};
    for (const t of ["noema", "noema-app"]) if (v[t] && ref) r.http[c][t] = ratio(v[t].perSecond, ref);
  }
  return r;
}

/**
 * Noema's reservation and the hand-written one split into the parts the profile times, in µs.
 * Every term is a committed or pure part; the SQL ones ran on a fresh DO each, as both wholes did.
 */
function breakdown(profile) {
  const us = (part) => profile[part]?.microsPerOp;
  const need = ["reserveOnly", "hand-chain reserve", "admit", "interpretCommitted", "sedimenterCommitted", "sqlReserveCommitted", "hashCanonical", "handChainHash"];
  if (need.some((p) => us(p) === undefined)) return undefined;
  const b = {
    noema: us("reserveOnly"),
    hand: us("hand-chain reserve"),
    admission: us("admit"),
    interpretation: us("interpretCommitted"),
    hashing: us("hashCanonical"),
    sql: us("sqlReserveCommitted"),
    handHashing: us("handChainHash"),
  };
  // The Sedimenter's own part (the chain entry and its row) and the Attractor's, by difference.
  b.sealing = us("sedimenterCommitted") - b.interpretation - b.admission;
  b.attractor = b.noema - us("sedimenterCommitted");
  b.handRest = b.hand - (b.sql + b.handHashing);
  return b;
}

function print(run) {
  const lines = [];
  const d = run.inDo;
  lines.push(`\n== wrangler dev, observability ${run.observability ? "on" : "off"}, local trace collector ${config.localTraces ? "on" : "off"} ==`);
  lines.push(`In-DO reservations/s (n=${config.loopN} per batch, fresh DO per batch, time inside the DO)`);
  lines.push(`  ${pad("target", 12)}${lpad("tx/s", 10)}${lpad("incl. commit", 14)}${lpad("best batch", 12)}${lpad("batches", 9)}`);
  for (const t of DO_TARGETS) {
    lines.push(`  ${pad(t, 12)}${lpad(fmt(d[t].perSecond), 10)}${lpad(fmt(d[t].perSecondWithCommit), 14)}${lpad(fmt(d[t].bestBatchPerSecond), 12)}${lpad(d[t].batches, 9)}`);
  }
  const r = run.ratios.inDo;
  lines.push(`  noema / hand-chain ${fmtRatio(r.vsChain)} (best batch ${fmtRatio(r.bestBatchVsChain)}; target >= 0.80x), noema / hand-plain ${fmtRatio(r.vsPlain)}`);

  const cs = Object.keys(run.rpc);
  lines.push(`RPC calls/s (Worker -> DO, ${config.rpcCalls} calls x ${config.rpcRounds} rounds, each in ${config.rpcSlices} slices the targets take turns on)`);
  lines.push(`  ${pad("target", 20)}${cs.map((c) => lpad(`c=${c}`, 10)).join("")}`);
  for (const t of RPC_TARGETS) lines.push(`  ${pad(t, 20)}${cs.map((c) => lpad(fmt(run.rpc[c][t].perSecond), 10)).join("")}`);
  lines.push(`  ${pad("noema / hand-chain", 20)}${cs.map((c) => lpad(fmtRatio(run.ratios.rpc[c].vsChain), 10)).join("")}  (target >= 0.95x)`);
  lines.push(`  ${pad("noema / hand-plain", 20)}${cs.map((c) => lpad(fmtRatio(run.ratios.rpc[c].vsPlain), 10)).join("")}`);
  const spread = (x) => `${fmtRatio(x.median)} (${fmtRatio(x.min)}-${fmtRatio(x.max)})`;
  lines.push(`  per round, median (min-max): noema / hand-chain ${cs.map((c) => `c=${c} ${spread(run.ratios.rpc[c].vsChainRounds)}`).join(", ")}`);
  lines.push(`  the noise, as hand-chain / hand-plain per round (less work on the right): ${cs.map((c) => `c=${c} ${spread(run.ratios.rpc[c].chainVsPlainRounds)}`).join(", ")}`);
  if (cs.length && run.ratios.rpc[cs[0]].cpuVsChain !== undefined) {
    lines.push(`  workerd CPU per call, µs (Worker, DO and runtime; waits for a core left out)`);
    for (const t of RPC_TARGETS) lines.push(`  ${pad(t, 20)}${cs.map((c) => lpad(fmt(run.rpc[c][t].cpuMicrosPerCall), 10)).join("")}`);
    lines.push(`  ${pad("noema / hand-chain", 20)}${cs.map((c) => lpad(fmtRatio(run.ratios.rpc[c].cpuVsChain), 10)).join("")}  (as calls per CPU second)`);
    lines.push(`  by CPU per round, median (min-max): noema / hand-chain ${cs.map((c) => `c=${c} ${spread(run.ratios.rpc[c].cpuVsChainRounds)}`).join(", ")}; hand-chain / hand-plain ${cs.map((c) => `c=${c} ${spread(run.ratios.rpc[c].cpuChainVsPlainRounds)}`).join(", ")}`);
  }

  const hs = config.httpTargets.length ? Object.keys(run.http) : [];
  if (hs.length) lines.push(`HTTP req/s (autocannon, ${config.seconds} s per cell, one reservation per request)`);
  if (hs.length) lines.push(`  ${pad("target", 24)}${hs.map((c) => lpad(`c=${c}`, 10)).join("")}${lpad("p99 ms @c=max", 15)}`);
  const last = hs[hs.length - 1];
  for (const t of hs.length ? config.httpTargets : []) {
    lines.push(`  ${pad(t, 24)}${hs.map((c) => lpad(fmt(run.http[c][t].perSecond), 10)).join("")}${lpad(run.http[last][t].latencyMs.p99, 15)}`);
  }
  for (const t of ["noema", "noema-app"]) {
    if (!hs.length || !config.httpTargets.includes(t) || !config.httpTargets.includes("hand-chain")) continue;
    lines.push(`  ${pad(`${t} / hand-chain`, 24)}${hs.map((c) => lpad(fmtRatio(run.ratios.http[c][t] ?? null), 10)).join("")}  (target >= 0.95x)`);
  }
  const failed = hs.flatMap((c) => config.httpTargets.filter((t) => run.http[c][t].non2xx || run.http[c][t].errors).map((t) => `${t}@c=${c}`));
  if (failed.length) lines.push(`  WARNING: non-2xx responses or errors in ${failed.join(", ")} (see JSON)`);

  if (run.profile) {
    lines.push(`Breakdown inside the DO (µs per op, best of ${config.profileReps} rounds of ${config.profileN}; sedimentation = Noema's whole path)`);
    for (const [part, p] of Object.entries(run.profile)) lines.push(`  ${pad(part, 22)}${lpad(p.microsPerOp.toFixed(1), 8)}`);
    const { setStockV1Flat, setStockV2, connectionUncached, diff100Tables } = run.profile;
    if (setStockV1Flat && setStockV2) {
      const extra = setStockV1Flat.microsPerOp / setStockV2.microsPerOp - 1;
      lines.push(
        `Connection check: a v1 Intent carried Flat to v2 costs ${(extra * 100).toFixed(1)}% more than the same v2 Intent (target < 5%); uncached it would be ${connectionUncached?.microsPerOp.toFixed(0)} µs`,
      );
    }
    if (run.breakdown) {
      const b = run.breakdown;
      const f = (k) => `${k} ${b[k].toFixed(1)}`;
      lines.push(`Where the time goes per reservation (µs, fresh DO each; interpretation and sql include their commit; sealing = hashing + the log row):`);
      lines.push(`  noema (reserveOnly) ${b.noema.toFixed(1)} = ${["admission", "interpretation", "sealing", "attractor"].map(f).join(" + ")} (hashing ${b.hashing.toFixed(1)} of sealing)`);
      lines.push(`  hand-chain ${b.hand.toFixed(1)} = ${["sql", "handHashing", "handRest"].map(f).join(" + ")} (handRest: its log insert and checks)`);
      lines.push(`  gap ${(b.noema - b.hand).toFixed(1)} µs (noema / hand-chain ${fmtRatio(ratio(b.hand, b.noema))} in ops/s; target >= 0.80x)`);
    }
    if (diff100Tables) lines.push(`Diff of two 100-table Nomos versions: ${(diff100Tables.microsPerOp / 1000).toFixed(2)} ms`);
    const { reserveOnly, reserveAndFreeze } = run.profile;
    if (reserveOnly && reserveAndFreeze) {
      lines.push(
        `Freezing in-DO: reserve + $freeze of its release ${reserveAndFreeze.microsPerOp.toFixed(1)} µs vs reserve alone ${reserveOnly.microsPerOp.toFixed(1)} µs (fresh DO each) = ${fmtRatio(run.ratios.freezeVsSedimentation)} (target < ${FREEZE_TARGET.toFixed(2)}x)`,
      );
      const rounds = run.ratios.freezeVsSedimentationRounds;
      if (rounds?.median !== null && rounds?.median !== undefined) lines.push(`  per round (the two side by side): median ${fmtRatio(rounds.median)} (${fmtRatio(rounds.min)}–${fmtRatio(rounds.max)}) over ${rounds.each.length}`);
    }
    const split = (with_, without) => run.profile[with_] && run.profile[without] && `${run.profile[with_].microsPerOp.toFixed(1)} vs ${run.profile[without].microsPerOp.toFixed(1)} µs (+${(run.profile[with_].microsPerOp - run.profile[without].microsPerOp).toFixed(1)})`;
    const sedimenter = split("sedimenterFreezeCommitted", "sedimenterCommitted");
    const sql = split("sqlFreezeRowCommitted", "sqlSedimentRowCommitted");
    if (sedimenter || sql) lines.push(`  of which: the Sedimenter alone ${sedimenter ?? "-"}; the raw SQL with the frozen row ${sql ?? "-"}`);
  }
  if (run.cryostasis) lines.push(...printCryostasis(run.cryostasis));
  if (run.growth) lines.push(...printGrowth(run.growth));
  if (run.archival) lines.push(...printArchival(run.archival));
  if (run.messages) lines.push(...printMessages(run.messages));
  if (run.orders) lines.push(...printOrders(run.orders));
  console.log(lines.join("\n"));
}

function printCryostasis(c) {
  const lines = [];
  const cs = Object.keys(c.rpc);
  lines.push(`Cryostasis over RPC: freeze() from code vs sedimentation of the same reservation Intent (calls/s, ${config.rpcCalls} calls x ${config.rpcRounds} rounds)`);
  lines.push(`  ${pad("", 22)}${cs.map((n) => lpad(`c=${n}`, 10)).join("")}`);
  for (const m of ["sediment", "freeze"]) lines.push(`  ${pad(m === "freeze" ? "freeze()" : "sedimentation", 22)}${cs.map((n) => lpad(fmt(c.rpc[n][m].perSecond), 10)).join("")}`);
  lines.push(`  ${pad("time freeze / sediment", 22)}${cs.map((n) => lpad(fmtRatio(c.rpc[n].freezeVsSediment), 10)).join("")}  (target < ${FREEZE_TARGET.toFixed(2)}x)`);
  if (c.wake) {
    const w = c.wake;
    lines.push(
      `Cryostasis wake: ${fmt(w.perSecond)} entries/s (${w.n} due setStock Intents, ${w.batches} alarm batches, ${(w.wakeMs / 1000).toFixed(2)} s); plain sedimentation of the same Intent ${fmt(w.plainPerSecond)}/s, a wake costs ${fmtRatio(w.wakeVsPlain)}; freezing them from code ${fmt(w.freezePerSecond)}/s`,
    );
  }
  if (c.pending) {
    const p = c.pending;
    lines.push(`Cryostasis with ${p.n.toLocaleString("en-US")} pending (release Intents with keys, wake times over 30 days; filled at ${fmt(p.fillPerSecond)} freezes/s):`);
    lines.push(
      `  freeze() one more: ${p.freezeMicros.full.toFixed(1)} µs vs ${p.freezeMicros.empty.toFixed(1)} µs with at most ${p.emptyPending.toLocaleString("en-US")} pending = ${fmtRatio(p.freezeFullVsEmpty)}; reserve + $freeze: ${p.stepMicros.full.toFixed(1)} µs vs ${p.stepMicros.empty.toFixed(1)} µs = ${fmtRatio(p.stepFullVsEmpty)}`,
    );
    lines.push(`  storage: ${fmt(p.bytesPerEntry)} bytes per entry on disk (SQLite databaseSize), ${fmt(p.rowBytesPerEntry)} bytes of column data`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// Worker figures: upload size and cold start (bench/startup/measure.mjs)
// ---------------------------------------------------------------------------------------

/** Where the bundle gzip should stay for the create-noema template. */
const UPLOAD_TARGET_GZIP_KIB = 90;
/** What-if bundles whose module evaluation is timed too (each costs a cold start per sample). */
const WHATIF_EVALUATED = ["withoutJsonSchema", "withoutFeatures"];
/** Placeholder request of an eval-only start (measure.mjs replaces it with an unrouted one). */
const UNROUTED_NOTE = { method: "GET", path: "/" };
const workerdBin = join(root, "node_modules", "workerd", "bin", "workerd");
const track = (child) => {
  children.add(child);
  child.on("exit", () => children.delete(child));
};

async function workerFigures() {
  const dirs = { noema: config.startupNoema, hand: config.startupHand, empty: join(root, "bench/startup/empty") };
  const bundles = {};
  for (const [label, dir] of Object.entries(dirs)) {
    if (label === "empty" && config.startupSamples === 0) continue;
    bundles[label] = await upload({ label, dir, tmp, run, tail });
  }
  const out = {};
  if (config.upload) {
    const { file, config: noemaConfig } = configOf(config.startupNoema);
    const pick = ({ dir, totalKiB, gzipKiB, packages, importedBy }) => ({ dir: relative(root, dir), totalKiB, gzipKiB, packages, importedBy });
    out.upload = {
      targetGzipKiB: UPLOAD_TARGET_GZIP_KIB,
      noema: { ...pick(bundles.noema), whatIf: await whatIf(resolve(dirname(file), noemaConfig.main), tmp, { minify: Boolean(noemaConfig.minify) }) },
      hand: pick(bundles.hand),
    };
  }
  if (config.startupSamples > 0) {
    const target = (label, request, second) => ({ label, config: configOf(dirs[label]).config, outdir: bundles[label].outdir, request, second, vars: config.startupVars });
    const s = await startup({
      targets: [
        target("empty", { method: "GET", path: "/" }),
        target("hand", config.startupRequest, config.startupSecond),
        target("noema", config.startupRequest, config.startupSecond),
        // Module evaluation of the what-if bundles: what each cut would save at startup.
        ...Object.entries(out.upload?.noema.whatIf ?? {})
          .filter(([name]) => WHATIF_EVALUATED.includes(name))
          .map(([name, w]) => ({ ...target("noema", UNROUTED_NOTE), label: `noema[${name}]`, outdir: w.outdir, evalOnly: true })),
      ],
      samples: config.startupSamples,
      tmp,
      workerd: workerdBin,
      track,
    });
    // First request = module evaluation (the unrouted start, above the empty Worker) + the first Intent.
    const evalMs = (t) => s[`${t}:eval`].firstMs - s.empty.firstMs;
    const intentMs = (t) => s[t].firstMs - s[`${t}:eval`].firstMs;
    // The same in CPU time of workerd's threads (Linux), which a loaded machine disturbs far less.
    const evalCpuMs = (t) => s[`${t}:eval`].firstCpuMs - s.empty.firstCpuMs;
    const whatIfEval = Object.fromEntries(Object.keys(s).filter((k) => k.startsWith("noema[")).map((k) => [k.slice(6, k.indexOf("]")), s[k].firstMs - s.empty.firstMs]));
    const whatIfEvalCpu = Object.fromEntries(Object.keys(s).filter((k) => k.startsWith("noema[")).map((k) => [k.slice(6, k.indexOf("]")), s[k].firstCpuMs - s.empty.firstCpuMs]));
    out.startup = {
      ...s,
      moduleEvalMs: { hand: evalMs("hand"), noema: evalMs("noema"), whatIf: whatIfEval },
      firstIntentMs: { hand: intentMs("hand"), noema: intentMs("noema") },
      cpu: {
        moduleEvalMs: { hand: evalCpuMs("hand"), noema: evalCpuMs("noema"), whatIf: whatIfEvalCpu },
        firstRequestMs: { hand: s.hand.firstCpuMs, noema: s.noema.firstCpuMs },
        moduleEvalVsHand: ratio(evalCpuMs("noema"), evalCpuMs("hand")),
        firstRequestVsHand: ratio(s.noema.firstCpuMs, s.hand.firstCpuMs),
      },
      ratios: {
        moduleEvalVsHand: ratio(evalMs("noema"), evalMs("hand")),
        firstRequestVsHand: ratio(s.noema.firstMs, s.hand.firstMs),
        aboveEmptyVsHand: ratio(s.noema.firstMs - s.empty.firstMs, s.hand.firstMs - s.empty.firstMs),
        totalVsHand: ratio(s.noema.totalMs, s.hand.totalMs),
      },
    };
  }
  return out;
}

function printWorkerFigures(f) {
  const lines = [];
  const kib = (n) => `${n.toFixed(1)} KiB`;
  if (f.upload) {
    const { noema, hand } = f.upload;
    lines.push(`\n== Worker bundles (wrangler deploy --dry-run) ==`);
    lines.push(`  noema  ${relative(root, config.startupNoema)}: ${kib(noema.totalKiB)} / gzip ${kib(noema.gzipKiB)} (target <= ${UPLOAD_TARGET_GZIP_KIB} KiB gzip)`);
    lines.push(`  hand   ${relative(root, config.startupHand)}: ${kib(hand.totalKiB)} / gzip ${kib(hand.gzipKiB)}`);
    lines.push(`  noema bundle by package: ${noema.packages.slice(0, 8).map((p) => `${p.name} ${kib(p.kib)}`).join(", ")}`);
    for (const [edge, from] of Object.entries(noema.importedBy)) {
      if (/^(zod|node-sql-parser) /.test(edge)) lines.push(`  ${edge} imported by ${from.join(", ")}`);
    }
    const w = noema.whatIf;
    const g = (v) => `${kib(v.totalKiB)} / gzip ${kib(v.gzipKiB)}`;
    lines.push(`  what-if (esbuild, wrangler's options): as is ${g(w.asIs)}; without zod's JSON Schema code ${g(w.withoutJsonSchema)}; without the features the counter does not use ${g(w.withoutFeatures)}`);
  }
  if (f.startup) {
    const s = f.startup;
    lines.push(`\n== Cold start (fresh workerd + empty SQLite store per start, median of ${config.startupSamples}, ms) ==`);
    lines.push(`  ${pad("worker", 12)}${lpad("listen", 9)}${lpad("1st req", 9)}${lpad("total", 9)}${lpad("2nd req", 9)}   (1st req: modules evaluated + DO + first Intent)`);
    for (const t of ["empty", "hand", "hand:eval", "noema", "noema:eval"]) {
      lines.push(`  ${pad(t, 12)}${["listenMs", "firstMs", "totalMs", "secondMs"].map((k) => lpad(s[t][k].toFixed(1), 9)).join("")}`);
    }
    const ms = (n) => `${n.toFixed(1)} ms`;
    lines.push(`  module evaluation (unrouted 1st req over the empty Worker's): noema ${ms(s.moduleEvalMs.noema)}, hand ${ms(s.moduleEvalMs.hand)}`);
    const wi = Object.entries(s.moduleEvalMs.whatIf);
    if (wi.length) lines.push(`  module evaluation of the what-if bundles: ${wi.map(([k, v]) => `${k} ${ms(v)} (CPU ${ms(s.cpu.moduleEvalMs.whatIf[k])})`).join(", ")}`);
    lines.push(`  first Intent (1st req over the unrouted one): noema ${ms(s.firstIntentMs.noema)}, hand ${ms(s.firstIntentMs.hand)}`);
    const c = s.cpu;
    lines.push(`  CPU time of workerd (Linux schedstat): module evaluation noema ${ms(c.moduleEvalMs.noema)}, hand ${ms(c.moduleEvalMs.hand)}; first request noema ${ms(c.firstRequestMs.noema)}, hand ${ms(c.firstRequestMs.hand)}`);
    lines.push(`  noema / hand in CPU time: module evaluation ${fmtRatio(c.moduleEvalVsHand)}, first request ${fmtRatio(c.firstRequestVsHand)}`);
    lines.push(
      `  noema / hand: module evaluation ${fmtRatio(s.ratios.moduleEvalVsHand)}, first request ${fmtRatio(s.ratios.firstRequestVsHand)}, above the empty Worker ${fmtRatio(s.ratios.aboveEmptyVsHand)}, spawn to first answer ${fmtRatio(s.ratios.totalVsHand)}`,
    );
  }
  console.log(lines.join("\n"));
}

async function main() {
  const started = performance.now();
  console.log(`noema bench: ${JSON.stringify({ ...config, out: relative(root, config.out) })}`);
  // First, on a quiet machine: nothing else of the bench runs yet.
  const syncOnly = config.only.includes("sync");
  const ordersOnly = config.only.includes("orders");
  const workers = !syncOnly && !ordersOnly && (config.upload || config.startupSamples > 0) ? await workerFigures() : {};
  if (workers.upload || workers.startup) printWorkerFigures(workers);
  const clientJs = config.syncBundle && !ordersOnly ? await clientBundle(root, join(tmp, "client-bundle")) : undefined;
  const apply = config.syncApply > 0 && !ordersOnly ? await optimisticApply(root, config.syncApply) : undefined;
  if (clientJs || apply) printSync({ ...(clientJs ? { bundle: clientJs } : {}), ...(apply ? { apply } : {}) });
  if (config.wranglerRuns) await bundle();
  const runs = [];
  // Sync alone, or orders alone, needs one `wrangler dev` run.
  const settings = config.wranglerRuns ? config.observability.slice(0, syncOnly || ordersOnly ? 1 : undefined) : [];
  for (const [i, setting] of settings.entries()) {
    const observability = setting === "on";
    const t0 = performance.now();
    const { child, base, logFile } = await startWrangler(observability);
    try {
      console.log(`wrangler dev (observability ${setting}) ready on ${base} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const run = { observability };
      if (ordersOnly) {
        run.orders = await orders(base, child);
        console.log(printOrders(run.orders).join("\n"));
        runs.push(run);
        continue;
      }
      if (i === 0 && (config.syncSubscribers.length > 0 || config.syncRows > 0)) {
        run.sync = {};
        if (config.syncSubscribers.length > 0) {
          run.sync.latency = await syncLatency(base, post, fresh, { subscribers: config.syncSubscribers, rounds: Math.max(1, config.syncRounds), writes: Math.max(1, config.syncWrites), inside: config.syncInside, control: config.syncControl, warmup: config.syncWarmup });
        }
        if (config.syncRows > 0) run.sync.bytes = await syncBytes(base, post, fresh, { rows: config.syncRows });
        printSync(run.sync);
      }
      if (syncOnly) {
        runs.push(run);
        continue;
      }
      run.inDo = await inDo(base);
      run.rpc = await rpc(base, () => workerdCpuMs(child));
      run.http = await http(base);
      if (i === 0 && config.profileN > 0) {
        run.profile = await profile(base);
        run.breakdown = breakdown(run.profile);
      }
      if (i === 0) run.cryostasis = await cryostasis(base);
      if (i === 0 && (config.growth.length > 0 || config.growthWakeN > 0)) run.growth = await growth(base);
      if (i === 0 && config.verifyN > 0) run.verification = await verification(base);
      if (i === 0 && config.bytesN > 0) run.bytes = await bytes(base);
      if (i === 0 && config.archiveN > 0) run.archival = await archival(base);
      if (i === 0 && config.messagesN > 0) run.messages = await messages(base);
      if (i === 0 && config.ordersN > 0) run.orders = await orders(base, child);
      run.ratios = ratios(run);
      print(run);
      printVerification(run);
      runs.push(run);
    } catch (e) {
      console.error(`wrangler log tail:\n${tail(logFile)}`);
      throw e;
    } finally {
      await stopWrangler(child);
    }
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    wrangler: JSON.parse(readFileSync(join(root, "node_modules/wrangler/package.json"), "utf8")).version,
    config: { ...config, out: relative(root, config.out) },
    reference: { note: "hand-written DO measured earlier on this machine", inDoPlain: 36000, inDoChain: 28000, rpc: 2500, http: 1000 },
    targets: { inDoVsChain: 0.8, rpc: 0.95, http: 0.95, freezeVsSedimentation: FREEZE_TARGET, reserveGrowth: GROWTH_TARGET, uploadGzipKiB: UPLOAD_TARGET_GZIP_KIB, syncLatency: SYNC_LATENCY_TARGET, syncBytes: SYNC_BYTES_TARGET, clientJsGzipKiB: CLIENT_JS_TARGET_GZIP_KIB },
    runs,
    ...workers,
    ...(clientJs ? { clientBundle: clientJs } : {}),
    ...(apply ? { optimisticApply: apply } : {}),
    seconds: (performance.now() - started) / 1000,
  };
  mkdirSync(dirname(config.out), { recursive: true });
  writeFileSync(config.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${relative(root, config.out)} (${result.seconds.toFixed(0)} s)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
