// Orders: an OrderAttractor coordinating three product Attractors by messages, against the same
// three reservations and commits sent directly from the Worker (no coordinator, no all-or-nothing).
import { buildIntent } from "@noema/core";
import { MAX_WAIT_MS, type OrderAttractor, type OrderJson } from "../../apps/inventory/src/orders/attractor.js";
import { orderStub } from "../../apps/inventory/src/orders/shards.js";
import { inventory } from "../../apps/inventory/src/vocabulary.js";
import { type Env, freshNoema, LOCATION, noema, pool } from "./env.js";

/** How long one call waits for the order's status (the longest it may): `create` and `commit` answer once a receipt moves it there. */
const WAIT_MS = MAX_WAIT_MS;

/** Waits for the order's status without polling, past what the call that waited already saw. */
async function untilStatus(stub: DurableObjectStub<OrderAttractor>, seen: OrderJson, status: "reserved" | "committed"): Promise<void> {
  for (let order: OrderJson | undefined = seen; ; order = await stub.waitFor(seen.id, [status], WAIT_MS)) {
    if (order?.status === status) return;
    if (order && (order.status === "failed" || order.status === "released")) throw new Error(`bench order ${order.id} ${order.status}: ${JSON.stringify(order.lines)}`);
  }
}

const reserveWithRelease = (quantity: number) =>
  buildIntent(inventory, (s) => {
    const r = s.reserve({ locationId: LOCATION, quantity });
    s.$freeze({ at: r.expiresAt, key: r.reservationId }, (frozen) => frozen.release({ reservationId: r.reservationId }));
    return r;
  });
const commitWithCancel = (reservationId: string) =>
  buildIntent(inventory, (s) => {
    s.commit({ reservationId });
    s.$cancel({ key: reservationId });
  });

/**
 * The phases of an order as the Worker sees them, each timed from the end of the one before: the
 * create call answers once the order is reserved, the commit call once it is committed (one call
 * each, with `wait`); "toReserved" and "toCommitted" are what a further `waitFor` took, if needed.
 */
const PHASES = ["create", "toReserved", "commit", "toCommitted"] as const;

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** n orders of three lines each over three products, c in flight: created, reserved, committed. */
export async function ordersBench(env: Env, name: string, mode: string, n: number, c: number) {
  const products = [0, 1, 2].map((i) => `${name}-p${i}`);
  for (const p of products) await freshNoema(env, p);
  const toReserved: number[] = [];
  const phases = Object.fromEntries(PHASES.map((p) => [p, [] as number[]])) as Record<(typeof PHASES)[number], number[]>;
  let next = 0;
  const start = Date.now();
  await pool(n, c, async () => {
    const k = next++;
    const t0 = performance.now();
    if (mode === "orders") {
      const orderId = `${name}-o${k}`;
      const stub = orderStub(env.ORDER_ATTRACTOR, orderId);
      let last = t0;
      const phase = (name: (typeof PHASES)[number]) => {
        const now = performance.now();
        phases[name].push(now - last);
        last = now;
      };
      const lines = products.map((productId) => ({ productId, locationId: LOCATION, quantity: 1 }));
      const created = await stub.create({ orderId, lines, ttlSeconds: 900 }, { statuses: ["reserved"], timeoutMs: WAIT_MS });
      phase("create");
      if (!created.ok) throw new Error(created.message);
      await untilStatus(stub, created.order, "reserved");
      phase("toReserved");
      toReserved.push(performance.now() - t0);
      const committed = await stub.commit(orderId, { statuses: ["committed"], timeoutMs: WAIT_MS });
      phase("commit");
      if (!committed.ok) throw new Error(committed.message);
      await untilStatus(stub, committed.order, "committed");
      phase("toCommitted");
    } else {
      const seals = await Promise.all(products.map((p) => noema(env, p).sedimentation(reserveWithRelease(1))));
      toReserved.push(performance.now() - t0);
      await Promise.all(
        seals.map(async (seal, i) => {
          if (!seal.success) throw new Error(seal.reason.message);
          const { reservationId } = seal.outputs[0] as { reservationId: string };
          const done = await noema(env, products[i]!).sedimentation(commitWithCancel(reservationId));
          if (!done.success) throw new Error(done.reason.message);
        }),
      );
    }
  });
  const ms = Date.now() - start;
  toReserved.sort((a, b) => a - b);
  const at = (q: number) => toReserved[Math.min(toReserved.length - 1, Math.floor(q * toReserved.length))] ?? 0;
  return { mode, n, c, ms, toReserved: { p50: at(0.5), p95: at(0.95), mean: toReserved.reduce((a, b) => a + b, 0) / Math.max(1, toReserved.length) },
    ...(mode === "orders" ? { phasesP50: Object.fromEntries(PHASES.map((p) => [p, p50(phases[p])])) } : {}),
  };
}
