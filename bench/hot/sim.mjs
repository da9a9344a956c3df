// `node bench/hot/sim.mjs`: a flash sale on one product, simulated against the per-object limit of
// Durable Objects, for 1, 2, 4, 8 and 16 shards and each share policy (issue 21's "proof of scale":
// a local run cannot show objects working in parallel, so this shows what the protocol allows).
//
// Model (every object is one single-threaded server with a FIFO queue):
// - A customer's reservation lands on a random shard. A shard with share left reserves in one
//   local transaction (one service time). Without share it asks the coordinator for more, by an
//   exactly-once message (a sediment on each side), and the customer waits for the answer.
// - The coordinator lends from its pool (see POLICIES). Under "escrow", an empty pool is refilled
//   from the other shards before it may answer "none"; on "none" the shard refuses: "no stock left
//   in any shard".
// - A request that finds its object's queue longer than the platform lets it wait is refused as
//   overloaded; a customer who waits longer than the timeout gives up.
// Service time per request: SIM_SERVICE_US, by default the platform's guidance for a writing object
// (≈ 500 requests/s, so 2,000 µs) and, as the second scenario, the in-DO time of a sealed
// reservation measured by `npm run bench` (bench/results/latest.json).
//
// Output: a table per scenario, bench/results/hot-sim.json and bench/results/hot-sim.svg.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

/** What the sale looks like: 50,000 people for 10,000 units, most of them in the first seconds. */
const TRACE = {
  stock: env("SIM_STOCK", 10_000),
  customers: env("SIM_CUSTOMERS", 50_000),
  /** Arrivals per second at 10:00 sharp; the rate then halves every `halfLifeS` seconds, down to `floorPerSecond`. */
  peakPerSecond: env("SIM_PEAK", 20_000),
  halfLifeS: env("SIM_HALF_LIFE_S", 2),
  floorPerSecond: env("SIM_FLOOR", 200),
};
/** The platform, as Cloudflare documents it (SIM_* override). */
const PLATFORM = {
  /** One object-to-object message, one way, µs (a DO RPC inside a colo). */
  hopUs: env("SIM_HOP_US", 3_000),
  /** Longest queue an object keeps before refusing with "overloaded". */
  maxQueue: env("SIM_MAX_QUEUE", 500),
  /** A customer gives up after this long, µs. */
  timeoutUs: env("SIM_TIMEOUT_US", 10_000_000),
};
const SHARDS = [1, 2, 4, 8, 16];
/**
 * How share moves. `initial`: the fraction of the stock split equally among the shards at the start
 * (the rest stays in the coordinator's pool). `lend`: how much the coordinator lends per request.
 * `lowWater`: a shard asks for more once its share falls to this, given the requests queued before
 * it (0: only when it has run out). `reclaim`: with an empty pool, the coordinator asks every other
 * shard for half its share before it may answer "none".
 */
const POLICIES = {
  /** Equal shares at the start and no borrowing: a shard that runs out refuses, though others have stock. */
  static: { initial: 1, lend: () => 0, lowWater: () => 0, reclaim: false },
  /** The coordinator keeps the stock and lends 50 at a time to a shard that has run out; "none" once its pool is empty. */
  borrow: { initial: 0, lend: () => 50, lowWater: () => 0, reclaim: false },
  /**
   * Escrow: half the stock split at the start; a shard asks while it still has as much share as it
   * has requests queued (plus 20), is lent a quarter of the pool per shard (at least 10), and an
   * empty pool is refilled from the other shards before anyone hears "none".
   */
  escrow: { initial: 0.5, lend: (pool, n) => Math.max(10, Math.ceil(pool / (4 * n))), lowWater: (queued) => queued + 20, reclaim: true },
};

function inDoServiceUs() {
  try {
    const latest = JSON.parse(readFileSync(`${here}../results/latest.json`, "utf8"));
    const perSecond = latest.runs[0].inDo.noema.perSecond;
    return Math.round(1e6 / perSecond);
  } catch {
    return undefined;
  }
}

/** mulberry32: a seeded generator, so every run of the table is the same. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A binary heap of events ordered by time, then by insertion. */
class Events {
  #heap = [];
  #n = 0;
  push(at, run) {
    const h = this.#heap;
    h.push({ at, i: this.#n++, run });
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (less(h[p], h[k])) break;
      [h[p], h[k]] = [h[k], h[p]];
      k = p;
    }
  }
  pop() {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === k) break;
        [h[m], h[k]] = [h[k], h[m]];
        k = m;
      }
    }
    return top;
  }
  get size() {
    return this.#heap.length;
  }
}
const less = (a, b) => a.at < b.at || (a.at === b.at && a.i < b.i);

