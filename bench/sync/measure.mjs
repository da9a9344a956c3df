// Sync budgets of issue 19 §4, driven by bench/run.mjs against the bench Worker under `wrangler dev`:
//   latency  a reservation written over HTTP (as the inventory API writes) until each subscriber of
//            the World has its change, p50 and p99, with n subscribers (WebSockets in this Node process)
//            on a Noema World (InventoryAttractor, its publication, diff frames) and on the hand-written
//            baseline (bench/worker/handsync.ts: the same reservation, its stock row sent to every socket),
//            both connected at once, writes alternating between them so that noise hits both alike;
//   bytes    Noema's diff frame for one reservation in a World of `rows` stock rows, against an
//            Agents-style broadcast of the whole published state (`{ type: "cf_agent_state", state }`);
//   bundle   @noema/client's browser entry bundled with esbuild (minified, ESM, code-split as a
//            browser app would), gzip, with the SQLite WASM (its lazily imported JS and its .wasm) apart.
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/** Issue 19 §4: Noema's latency from a Seal to its subscribers may be at most this times the baseline's. */
export const SYNC_LATENCY_TARGET = 1.2;
/**
 * A bench subscriber's hello. Its law (the inventory's version, any hash) only decides whether the
 * server says the client is behind; the bench reads diffs either way.
 */
export const BENCH_HELLO = JSON.stringify({ t: "hello", protocol: 1, law: { version: 3, hash: "0".repeat(64) } });
/** Issue 19 §4: a diff frame may be at most this share of a whole-state broadcast of a 1,000-row table. */
export const SYNC_BYTES_TARGET = 0.05;
/** Issue 19 §4: @noema/client's JavaScript in a browser, gzip, the SQLite WASM apart. */
export const CLIENT_JS_TARGET_GZIP_KIB = 40;

const TOKEN = "bench-token"; // the bench Worker's NOEMA_API_TOKEN: a subscriber with no subject (stock, no reservations)
const SIDES = ["noema", "hand"];
/** The DO a side writes to: the A/A control is a second World of the hand-written baseline. */
const targetOf = (side) => (side === "noema" ? "noema" : "hand-chain");
/** Sockets opened at once while subscribing (wrangler dev's proxy stays responsive). */
const CONNECT_BATCH = 50;
const RECEIPT_TIMEOUT_MS = 30_000;
/** Tries of the in-DO timing per side at least (it is cheap, and the fastest counts). */
const INSIDE_TRIES = 5;

/** The q-quantile of samples sorted ascending (the sample at floor(q·n)), as the budget reads it. */
export const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);
const rotate = (items, k) => items.map((_, i) => items[(i + k) % items.length]);
/**
 * The order the sides write in, turn k: the n rotations of the sides, then the n of their reverse.
 * Over 2n turns each side follows each other side equally often (with three sides, rotations alone
 * had the baseline follow Noema twice as often as the control did, so a write paying for the one
 * before it weighed on one side).
 */
const turn = (sides, k) => {
  const m = k % (2 * sides.length);
  return m < sides.length ? rotate(sides, m) : rotate([...sides].reverse(), m - sides.length);
};

/**
 * One subscriber. Noema's says hello and is ready at its snapshot; the baseline's at open. `expect`
 * resolves with the time of the next update frame (the frame's text is compared by prefix only, so
 * neither side pays a JSON parse in this process).
 */
function subscribe(url, side) {
  return new Promise((ready, fail) => {
    const ws = new globalThis.WebSocket(url); // Node 22's (undici)
    const sub = { ws, side, waiter: null, bytes: [], snapshotBytes: 0 };
    const update = side === "noema" ? '{"t":"diff"' : '{"t":"row"';
    ws.addEventListener("open", () => {
      if (side === "noema") ws.send(BENCH_HELLO);
      else ready(sub);
    });
    ws.addEventListener("message", (e) => {
      const at = performance.now();
      const text = String(e.data);
      if (text.startsWith(update)) {
        sub.bytes.push(Buffer.byteLength(text));
        const w = sub.waiter;
        sub.waiter = null;
        w?.(at);
      } else if (text.startsWith('{"t":"snapshot"')) {
        sub.snapshotBytes = Buffer.byteLength(text);
        ready(sub);
      } else if (text.startsWith('{"t":"error"')) fail(new Error(`sync error frame: ${text}`));
    });
    ws.addEventListener("error", () => fail(new Error(`WebSocket to ${url} failed`)));
    ws.addEventListener("close", (e) => {
      if (sub.waiter || e.code !== 1000) fail(new Error(`WebSocket to ${url} closed: ${e.code} ${e.reason}`));
    });
  });
}

