// `npm run load:hot`: a flash sale on one hot product through `wrangler dev` of apps/inventory,
// with a crash in the middle (issue 21's "proof of scale", locally). It checks correctness, not
// speed: every object runs on this machine's one workerd thread, so nothing here shows shards
// working in parallel (bench/hot/sim.mjs and docs/guides/hot-worlds.md do that part).
//
// 1. Starts `wrangler dev` with its own persist dir, stocks LOAD_STOCK units, splits into LOAD_SHARDS.
// 2. Fires LOAD_RESERVATIONS reservations of 1 unit, LOAD_CONCURRENCY in flight, routed at random.
// 3. After LOAD_KILL_AT answers, SIGKILLs wrangler and workerd (their process group) and restarts
//    them on the same state and port. Requests that got no answer are sent again afterwards, under
//    the same idempotency key: one the crash cut off after it was sealed gets its first Seal, so no
//    hold is left that nobody was told about (checked below).
// 4. Reads the product every 2 s during the load (held + sold <= total at each read); after it,
//    waits until no share is in flight, then checks with GET /api/hot/:productId: nothing oversold,
//    conservation (total = unassigned + sum of shards + in flight). Then sells LOAD_AFTER acknowledged
//    reservations and releases as many, on the shards their ids name, and checks the sums again.
// 5. Reads every World through its generic routes (GET /api/hot/worlds/:world/…: its chain, Precedents,
//    outbox, receipts and the rows of its tables): every acknowledged reservation is held on the shard it names (nothing lost),
//    sediments, messages and receipts per reservation, requests per shard, and the latency of the
//    reservations whose shard borrowed while they were in flight against the others.
//
// Knobs: LOAD_STOCK=8000 LOAD_SHARDS=8 LOAD_RESERVATIONS=10000 LOAD_CONCURRENCY=200 LOAD_KILL_AT=5000
// (0: no crash) LOAD_AFTER=500. Exit code 1 when a check fails. Writes bench/results/hot-load.json.
/* global AbortController, AbortSignal */
import { checks, inventoryDev, num, writeResult } from "../inventory-dev.mjs";