function simulate({ shards: n, policy: name, serviceUs, seed = 1 }) {
  const policy = POLICIES[name];
  const rand = random(seed);
  const events = new Events();
  const stats = { served: 0, soldOut: 0, overloaded: 0, gaveUp: 0, falseSoldOut: 0, messages: 0, latencies: [], lastServedUs: 0 };
  const perSecond = [];

  /** A single-threaded object: one job at a time, `serviceUs` each, in queue order. */
  const object = () => ({ jobs: [], busy: false, busyUs: 0 });
  const next = (obj, now) => {
    const job = obj.jobs.shift();
    if (job === undefined) return void (obj.busy = false);
    obj.busy = true;
    obj.busyUs += serviceUs;
    events.push(now + serviceUs, (t) => {
      job(t);
      next(obj, t);
    });
  };
  /** Queues a job; `front` for requests already accepted that resume (their handlers were awaiting). */
  const run = (obj, now, job, { external = false, front = false } = {}) => {
    if (external && obj.jobs.length >= PLATFORM.maxQueue) return false;
    if (front) obj.jobs.unshift(job);
    else obj.jobs.push(job);
    if (!obj.busy) next(obj, now);
    return true;
  };
  const send = (to, now, job) => {
    stats.messages++;
    events.push(now + PLATFORM.hopUs, (t) => run(to, t, job));
  };

  const coordinator = { ...object(), pool: TRACE.stock, waiters: [], reclaiming: 0 };
  const shard = Array.from({ length: n }, (_, i) => ({ ...object(), i, share: 0, borrowing: false, waiting: [], soldOut: false }));
  const split = Math.floor((TRACE.stock * policy.initial) / n);
  for (const s of shard) {
    s.share = split;
    coordinator.pool -= split;
  }
  /** Share sent and not yet received: it belongs to nobody, and nobody may sell it. */
  let inFlight = 0;
  const held = () => coordinator.pool + inFlight + shard.reduce((sum, s) => sum + s.share, 0);
  const move = (to, now, amount, job) => {
    inFlight += amount;
    send(to, now, (t) => {
      inFlight -= amount;
      job(t);
    });
  };

  const borrow = (s, t) => {
    if (s.borrowing || s.soldOut || policy.lend(0, n) === 0) return;
    s.borrowing = true;
    send(coordinator, t, lend(s));
  };
  // The shard's turn for a customer: reserve from its share, or wait for a loan.
  const reserve = (s, customer) => (t) => {
    if (t - customer.at > PLATFORM.timeoutUs) return void stats.gaveUp++;
    if (s.share > 0) {
      s.share--;
      stats.served++;
      stats.lastServedUs = t;
      stats.latencies.push(t - customer.at);
      const second = Math.floor(t / 1e6);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
      if (s.share <= policy.lowWater(s.jobs.length)) borrow(s, t);
      return;
    }
    if (s.soldOut || policy.lend(0, n) === 0) {
      stats.soldOut++;
      if (held() > 0) stats.falseSoldOut++;
      return;
    }
    s.waiting.push(customer);
    borrow(s, t);
  };
  // The coordinator's turn for a request for share.
  const lend = (s) => (t) => {
    coordinator.waiters.push(s);
    if (coordinator.reclaiming === 0) answer(t);
  };
  const answer = (t) => {
    if (coordinator.pool === 0 && policy.reclaim && coordinator.waiters.length < n) {
      // Ask every shard that is not waiting for half its share; answer once all have replied.
      for (const other of shard) {
        if (coordinator.waiters.includes(other)) continue;
        coordinator.reclaiming++;
        send(other, t, giveBack(other));
      }
      return;
    }
    const waiters = coordinator.waiters;
    coordinator.waiters = [];
    for (const s of waiters) {
      const amount = Math.min(coordinator.pool, policy.lend(coordinator.pool, n));
      coordinator.pool -= amount;
      move(s, t, amount, receive(s, amount));
    }
  };
  // A shard asked to give back half its share.
  const giveBack = (from) => (t) => {
    const amount = Math.ceil(from.share / 2);
    from.share -= amount;
    move(coordinator, t, amount, (t2) => {
      coordinator.pool += amount;
      if (--coordinator.reclaiming > 0) return;
      // Nothing came back: answer "none" rather than ask again.
      if (coordinator.pool === 0) {
        const waiters = coordinator.waiters;
        coordinator.waiters = [];
        for (const s of waiters) send(s, t2, receive(s, 0));
      } else answer(t2);
    });
  };
  const receive = (s, amount) => (t) => {
    s.borrowing = false;
    s.share += amount;
    // "none" from the coordinator: every shard had run out when it asked.
    if (amount === 0) s.soldOut = true;
    const waiting = s.waiting.reverse();
    s.waiting = [];
    for (const customer of waiting) run(s, t, reserve(s, customer), { front: true });
  };

  // Arrivals: a Poisson process whose rate halves every halfLifeS, above a floor.
  let at = 0;
  for (let c = 0; c < TRACE.customers; c++) {
    const rate = TRACE.peakPerSecond * 0.5 ** (at / 1e6 / TRACE.halfLifeS) + TRACE.floorPerSecond;
    at += (-Math.log(1 - rand()) / rate) * 1e6;
    const customer = { at };
    const s = shard[Math.floor(rand() * n)];
    events.push(at, (t) => {
      if (!run(s, t, reserve(s, customer), { external: true })) stats.overloaded++;
    });
  }
  while (events.size > 0) {
    const e = events.pop();
    e.run(e.at);
    // Conservation, after every event: pool + shares + share in flight + sold = the stock.
    if (held() + stats.served !== TRACE.stock) throw new Error(`conservation broken at ${e.at} µs: ${held()} held + ${stats.served} served ≠ ${TRACE.stock}`);
  }
  const sorted = stats.latencies.sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] / 1000 : 0);
  return {
    shards: n,
    policy: name,
    served: stats.served,
    unsold: held(),
    /** The best second of the sale. */
    servedPerSecond: Math.max(0, ...Array.from(perSecond, (v) => v ?? 0)),
    sellOutS: held() === 0 ? +(stats.lastServedUs / 1e6).toFixed(2) : null,
    /** Refused as "no stock left", and of those, refused while some stock was still held or in flight. */
    soldOutRefusals: stats.soldOut,
    refusedWhileStockLeft: stats.falseSoldOut,
    overloaded: stats.overloaded,
    gaveUp: stats.gaveUp,
    p50Ms: +pct(50).toFixed(1),
    p99Ms: +pct(99).toFixed(1),
    messagesPerReservation: stats.served ? +(stats.messages / stats.served).toFixed(3) : 0,
    /** Share of the sale (until the last unit was sold) the coordinator spent working. */
    coordinatorBusy: stats.lastServedUs > 0 ? +(coordinator.busyUs / stats.lastServedUs).toFixed(3) : 0,
  };
}