async function subscribeAll(base, side, name, n) {
  const ws = base.replace(/^http/, "ws");
  const url = side === "noema" ? `${ws}/api/products/${name}/sync?token=${TOKEN}` : `${ws}/sync/hand/${name}`;
  const subs = [];
  for (let i = 0; i < n; i += CONNECT_BATCH) {
    subs.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, () => subscribe(url, side)))));
  }
  return subs;
}

const closeAll = (subs) => subs.forEach((s) => s.ws.close(1000));

/**
 * The wall clock (what the DO's `at` reads) less this process's `performance` clock, and the time
 * `t` it was taken: at an edge of Date.now()'s millisecond, so exact to a turn of the loop (at most
 * a millisecond's spin). The two clocks can drift apart: on this machine's VM the wall clock ran
 * 5 ms a second ahead for minutes, which moved "from the Seal" by 5 ms a round. Receipts are put on
 * the wall clock by the offsets taken before and after their round, interpolated.
 */
export function wallOffset() {
  const d0 = Date.now();
  let d;
  let t;
  do {
    t = performance.now();
    d = Date.now();
  } while (d === d0);
  return { t, offset: d - (performance.timeOrigin + t) };
}

/** A receipt at `t` (performance clock) on the wall clock, between the offsets `a` and `b`. */
export const wallAt = (t, a, b) => performance.timeOrigin + t + a.offset + ((b.offset - a.offset) * (t - a.t)) / (b.t - a.t || 1);

/**
 * One write; resolves with the DO's `at` (when it began the write: its wall clock, the machine's, in
 * whole ms) and each subscriber's receipt (performance clock), and the latency from the request:
 * `request` from just before this process sent it. `sealLatency` turns the receipts into the budget's
 * "from the Seal" (the write's own time in the DO included) once the round's offsets are known.
 */
async function write(base, post, side, name, subs) {
  const t0 = performance.now();
  let timer;
  const receipts = Promise.all(subs.map((s) => new Promise((ok) => (s.waiter = ok))));
  const timeout = new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`${side}: not every subscriber got the change within ${RECEIPT_TIMEOUT_MS} ms`)), RECEIPT_TIMEOUT_MS)));
  try {
    const [{ at }, times] = await Promise.race([Promise.all([post(base, "/sync-write", { target: targetOf(side), name }), receipts]), timeout]);
    return { at, times, request: times.map((t) => t - t0) };
  } finally {
    clearTimeout(timer);
  }
}

/** Each receipt's latency from the Seal (ms), the clocks' offsets `a` before and `b` after. */
const sealLatency = ({ at, times }, a, b) => times.map((t) => wallAt(t, a, b) - at);

/** A side's p50 and p99 from the Seal and from the request, over its samples. */
function quantiles({ seal, request }) {
  const s = [...seal].sort((a, b) => a - b);
  const r = [...request].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), requestP50: quantile(r, 0.5), requestP99: quantile(r, 0.99), samples: s.length };
}

/**
 * Noema / hand and, with the A/A control, control / hand, for p50 and p99 from the Seal and from the
 * request: the control's ratios are what noise alone gives between two baselines in the same run.
 */
function ratios(stats) {
  const ratio = (side, key) => stats[side][key] / stats.hand[key];
  const of = (side, prefix) => ({
    [`${prefix}P50`]: ratio(side, "p50"),
    [`${prefix}P99`]: ratio(side, "p99"),
    [`request${prefix[0].toUpperCase()}${prefix.slice(1)}P50`]: ratio(side, "requestP50"),
    [`request${prefix[0].toUpperCase()}${prefix.slice(1)}P99`]: ratio(side, "requestP99"),
  });
  return { ...of("noema", "ratio"), ...(stats.control ? of("control", "control") : {}) };
}

/**
 * For each subscriber count: a fresh World per side, n subscribers on each, a few warm-up writes, then
 * `rounds` rounds of `writes` writes per side, the sides taking turns write by write (`turn`). The sides are Noema, the hand-written baseline and, with `control`, a second
 * World of the same hand-written DO: its ratio to the baseline (A/A) shows the spread noise alone gives.
 * Per round and side: p50 and p99 over every subscriber's latency of every write, and the ratios per round;
 * pooled: the same over every round's samples, which is the budget's figure (a round's p99 of 100
 * writes is its slowest write or two; pooled over 5 rounds it is the 6th slowest of 500).
 */
