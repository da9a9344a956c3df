// `npm run load:orders`: orders of 3 lines through `wrangler dev` of apps/inventory, with kill -9s of
// `wrangler dev` while their messages are being delivered (issue 20's chaos row). It measures, per
// order, the time from its decision (commit, or cancel) to settled, from the timestamps the order
// itself records in its history, and checks that no message was lost or applied twice.
//
// 1. Starts `wrangler dev` with its own persist dir and stocks ORDERS_PRODUCTS products.
// 2. Runs ORDERS_N orders, ORDERS_CONCURRENCY in flight: create (3 distinct products, 1 unit each),
//    wait until reserved, then decide: commit, or cancel every ORDERS_CANCEL_EVERY-th order. A
//    request the crash cut off is sent again (create, commit and cancel repeat harmlessly).
// 3. ORDERS_KILLS times, ORDERS_KILL_EVERY_MS after the start or the last restart, while orders are
//    being decided and delivered, SIGKILLs wrangler and workerd (their process group) and restarts them on the same
//    state and port: the restart time is from the kill until /health answers.
// 4. Waits until every order has settled (committed, or released), then checks each product:
//    sold = the units of committed lines, nothing still reserved, and the line's reservation
//    committed or released exactly as its order says (a reserve or commit applied twice, or lost,
//    shows here). Then stops wrangler and reads every shard's SQLite file: every order there, outboxes empty, one
//    receipt per message (6 per order).
// Prints decision → settled (p50, p95, max) for all orders and for those decided before a kill and
// settled after it, the restart times, and writes bench/results/orders-chaos.json. Exit code 1 when
// a check fails. Knobs: ORDERS_N=300 ORDERS_CONCURRENCY=16 ORDERS_PRODUCTS=6 ORDERS_KILLS=6
// ORDERS_CANCEL_EVERY=5 ORDERS_KILL_EVERY_MS=10000.
/* global AbortSignal */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { checks, inventoryDev, num, writeResult } from "../inventory-dev.mjs";

const N = num("ORDERS_N", 300);
const CONCURRENCY = num("ORDERS_CONCURRENCY", 16);
const PRODUCTS = num("ORDERS_PRODUCTS", 6);
const KILLS = num("ORDERS_KILLS", 6);
const CANCEL_EVERY = num("ORDERS_CANCEL_EVERY", 5);
const KILL_EVERY_MS = num("ORDERS_KILL_EVERY_MS", 10_000);
const STOCK = 1_000_000;
const TOKEN = "load-token";
const READY_MS = 120_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** How often a client reads its order while it waits for `reserved`, and the sweep at the end reads all of them. */
const POLL_MS = 100;
/** How long the orders may take to settle after the load. */
const SETTLE_MS = 180_000;

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dev = await inventoryDev({ label: "orders-chaos", token: TOKEN, readyMs: READY_MS });

/** Resolves when wrangler is up again after a kill; requests wait on it instead of hammering a dead port. */
let up;
const restarts = [];