const inDo = inDoServiceUs();
const scenarios = [
  { name: "platform guidance: a writing object serves about 500 requests/s", serviceUs: env("SIM_SERVICE_US", 2_000) },
  ...(inDo === undefined ? [] : [{ name: `in-DO CPU only: ${inDo} µs per sealed reservation (bench/results/latest.json)`, serviceUs: inDo }]),
];
const results = [];
console.log(`Flash sale: ${TRACE.customers} customers for ${TRACE.stock} units, peak ${TRACE.peakPerSecond}/s halving every ${TRACE.halfLifeS} s; hop ${PLATFORM.hopUs / 1000} ms, queue ≤ ${PLATFORM.maxQueue}, timeout ${PLATFORM.timeoutUs / 1e6} s`);
for (const scenario of scenarios) {
  console.log(`\n${scenario.name} (${scenario.serviceUs} µs per request)`);
  console.log("policy     shards  served  unsold  best s/s  sell-out s  refused w/ stock  overloaded  gave up  p50 ms  p99 ms  msgs/res  coord busy");
  for (const policy of Object.keys(POLICIES)) {
    for (const shards of SHARDS) {
      const r = simulate({ shards, policy, serviceUs: scenario.serviceUs });
      results.push({ scenario: scenario.name, serviceUs: scenario.serviceUs, ...r });
      console.log(
        `${policy.padEnd(10)} ${String(shards).padStart(6)}  ${String(r.served).padStart(6)}  ${String(r.unsold).padStart(6)}  ${String(r.servedPerSecond).padStart(8)}  ${String(r.sellOutS ?? "-").padStart(10)}  ${String(r.refusedWhileStockLeft).padStart(16)}  ${String(r.overloaded).padStart(10)}  ${String(r.gaveUp).padStart(7)}  ${String(r.p50Ms).padStart(6)}  ${String(r.p99Ms).padStart(6)}  ${String(r.messagesPerReservation).padStart(8)}  ${String(r.coordinatorBusy).padStart(10)}`,
      );
    }
  }
}
writeFileSync(`${here}../results/hot-sim.json`, `${JSON.stringify({ trace: TRACE, platform: PLATFORM, results }, null, 2)}\n`);
writeFileSync(`${here}../results/hot-sim.svg`, plot(results.filter((r) => r.serviceUs === scenarios[0].serviceUs), scenarios[0].name));
console.log("\nwrote bench/results/hot-sim.json and bench/results/hot-sim.svg");

/** Served reservations/s against the number of shards, one line per policy. */
function plot(rows, title) {
  const W = 640, H = 360, L = 70, B = 50, T = 40, R = 130;
  const max = Math.max(...rows.map((r) => r.servedPerSecond)) * 1.1 || 1;
  const x = (n) => L + (Math.log2(n) / Math.log2(16)) * (W - L - R);
  const y = (v) => H - B - (v / max) * (H - B - T);
  const colors = { static: "#999", borrow: "#d95f02", escrow: "#1b9e77" };
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${L}" y="20" font-size="13">Served reservations/s by shards: ${title}</text>`];
  for (let k = 0; k <= 4; k++) {
    const v = (max / 4) * k;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
  }
  for (const n of SHARDS) parts.push(`<text x="${x(n)}" y="${H - B + 18}" text-anchor="middle">${n}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">shards</text>`);
  for (const [i, policy] of Object.keys(POLICIES).entries()) {
    const pts = rows.filter((r) => r.policy === policy).map((r) => `${x(r.shards)},${y(r.servedPerSecond)}`);
    parts.push(`<polyline fill="none" stroke="${colors[policy]}" stroke-width="2" points="${pts.join(" ")}"/>`);
    parts.push(`<text x="${W - R + 10}" y="${T + 20 + i * 18}" fill="${colors[policy]}">${policy}</text>`);
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