export async function syncLatency(base, post, fresh, { subscribers, rounds, writes, inside, control = true, warmup = 3 }) {
  const sides = control ? [...SIDES, "control"] : SIDES;
  const out = {};
  for (const n of subscribers) {
    const names = Object.fromEntries(sides.map((side) => [side, fresh(`sync-${side}-${n}`)]));
    for (const side of sides) await post(base, "/sync-setup", { target: targetOf(side), name: names[side] });
    const t0 = performance.now();
    const subs = {};
    for (const side of sides) subs[side] = await subscribeAll(base, side, names[side], n);
    const connectMs = performance.now() - t0;
    try {
      for (let w = 0; w < warmup; w++) for (const side of sides) await write(base, post, side, names[side], subs[side]);
      const perRound = [];
      const pooled = Object.fromEntries(sides.map((side) => [side, { seal: [], request: [] }]));
      // With no subscriber only the in-DO figure below is taken: the write alone, which the others add their broadcast to.
      for (let r = 0; n > 0 && r < rounds; r++) {
        const lat = Object.fromEntries(sides.map((side) => [side, { seal: [], request: [] }]));
        const raw = [];
        const before = wallOffset();
        for (let w = 0; w < writes; w++) {
          for (const side of turn(sides, r * writes + w)) raw.push([side, await write(base, post, side, names[side], subs[side])]);
        }
        const after = wallOffset();
        for (const [side, l] of raw) {
          const seal = sealLatency(l, before, after);
          lat[side].seal.push(...seal);
          lat[side].request.push(...l.request);
          pooled[side].seal.push(...seal);
          pooled[side].request.push(...l.request);
        }
        const stats = Object.fromEntries(sides.map((side) => [side, quantiles(lat[side])]));
        perRound.push({ ...stats, ...ratios(stats) });
      }
      const summary = (key) => {
        const xs = perRound.map((r) => r[key]);
        return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
      };
      const ms = (side, q) => median(perRound.map((r) => r[side][q]));
      // In the DO: `inside` writes in one request, each broadcast to the n subscribers; the fastest of `rounds` tries per side.
      const insideUs = { noema: Infinity, hand: Infinity };
      for (let r = 0; inside > 0 && r < Math.max(rounds, INSIDE_TRIES); r++) {
        for (const side of rotate(SIDES, r)) {
          const { ms: took } = await post(base, "/sync-inside", { target: targetOf(side), name: names[side], k: inside });
          insideUs[side] = Math.min(insideUs[side], (took * 1000) / inside);
        }
      }
      const inDo = inside > 0 ? { insideUsPerWrite: insideUs, insideRatio: insideUs.noema / insideUs.hand } : {};
      if (n === 0) {
        out[n] = { subscribers: n, rounds: [], ...inDo };
        continue;
      }
      const pooledStats = Object.fromEntries(sides.map((side) => [side, quantiles(pooled[side])]));
      const perRoundKeys = Object.keys(perRound[0]).filter((k) => /P(50|99)$/.test(k));
      out[n] = {
        subscribers: n,
        connectMs,
        writesPerRound: writes,
        rounds: perRound,
        // Per round: median and range of each ratio over the rounds (ratioP50, controlP99, requestRatioP50, ...).
        ...Object.fromEntries(perRoundKeys.map((k) => [k, summary(k)])),
        // Medians over rounds of each side's per-round quantiles, ms.
        ms: Object.fromEntries(sides.map((side) => [side, { p50: ms(side, "p50"), p99: ms(side, "p99"), requestP50: ms(side, "requestP50"), requestP99: ms(side, "requestP99") }])),
        // Every round's samples together: each side's quantiles (ms, and the sample count) and the ratios; the budget's figure.
        pooled: { ...pooledStats, ...ratios(pooledStats) },
        // Each side's latencies from the Seal in the order written (ms), to look at a tail's writes.
        sealMs: Object.fromEntries(sides.map((side) => [side, pooled[side].seal.map((x) => Math.round(x * 100) / 100)])),
        frameBytes: { noema: median(subs.noema[0].bytes), hand: median(subs.hand[0].bytes) },
        ...inDo,
      };
    } finally {
      for (const side of sides) closeAll(subs[side]);
    }
  }
  return out;
}