/** One HTTP call, sent again (same body) until something answers: a request the crash cut off repeats harmlessly. */
async function call(method, path, body) {
  for (;;) {
    if (up) await up;
    try {
      const res = await fetch(`${dev.base}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const text = await res.text();
      // A 5xx during a kill is the crash, not an answer.
      if (res.status >= 500) throw new Error(`${res.status} ${text.slice(0, 200)}`);
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      await sleep(up ? 0 : 200);
    }
  }
}

async function kill(why) {
  let release;
  up = new Promise((r) => (release = r));
  const killedAt = Date.now();
  await dev.kill();
  const restartMs = Date.now() - killedAt;
  restarts.push({ killedAt, restartMs, why });
  console.log(`kill -9 of wrangler dev ${why}; restarted on the same state in ${restartMs} ms`);
  up = undefined;
  release();
}

const { check, failures, finish } = checks();

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};
const stats = (xs) => ({ n: xs.length, p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: xs.length ? Math.max(...xs) : NaN });

try {
  const products = Array.from({ length: PRODUCTS }, (_, i) => `chaos-p${i}`);
  for (const p of products) {
    const res = await call("PUT", `/api/products/${p}/stock/main`, { quantity: STOCK });
    if (res.status !== 200) throw new Error(`stocking ${p}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  console.log(`${N} orders of 3 lines over ${PRODUCTS} products, ${CONCURRENCY} in flight; ${KILLS} kill -9s, one ${KILL_EVERY_MS} ms after the last restart; every ${CANCEL_EVERY}th order cancelled`);

  const orders = Array.from({ length: N }, (_, i) => ({
    id: `chaos-o${i}`,
    lines: [0, 1, 2].map((k) => ({ productId: products[(i + k * (1 + (i % 2))) % PRODUCTS], locationId: "main", quantity: 1 })),
    decision: i % CANCEL_EVERY === CANCEL_EVERY - 1 ? "cancel" : "commit",
  }));
  let decided = 0;
  let kills = 0;
  let crash = Promise.resolve();

  async function run(order) {
    const created = await call("POST", "/api/orders", { orderId: order.id, lines: order.lines, ttlSeconds: 900 });
    if (created.status !== 202) throw new Error(`create ${order.id}: ${created.status} ${JSON.stringify(created.body)}`);
    for (;;) {
      const read = await call("GET", `/api/orders/${order.id}`);
      if (read.body.order?.status === "reserved") break;
      if (read.body.order && read.body.order.status !== "pending") throw new Error(`order ${order.id} ${read.body.order.status}: ${JSON.stringify(read.body.order.lines)}`);
      await sleep(POLL_MS);
    }
    const answer = order.decision === "commit" ? await call("POST", `/api/orders/${order.id}/commit`) : await call("DELETE", `/api/orders/${order.id}`);
    if (answer.status !== 202) throw new Error(`${order.decision} ${order.id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    decided++;
  }

  const started = Date.now();
  // The kills, on a timer while the orders run: with ORDERS_CONCURRENCY in flight some are always
  // between their decision and settled (counted below: decided before a kill, settled after it).
  const killer = (async () => {
    while (kills < KILLS && decided < N) {
      await sleep(KILL_EVERY_MS);
      if (decided >= N) break;
      kills++;
      crash = kill(`${kills} of ${KILLS}, after ${decided} decisions`);
      await crash;
    }
  })();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, N) }, async () => {
      while (next < N) await run(orders[next++]);
    }),
  );
  await killer;
  await crash;
  const loadMs = Date.now() - started;

  // Settle: every order's deliveries land (by its alarm, which the restart re-arms).
  const settleFrom = Date.now();
  const final = new Map();
  while (final.size < N && Date.now() - settleFrom < SETTLE_MS) {
    for (const o of orders) {
      if (final.has(o.id)) continue;
      const read = await call("GET", `/api/orders/${o.id}`);
      const order = read.body.order;
      if (order && (order.status === "committed" || order.status === "released") && order.lines.every((l) => l.status === "committed" || l.status === "released")) final.set(o.id, order);
    }
    if (final.size < N) await sleep(POLL_MS * 5);
  }
  const settleMs = Date.now() - settleFrom;
  console.log(`\nload: ${(loadMs / 1000).toFixed(1)} s for ${N} orders; ${final.size} settled, the last ${settleMs} ms after the load`);
  check(final.size === N, `every order settled: ${final.size} of ${N}`);

  // Decision → settled, from the order's own history (the times its Attractor recorded).
  const spans = [];
  const undecided = [];
  for (const o of orders) {
    const order = final.get(o.id);
    if (!order) continue;
    const at = (status) => order.history.find((h) => h.status === status)?.at;
    const decidedAt = at(o.decision === "commit" ? "committing" : "releasing");
    const settledAt = at(o.decision === "commit" ? "committed" : "released");
    // The kills it waited through: its time beyond their restarts is what delivery after a crash cost.
    const through = restarts.filter((r) => decidedAt <= r.killedAt && settledAt >= r.killedAt);
    const downMs = through.reduce((n, r) => n + r.restartMs, 0);
    spans.push({ id: o.id, decision: o.decision, ms: settledAt - decidedAt, acrossKill: through.length > 0, beyondRestartMs: settledAt - decidedAt - downMs });
    if (order.status !== (o.decision === "commit" ? "committed" : "released")) undecided.push(`${o.id} ${order.status}`);
  }
  check(undecided.length === 0, `every order settled as decided (commit → committed, cancel → released): ${undecided.length} otherwise ${undecided.slice(0, 5).join(", ")}`);
  const all = stats(spans.map((s) => s.ms));
  const across = stats(spans.filter((s) => s.acrossKill).map((s) => s.ms));
  const beyond = stats(spans.filter((s) => s.acrossKill).map((s) => s.beyondRestartMs));
  const maxRestart = Math.max(0, ...restarts.map((r) => r.restartMs));
  console.log(`\ndecision → settled, ms: all ${JSON.stringify(all)}; decided before a kill and settled after it ${JSON.stringify(across)}`);
  console.log(`  of those, beyond the restart they waited through: ${JSON.stringify(beyond)}`);
  console.log(`restarts (kill → /health answers), ms: ${restarts.map((r) => r.restartMs).join(", ")}; max ${maxRestart}`);
  check(across.n > 0, `some orders were decided before a kill and settled after it: ${across.n}`);
  check(all.max <= maxRestart + 5000, `max decision → settled ${all.max} ms <= the longest restart ${maxRestart} ms + 5 s`);
  check(!(beyond.max > 5000), `an order decided before a kill settled at most 5 s after the restart it waited through (max ${beyond.max} ms)`);

  // Nothing lost or applied twice: each product's stock is exactly what the settled orders say.
  for (const p of products) {
    const snap = (await call("GET", `/api/products/${p}?limit=1000`)).body;
    const main = snap.locations.find((l) => l.locationId === "main");
    const lines = [...final.values()].flatMap((o) => o.lines.filter((l) => l.productId === p).map((l) => l.status));
    const sold = lines.filter((s) => s === "committed").length;
    check(main.quantity === STOCK - sold && main.reserved === 0 && snap.reservations.length === 0, `${p}: sold ${STOCK - main.quantity} = ${sold} committed lines, reserved ${main.reserved} (0), ${snap.reservations.length} holds left (0)`);
  }

  await dev.stop();

  // Every order's outbox and receipts, from its SQLite file (wrangler is stopped: the files are quiet).
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".sqlite")) files.push(p);
    }
  };
  walk(dev.persistDir);
  let coordinators = 0;
  let ordersOnDisk = 0;
  let outboxLeft = 0;
  let receipts = 0;
  let sediments = 0;
  let precedents = 0;
  for (const file of files) {
    const db = new DatabaseSync(file, { readOnly: true });
    const has = (t) => db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(t) !== undefined;
    if (has("order_lines")) {
      const count = (sql) => Number(db.prepare(sql).get().n);
      coordinators++;
      ordersOnDisk += count("SELECT COUNT(*) AS n FROM orders");
      outboxLeft += count("SELECT COUNT(*) AS n FROM _noema_outbox");
      receipts += count("SELECT COUNT(*) AS n FROM _noema_receipt");
      sediments += count("SELECT COUNT(*) AS n FROM _noema_sediment");
      precedents += count("SELECT COUNT(*) AS n FROM _noema_precedent");
    }
    db.close();
  }
  check(ordersOnDisk === N, `found ${ordersOnDisk} orders on disk (${N}), in ${coordinators} shard coordinators`);
  check(outboxLeft === 0, `no message left in an outbox (${outboxLeft})`);
  check(receipts === 6 * N, `one receipt per message: ${receipts} = 6 × ${N}`);
  check(precedents === 0, `no coordinator refused anything (${precedents} Precedents)`);
  console.log(`coordinator sediments per order: ${(sediments / Math.max(1, ordersOnDisk)).toFixed(2)}`);

  writeResult("orders-chaos.json", {
    date: new Date().toISOString(),
    config: { N, CONCURRENCY, PRODUCTS, KILLS, CANCEL_EVERY },
    loadMs,
    settleMs,
    decisionToSettledMs: { all, acrossKill: across, acrossKillBeyondRestart: beyond },
    restartsMs: restarts.map((r) => r.restartMs),
    goalMs: maxRestart + 5000,
    coordinatorSedimentsPerOrder: sediments / Math.max(1, coordinators),
    slowest: [...spans].sort((a, b) => b.ms - a.ms).slice(0, 10),
    failures,
  });
} finally {
  await dev.remove();
}
finish();
