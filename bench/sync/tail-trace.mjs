// What one subscriber's slowest writes are: the budget's writes (Noema, the baseline and a second
// World of the baseline, in the bench's turns) under `wrangler dev`, with V8's tracing flags given to
// workerd, and after each write a look at each side's database file (its mtime moves only when a WAL
// checkpoint writes it). Prints each side's slowest writes with what happened in them (GCs in the
// Worker's isolate and in wrangler's own, compilations, deopts, checkpoints), per side how often a
// kind of event fell in a write over the side's p99, p90 and below, and the ranks of the writes
// that checkpointed.
//
//   [WARMUP=3] [GAP_MS=15] [V8_FLAGS="--trace-gc --trace-opt --trace-deopt"|none] \
//     node bench/sync/tail-trace.mjs <bench Worker folder> [writes per side=1000] [out.json]
//
// With a pause (GAP_MS) a write's trace lines are the ones printed before the next write begins; with
// none, a GC is put in the write whose time holds it by V8's clock. Either way the figures are not the
// budget's: the pause, the tracing and the look at the files between writes (a millisecond's spin for
// the clocks, see wallOffset) leave workerd idle between writes, and its p50 was 3.5-5 ms here
// against the budget command's 1.4 (the longer the pause, the slower every side).
import { Buffer } from "node:buffer";
import { existsSync, mkdtempSync, openSync, readdirSync, readSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { devServer } from "../dev.mjs";
import { quantile as q, wallAt, wallOffset } from "./measure.mjs";
import { subscribe } from "./one-subscriber.mjs";

const [distArg, nArg = "1000", outArg] = process.argv.slice(2);
if (!distArg) {
  console.error("usage: node bench/sync/tail-trace.mjs <bench Worker folder> [writes per side] [out.json]");
  process.exit(2);
}
const N = Number(nArg);
const WARMUP = Number(process.env.WARMUP ?? 3);
const GAP_MS = Number(process.env.GAP_MS ?? 15);
// V8_FLAGS=none: no tracing (checkpoints only), which leaves workerd's speed alone.
const V8_FLAGS = process.env.V8_FLAGS ?? "--trace-gc --trace-opt --trace-deopt";
if (V8_FLAGS !== "none") {
  process.env.MINIFLARE_WORKERD_V8_FLAGS = V8_FLAGS;
  // V8 prints its traces with stdio, fully buffered into a pipe (a flush per 4 KiB, about 100 writes
  // late): coreutils' stdbuf library, inherited by workerd, makes it line-buffered.
  const STDBUF = "/usr/libexec/coreutils/libstdbuf.so";
  if (existsSync(STDBUF)) Object.assign(process.env, { LD_PRELOAD: STDBUF, _STDBUF_O: "L", _STDBUF_E: "L" });
}
const SIDES = ["noema", "hand", "control"];
const targetOf = (side) => (side === "noema" ? "noema" : "hand-chain");

const tmp = mkdtempSync(join(tmpdir(), "noema-tail-"));
const dev = devServer(distArg, tmp, { log: true });
process.on("exit", dev.stop);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));
const logFile = join(tmp, "wrangler.log");
await dev.ready();

/** The Durable Objects' SQLite files under the store, by path. */
const store = join(tmp, "wrangler-persist");
const sqliteFiles = (dir = store) =>
  existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sqliteFiles(join(dir, e.name)) : e.name.endsWith(".sqlite") ? [join(dir, e.name)] : [])) : [];
const run = Date.now().toString(36);
const names = Object.fromEntries(SIDES.map((s) => [s, `tail-${s}-${run}`]));
/** Each side's database file: a checkpoint is what writes it (a commit writes the WAL only). */
const dbOf = {};
for (const side of SIDES) {
  const had = new Set(sqliteFiles());
  await dev.post("/sync-setup", { target: targetOf(side), name: names[side] });
  dbOf[side] = sqliteFiles().find((f) => !had.has(f));
}
const mtime = (f) => (f ? statSync(f, { bigint: true }).mtimeNs : 0n);
let mtimes = Object.fromEntries(SIDES.map((s) => [s, mtime(dbOf[s])]));
/** The sides whose database file was written since the last call. */
function checkpointed() {
  const now = Object.fromEntries(SIDES.map((s) => [s, mtime(dbOf[s])]));
  const changed = SIDES.filter((s) => now[s] !== mtimes[s]);
  mtimes = now;
  return changed;
}
const subs = {};
for (const side of SIDES) subs[side] = await subscribe(dev.url, side === "noema" ? "noema" : "hand", names[side]);