/** Noema's diff frame for one reservation in a World of `rows` stock rows, against the whole-state broadcast of the same table. */
export async function syncBytes(base, post, fresh, { rows, writes = 5 }) {
  const name = fresh("sync-bytes");
  await post(base, "/sync-setup", { target: "noema", name, locations: rows });
  const { wholeStateBytes } = await post(base, "/sync-setup", { target: "hand-chain", name: fresh("sync-bytes-hand"), locations: rows });
  const [sub] = await subscribeAll(base, "noema", name, 1);
  try {
    for (let w = 0; w < writes; w++) await write(base, post, "noema", name, [sub]);
  } finally {
    closeAll([sub]);
  }
  const diffBytes = median(sub.bytes);
  return { rows, diffBytes, snapshotBytes: sub.snapshotBytes, wholeStateBytes, ratio: diffBytes / wholeStateBytes, target: SYNC_BYTES_TARGET };
}

const gzipKiB = (bytes) => gzipSync(bytes, { level: 9 }).length / 1024;

/**
 * @noema/client's browser entry, everything it exports (`@noema/client` and `@noema/client/browser`),
 * bundled with esbuild as a browser app would (minified ESM, code-split). The SQLite WASM is imported
 * lazily, so its JS is a chunk of its own, counted apart with the .wasm file; zod is the app's own
 * dependency too (its law is written with it) and is reported as a share of the JS.
 */
export async function clientBundle(root, outdir) {
  const result = await build({
    stdin: { contents: `export * from "@noema/client";\nexport * from "@noema/client/browser";\n`, resolveDir: root, loader: "js" },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    outdir,
    absWorkingDir: root,
    metafile: true,
    write: true,
    logLevel: "error",
  });
  const isSqlite = (input) => input.includes("@sqlite.org/sqlite-wasm");
  let js = 0;
  let sqliteJs = 0;
  const byPackage = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!file.endsWith(".js")) continue;
    const gz = gzipKiB(readFileSync(join(root, file)));
    const inputs = Object.entries(output.inputs);
    if (inputs.length > 0 && inputs.every(([input]) => isSqlite(input))) {
      sqliteJs += gz;
      continue;
    }
    js += gz;
    // Shares of the minified bytes, applied to the gzip size: an estimate per package.
    const total = inputs.reduce((s, [, v]) => s + v.bytesInOutput, 0) || 1;
    for (const [input, v] of inputs) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? (/packages\/([^/]+)/.exec(input) ? `@noema/${/packages\/([^/]+)/.exec(input)[1]}` : input);
      byPackage[pkg] = (byPackage[pkg] ?? 0) + (gz * v.bytesInOutput) / total;
    }
  }
  const wasm = readFileSync(join(root, "node_modules/@sqlite.org/sqlite-wasm/dist/sqlite3.wasm"));
  return {
    jsGzipKiB: js,
    // Noema's own code, without the zod/mini parts its schemas use (a law in zod/mini shares them).
    noemaGzipKiB: js - (byPackage.zod ?? 0),
    byPackageGzipKiB: Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1])),
    sqliteJsGzipKiB: sqliteJs,
    sqliteWasmKiB: wasm.length / 1024,
    sqliteWasmGzipKiB: gzipKiB(wasm),
    targetGzipKiB: CLIENT_JS_TARGET_GZIP_KIB,
  };
}

