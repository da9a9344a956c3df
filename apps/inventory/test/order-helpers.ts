import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { buildIntent } from "@noema/core";
import { expect } from "vitest";
import type { OrderAttractor, OrderJson, OrderResult } from "../src/orders/attractor.js";
import { orderShard, orderStub } from "../src/orders/shards.js";
import { isSettled } from "../src/orders/status.js";
import { inventory } from "../src/vocabulary.js";
import { attractor, freshProduct, type InventoryNamespace, success } from "./helpers.js";

export type OrderNamespace = DurableObjectNamespace<OrderAttractor>;

const DAY = 24 * 60 * 60 * 1000;

/** Where the orders of a test live and which products they hold: the app's classes, or the test's switched ones. */
export interface World {
  orders: OrderNamespace;
  products: InventoryNamespace;
}

export const appWorld = (): World => ({ orders: env.ORDER_ATTRACTOR, products: env.INVENTORY_ATTRACTOR });
/** Orders whose deliveries to the products can be made to fail (`FaultyOrderAttractor.failDeliveriesTo`), over the app's products. */
export const faultyWorld = (): World => ({ orders: env.FAULTY_ORDER_ATTRACTOR, products: env.INVENTORY_ATTRACTOR });

/** The next `times` deliveries to `productId`, from any faulty-world order, fail before they reach it. */
export const failDeliveriesTo = (productId: string, times: number) => env.FAULTY_ORDER_ATTRACTOR.getByName("switch").failDeliveriesTo(productId, times);

/** `count` fresh products with `quantity` units each at "main" (stocked over RPC, so no other message is sent). */
export async function stockedProducts(count: number, quantity: number | number[], world: World = appWorld()): Promise<string[]> {
  const ids = Array.from({ length: count }, () => freshProduct("order-p"));
  await Promise.all(
    ids.map(async (id, i) => {
      const q = Array.isArray(quantity) ? quantity[i]! : quantity;
      success(await attractor(id, world.products).sedimentation(buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: q }))));
    }),
  );
  return ids;
}

export const freshOrderId = () => freshProduct("order");

/** The order of a successful result. */
export function ok(result: OrderResult): OrderJson {
  if (!result.ok) throw new Error(`expected an order, got ${result.status} ${result.message}`);
  return result.order;
}

/** Pending messages of an Attractor's outbox, made due now (as time passing would): the alarm then delivers them. */
const makeMessagesDue = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (_, state) => {
    const due = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM _noema_outbox").one().n;
    state.storage.sql.exec("UPDATE _noema_outbox SET next_attempt_at = MIN(next_attempt_at, ?)", Date.now());
    return due;
  });

/** Moves the order's own frozen expiry a day back: its TTL has passed. */
export const expireOrder = (orderId: string, world: World = appWorld()) =>
  runInDurableObject(orderStub(world.orders, orderId), (_, state) => {
    state.storage.sql.exec("UPDATE _noema_cryostasis SET wake_at = wake_at - ? WHERE freeze_key = ?", DAY, `order-expiry:${orderId}`);
  });

/**
 * Runs the orders' alarms until no order has a message left to deliver, every retry made due
 * at once (time passing faster, nothing skipped). Products' frozen releases are left alone: their
 * time has not come.
 */
export async function settle(orderIds: readonly string[], world: World = appWorld()): Promise<void> {
  const shards = [...new Set(orderIds.map(orderShard))];
  for (let round = 0; round < 200; round++) {
    let pending = 0;
    for (const shard of shards) {
      const stub = world.orders.getByName(shard);
      const n = await makeMessagesDue(stub);
      const due = await runInDurableObject(stub, (_, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM _noema_cryostasis WHERE wake_at <= ?", Date.now()).one().n,
      );
      pending += n + due;
      if (n + due > 0) await runDurableObjectAlarm(stub);
    }
    if (pending === 0) return;
  }
  throw new Error("orders still have messages after 200 rounds of alarms");
}

/** What a product holds: its stock at main, its active reservations and its pending frozen releases. */
export async function productState(productId: string, world: World = appWorld()) {
  const stub = attractor(productId, world.products);
  const snapshot = await stub.snapshot();
  const frozen = await stub.frozen({ limit: 1000 });
  return { stock: snapshot?.locations.find((l) => l.locationId === "main"), reservations: snapshot?.reservations ?? [], frozen };
}

/**
 * The guarantee and conservation over settled orders and their products: each order is all or
 * nothing; each product's quantity is its initial quantity less what committed lines took; its
 * reserved units are exactly those of lines in `reserved` orders, each held by an active
 * reservation with its frozen release; nothing else is held or frozen.
 */
export async function expectConserved(orderIds: readonly string[], initial: Record<string, number>, world: World = appWorld()): Promise<OrderJson[]> {
  const orders: OrderJson[] = [];
  for (const id of orderIds) {
    const order = await orderStub(world.orders, id).order(id);
    if (order) orders.push(order);
  }
  for (const order of orders) {
    expect(["reserved", "committed", "failed", "released"], JSON.stringify(order)).toContain(order.status);
    if (order.status !== "reserved") expect(isSettled(order), JSON.stringify(order)).toBe(true);
    const committed = order.lines.filter((l) => l.status === "committed").length;
    expect([0, order.lines.length], `order ${order.id} is all or nothing: ${JSON.stringify(order.lines)}`).toContain(committed);
  }
  for (const [productId, quantity] of Object.entries(initial)) {
    const lines = orders.flatMap((o) => o.lines.map((l) => ({ ...l, order: o })).filter((l) => l.productId === productId));
    const sold = lines.filter((l) => l.status === "committed").reduce((n, l) => n + l.quantity, 0);
    const held = lines.filter((l) => l.order.status === "reserved");
    const state = await productState(productId, world);
    expect(state.stock, productId).toMatchObject({ quantity: quantity - sold, reserved: held.reduce((n, l) => n + l.quantity, 0) });
    expect(state.reservations.map((r) => r.id).sort(), `${productId}: what is held`).toEqual(held.map((l) => l.reservationId).sort());
    expect(state.frozen.map((f) => f.key).sort(), `${productId}: what is frozen`).toEqual(held.map((l) => l.reservationId).sort());
  }
  return orders;
}
