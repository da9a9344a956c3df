import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { orderStub } from "../src/orders/shards.js";
import { isFinal } from "../src/orders/status.js";
import { attractor } from "./helpers.js";
import { expectConserved, expireOrder, failDeliveriesTo, faultyWorld, freshOrderId, settle, stockedProducts } from "./order-helpers.js";

const PRODUCTS = 3;

type Action =
  | { t: "create"; lines: { product: number; quantity: number }[] }
  | { t: "commit" | "cancel" | "expire" | "deliver"; order: number }
  | { t: "fail"; product: number; count: number }
  | { t: "evict"; order: number; product: number }
  | { t: "abort"; order: number };

const product = fc.integer({ min: 0, max: PRODUCTS - 1 });
const order = fc.nat(20);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.uniqueArray(fc.record({ product, quantity: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: PRODUCTS, selector: (l) => l.product }).map((lines) => ({ t: "create" as const, lines })) },
  { weight: 3, arbitrary: fc.record({ t: fc.constantFrom("commit" as const, "cancel" as const, "expire" as const, "deliver" as const), order }) },
  // Fewer failures in a row than a message's attempts: transient, never undeliverable.
  { weight: 2, arbitrary: fc.record({ t: fc.constant("fail" as const), product, count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("evict" as const), order, product }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("abort" as const), order }) },
);

/** The object may not be running: nothing to evict then. */
const evict = (stub: DurableObjectStub) => evictDurableObject(stub).catch(() => undefined);

describe("orders: all or nothing, and conservation, under random orders, commits, cancels, expiries, failures and aborts", () => {
  it("after the system settles, every order is all or nothing and every product's stock adds up", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: PRODUCTS, maxLength: PRODUCTS }), fc.array(action, { minLength: 1, maxLength: 12 }), fc.infiniteStream(fc.boolean()), async (initial, actions, commitOrCancel) => {
        const world = faultyWorld();
        const products = await stockedProducts(PRODUCTS, initial, world);
        const orders: string[] = [];
        const pick = (i: number) => orders[i % orders.length];
        for (const a of actions) {
          if (a.t === "create") {
            const orderId = freshOrderId();
            orders.push(orderId);
            const lines = a.lines.map((l) => ({ productId: products[l.product]!, locationId: "main", quantity: l.quantity }));
            await orderStub(world.orders, orderId).create({ orderId, lines, ttlSeconds: 900 });
            continue;
          }
          if (a.t === "fail") {
            await failDeliveriesTo(products[a.product]!, a.count);
            continue;
          }
          const orderId = pick(a.order);
          if (!orderId) continue;
          const stub = orderStub(world.orders, orderId);
          if (a.t === "commit") await stub.commit(orderId);
          else if (a.t === "cancel") await stub.cancel(orderId);
          else if (a.t === "expire") await expireOrder(orderId, world);
          else if (a.t === "deliver") await runDurableObjectAlarm(stub);
          else if (a.t === "evict") {
            await evict(stub);
            await evict(attractor(products[a.product]!, world.products));
          } else {
            // Every object torn down while the order's alarm is delivering: wherever it stopped, nothing is lost or applied twice.
            const running = runDurableObjectAlarm(stub).catch(() => false);
            await abortAllDurableObjects();
            await running;
          }
        }
        const quantities = Object.fromEntries(products.map((p, i) => [p, initial[i]!]));
        await settle(orders, world);
        const settled = await expectConserved(orders, quantities, world);
        // Then each order still open is committed or cancelled, and everything settles for good.
        const commits = commitOrCancel[Symbol.iterator]();
        for (const o of settled.filter((o) => o.status === "reserved")) {
          const stub = orderStub(world.orders, o.id);
          if (commits.next().value) await stub.commit(o.id);
          else await stub.cancel(o.id);
        }
        await settle(orders, world);
        for (const o of await expectConserved(orders, quantities, world)) expect(isFinal(o.status), JSON.stringify(o)).toBe(true);
        for (const id of [...orders.map((o) => orderStub(world.orders, o)), ...products.map((p) => attractor(p, world.products))]) expect((await id.verify()).ok).toBe(true);
      }),
      { numRuns: 10 },
    );
  });
});
