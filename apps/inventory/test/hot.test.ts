// The test laws below are read with the SQL parser, as `noema build` does.
import "@noema/core/sql";
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { shardName } from "@noema/cloudflare/escrow";
import { defineNomos, type Intent, integer, NomosDefinitionError, text } from "@noema/core";
import { escrowNomos, NO_STOCK, splittable } from "@noema/core/escrow";
import { describe, expect, it } from "vitest";
import { api, expectError, freshProduct, success, TOKEN } from "./helpers.js";
import { expectConserved, freshHotProduct, hot, settle, worldsOf } from "./hot-helpers.js";

/** A product stocked with `quantity` units over HTTP and split into `shards`. */
async function hotProduct(quantity: number, shards: number): Promise<string> {
  const product = freshHotProduct();
  expect((await api("POST", `/api/hot/${product}/stock`, { quantity })).status).toBe(200);
  const split = await api("POST", `/api/hot/${product}/split`, { shards });
  expect(split.status, JSON.stringify(split.body)).toBe(200);
  return product;
}

describe("hot products: one product's stock split across shards", () => {
  it("splitting is one Intent sealed on the coordinator, its moves land on the shards, and merging takes the shares back", async () => {
    const product = await hotProduct(10, 4);
    const coordinator = hot(product);
    const { sediments } = await coordinator.sediments();
    const split = sediments.find((s) => s.intent?.steps.some((step) => step.op === "split"));
    expect(split?.intent?.steps.map((s) => s.op)).toEqual(["split", "grant", "$send", "grant", "$send", "grant", "$send", "grant", "$send"]);
    await settle(worldsOf(product, 4));
    let read = await coordinator.read();
    expect(read.shards.map((s) => [s.world, s.available, s.granted, s.active])).toEqual([
      [shardName(product, 0), 3, 3, true],
      [shardName(product, 1), 3, 3, true],
      [shardName(product, 2), 2, 2, true],
      [shardName(product, 3), 2, 2, true],
    ]);
    expectConserved(read, 10);
    expect(read.inFlight).toBe(0);
    // Each shard's landing is on its own log, as a message from the coordinator.
    const landing = (await hot(shardName(product, 2)).sediments()).sediments.find((s) => s.origin?.message);
    expect(landing?.origin?.message?.from.name).toBe(product);

    const merge = await api("POST", `/api/hot/${product}/split`, { shards: 1 });
    expect(merge.body.shards).toEqual([shardName(product, 0)]);
    await settle(worldsOf(product, 4));
    read = await coordinator.read();
    expect(read.shards.map((s) => [s.available, s.active])).toEqual([[3, true], [0, false], [0, false], [0, false]]);
    expect(read.unassigned).toBe(7);
    expectConserved(read, 10);
    for (const w of worldsOf(product, 4)) expect((await hot(w).verify()).ok).toBe(true);
  });

  it("a shard that runs out borrows, from the coordinator and then its siblings, and only then refuses: never oversold", async () => {
    const product = await hotProduct(12, 4);
    await settle(worldsOf(product, 4));
    // One key: every reservation goes to the same shard, which holds 3 of the 12.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await api("POST", `/api/hot/${product}/reservations`, { quantity: 1, key: "one-customer" });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(res.body.reservationId);
    }
    // Sticky: one key, one shard.
    expect(new Set(ids.map((id) => id.split(".")[0])).size).toBe(1);
    const refused = await api("POST", `/api/hot/${product}/reservations`, { quantity: 1, key: "one-customer" });
    expectError(refused, 409, "refused");
    expect(refused.body.error.message).toContain(NO_STOCK);
    const shard = hot(refused.body.seal?.world?.name ?? shardName(product, Number(ids[0]!.split(".")[0])));
    expect((await shard.precedents()).precedents.at(-1)?.reason.message).toContain(NO_STOCK);
    await settle(worldsOf(product, 4));
    const read = await hot(product).read();
    expect(read.held).toBe(12);
    expect(read.available).toBe(0);
    expectConserved(read, 12);
    // Released to the shard that holds it, the unit may be reserved again.
    expect((await api("DELETE", `/api/hot/${product}/reservations/${ids[0]}`)).status).toBe(200);
    expect((await api("POST", `/api/hot/${product}/reservations`, { quantity: 1 })).status).toBe(201);
  });

  it("after a sell-out a refusal asks no shard again, until share returns: a release, an expiry or a restock", async () => {
    const product = await hotProduct(4, 2);
    await settle(worldsOf(product, 2));
    const [shard0, shard1] = [hot(shardName(product, 0)), hot(shardName(product, 1))];
    const reserve = (shard: typeof shard0, reservationId: string, ttlSeconds?: number) => shard.reserve({ reservationId, quantity: 1, ...(ttlSeconds ? { ttlSeconds } : {}) });
    const soldOut = async () => (await hot(product).read()).soldOut;
    /** Shard 0 asks for one more unit than there is: refused, and the product is marked sold out. */
    const sellOut = async (id: string) => {
      const refused = (await reserve(shard0, id)).seal;
      expect(refused.success).toBe(false);
      expect(refused.success ? "" : refused.reason.message).toContain(NO_STOCK);
      expect(await soldOut()).toBe(true);
    };
    for (const id of ["0.a", "0.b"]) success((await reserve(shard0, id)).seal);
    success((await reserve(shard1, "1.a", 60)).seal);
    success((await reserve(shard1, "1.b")).seal);
    expect(await soldOut()).toBe(false);
    await sellOut("0.c");
    // Refused again from the hint, with the same Precedent: no stock anywhere.
    await sellOut("0.d");
    expect((await shard0.precedents()).precedents.map((p) => p.reason.message.startsWith(NO_STOCK))).toEqual([true, true]);

    // A release on the other shard returns a unit: the hint is gone, and shard 0 borrows it.
    success(await shard1.release("1.b"));
    expect(await soldOut()).toBe(false);
    success((await reserve(shard0, "0.e")).seal);
    await sellOut("0.f");

    // An expiry on the other shard: its frozen release wakes, and tells the coordinator too.
    await runInDurableObject(shard1, (_, state) => void state.storage.sql.exec("UPDATE _noema_cryostasis SET wake_at = wake_at - 120000"));
    await runDurableObjectAlarm(shard1);
    expect(await soldOut()).toBe(false);
    success((await reserve(shard0, "0.g")).seal);
    await sellOut("0.h");

    // A restock.
    success(await hot(product).stock(1));
    expect(await soldOut()).toBe(false);
    success((await reserve(shard0, "0.i")).seal);
    await settle(worldsOf(product, 2));
    const read = await hot(product).read();
    expect([read.held, read.available]).toEqual([5, 0]);
    expectConserved(read, 5);
  });

  it("many reservations at once on 8 shards: never more held than stocked, and every unit can be reserved", async () => {
    const product = await hotProduct(40, 8);
    const results = await Promise.all(Array.from({ length: 60 }, () => api("POST", `/api/hot/${product}/reservations`, { quantity: 1 })));
    const held = results.filter((r) => r.status === 201).length;
    expect(held).toBeLessThanOrEqual(40);
    for (const r of results.filter((r) => r.status !== 201)) expect(r.body.error.message, JSON.stringify(r.body)).toContain(NO_STOCK);
    await settle(worldsOf(product, 8));
    const read = await hot(product).read();
    expectConserved(read, 40);
    expect(read.held).toBe(held);
    // What a race left unreserved is still there to reserve.
    for (let i = held; i < 40; i++) success((await api("POST", `/api/hot/${product}/reservations`, { quantity: 1 })).body.seal);
    expectConserved(await hot(product).read(), 40);
  });

  it("a reservation retried under its idempotency key is held once, and the retry gets the first one's reservation and Seal", async () => {
    const product = await hotProduct(5, 2);
    await settle(worldsOf(product, 2));
    const body = { quantity: 2, idempotencyKey: `retry-${product}` };
    const [first, again] = [await api("POST", `/api/hot/${product}/reservations`, body), await api("POST", `/api/hot/${product}/reservations`, body)];
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.reservationId).toBe(first.body.reservationId);
    expect(again.body.seal.sedimentId).toBe(first.body.seal.sedimentId);
    const read = await hot(product).read();
    expect(read.shards.reduce((n, s) => n + s.held, 0)).toBe(2);
    expectConserved(read, 5);
  });

  it("rebalancing is sealed on the coordinator: the shards give their available share back and it is spread evenly again", async () => {
    const product = await hotProduct(20, 2);
    await settle(worldsOf(product, 2));
    for (let i = 0; i < 8; i++) expect((await api("POST", `/api/hot/${product}/reservations`, { quantity: 1, key: "k" })).status).toBe(201);
    let read = await hot(product).read();
    expect(read.shards.map((s) => s.available).sort((a, b) => a - b)).toEqual([2, 10]);
    expect((await api("POST", `/api/hot/${product}/rebalance`)).status).toBe(200);
    await settle(worldsOf(product, 2));
    read = (await api("GET", `/api/hot/${product}`)).body.product;
    expect(read.shards.map((s: { available: number }) => s.available)).toEqual([6, 6]);
    expect(read.held).toBe(8);
    expectConserved(read, 20);
    const steps = (await hot(product).sediments()).sediments.flatMap((s) => s.intent?.steps ?? []);
    expect(steps.filter((s) => s.op === "grant" && (s.args as { why: string }).why === "rebalance")).toHaveLength(2);
    for (const w of worldsOf(product, 2)) {
      const gaveBack = (await hot(w).sediments()).sediments.flatMap((s) => s.intent?.steps ?? []).filter((s) => s.op === "grant");
      if (w !== product) expect(gaveBack, w).toHaveLength(1);
    }
  });

  it("a reservation is committed (sold) or expires on the shard holding it: a frozen release, cancelled by the sale", async () => {
    const product = await hotProduct(4, 2);
    const sale = await api("POST", `/api/hot/${product}/reservations`, { quantity: 1, ttlSeconds: 60 });
    const expiring = await api("POST", `/api/hot/${product}/reservations`, { quantity: 2, ttlSeconds: 60 });
    expect([sale.status, expiring.status]).toEqual([201, 201]);
    expect((await api("POST", `/api/hot/${product}/reservations/${sale.body.reservationId}/commit`)).status).toBe(200);
    expectError(await api("DELETE", `/api/hot/${product}/reservations/${sale.body.reservationId}`), 404, "not_found");
    // Time passes for every shard: only the unsold reservation's release is still frozen, and wakes.
    for (const w of worldsOf(product, 2).slice(1)) {
      await runInDurableObject(hot(w), (_, state) => void state.storage.sql.exec("UPDATE _noema_cryostasis SET wake_at = wake_at - 120000"));
      await runDurableObjectAlarm(hot(w));
    }
    const read = await hot(product).read();
    expect([read.sold, read.held, read.available]).toEqual([1, 0, 3]);
    expectConserved(read, 4);
  });

  it("a move the receiver refuses never applied: its receipt gives the share back to the sender", async () => {
    const product = await hotProduct(4, 2);
    await settle(worldsOf(product, 2));
    // Shard 1's data changed outside Noema: its invariants now refuse every Intent, the landing of a move included.
    await runInDurableObject(hot(shardName(product, 1)), (_, state) => void state.storage.sql.exec("UPDATE quantity SET held = -1"));
    success(await hot(product).stock(6));
    await hot(product).split(2);
    await settle(worldsOf(product, 2));
    const returned = await runInDurableObject(hot(product), (_, state) => state.storage.sql.exec<{ to_world: string; amount: number }>("SELECT to_world, amount FROM moves WHERE status = 'returned'").toArray());
    expect(returned).toEqual([{ to_world: shardName(product, 1), amount: 3 }]);
    const read = await hot(product).read();
    expect([read.unassigned, read.inFlight]).toEqual([3, 0]);
  });

  it("a move whose message was undeliverable is settled by a person, once: returned to its sender, or recorded as landed when it had", async () => {
    const ns = env.FAULTY_HOT_ATTRACTOR;
    /** A product of 4 units split in 2, whose move to shard 1 was given up after one failed delivery. */
    const stuck = async () => {
      const product = freshProduct("settle");
      const coordinator = ns.getByName(product);
      success(await coordinator.stock(4));
      await coordinator.failDeliveriesTo(shardName(product, 1), 1);
      await coordinator.split(2);
      await settle(worldsOf(product, 2), ns);
      const read = await coordinator.read();
      expect(read.undeliverable).toEqual([{ moveId: expect.any(String), from: product, to: shardName(product, 1), amount: 2 }]);
      expect(read.inFlight).toBe(2);
      expectConserved(read, 4);
      const moveId = read.undeliverable[0]!.moveId;
      // The message that never arrived, as a late delivery would bring it.
      const sent = (await coordinator.sediments()).sediments.flatMap((s) => s.intent?.steps ?? []).find((s) => s.op === "$send" && (s.args as { key: string }).key === `move:${moveId}`);
      return { product, coordinator, moveId, landing: (sent!.args as unknown as { intent: Intent }).intent, shard1: ns.getByName(shardName(product, 1)) };
    };

    // It never landed: the receiver voids it, and the share is the coordinator's again.
    const a = await stuck();
    const returned = await a.coordinator.settle(a.moveId);
    expect(returned).toMatchObject({ moveId: a.moveId, world: a.product, outcome: "returned", seal: { success: true } });
    let read = await a.coordinator.read();
    expect([read.unassigned, read.inFlight, read.undeliverable]).toEqual([2, 0, []]);
    expectConserved(read, 4);
    // Exactly once: asked again, nothing changes; delivered late, the move is refused by its voided landing.
    expect(await a.coordinator.settle(a.moveId)).toMatchObject({ outcome: "unsettled", reason: expect.stringContaining("settled already") });
    expect((await a.shard1.sedimentation(a.landing)).success).toBe(false);
    read = await a.coordinator.read();
    expect([read.unassigned, read.shards[1]!.available]).toEqual([2, 0]);
    expectConserved(read, 4);

    // It had landed (the answer was lost): the settlement records the landing, and the share stays on the shard.
    const b = await stuck();
    success(await b.shard1.sedimentation(b.landing));
    expect((await b.coordinator.read()).inFlight).toBe(0);
    expect(await b.coordinator.settle(b.moveId)).toMatchObject({ outcome: "landed", seal: { success: true } });
    read = await b.coordinator.read();
    expect(read.shards.map((s) => [s.available, s.granted])).toEqual([[2, 2], [2, 2]]);
    expect([read.unassigned, read.inFlight, read.undeliverable]).toEqual([0, 0, []]);
    expectConserved(read, 4);
    for (const w of worldsOf(b.product, 2)) expect((await ns.getByName(w).verify()).ok).toBe(true);
  });

  it("settling over HTTP: a move that was delivered is a 409, an unknown one a 404, and nothing changes", async () => {
    const product = await hotProduct(4, 2);
    await settle(worldsOf(product, 2));
    const before = await hot(product).read();
    expect(before.undeliverable).toEqual([]);
    const [move] = await runInDurableObject(hot(product), (_, state) => state.storage.sql.exec<{ move_id: string }>("SELECT move_id FROM moves").toArray());
    expectError(await api("POST", `/api/hot/${product}/moves/${move!.move_id}/settle`), 409, "not_settled");
    expectError(await api("POST", `/api/hot/${product}/moves/${crypto.randomUUID()}/settle`), 404, "not_found");
    expectError(await api("POST", `/api/hot/${product}/moves/nope/settle`), 400, "invalid_input");
    const after = await hot(product).read();
    expect([after.unassigned, ...after.shards.map((s) => s.available)]).toEqual([before.unassigned, ...before.shards.map((s) => s.available)]);
  });

  it("each World of a hot product has the generic read routes, and the rows of its tables; it takes no Intent from outside", async () => {
    const product = await hotProduct(3, 2);
    const shard = shardName(product, 0);
    const reserved = await api("POST", `/api/hot/${product}/reservations`, { quantity: 1, key: "k" });
    expect(reserved.status).toBe(201);
    const holder = reserved.body.shard as string;
    const sediments = await api("GET", `/api/hot/worlds/${holder}/sediments`);
    expect(sediments.status).toBe(200);
    expect(sediments.body.sediments.at(-1).intent.steps[0].op).toBe("reserve");
    const holds = await api("GET", `/api/hot/worlds/${holder}/tables/holds?limit=10`);
    expect(holds.body).toMatchObject({ table: "holds", columns: expect.arrayContaining(["reservation_id", "status"]) });
    expect(holds.body.rows).toHaveLength(1);
    const moves = (await api("GET", `/api/hot/worlds/${product}/tables/moves`)).body;
    expect(moves.rows.length).toBeGreaterThanOrEqual(2);
    for (const route of ["precedents", "outbox", "receipts", "verify", "nomos", "cryostasis"]) expect((await api("GET", `/api/hot/worlds/${shard}/${route}`)).status, route).toBe(200);
    expect((await api("GET", `/api/hot/worlds/${product}/receipts`)).body.receipts.length).toBeGreaterThanOrEqual(2);
    expectError(await api("POST", `/api/hot/worlds/${shard}/intents`, { v: 1, steps: [{ op: "stock", args: { quantity: 5 } }] }), 405, "method_not_allowed");
    expectError(await api("GET", `/api/hot/worlds/${shard}/tables/nope`), 404, "not_found");
    expectError(await api("GET", `/api/hot/worlds/not~a~world/sediments`), 400, "invalid_input");
    expectConserved(await hot(product).read(), 3);
  });

  it("the inspector shows a hot product's shards and their shares, each linked to the shard's page, and the shard links back", async () => {
    const product = await hotProduct(10, 2);
    await settle(worldsOf(product, 2));
    expect((await api("POST", `/api/hot/${product}/reservations`, { quantity: 2, key: "k" })).status).toBe(201);
    const origin = "https://noema.test";
    const signIn = await SELF.fetch(`${origin}/inspector/sign-in`, { method: "POST", headers: { Origin: origin }, body: new URLSearchParams({ token: TOKEN }), redirect: "manual" });
    const cookie = signIn.headers.get("Set-Cookie")!.split(";")[0]!;
    const page = async (world: string) => {
      const res = await SELF.fetch(`${origin}/inspector/hot/worlds/${encodeURIComponent(world)}`, { headers: { Cookie: cookie } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const read = await hot(product).read();
    const html = await page(product);
    expect(html).toContain("Hot product");
    expect(html).toMatch(/data-fact="total"[^>]*>10</);
    expect(html).toMatch(/data-fact="held"[^>]*>2</);
    for (const s of read.shards) {
      expect(html).toContain(`href="/inspector/hot/worlds/${encodeURIComponent(s.world)}"`);
      expect(html).toMatch(new RegExp(`data-column="available"[^>]*>${s.available}<`));
    }
    const shardPage = await page(shardName(product, 0));
    expect(shardPage).toContain(`href="/inspector/hot/worlds/${product}"`);
    expect(shardPage).toMatch(new RegExp(`data-fact="available"[^>]*>${read.shards[0]!.available}<`));
  });

  it("a splittable quantity is checked when it is declared: an INTEGER NOT NULL column under an invariant that reads it", () => {
    const nomos = defineNomos({
      name: "stock",
      version: 1,
      tables: { stock: { columns: { id: integer().primaryKey(), available: integer().notNull(), maybe: integer(), label: text().notNull() } } },
      invariants: {
        never_below_zero: { violations: "SELECT id FROM stock WHERE available < 0", message: "never below zero" },
        other: { violations: "SELECT id FROM stock WHERE id < 0", message: "ids are positive" },
      },
    });
    expect(splittable(nomos, { table: "stock", column: "available", invariant: "never_below_zero" })).toMatchObject({ table: "stock", column: "available" });
    expect(() => splittable(nomos, { table: "nope", column: "available", invariant: "never_below_zero" })).toThrow(NomosDefinitionError);
    expect(() => splittable(nomos, { table: "stock", column: "maybe", invariant: "never_below_zero" })).toThrow(/INTEGER NOT NULL/);
    expect(() => splittable(nomos, { table: "stock", column: "label", invariant: "never_below_zero" })).toThrow(/INTEGER NOT NULL/);
    expect(() => splittable(nomos, { table: "stock", column: "available", invariant: "missing" })).toThrow(/no invariant "missing"/);
    expect(() => splittable(nomos, { table: "stock", column: "available", invariant: "other" })).toThrow(/does not read "available"/);
    expect(() => splittable(escrowNomos, { table: "quantity", column: "available", invariant: "never_below_zero" })).not.toThrow();
  });

  it("bad input is a 400 naming the field, and changes nothing", async () => {
    const product = await hotProduct(5, 2);
    expectError(await api("POST", `/api/hot/${product}/split`, { shards: 17 }), 400, "invalid_input");
    expectError(await api("POST", `/api/hot/${product}/reservations`, { quantity: 0 }), 400, "invalid_input");
    expectError(await api("DELETE", `/api/hot/${product}/reservations/nope`), 400, "invalid_input");
    expectError(await api("POST", `/api/hot/not~valid/stock`, { quantity: 1 }), 400, "invalid_input");
    expect((await hot(product).activeShards()).length).toBe(2);
  });
});
