import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { DEFAULT_DELIVERY } from "@noema/cloudflare";
import { backoffMs } from "@noema/core/internal";
import { describe, expect, it } from "vitest";
import type { OrderAttractor, OrderJson } from "../src/orders/attractor.js";
import { orderStub } from "../src/orders/shards.js";
import { buildIntent } from "@noema/core";
import { inventory } from "../src/vocabulary.js";
import { COMMIT_MARGIN_SECONDS, orders } from "../src/orders/vocabulary.js";
import { api, attractor, observe, refusal, success } from "./helpers.js";
import { appWorld, expectConserved, expireOrder, failDeliveriesTo, faultyWorld, freshOrderId, ok, productState, settle, stockedProducts, type World } from "./order-helpers.js";

const DAY = 24 * 60 * 60 * 1000;
const lines = (products: string[], quantity = 2) => products.map((productId) => ({ productId, locationId: "main", quantity }));
const statuses = (order: OrderJson) => order.lines.map((l) => l.status);
const historyOf = (order: OrderJson) => order.history.map((h) => h.status);
const getOrder = async (orderId: string) => {
  const res = await api("GET", `/api/orders/${orderId}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.order as OrderJson;
};

/** A reserved order over `products` (2 units a line), created over RPC in `world`. */
async function reservedOrder(products: string[], world: World) {
  const orderId = freshOrderId();
  const stub = orderStub(world.orders, orderId);
  ok(await stub.create({ orderId, lines: lines(products), ttlSeconds: 900 }));
  await settle([orderId], world);
  expect(ok({ ok: true, order: (await stub.order(orderId))! }).status).toBe("reserved");
  return { orderId, stub };
}

/** A product's holds expire and release themselves (their frozen releases made due and woken): time passing there. */
async function expireHolds(productId: string, world: World) {
  const stub = attractor(productId, world.products);
  await runInDurableObject(stub, (_, state) => {
    state.storage.sql.exec("UPDATE reservations SET expires_at = expires_at - ? WHERE status = 'active'", DAY);
    state.storage.sql.exec("UPDATE _noema_cryostasis SET wake_at = wake_at - ?", DAY);
  });
  await runDurableObjectAlarm(stub);
}

describe("orders across products", () => {
  it("happy path over HTTP: pending → reserved → committing → committed; every line sold once, nothing left held or frozen", async () => {
    const products = await stockedProducts(3, 10);
    const orderId = freshOrderId();
    const created = await api("POST", "/api/orders", { orderId, lines: lines(products) });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body.order).toMatchObject({ id: orderId, status: "pending", history: [{ status: "pending" }] });
    expect(created.body.order.lines).toEqual(products.map((productId, i) => ({ productId, locationId: "main", quantity: 2, status: "pending", reservationId: `${orderId}.${i}` })));
    expect(created.body.order.expiresAt).toBe(created.body.order.createdAt + 900_000);

    await settle([orderId]);
    const reserved = await getOrder(orderId);
    expect(reserved.status).toBe("reserved");
    expect(statuses(reserved)).toEqual(["reserved", "reserved", "reserved"]);
    for (const [i, p] of products.entries()) {
      const state = await productState(p);
      expect(state.stock).toMatchObject({ quantity: 10, reserved: 2 });
      // Each hold outlives the order's deadline by the margin, and freezes its own release.
      expect(state.reservations).toEqual([expect.objectContaining({ id: `${orderId}.${i}`, quantity: 2, orderId })]);
      expect(reserved.lines[i]!.holdExpiresAt).toBe(state.reservations[0]!.expiresAt);
      expect(state.reservations[0]!.expiresAt).toBeGreaterThanOrEqual(reserved.expiresAt + COMMIT_MARGIN_SECONDS * 1000);
      expect(state.frozen.map((f) => [f.key, f.wakeAt])).toEqual([[`${orderId}.${i}`, state.reservations[0]!.expiresAt]]);
    }
    await expectConserved([orderId], Object.fromEntries(products.map((p) => [p, 10])));

    const committing = await api("POST", `/api/orders/${orderId}/commit`);
    expect(committing.status, JSON.stringify(committing.body)).toBe(202);
    expect(committing.body.order.status).toBe("committing");
    await settle([orderId]);
    const committed = await getOrder(orderId);
    expect(committed.status).toBe("committed");
    expect(statuses(committed)).toEqual(["committed", "committed", "committed"]);
    expect(historyOf(committed)).toEqual(["pending", "reserved", "committing", "committed"]);
    expect(committed.problem).toBeUndefined();
    await expectConserved([orderId], Object.fromEntries(products.map((p) => [p, 10])));
    // The order's own expiry was cancelled by the decision.
    expect((await orderStub(appWorld().orders, orderId).frozen()).filter((f) => f.key === `order-expiry:${orderId}`)).toEqual([]);
    // Each product applied its reserve and its commit exactly once, delivered as messages.
    for (const p of products) {
      const { sediments, verify } = await observe(p);
      expect(sediments.filter((s) => s.origin?.message).map((s) => s.intent.steps[0]!.op)).toEqual(["reserve", "commit"]);
      expect(verify.ok).toBe(true);
    }
    // Committing again changes nothing.
    expect((await api("POST", `/api/orders/${orderId}/commit`)).body.order).toEqual(committed);
    expect((await api("DELETE", `/api/orders/${orderId}`)).status).toBe(409);
  });

  it("a line refused: the order fails, the line says why, every hold made is released", async () => {
    const products = await stockedProducts(3, [10, 1, 10]);
    const orderId = freshOrderId();
    ok(await orderStub(appWorld().orders, orderId).create({ orderId, lines: lines(products), ttlSeconds: 900 }));
    await settle([orderId]);
    const order = await getOrder(orderId);
    expect(order.status).toBe("failed");
    expect(order.lines[1]).toMatchObject({ status: "refused", reason: "not enough available stock at main to reserve 2" });
    expect(order.lines[0]!.status).toBe("released");
    expect(order.lines[2]!.status).toBe("released");
    expect(order.history.at(-1)).toMatchObject({ status: "failed", note: "line 1 was refused: not enough available stock at main to reserve 2" });
    await expectConserved([orderId], { [products[0]!]: 10, [products[1]!]: 1, [products[2]!]: 10 });
    const commit = await api("POST", `/api/orders/${orderId}/commit`);
    expect(commit.status).toBe(409);
    expect(commit.body.error.message).toMatch(/failed/);
    expect((await api("DELETE", `/api/orders/${orderId}`)).body.order).toEqual(order);
  });

  it("cancel: reserved → releasing → released; the holds are back; commit is then 409", async () => {
    const products = await stockedProducts(2, 5);
    const { orderId } = await reservedOrder(products, appWorld());
    const cancelled = await api("DELETE", `/api/orders/${orderId}`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.order.status).toBe("releasing");
    await settle([orderId]);
    const order = await getOrder(orderId);
    expect(order.status).toBe("released");
    expect(statuses(order)).toEqual(["released", "released"]);
    expect(historyOf(order)).toEqual(["pending", "reserved", "releasing", "released"]);
    await expectConserved([orderId], { [products[0]!]: 5, [products[1]!]: 5 });
    const commit = await api("POST", `/api/orders/${orderId}/commit`);
    expect(commit.status).toBe(409);
    expect(commit.body.error.message).toMatch(/released/);
  });

  it("cancel before any reserve arrived: a reserve that arrives after its cancelHold holds nothing", async () => {
    const world = faultyWorld();
    const products = await stockedProducts(2, 5, world);
    // The first delivery to the first product fails, so its reserve comes after the release.
    await failDeliveriesTo(products[0]!, 1);
    const orderId = freshOrderId();
    const stub = orderStub(world.orders, orderId);
    ok(await stub.create({ orderId, lines: lines(products), ttlSeconds: 900 }));
    expect(ok(await stub.cancel(orderId)).status).toBe("releasing");
    await settle([orderId], world);
    const order = (await stub.order(orderId))!;
    expect(order.status).toBe("released");
    expect(statuses(order)).toEqual(["released", "released"]);
    await expectConserved([orderId], { [products[0]!]: 5, [products[1]!]: 5 }, world);
    // The late reserve was refused at the product: its id was taken by the tombstone.
    const { precedents } = await observe(products[0]!, world.products);
    expect(precedents.map((p) => (p.intent as { steps: { op: string }[] }).steps[0]!.op)).toContain("reserve");
  });

  it("expiry of an order never committed: released by its own frozen expiry, and commit says it expired", async () => {
    const products = await stockedProducts(2, 5);
    const { orderId } = await reservedOrder(products, appWorld());
    await expireOrder(orderId);
    await settle([orderId]);
    const order = await getOrder(orderId);
    expect(order.status).toBe("released");
    expect(order.history.map((h) => [h.status, h.note])).toContainEqual(["releasing", "expired"]);
    await expectConserved([orderId], { [products[0]!]: 5, [products[1]!]: 5 });
    const commit = await api("POST", `/api/orders/${orderId}/commit`);
    expect(commit.status).toBe(409);
    expect(commit.body.error.message).toMatch(/expired/);
  });

  it("commit with one product failing transiently: retried until it answers; committed once", async () => {
    const world = faultyWorld();
    const products = await stockedProducts(3, 4, world);
    const { orderId, stub } = await reservedOrder(products, world);
    await failDeliveriesTo(products[1]!, 3);
    expect(ok(await stub.commit(orderId)).status).toBe("committing");
    // One alarm run: two lines committed, the failing product's message backs off.
    await runDurableObjectAlarm(stub);
    const partway = (await stub.order(orderId))!;
    expect(partway.status).toBe("committing");
    expect(statuses(partway)).toEqual(["committed", "reserved", "committed"]);
    expect((await stub.outbox()).messages).toEqual([expect.objectContaining({ key: `commit:${orderId}.1`, attempts: 1, lastError: expect.stringMatching(/receiver down/) })]);
    await settle([orderId], world);
    const order = (await stub.order(orderId))!;
    expect(order.status).toBe("committed");
    await expectConserved([orderId], Object.fromEntries(products.map((p) => [p, 4])), world);
    const { sediments } = await observe(products[1]!, world.products);
    expect(sediments.filter((s) => s.intent.steps[0]!.op === "commit")).toHaveLength(1);
  });

  it("idempotent create: the same orderId and lines returns the same order and reserves nothing twice; other lines are 409", async () => {
    const products = await stockedProducts(2, 5);
    const orderId = freshOrderId();
    const body = { orderId, lines: lines(products) };
    const first = await api("POST", "/api/orders", body);
    const again = await api("POST", "/api/orders", body);
    expect(again.status).toBe(202);
    // The same order, though its lines may have been held in between (each reserve goes out as soon as the order is created).
    const same = (o: OrderJson) => ({ id: o.id, createdAt: o.createdAt, expiresAt: o.expiresAt, lines: o.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, reservationId: l.reservationId })) });
    expect(same(again.body.order)).toEqual(same(first.body.order));
    await settle([orderId]);
    const reserved = await getOrder(orderId);
    const before = await Promise.all(products.map((p) => observe(p)));
    const orderLog = await orderStub(appWorld().orders, orderId).sediments();
    const third = await api("POST", "/api/orders", { ...body, ttlSeconds: 60 });
    expect(third.status).toBe(202);
    expect(third.body.order).toEqual(reserved);
    const other = await api("POST", "/api/orders", { orderId, lines: lines(products, 3) });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe("conflict");
    await settle([orderId]);
    expect(await Promise.all(products.map((p) => observe(p)))).toEqual(before);
    expect(await orderStub(appWorld().orders, orderId).sediments()).toEqual(orderLog);
    await expectConserved([orderId], { [products[0]!]: 5, [products[1]!]: 5 });
    for (const p of products) expect((await productState(p)).reservations).toHaveLength(1);
  });
});

describe("the largest order", () => {
  it("50 lines are one create Intent, one reserve each, and commit together", async () => {
    const products = await stockedProducts(1, 0);
    const p = products[0]!;
    const locations = Array.from({ length: 50 }, (_, i) => `loc-${i}`);
    success(await attractor(p).sedimentation(buildIntent(inventory, (s) => locations.forEach((locationId) => void s.setStock({ locationId, quantity: 3 })))));
    const orderId = freshOrderId();
    const stub = orderStub(appWorld().orders, orderId);
    ok(await stub.create({ orderId, lines: locations.map((locationId) => ({ productId: p, locationId, quantity: 2 })), ttlSeconds: 900 }));
    await settle([orderId]);
    expect((await stub.order(orderId))!.status).toBe("reserved");
    ok(await stub.commit(orderId));
    await settle([orderId]);
    const order = (await stub.order(orderId))!;
    expect(order.status).toBe("committed");
    expect(new Set(statuses(order))).toEqual(new Set(["committed"]));
    const sold = (await attractor(p).snapshot())!.locations.filter((l) => l.locationId !== "main");
    expect(sold.map((l) => [l.locationId, l.quantity, l.reserved])).toEqual(locations.map((l) => [l, 1, 0]).sort());
  });
});

describe("waiting for an order", () => {
  it("waitFor answers once a receipt moves the order to the status asked for, without polling; a final status ends the wait too", async () => {
    const products = await stockedProducts(2, 5);
    const orderId = freshOrderId();
    const stub = orderStub(appWorld().orders, orderId);
    ok(await stub.create({ orderId, lines: lines(products), ttlSeconds: 900 }));
    const waiting = stub.waitFor(orderId, ["reserved"], 20_000);
    await settle([orderId]);
    expect((await waiting)!.status).toBe("reserved");
    // Still reserved when the time is up: answered as it is.
    expect((await stub.waitFor(orderId, ["committed"], 10))!.status).toBe("reserved");
    await stub.cancel(orderId);
    const released = stub.waitFor(orderId, ["committed"], 20_000);
    await settle([orderId]);
    expect((await released)!.status).toBe("released");
    const unknown = freshOrderId();
    expect(await orderStub(appWorld().orders, unknown).waitFor(unknown, ["reserved"], 10)).toBeUndefined();
  });

  it("create and commit with `wait` answer once the order reaches the status asked for: one call each", async () => {
    const products = await stockedProducts(2, 5);
    const orderId = freshOrderId();
    const stub = orderStub(appWorld().orders, orderId);
    const created = stub.create({ orderId, lines: lines(products), ttlSeconds: 900 }, { statuses: ["reserved"], timeoutMs: 20_000 });
    await settle([orderId]);
    const reserved = await created;
    expect(reserved.ok && reserved.created).toBe(true);
    expect(ok(reserved).status).toBe("reserved");
    const committed = stub.commit(orderId, { statuses: ["committed"], timeoutMs: 20_000 });
    await settle([orderId]);
    expect(ok(await committed).status).toBe("committed");
    // Nothing to wait for on a refusal: answered at once.
    const unknown = freshOrderId();
    const refused = await orderStub(appWorld().orders, unknown).commit(unknown, { statuses: ["committed"], timeoutMs: 20_000 });
    expect(refused).toMatchObject({ ok: false, status: 404 });
  });
});

describe("the commit margin", () => {
  it("covers a message's whole delivery window: every retry with its backoff, before it is given up", () => {
    const { attempts, firstBackoffMs } = DEFAULT_DELIVERY;
    const cap = backoffMs(Number.MAX_SAFE_INTEGER);
    let window = 0;
    for (let n = 1; n < attempts; n++) window += Math.min(firstBackoffMs * 2 ** (n - 1), cap);
    expect(COMMIT_MARGIN_SECONDS * 1000).toBeGreaterThan(window);
  });
});

describe("the commit margin, enforced", () => {
  it("no decision to commit once a hold would not outlive the margin: 409 from the route, and the law refuses the decision itself", async () => {
    const products = await stockedProducts(2, 5);
    const { orderId, stub } = await reservedOrder(products, appWorld());
    // Time passes for the second hold: ten minutes left, less than the margin.
    const soon = Date.now() + 10 * 60 * 1000;
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec("UPDATE order_lines SET hold_expires_at = ? WHERE order_id = ? AND line_index = 1", soon, orderId));
    const res = await api("POST", `/api/orders/${orderId}/commit`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe("line 1's hold would not outlive the commit margin; the order can no longer commit");
    // The same decision sent as an Intent, past the coordinator's own check: the order's law refuses it.
    const decide = buildIntent(orders, (s) => void s.decideCommit({ orderId }));
    expect(refusal(await stub.sedimentation(decide)).reason.message).toBe("the order may commit only while reserved, before it expires, and while every hold outlives the commit margin");
    expect((await stub.order(orderId))!.status).toBe("reserved");
  });
});

/** Until `count` of the order's messages have failed an attempt and wait for their retry. */
async function untilRetrying(stub: DurableObjectStub<OrderAttractor>, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await stub.outbox()).messages.filter((m) => m.attempts > 0).length >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`fewer than ${count} messages failed an attempt`);
}

describe("outside the guarantee: the coordinator unreachable for longer than the margin", () => {
  it("every hold expired before its commit arrived: the commits are refused, the order is released, and says so", async () => {
    const world = faultyWorld();
    const products = await stockedProducts(2, 5, world);
    const { orderId, stub } = await reservedOrder(products, world);
    // The products are out of reach when the commits are first sent.
    for (const p of products) await failDeliveriesTo(p, 1);
    expect(ok(await stub.commit(orderId)).status).toBe("committing");
    // The commit messages wait in the outbox for their retry while the products' holds release themselves.
    await untilRetrying(stub, products.length);
    for (const p of products) await expireHolds(p, world);
    await settle([orderId], world);
    const order = (await stub.order(orderId))!;
    expect(order.status).toBe("released");
    expect(order.problem).toMatch(/could not be committed/);
    for (const line of order.lines) expect(line).toMatchObject({ status: "released", reason: expect.stringMatching(/^commit refused: /) });
    expect(order.history).toContainEqual(expect.objectContaining({ status: "released", note: expect.stringMatching(/no line could be committed/) }));
    await expectConserved([orderId], { [products[0]!]: 5, [products[1]!]: 5 });
  });

  it("one hold expired: the order stays committing and carries the problem, partially committed", async () => {
    const world = faultyWorld();
    const products = await stockedProducts(2, 5, world);
    const { orderId, stub } = await reservedOrder(products, world);
    for (const p of products) await failDeliveriesTo(p, 1);
    ok(await stub.commit(orderId));
    await untilRetrying(stub, products.length);
    await expireHolds(products[1]!, world);
    await settle([orderId], world);
    const order = (await stub.order(orderId))!;
    expect(order.status).toBe("committing");
    expect(statuses(order)).toEqual(["committed", "released"]);
    expect(order.problem).toMatch(/partially committed: 1 of 2 lines/);
    expect(order.history.at(-1)!.note).toMatch(/partially committed/);
    for (const p of products) expect((await productState(p)).reservations).toEqual([]);
  });
});