const STOCK = num("LOAD_STOCK", 8_000);
const SHARDS = num("LOAD_SHARDS", 8);
const RESERVATIONS = num("LOAD_RESERVATIONS", 10_000);
const CONCURRENCY = num("LOAD_CONCURRENCY", 200);
const KILL_AT = num("LOAD_KILL_AT", Math.floor(RESERVATIONS / 2));
const PRODUCT = "flash-sale";
const TOKEN = "load-token";
const READY_MS = 120_000;
/** A reservation waits at most this long for an answer (a borrow waits up to 2 s per attempt, 3 attempts, behind a queue). */
const REQUEST_TIMEOUT_MS = 60_000;
/** How long to wait for the moves in flight to land after the load. */
const SETTLE_MS = 120_000;
const RETRY_ROUNDS = 5;
/** How often the product is read during the load. */
const READ_EVERY_MS = 2_000;
/** After settling, this many acknowledged reservations are sold and as many released, on their shards. */
const AFTER = num("LOAD_AFTER", 500);

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const dev = await inventoryDev({ label: "hot-load", token: TOKEN, readyMs: READY_MS });
const api = (path) => `${dev.base}/api/hot/${PRODUCT}${path}`;
async function call(method, path, body) {
  const res = await fetch(api(path), { method, headers, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}
const readProduct = async () => (await call("GET", "")).product;

const { check, failures, finish } = checks();

try {
  await call("POST", "/stock", { quantity: STOCK });
  await call("POST", "/split", { shards: SHARDS });
  console.log(`${PRODUCT}: ${STOCK} units split into ${SHARDS} shards; ${RESERVATIONS} reservations of 1, ${CONCURRENCY} in flight, kill -9 after ${KILL_AT || "never"} answers`);

  /** One customer's reservation: what the client saw of it. */
  const items = Array.from({ length: RESERVATIONS }, (_, i) => ({ i, attempts: 0, outcome: "pending", status: 0, reservationId: "", shard: "", t0: 0, t1: 0, unansweredOnce: false }));
  let answered = 0;
  /** Resolves when wrangler is up again after the crash; requests wait on it instead of hammering a dead port. */
  let up;
  let crash;

  async function reserve(item) {
    item.attempts++;
    item.t0 = Date.now();
    // Its own timer, held until the body is read: a connection cut by the kill must not leave a request waiting forever.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error("timeout")), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(api("/reservations"), { method: "POST", headers, body: JSON.stringify({ quantity: 1, idempotencyKey: `load-${item.i}` }), signal: abort.signal });
      const body = await Promise.race([res.json(), new Promise((_, reject) => abort.signal.addEventListener("abort", () => reject(new Error("timeout"))))]);
      item.t1 = Date.now();
      item.status = res.status;
      if (res.status === 201) Object.assign(item, { outcome: "acked", reservationId: body.reservationId, shard: body.shard });
      else if (res.status === 409) Object.assign(item, { outcome: "refused", reason: body.error?.message ?? body.seal?.reason?.message ?? JSON.stringify(body).slice(0, 200) });
      else Object.assign(item, { outcome: "unanswered", unansweredOnce: true, reason: `${res.status} ${JSON.stringify(body).slice(0, 200)}` });
    } catch (error) {
      Object.assign(item, { outcome: "unanswered", unansweredOnce: true, reason: String(error?.cause?.code ?? error?.name ?? error) });
    } finally {
      clearTimeout(timer);
    }
    if (item.outcome !== "unanswered") answered++;
    if (KILL_AT > 0 && !crash && answered >= KILL_AT) crash = kill();
  }

  async function kill() {
    let release;
    up = new Promise((r) => (release = r));
    const killedAt = Date.now();
    console.log(`kill -9 of wrangler dev after ${answered} answers`);
    await dev.kill();
    console.log(`restarted on the same state in ${Date.now() - killedAt} ms`);
    release();
    up = undefined;
  }

  async function drainCalls(calls) {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, calls.length) }, async () => {
      while (next < calls.length) await calls[next++]();
    }));
  }

  async function drain(queue) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
        while (next < queue.length) {
          if (up) await up;
          if (next >= queue.length) break;
          const item = queue[next++];
          await reserve(item);
          if (item.outcome === "unanswered" && up) await up;
        }
      }),
    );
  }

  // During the load, a product read every READ_EVERY_MS: held + sold never exceeds the total at any read.
  const reads = [];
  let loading = true;
  const sampler = (async () => {
    while (loading) {
      await new Promise((r) => setTimeout(r, READ_EVERY_MS));
      if (up || !loading) continue;
      try {
        const p = await readProduct();
        reads.push({ at: Date.now(), total: p.total, used: p.held + p.sold, inFlight: p.inFlight, spreadMs: p.freshness.spreadMs });
      } catch {
        // Down for the crash: the next read is after the restart.
      }
    }
  })();

  const started = Date.now();
  await drain(items);
  if (crash) await crash;
  const firstPass = items.filter((x) => x.outcome === "unanswered").length;
  for (let round = 0; round < RETRY_ROUNDS && items.some((x) => x.outcome === "unanswered"); round++) await drain(items.filter((x) => x.outcome === "unanswered"));
  const loadMs = Date.now() - started;
  loading = false;
  await sampler;

  // Settle: every move lands (by the alarms) before the sums are exact.
  const settleFrom = Date.now();
  let product = await readProduct();
  while (product.inFlight > 0 && Date.now() - settleFrom < SETTLE_MS) {
    await new Promise((r) => setTimeout(r, 500));
    product = await readProduct();
  }
  const settleMs = Date.now() - settleFrom;

  const acked = items.filter((x) => x.outcome === "acked");
  const refused = items.filter((x) => x.outcome === "refused");
  const unanswered = items.filter((x) => x.outcome === "unanswered");
  const retried = items.filter((x) => x.unansweredOnce);
  console.log(`\nload: ${(loadMs / 1000).toFixed(1)} s (${Math.round((RESERVATIONS * 1000) / loadMs)} reservations/s through one workerd thread); settled in ${settleMs} ms`);
  console.log(`answers: ${acked.length} reserved (201), ${refused.length} refused (409), ${unanswered.length} never answered; ${firstPass} had no answer the first time and were sent again (${retried.length} in all)`);
  const reasons = new Map();
  for (const r of refused) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
  for (const [reason, n] of reasons) console.log(`  refused ${n}×: ${reason}`);

  const shardSum = (k) => product.shards.reduce((n, s) => n + s[k], 0);
  console.log(`\nread: total ${product.total}, unassigned ${product.unassigned}, in flight ${product.inFlight}, available ${product.available}, held ${product.held}, sold ${product.sold}; freshness spread ${product.freshness.spreadMs} ms`);
  check(product.held + product.sold <= product.total, `nothing oversold: held + sold = ${product.held + product.sold} <= total ${product.total}`);
  const worst = reads.reduce((m, r) => Math.max(m, r.used - r.total), -Infinity);
  check(reads.every((r) => r.used <= r.total), `nothing oversold during the load: ${reads.length} product reads, each with held + sold <= total (closest: ${worst})`);
  check(
    product.total === product.unassigned + shardSum("available") + shardSum("held") + shardSum("sold") + product.inFlight,
    `conservation: total ${product.total} = unassigned ${product.unassigned} + Σ shards (available ${shardSum("available")} + held ${shardSum("held")} + sold ${shardSum("sold")}) + in flight ${product.inFlight}`,
  );
  check(product.inFlight === 0, `settled: nothing in flight (${product.inFlight})`);
  check(refused.length === 0 || product.available === 0, `refused only when sold out: ${refused.length} refusals, ${product.available} units still available`);

  // Deliveries: sell some holds and release as many, on the shards their ids name; then the sums again.
  const toSell = acked.slice(0, AFTER);
  const toRelease = acked.slice(AFTER, 2 * AFTER);
  await drainCalls([...toSell.map((x) => () => call("POST", `/reservations/${x.reservationId}/commit`)), ...toRelease.map((x) => () => call("DELETE", `/reservations/${x.reservationId}`))]);
  const after = await readProduct();
  check(
    after.sold === product.sold + toSell.length && after.held === product.held - toSell.length - toRelease.length && after.available === product.available + toRelease.length,
    `${toSell.length} sold and ${toRelease.length} released on their shards: sold ${after.sold}, held ${after.held}, available ${after.available}`,
  );
  check(
    after.total === after.unassigned + after.shards.reduce((n, s) => n + s.available + s.held + s.sold, 0) + after.inFlight,
    `conservation after the deliveries: total ${after.total} = unassigned ${after.unassigned} + Σ shards ${after.shards.reduce((n, s) => n + s.available + s.held + s.sold, 0)} + in flight ${after.inFlight}`,
  );
  for (const x of toSell) x.closed = "sold";
  for (const x of toRelease) x.closed = "released";

  // Every World's own log and tables, through its generic routes.
  const world = async (path) => {
    const res = await fetch(`${dev.base}/api/hot/worlds/${path}`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET /api/hot/worlds/${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  /** Every entry of a paged route, `key` naming the list in each page. */
  const every = async (path, key) => {
    const out = [];
    for (let after = 0; ; ) {
      const page = await world(`${path}${path.includes("?") ? "&" : "?"}after=${after}&limit=1000`);
      out.push(...page[key]);
      if (page.next === undefined) return out;
      after = page.next;
    }
  };
  const rowsOf = async (name, table) => {
    const out = [];
    for (let after = 0; ; ) {
      const page = await world(`${name}/tables/${table}?after=${after}&limit=1000`);
      out.push(...page.rows.map((row) => Object.fromEntries(page.columns.map((c, i) => [c, row[i]]))));
      if (page.next === undefined) return out;
      after = page.next;
    }
  };
  const perWorld = new Map();
  for (const name of [PRODUCT, ...Array.from({ length: SHARDS }, (_, i) => `${PRODUCT}~${i}`)]) {
    const chain = await world(`${name}/verify`);
    check(chain.ok, `${name}: its chain of ${chain.length} sediments verifies`);
    perWorld.set(name, {
      sediments: chain.length,
      precedents: (await every(`${name}/precedents`, "precedents")).length,
      outboxLeft: (await every(`${name}/outbox`, "messages")).length,
      receipts: (await every(`${name}/receipts`, "receipts")).length,
      holds: (await rowsOf(name, "holds")).map((h) => ({ id: h.reservation_id, status: h.status })),
      moves: (await rowsOf(name, "moves")).map((m) => ({ target: m.to_world, amount: m.amount, why: m.why, status: m.status, sentAt: m.sent_at, landedAt: m.landed_at })),
      landed: (await rowsOf(name, "landed")).length,
    });
  }
  await dev.stop();
  const coordinator = perWorld.get(PRODUCT);
  check(coordinator !== undefined && perWorld.size === SHARDS + 1, `read the coordinator and ${perWorld.size - 1} shard Worlds`);

  const onShards = new Map();
  for (const [name, w] of perWorld) if (name !== PRODUCT) for (const h of w.holds) onShards.set(h.id, { world: name, status: h.status });
  const lost = acked.filter((x) => onShards.get(x.reservationId)?.world !== x.shard || onShards.get(x.reservationId)?.status !== (x.closed ?? "held"));
  check(lost.length === 0, `nothing lost: every one of ${acked.length} acknowledged reservations is on the shard it names, held (or sold, released as asked) (${lost.length} missing)`);
  const ackedIds = new Set(acked.map((x) => x.reservationId));
  const orphans = [...onShards].filter(([id]) => !ackedIds.has(id));
  check(orphans.length === 0, `no duplicates: every hold was acknowledged (a retry under its idempotency key got the first Seal) (${orphans.length} unacknowledged holds)`);
  check(product.held === acked.length + orphans.length, `held ${product.held} = acknowledged ${acked.length} + unacknowledged holds ${orphans.length}`);

  // Overhead: everything sealed beyond the reservations themselves, per reservation sealed.
  const all = [...perWorld.values()];
  const sum = (f) => all.reduce((n, w) => n + f(w), 0);
  const sealedReservations = onShards.size;
  const moves = all.flatMap((w) => w.moves);
  const byWhy = {};
  for (const [name, w] of perWorld)
    for (const m of w.moves) {
      // A shard's "borrow" move is its give-back to the coordinator for a sibling's borrow.
      const why = name !== PRODUCT && m.why === "borrow" ? "give-back" : m.why;
      byWhy[why] ??= { moves: 0, units: 0 };
      byWhy[why].moves++;
      byWhy[why].units += m.amount;
    }
  const sediments = sum((w) => w.sediments);
  // Setup: stock and split on the coordinator, each split move's landing and its receipt.
  const setup = 2 + 2 * (byWhy.split?.moves ?? 0);
  // The sales and releases after the load are one sediment each, as without sharding.
  const extraSediments = sediments - sealedReservations - setup - toSell.length - toRelease.length;
  const loadMoves = moves.length - (byWhy.split?.moves ?? 0);
  const precedents = sum((w) => w.precedents);
  console.log(`\noverhead: ${sediments} sediments on ${perWorld.size} Worlds for ${sealedReservations} reservations sealed (+ ${setup} of setup, ${toSell.length + toRelease.length} sales and releases after it; ${precedents} refusals as Precedents)`);
  console.log(`  moves of share (one message each, one landing sediment, one receipt sediment): ${JSON.stringify(byWhy)}`);
  console.log(`  per reservation: ${(loadMoves / sealedReservations).toFixed(4)} messages, ${(extraSediments / sealedReservations).toFixed(4)} extra sediments`);
  console.log(`  receipts recorded ${sum((w) => w.receipts)}, messages still in an outbox ${sum((w) => w.outboxLeft)}`);

  // Balance: requests each shard served (sealed or refused there), and the acknowledged ones.
  const shardNames = [...perWorld.keys()].filter((n) => n !== PRODUCT).sort();
  const served = shardNames.map((n) => ({ shard: n, reservations: perWorld.get(n).holds.length, refusals: perWorld.get(n).precedents }));
  console.log(`\nrequests per shard (reserved + refused): ${served.map((s) => `${s.shard.split("~")[1]}: ${s.reservations}+${s.refusals}`).join(", ")}`);
  const counts = served.map((s) => s.reservations + s.refusals);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  console.log(`  min ${Math.min(...counts)}, max ${Math.max(...counts)}, mean ${mean.toFixed(0)}, max/mean ${(Math.max(...counts) / mean).toFixed(3)}`);

  // Latency: a reservation "borrowed" when a borrow move landed on its shard while it was in flight (it waited for share).
  const borrowsTo = new Map();
  for (const m of coordinator?.moves ?? []) if (m.why === "borrow" && m.landedAt) (borrowsTo.get(m.target) ?? borrowsTo.set(m.target, []).get(m.target)).push(m.landedAt);
  const firstTry = acked.filter((x) => !x.unansweredOnce);
  const borrowed = firstTry.filter((x) => (borrowsTo.get(x.shard) ?? []).some((t) => t >= x.t0 && t <= x.t1));
  const direct = firstTry.filter((x) => !borrowed.includes(x));
  const pct = (xs, p) => {
    const s = xs.map((x) => x.t1 - x.t0).sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
  };
  const line = (label, xs) => `${label}: n=${xs.length}, p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms, max ${pct(xs, 100)} ms`;
  console.log(`\nlatency of acknowledged reservations (first try, ${CONCURRENCY} in flight, one workerd thread):`);
  console.log(`  ${line("from the shard's share", direct)}`);
  console.log(`  ${line("waited for a borrow   ", borrowed)}`);
  console.log(`  ${line("refused (sold out)    ", refused.filter((x) => !x.unansweredOnce))}`);

  writeResult("hot-load.json", {
    config: { STOCK, SHARDS, RESERVATIONS, CONCURRENCY, KILL_AT },
    loadMs,
    settleMs,
    answers: { acked: acked.length, refused: refused.length, unanswered: unanswered.length, retried: retried.length, firstPassUnanswered: firstPass },
    product,
    duplicates: orphans.length,
    lost: lost.length,
    overhead: { sediments, setup, sealedReservations, extraSediments, moves: byWhy, precedents },
    perShard: served,
    latencyMs: Object.fromEntries(
      Object.entries({ direct, borrowed, refused: refused.filter((x) => !x.unansweredOnce) }).map(([k, xs]) => [k, { n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) }]),
    ),
    readsDuringLoad: reads.length,
    afterDeliveries: after,
    failures,
  });
} finally {
  await dev.remove();
}
finish();