const x = (r) => `${r.toFixed(2)}×`;
const spread = (s) => `${x(s.median)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const verdict = (ok) => (ok ? "within" : "OVER");

export function printSync(sync) {
  const lines = ["", "Sync (issue 19 §4): Noema / hand-written broadcast, same run, writes interleaved"];
  if (sync.latency) {
    lines.push(`  latency from the Seal (the DO beginning the write) to each subscriber's receipt (target <= ${SYNC_LATENCY_TARGET}×): ratios of every round's samples pooled, ms p50/p99;`);
    lines.push(`  per round, the ratios' median (min–max over rounds); the A/A control is the baseline against a second World of itself;`);
    lines.push(`  then from the client's write request; then in the DO, write + broadcast per write (fastest of ${INSIDE_TRIES} or more)`);
    for (const l of Object.values(sync.latency)) {
      if (l.rounds.length === 0) {
        const u = l.insideUsPerWrite;
        if (u) lines.push(`    ${String(l.subscribers).padStart(5)} subscribers: in the DO (the write alone): noema ${u.noema.toFixed(0)} µs, hand ${u.hand.toFixed(0)} µs per write = ${x(l.insideRatio)}`);
        continue;
      }
      const p = l.pooled;
      const ok = p.ratioP50 <= SYNC_LATENCY_TARGET && p.ratioP99 <= SYNC_LATENCY_TARGET;
      const sideMs = (side, q = "") => `${side} ${p[side][q ? `${q}P50` : "p50"].toFixed(1)}/${p[side][q ? `${q}P99` : "p99"].toFixed(1)} ms`;
      lines.push(
        `    ${String(l.subscribers).padStart(5)} subscribers: p50 ${x(p.ratioP50)}  p99 ${x(p.ratioP99)} pooled, ${p.noema.samples} samples a side ` +
          `[${sideMs("noema")}, ${sideMs("hand")}] ${verdict(ok)}`,
      );
      lines.push(
        `          per round: p50 ${spread(l.ratioP50)}  p99 ${spread(l.ratioP99)}  ` +
          `[frames ${l.frameBytes.noema} B / ${l.frameBytes.hand} B; ${l.rounds.length} rounds × ${l.writesPerRound} writes]`,
      );
      if (p.control) {
        lines.push(
          `          A/A, a second hand-written World / hand: p50 ${x(p.controlP50)}  p99 ${x(p.controlP99)} pooled; ` +
            `per round p50 ${spread(l.controlP50)}  p99 ${spread(l.controlP99)}  [${sideMs("control")}]`,
        );
      }
      lines.push(
        `          from the request: p50 ${x(p.requestRatioP50)}  p99 ${x(p.requestRatioP99)} pooled` +
          (p.control ? ` (A/A ${x(p.requestControlP50)}, ${x(p.requestControlP99)})` : "") +
          `; per round p50 ${spread(l.requestRatioP50)}  p99 ${spread(l.requestRatioP99)}  [${sideMs("noema", "request")}, ${sideMs("hand", "request")}]`,
      );
      if (l.insideUsPerWrite) {
        const u = l.insideUsPerWrite;
        lines.push(`          in the DO: noema ${u.noema.toFixed(0)} µs, hand ${u.hand.toFixed(0)} µs per write = ${x(l.insideRatio)}`);
      }
    }
  }
  if (sync.bytes) {
    const b = sync.bytes;
    lines.push(
      `  bytes per update, ${b.rows}-row table: diff ${b.diffBytes} B vs whole state ${b.wholeStateBytes} B = ${(b.ratio * 100).toFixed(2)}% ` +
        `(target <= ${b.target * 100}%; Noema's own snapshot ${b.snapshotBytes} B) ${verdict(b.ratio <= b.target)}`,
    );
  }
  if (sync.bundle) {
    const c = sync.bundle;
    const parts = Object.entries(c.byPackageGzipKiB).filter(([, k]) => k >= 0.05).map(([p, k]) => `${p} ${k.toFixed(1)}`).join(", ");
    lines.push(`  @noema/client browser bundle, gzip: JS ${c.jsGzipKiB.toFixed(1)} KiB (target <= ${c.targetGzipKiB} KiB) ${verdict(c.jsGzipKiB <= c.targetGzipKiB)}, of which zod/mini ${(c.byPackageGzipKiB.zod ?? 0).toFixed(1)} KiB (a law in zod/mini adds little; one in classic zod adds about 13 KiB)`);
    lines.push(`    by package ≈ ${parts}`);
    lines.push(`    SQLite WASM apart: its JS ${c.sqliteJsGzipKiB.toFixed(1)} KiB gzip, sqlite3.wasm ${c.sqliteWasmKiB.toFixed(0)} KiB (${c.sqliteWasmGzipKiB.toFixed(0)} KiB gzip)`);
  }
  if (sync.apply) {
    const { memory: m, indexedDb: d, targetMs } = sync.apply;
    const ms = (s) => `median ${s.median.toFixed(2)} ms (p10 ${s.p10.toFixed(2)}, p90 ${s.p90.toFixed(2)}; n=${s.n} after ${s.sent - s.n} warm-up; ${s.optimistic} of ${s.sent} optimistic)`;
    lines.push(`  optimistic send in Chromium, inventory reserve: queue in memory (the apply) ${ms(m)} (target <= ${targetMs} ms) ${verdict(m.median <= targetMs)}`);
    lines.push(`    queue in IndexedDB (the durable write, then the apply): ${ms(d)}`);
  }
  console.log(lines.join("\n"));
}