let logOffset = statSync(logFile).size;
const logFd = openSync(logFile, "r");
/** The log's text written since the last call. */
function newLines() {
  const size = statSync(logFile).size;
  if (size <= logOffset) return [];
  const buf = Buffer.alloc(size - logOffset);
  readSync(logFd, buf, 0, buf.length, logOffset);
  logOffset = size;
  return buf.toString("utf8").split("\n").filter(Boolean);
}

/** The wall clock's offset after the last write (see wallOffset in measure.mjs). */
let offset0 = wallOffset();
/** One write: its latency from the DO's clock and from the request, and the trace lines that followed it. */
async function write(side) {
  newLines();
  checkpointed();
  const got = subs[side].next();
  const t0 = performance.now();
  const { at } = await dev.post("/sync-write", { target: targetOf(side), name: names[side] });
  await got;
  const t1 = performance.now();
  const checkpoints = checkpointed();
  if (GAP_MS > 0) await sleep(GAP_MS);
  const offset1 = wallOffset();
  const seal = wallAt(t1, offset0, offset1) - at;
  offset0 = offset1;
  return { side, seal, request: t1 - t0, t0, t1, read: performance.now(), lines: newLines(), checkpoints };
}

const rotate = (items, k) => items.map((_, i) => items[(i + k) % items.length]);
const turn = (k) => {
  const m = k % (2 * SIDES.length);
  return m < SIDES.length ? rotate(SIDES, m) : rotate([...SIDES].reverse(), m - SIDES.length);
};

for (let w = 0; w < WARMUP; w++) for (const side of SIDES) await write(side);
const samples = [];
for (let w = 0; w < N; w++) for (const side of turn(w)) samples.push({ i: w, ...(await write(side)) });

const GC = /^\[(\d+):(0x[0-9a-f]+)\]\s+\d+ ms: (Scavenge|Mark-Compact|Minor Mark-Sweep|Mark-Sweep)\b.*?([\d.]+) \(([\d.]+)\) -> .*? ([\d.]+) \/ ([\d.]+) ms/;
// The bench Worker's isolate (the Worker and every object of it) has the largest heap; the others
// are wrangler's own Workers on the request's way (its entry and proxy), which every side crosses.
const heapOf = new Map();
for (const s of samples) for (const l of s.lines) {
  const m = GC.exec(l);
  if (m) heapOf.set(m[2], Math.max(heapOf.get(m[2]) ?? 0, Number(m[5])));
}
const worker = [...heapOf].sort((a, b) => b[1] - a[1])[0]?.[0];

// Without a pause, a trace line may reach the log a write or two late: a GC is put in the write
// whose time holds it, by V8's clock (ms since its isolate began, monotonic as performance.now()),
// the isolate's start taken as the earliest that fits every line's arrival.
const GC_AT = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: /;
const start = new Map();
for (const s of samples) for (const l of s.lines) {
  const m = GC_AT.exec(l);
  if (m) start.set(m[1], Math.min(start.get(m[1]) ?? Infinity, s.read - Number(m[2])));
}
if (GAP_MS === 0) {
  const moved = samples.map(() => []);
  for (const [k, s] of samples.entries()) {
    for (const l of s.lines) {
      const m = GC_AT.exec(l);
      if (!m) {
        moved[k].push(l);
        continue;
      }
      const t = start.get(m[1]) + Number(m[2]);
      // The write running at t, else the next one to begin (the gap between writes is this process's).
      let j = k;
      while (j > 0 && samples[j].t0 > t) j--;
      moved[samples[j].t1 >= t ? j : Math.min(j + 1, k)].push(l);
    }
  }
  for (const [k, s] of samples.entries()) s.lines = moved[k];
}

/** What a write's trace lines and files say happened in it: GC pauses (the Worker's isolate, others), compilations, deopts, checkpoints. */
function events(s) {
  const e = { scavenge: 0, markCompact: 0, gcMs: 0, otherGc: 0, otherGcMs: 0, optimized: 0, deopt: 0, checkpoint: s.checkpoints.includes(s.side) ? 1 : 0, otherCheckpoint: s.checkpoints.filter((c) => c !== s.side).length };
  for (const l of s.lines) {
    const gc = GC.exec(l);
    if (gc) {
      if (gc[2] !== worker) {
        e.otherGc++;
        e.otherGcMs += Number(gc[6]);
      } else {
        if (gc[3] === "Scavenge" || gc[3].startsWith("Minor")) e.scavenge++;
        else e.markCompact++;
        e.gcMs += Number(gc[6]);
      }
    } else if (/completed (optimizing|compiling)|optimizing .* - took/.test(l)) e.optimized++;
    else if (/bailout|deoptimiz/i.test(l)) e.deopt++;
  }
  return e;
}
for (const s of samples) s.events = events(s);

const KINDS = ["scavenge", "markCompact", "otherGc", "optimized", "deopt", "checkpoint", "otherCheckpoint"];
const report = {};
for (const side of SIDES) {
  const mine = samples.filter((s) => s.side === side);
  const sorted = mine.map((s) => s.seal).sort((a, b) => a - b);
  const p50 = q(sorted, 0.5);
  const p90 = q(sorted, 0.9);
  const p99 = q(sorted, 0.99);
  // Of a band's writes, how many had each kind of event.
  const band = (set) => ({ n: set.length, ...Object.fromEntries(KINDS.map((k) => [k, set.filter((s) => s.events[k] > 0).length])) });
  report[side] = {
    p50,
    p90,
    p99,
    gcMs: mine.reduce((t, s) => t + s.events.gcMs, 0),
    events: Object.fromEntries(KINDS.map((k) => [k, mine.reduce((t, s) => t + s.events[k], 0)])),
    atOrOverP99: band(mine.filter((s) => s.seal >= p99)),
    p90toP99: band(mine.filter((s) => s.seal >= p90 && s.seal < p99)),
    belowP90: band(mine.filter((s) => s.seal < p90)),
    slowest: [...mine].sort((a, b) => b.seal - a.seal).slice(0, 15).map((s) => ({ i: s.i, seal: s.seal, request: s.request, ...s.events })),
  };
}
const ratio = (k) => (report.noema[k] / report.hand[k]).toFixed(2);
console.log(`p50 ratio ${ratio("p50")}, p99 ratio ${ratio("p99")}, A/A p99 ${(report.control.p99 / report.hand.p99).toFixed(2)} (${N} writes a side, warm-up ${WARMUP}, gap ${GAP_MS} ms; the Worker's isolate ${worker})`);
const fmt = (b) => `${b.n}: ${KINDS.map((k) => `${k} ${b[k]}`).join(", ")}`;
for (const side of SIDES) {
  const r = report[side];
  console.log(`\n${side}: p50 ${r.p50.toFixed(2)} p90 ${r.p90.toFixed(2)} p99 ${r.p99.toFixed(2)} ms; events ${JSON.stringify(r.events)}, the Worker's GC ${r.gcMs.toFixed(1)} ms`);
  console.log(`  writes >= p99   ${fmt(r.atOrOverP99)}\n  p90 to p99      ${fmt(r.p90toP99)}\n  below p90       ${fmt(r.belowP90)}`);
  for (const s of r.slowest) console.log(`  #${s.i} ${s.seal.toFixed(2)} ms (req ${s.request.toFixed(1)}) ${KINDS.filter((k) => s[k]).map((k) => `${k} ${s[k]}`).join(", ")}${s.gcMs ? ` gc ${s.gcMs.toFixed(2)} ms` : ""}`);
}
// Where the writes that checkpointed their own database rank among their side's (1 is the slowest).
for (const side of SIDES) {
  const mine = samples.filter((s) => s.side === side).sort((a, b) => b.seal - a.seal);
  const ranks = mine.flatMap((s, k) => (s.events.checkpoint ? [`${k + 1} (${s.seal.toFixed(2)} ms)`] : []));
  console.log(`${side}: writes that checkpointed, by rank of ${mine.length}: ${ranks.join(", ")}`);
}
if (outArg) writeFileSync(outArg, JSON.stringify({ worker, report, samples }));
process.exit(0);
