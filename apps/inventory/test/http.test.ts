import { SELF } from "cloudflare:test";
import { buildIntent, explain } from "@noema/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_PORT, EXAMPLE_REQUESTS, exampleCommands, portOf } from "../scripts/example.mjs";
import { inventory } from "../src/vocabulary.js";
import { api, expectError, freshProduct, observe, TOKEN } from "./helpers.js";

const stockShape = (locationId: string, quantity: number, reserved: number) => ({ locationId, quantity, reserved, available: quantity - reserved });
const sealShape = (p: string) => ({
  success: true,
  sedimentId: expect.any(Number),
  hash: expect.stringMatching(/^[0-9a-f]{64}$/),
  prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
  timestamp: expect.any(Number),
  world: { attractor: "InventoryAttractor", name: p, nomosVersion: inventory.nomos.version, nomosHash: inventory.nomos.hash },
  outputs: expect.any(Array),
});

async function stocked(quantity = 10, locationId = "main") {
  const p = freshProduct();
  const put = await api("PUT", `/api/products/${p}/stock/${locationId}`, { quantity });
  expect(put.status).toBe(200);
  return p;
}

async function reserveOne(p: string, body: Record<string, unknown>) {
  const res = await api("POST", `/api/products/${p}/reservations`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.reservation as { id: string; locationId: string; quantity: number; expiresAt: number; orderId?: string; channel: string };
}

describe("health", () => {
  it("answers 200 without a token", async () => {
    const res = await SELF.fetch("https://noema.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});

describe("stock", () => {
  it("PUT sets stock, creating the location, and returns the seal and the stock", async () => {
    const p = freshProduct();
    const first = await api("PUT", `/api/products/${p}/stock/main`, { quantity: 7 });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);
    expect(first.body).toEqual({ seal: sealShape(p), stock: stockShape("main", 7, 0) });
    expect(first.body.seal.sedimentId).toBe(1);

    const second = await api("PUT", `/api/products/${p}/stock/main`, { quantity: 0 });
    expect(second.body).toEqual({ seal: sealShape(p), stock: stockShape("main", 0, 0) });
    expect(second.body.seal.prevHash).toBe(first.body.seal.hash);
  });

  it("PUT below what is reserved is 409 refused, carrying the seal", async () => {
    const p = await stocked(5);
    await reserveOne(p, { locationId: "main", quantity: 3 });
    const before = await observe(p);
    const res = await api("PUT", `/api/products/${p}/stock/main`, { quantity: 2 });
    expectError(res, 409, "refused");
    expect(res.body.error.message).toMatch(/reserved/);
    expect(res.body.seal).toMatchObject({ success: false, reason: { kind: "constraint" }, precedentId: expect.any(Number) });
    const after = await observe(p);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);
  });

  it("POST adjustments adds a signed delta, recording why", async () => {
    const p = await stocked(10);
    const sale = await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: -4, reason: "sale", referenceId: "order-9" });
    expect(sale.status).toBe(200);
    expect(sale.body).toEqual({ seal: sealShape(p), stock: stockShape("main", 6, 0) });
    const purchase = await api("POST", `/api/products/${p}/adjustments`, { locationId: "backroom", delta: 12, reason: "purchase" });
    expect(purchase.body.stock).toEqual(stockShape("backroom", 12, 0));
    for (const reason of ["adjust", "return", "transfer"]) {
      const res = await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: 1, reason });
      expect(res.status).toBe(200);
    }
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stockShape("backroom", 12, 0), stockShape("main", 9, 0)]);
  });

  it("POST adjustments refuses with 409 below zero, below reserved and on a missing location", async () => {
    const p = await stocked(5);
    await reserveOne(p, { locationId: "main", quantity: 2 });
    const belowZero = await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: -6, reason: "sale" });
    expectError(belowZero, 409, "refused");
    expect(belowZero.body.error.message).toBe("stock quantity cannot go below zero");
    const belowReserved = await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: -4, reason: "sale" });
    expectError(belowReserved, 409, "refused");
    expect(belowReserved.body.error.message).toMatch(/below what is reserved/);
    const missing = await api("POST", `/api/products/${p}/adjustments`, { locationId: "elsewhere", delta: -1, reason: "sale" });
    expectError(missing, 409, "refused");
    expect(missing.body.error.message).toBe("location elsewhere has no stock to take 1 from; set or add stock there first");
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stockShape("main", 5, 2)]);
  });
});

describe("reservations", () => {
  it("POST reserves: 201 with the reservation and its seal", async () => {
    const p = await stocked(10);
    const res = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 3, ttlSeconds: 60, orderId: "o-1", channel: "web" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      reservation: { id: expect.any(String), locationId: "main", quantity: 3, expiresAt: res.body.seal.timestamp + 60_000, orderId: "o-1", channel: "web" },
      seal: sealShape(p),
    });
    // Without a channel the reservation is a direct one.
    const plain = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1 });
    expect(plain.status).toBe(201);
    expect(plain.body.reservation).not.toHaveProperty("orderId");
    expect(plain.body.reservation.channel).toBe("direct");
    expect(plain.body.reservation.expiresAt).toBe(plain.body.seal.timestamp + 900_000);
    expect(plain.body.reservation.id).not.toBe(res.body.reservation.id);
    expect(plain.body.seal.outputs[0].channel).toBe("direct");

    const product = await api("GET", `/api/products/${p}`);
    expect(product.body.locations).toEqual([stockShape("main", 10, 4)]);
    expect(product.body.reservations).toEqual(expect.arrayContaining([res.body.reservation, plain.body.reservation]));
    expect(product.body.reservations).toHaveLength(2);
  });

  it("POST more than is available is 409 refused", async () => {
    const p = await stocked(2);
    const res = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 3 });
    expectError(res, 409, "refused");
    expect(res.body.error.message).toBe("not enough available stock at main to reserve 3");
    expect(res.body.seal).toMatchObject({ success: false, reason: { kind: "expectation", message: res.body.error.message } });
  });

  it("DELETE releases: 200 with the stock; again is 409; unknown is 404", async () => {
    const p = await stocked(10);
    const r = await reserveOne(p, { locationId: "main", quantity: 4 });
    const released = await api("DELETE", `/api/products/${p}/reservations/${r.id}`);
    expect(released.status).toBe(200);
    expect(released.body).toEqual({ seal: sealShape(p), stock: stockShape("main", 10, 0) });
    expect((await api("GET", `/api/products/${p}`)).body.reservations).toEqual([]);

    const again = await api("DELETE", `/api/products/${p}/reservations/${r.id}`);
    expectError(again, 409, "refused");
    expect(again.body.error.message).toMatch(/not active/);
    const commitReleased = await api("POST", `/api/products/${p}/reservations/${r.id}/commit`);
    expectError(commitReleased, 409, "refused");

    const unknown = await api("DELETE", `/api/products/${p}/reservations/r-does-not-exist`);
    expectError(unknown, 404, "not_found");
    expect(unknown.body.error.message).toBe("reservation r-does-not-exist does not exist");
    expect(unknown.body.seal).toMatchObject({ success: false, reason: { kind: "not_found" } });
  });

  it("POST commit turns the reservation into a sale: 200 with the stock; again is 409; unknown is 404", async () => {
    const p = await stocked(10);
    const r = await reserveOne(p, { locationId: "main", quantity: 4 });
    const committed = await api("POST", `/api/products/${p}/reservations/${r.id}/commit`);
    expect(committed.status).toBe(200);
    expect(committed.body).toEqual({ seal: sealShape(p), stock: stockShape("main", 6, 0) });

    expectError(await api("POST", `/api/products/${p}/reservations/${r.id}/commit`), 409, "refused");
    expectError(await api("DELETE", `/api/products/${p}/reservations/${r.id}`), 409, "refused");
    expectError(await api("POST", `/api/products/${p}/reservations/r-nope/commit`), 404, "not_found");
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stockShape("main", 6, 0)]);
  });
});

describe("product", () => {
  it("GET returns locations, active reservations and the Nomos", async () => {
    const p = await stocked(3, "b");
    await api("PUT", `/api/products/${p}/stock/a`, { quantity: 8 });
    const r = await reserveOne(p, { locationId: "a", quantity: 2, orderId: "o-7" });
    const res = await api("GET", `/api/products/${p}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      productId: p,
      locations: [stockShape("a", 8, 2), stockShape("b", 3, 0)],
      reservations: [r],
      nomos: { version: inventory.nomos.version, hash: inventory.nomos.hash },
    });
  });

  it("GET is 404 for a product never stocked, even after refused Intents", async () => {
    const p = freshProduct();
    expectError(await api("GET", `/api/products/${p}`), 404, "not_found");
    expectError(await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1 }), 404, "not_found");
    expectError(await api("DELETE", `/api/products/${p}/reservations/r-1-0`), 404, "not_found");
    const res = await api("GET", `/api/products/${p}`);
    expectError(res, 404, "not_found");
    expect(res.body.error.message).toContain(p);
  });
});

describe("sediments, verify and precedents", () => {
  it("GET sediments pages with after, limit and next", async () => {
    const p = await stocked(10);
    for (let i = 0; i < 4; i++) await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: 1, reason: "purchase" });

    const all = await api("GET", `/api/products/${p}/sediments`);
    expect(all.status).toBe(200);
    expect(Object.keys(all.body)).toEqual(["sediments"]);
    expect(all.body.sediments.map((s: { sedimentId: number }) => s.sedimentId)).toEqual([1, 2, 3, 4, 5]);
    for (const s of all.body.sediments) {
      expect(Object.keys(s).sort()).toEqual(["hash", "intent", "outputs", "prevHash", "sedimentId", "timestamp", "world"]);
      expect(s.world).toEqual(sealShape(p).world);
    }

    const page1 = await api("GET", `/api/products/${p}/sediments?limit=2`);
    expect(page1.body).toEqual({ sediments: all.body.sediments.slice(0, 2), next: 2 });
    const page2 = await api("GET", `/api/products/${p}/sediments?after=${page1.body.next}&limit=2`);
    expect(page2.body).toEqual({ sediments: all.body.sediments.slice(2, 4), next: 4 });
    const page3 = await api("GET", `/api/products/${p}/sediments?after=${page2.body.next}&limit=2`);
    expect(page3.body).toEqual({ sediments: all.body.sediments.slice(4) });
    expect((await api("GET", `/api/products/${p}/sediments?after=5`)).body).toEqual({ sediments: [] });
    expect((await api("GET", `/api/products/${p}/sediments?limit=1000`)).body).toEqual(all.body);
    expect((await api("GET", `/api/products/${freshProduct()}/sediments`)).body).toEqual({ sediments: [] });
  });

  it("GET sediments rejects bad paging with 400 and the parameter's path", async () => {
    const p = await stocked(1);
    const cases: [string, string][] = [
      ["limit=1001", "limit"],
      ["limit=0", "limit"],
      ["limit=1.5", "limit"],
      ["limit=ten", "limit"],
      ["after=-1", "after"],
      ["after=NaN", "after"],
      ["cursor=3", "cursor"],
    ];
    for (const [query, path] of cases) {
      const res = await api("GET", `/api/products/${p}/sediments?${query}`);
      expectError(res, 400, "invalid_input");
      expect(res.body.error.issues.map((i: { path: string }) => i.path), query).toContain(path);
    }
  });

  it("GET verify reports the length and head of an intact chain", async () => {
    const p = await stocked(4);
    await reserveOne(p, { locationId: "main", quantity: 1 });
    const res = await api("GET", `/api/products/${p}/verify`);
    expect(res.status).toBe(200);
    const { sediments } = (await api("GET", `/api/products/${p}/sediments`)).body;
    expect(res.body).toEqual({ ok: true, length: 2, head: sediments[1].hash });
    expect((await api("GET", `/api/products/${freshProduct()}/verify`)).body).toEqual({ ok: true, length: 0, head: "0".repeat(64) });
  });

  it("GET precedents lists refused Intents with their reasons, filterable by kind", async () => {
    const p = await stocked(1);
    const over = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 2 });
    const missing = await api("POST", `/api/products/${p}/reservations/r-0-0/commit`);
    const res = await api("GET", `/api/products/${p}/precedents`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      precedents: [
        {
          precedentId: over.body.seal.precedentId,
          // The route reserves and freezes the reservation's own release in one Intent.
          intent: buildIntent(inventory, (s) => {
            const r = s.reserve({ locationId: "main", quantity: 2 });
            s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
          }),
          reason: over.body.seal.reason,
          nomosVersion: inventory.nomos.version,
          nomosHash: inventory.nomos.hash,
          timestamp: over.body.seal.timestamp,
        },
        expect.objectContaining({ precedentId: missing.body.seal.precedentId, reason: missing.body.seal.reason }),
      ],
    });
    const notFound = await api("GET", `/api/products/${p}/precedents?kind=not_found`);
    expect(notFound.body.precedents.map((x: { precedentId: number }) => x.precedentId)).toEqual([missing.body.seal.precedentId]);
    const paged = await api("GET", `/api/products/${p}/precedents?after=${over.body.seal.precedentId}&limit=1`);
    expect(paged.body.precedents.map((x: { precedentId: number }) => x.precedentId)).toEqual([missing.body.seal.precedentId]);
    expect((await api("GET", `/api/products/${p}/precedents?nomosVersion=${inventory.nomos.version}`)).body).toEqual(res.body);
    expect((await api("GET", `/api/products/${p}/precedents?nomosVersion=1`)).body).toEqual({ precedents: [] });
    expect((await api("GET", `/api/products/${p}/precedents?kind=connection`)).body).toEqual({ precedents: [] });
    expectError(await api("GET", `/api/products/${p}/precedents?kind=bogus`), 400, "invalid_input");
  });

  it("GET precedents pages with after, limit and next, as sediments do", async () => {
    const p = await stocked(1);
    for (let i = 0; i < 3; i++) expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 5 })).status).toBe(409);
    const all = (await api("GET", `/api/products/${p}/precedents`)).body;
    expect(Object.keys(all)).toEqual(["precedents"]);
    const ids = all.precedents.map((x: { precedentId: number }) => x.precedentId);
    expect(ids).toHaveLength(3);

    const page1 = await api("GET", `/api/products/${p}/precedents?limit=2`);
    expect(page1.body).toEqual({ precedents: all.precedents.slice(0, 2), next: ids[1] });
    const page2 = await api("GET", `/api/products/${p}/precedents?after=${page1.body.next}&limit=2`);
    expect(page2.body).toEqual({ precedents: all.precedents.slice(2) });
    // A page that exactly fits has nothing behind it, so no next.
    expect((await api("GET", `/api/products/${p}/precedents?limit=3`)).body).toEqual(all);
    expect((await api("GET", `/api/products/${p}/precedents?kind=expectation&limit=1`)).body.next).toBe(ids[0]);
  });
});

describe("intents", () => {
  it("POST a wire-format Intent: 200 with the Seal, applied atomically", async () => {
    const p = await stocked(5);
    const intent = buildIntent(inventory, (s) => {
      const r = s.reserve({ locationId: "main", quantity: 2 });
      s.commit({ reservationId: r.reservationId });
      s.adjust({ locationId: "main", delta: 10, reason: "purchase" });
    });
    const res = await api("POST", `/api/products/${p}/intents`, intent);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(sealShape(p));
    expect(res.body.outputs.slice(1)).toEqual([stockShape("main", 3, 0), stockShape("main", 13, 0)]);
    const log = await api("GET", `/api/products/${p}/sediments?after=1`);
    expect(log.body.sediments[0].intent).toEqual(intent);
  });

  it("POST a refused Intent: 409 carrying the seal; nothing applied", async () => {
    const p = await stocked(5);
    const before = await observe(p);
    const intent = buildIntent(inventory, (s) => {
      s.adjust({ locationId: "main", delta: 10, reason: "purchase" });
      s.reserve({ locationId: "main", quantity: 16 });
    });
    const res = await api("POST", `/api/products/${p}/intents`, intent);
    expectError(res, 409, "refused");
    expect(res.body.seal).toMatchObject({ success: false, reason: { kind: "expectation", step: 1, op: "reserve" } });
    const after = await observe(p);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);
    expect(after.precedents).toHaveLength(before.precedents.length + 1);
  });

  it("POST an Intent built against another Nomos of the same version: 409 naming both hashes", async () => {
    const p = await stocked(5);
    const intent = { ...buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 1 })), nomos: { name: "inventory", version: inventory.nomos.version, hash: "0".repeat(64) } };
    const res = await api("POST", `/api/products/${p}/intents`, intent);
    expectError(res, 409, "refused");
    expect(res.body.seal.reason.kind).toBe("nomos");
    expect(res.body.error.message).toBe(`Intent was built against a inventory v${inventory.nomos.version} with hash ${"0".repeat(12)}…, but v${inventory.nomos.version} here is ${inventory.nomos.hash.slice(0, 12)}…`);
  });

  it("POST an Intent of a law this code does not know: 400 at nomos.version, nothing recorded", async () => {
    const p = await stocked(5);
    const before = await observe(p);
    const intent = { ...buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 1 })), nomos: { name: "inventory", version: inventory.nomos.version + 1, hash: "0".repeat(64) } };
    const res = await api("POST", `/api/products/${p}/intents`, intent);
    expectError(res, 400, "invalid_input");
    expect(res.body.error.issues).toEqual([{ path: "nomos.version", message: `inventory has no v${inventory.nomos.version + 1}; this code knows v1 to v${inventory.nomos.version}` }]);
    expect(await observe(p)).toEqual(before);
  });

  it("POST with an idempotency key: the same Intent returns the original Seal, another Intent is 409", async () => {
    const p = await stocked(5);
    const intent = buildIntent(inventory, (s) => void s.reserve({ locationId: "main", quantity: 2 }), { idempotencyKey: "checkout-1" });
    const first = await api("POST", `/api/products/${p}/intents`, intent);
    expect(first.status).toBe(200);
    const again = await api("POST", `/api/products/${p}/intents`, intent);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stockShape("main", 5, 2)]);

    const other = buildIntent(inventory, (s) => void s.reserve({ locationId: "main", quantity: 1 }), { idempotencyKey: "checkout-1" });
    const conflict = await api("POST", `/api/products/${p}/intents`, other);
    expectError(conflict, 409, "refused");
    expect(conflict.body.seal.reason.kind).toBe("idempotency");
    expect((await api("GET", `/api/products/${p}/verify`)).body).toMatchObject({ ok: true, length: 2 });
  });

  it("POST an Intent whose data reference resolves to a value of the wrong type: 400 with the step's path, recorded", async () => {
    const p = await stocked(5);
    const before = await observe(p);
    const intent = {
      v: 1,
      steps: [
        { op: "setStock", args: { locationId: "main", quantity: 3 } },
        { op: "reserve", args: { locationId: { $ref: { step: 0, output: "quantity" } }, quantity: 1 } },
      ],
    };
    const res = await api("POST", `/api/products/${p}/intents`, intent);
    expectError(res, 400, "invalid_input");
    expect(res.body.error.issues).toEqual([{ path: "steps.1.args.locationId", message: expect.stringMatching(/string/) }]);
    expect(res.body.seal).toMatchObject({ success: false, reason: { kind: "validation", step: 1 } });
    const after = await observe(p);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);
    // The Attractor refused it, so it is a Precedent: the Intent as the Attractor received it, defaults applied.
    const received = structuredClone(intent);
    Object.assign(received.steps[1]!.args, { ttlSeconds: 900, channel: "direct" });
    expect(after.precedents.at(-1)?.intent).toEqual(received);
  });
});

describe("explain", () => {
  it("POST returns the SQL sequence with parameters, running nothing", async () => {
    const intent = buildIntent(inventory, (s) => {
      const r = s.reserve({ locationId: "main", quantity: 2, ttlSeconds: 30 });
      s.commit({ reservationId: r.reservationId });
    });
    const res = await api("POST", "/api/explain", intent);
    expect(res.status).toBe(200);
    const { now } = res.body.context;
    expect(res.body).toEqual(explain(inventory, intent, { now, sedimentId: 0 }));
    expect(res.body.steps[0].statements).toEqual([
      { sql: inventory.operations.reserve.statements.stock.sql, params: [2, now, "main", 2] },
      { sql: inventory.operations.reserve.statements.reservation.sql, params: ["r-0-0", "main", 2, null, now, now, 30, "direct"] },
    ]);
    expect(res.body.steps[1].statements[0].params).toEqual([{ $ref: { step: 0, output: "reservationId" } }]);
  });

  it("POST shows a parameter taken from an earlier step as its Ref", async () => {
    const intent = buildIntent(inventory, (s) => {
      const stock = s.setStock({ locationId: "main", quantity: 60 });
      s.reserve({ locationId: "main", quantity: 1, ttlSeconds: stock.quantity });
    });
    const res = await api("POST", "/api/explain", intent);
    // Parameters: id, locationId, quantity, orderId, created_at, now, ttlSeconds, channel.
    expect(res.body.steps[1].statements[1].params.slice(-2)).toEqual([{ $ref: { step: 0, output: "quantity" } }, "direct"]);
  });

  it("POST an Intent stamped with another hash of its version is 409 refused, as the Attractor would refuse it", async () => {
    const intent = { ...buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 1 })), nomos: { name: "inventory", version: inventory.nomos.version, hash: "0".repeat(64) } };
    const res = await api("POST", "/api/explain", intent);
    expectError(res, 409, "refused");
    expect(res.body.error.message).toBe(`Intent was built against a inventory v${inventory.nomos.version} with hash ${"0".repeat(12)}…, but v${inventory.nomos.version} here is ${inventory.nomos.hash.slice(0, 12)}…`);
  });

  it("POST an invalid Intent is 400 with issues", async () => {
    const res = await api("POST", "/api/explain", { v: 1, steps: [{ op: "setStock", args: { locationId: "main" } }] });
    expectError(res, 400, "invalid_input");
    expect(res.body.error.issues).toEqual([{ path: "steps.0.args.quantity", message: expect.any(String) }]);
  });
});

describe("auth and routing", () => {
  const routes: [string, string, unknown?][] = [
    ["PUT", "/api/products/P/stock/main", { quantity: 1 }],
    ["POST", "/api/products/P/adjustments", { locationId: "main", delta: 1, reason: "purchase" }],
    ["POST", "/api/products/P/reservations", { locationId: "main", quantity: 1 }],
    ["DELETE", "/api/products/P/reservations/r-1-0"],
    ["POST", "/api/products/P/reservations/r-1-0/commit"],
    ["GET", "/api/products/P"],
    ["GET", "/api/products/P/sediments"],
    ["GET", "/api/products/P/verify"],
    ["GET", "/api/products/P/precedents"],
    ["POST", "/api/products/P/intents", { v: 1, steps: [{ op: "setStock", args: { locationId: "main", quantity: 1 } }] }],
    ["POST", "/api/explain", { v: 1, steps: [{ op: "setStock", args: { locationId: "main", quantity: 1 } }] }],
    ["GET", "/api/products/P/nomos"],
    ["GET", "/api/nomos"],
    ["POST", "/api/connection", { from: 1, to: 2 }],
    ["GET", "/api/no-such-route"],
  ];
  const badAuth: [string, Record<string, string>][] = [
    ["no Authorization header", { Authorization: "" }],
    ["a wrong token", { Authorization: "Bearer not-the-token" }],
    ["the token with a suffix", { Authorization: "Bearer test-token2" }],
    ["another scheme", { Authorization: "Basic dGVzdC10b2tlbg==" }],
    ["an empty bearer", { Authorization: "Bearer " }],
  ];

  it("every /api route is 401 without the right bearer token, and nothing changes", async () => {
    const p = await stocked(3);
    const before = await observe(p);
    for (const [method, path, body] of routes) {
      for (const [label, headers] of badAuth) {
        const res = await api(method, path.replace("P", p), body, headers);
        expect(res.status, `${method} ${path} with ${label}`).toBe(401);
        expectError(res, 401, "unauthorized");
      }
    }
    expect(await observe(p)).toEqual(before);
  });

  it("unknown routes are 404 not_found", async () => {
    const p = await stocked(1);
    const cases: [string, string][] = [
      ["GET", "/api/no-such-route"],
      ["GET", "/nowhere"],
      ["POST", `/api/products/${p}/nothing-here`],
    ];
    for (const [method, path] of cases) {
      const res = await api(method, path);
      expectError(res, 404, "not_found");
      expect(res.body.error.message, `${method} ${path}`).toContain(method);
    }
  });

  it("a wrong method on a known route is 405 with Allow naming the methods it takes, and nothing changes", async () => {
    const p = await stocked(1);
    const before = await observe(p);
    const cases: [string, string, string][] = [
      ["PATCH", `/api/products/${p}`, "GET"],
      ["POST", `/api/products/${p}`, "GET"],
      ["GET", `/api/products/${p}/stock/main`, "PUT"],
      ["PUT", `/api/products/${p}/reservations/r-1-0`, "DELETE"],
      ["GET", `/api/products/${p}/intents`, "POST"],
      ["DELETE", `/api/products/${p}/sediments`, "GET"],
      ["GET", "/api/explain", "POST"],
      ["POST", "/api/nomos", "GET"],
      ["POST", "/health", "GET"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await api(method, path);
      expectError(res, 405, "method_not_allowed");
      expect(res.headers.get("Allow"), `${method} ${path}`).toBe(allow);
      expect(res.body.error.message).toContain(method);
    }
    expect(await observe(p)).toEqual(before);
  });

  it("the Bearer scheme is case-insensitive; the token is not", async () => {
    const p = await stocked(2);
    for (const scheme of ["bearer", "BEARER", "Bearer", "bEaReR"]) {
      const res = await api("GET", `/api/products/${p}`, undefined, { Authorization: `${scheme} ${TOKEN}` });
      expect(res.status, scheme).toBe(200);
    }
    expectError(await api("GET", `/api/products/${p}`, undefined, { Authorization: `bearer ${TOKEN.toUpperCase()}` }), 401, "unauthorized");
    expectError(await api("GET", `/api/products/${p}`, undefined, { Authorization: `Bearer${TOKEN}` }), 401, "unauthorized");
  });

  it("a body over 64 KiB is 413 payload_too_large, with or without a Content-Length", async () => {
    const p = await stocked(3);
    const before = await observe(p);
    const big = JSON.stringify({ quantity: 1, padding: "x".repeat(70_000) });
    expectError(await api("PUT", `/api/products/${p}/stock/main`, big), 413, "payload_too_large");
    const intent = { v: 1, steps: Array.from({ length: 1500 }, () => ({ op: "setStock", args: { locationId: "main", quantity: 1 } })) };
    expectError(await api("POST", `/api/products/${p}/intents`, intent), 413, "payload_too_large");
    expectError(await api("POST", "/api/explain", intent), 413, "payload_too_large");

    // Streamed in chunks: no Content-Length tells the Worker the size up front.
    const chunk = new TextEncoder().encode(`"${"y".repeat(8191)}`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"locationId":"main","quantity":1,"orderId":'));
        for (let i = 0; i < 9; i++) controller.enqueue(chunk);
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    });
    const res = await SELF.fetch(`https://noema.test/api/products/${p}/reservations`, {
      method: "POST",
      headers: { Authorization: "Bearer test-token", "Content-Type": "application/json" },
      body: stream,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
    expect(await observe(p)).toEqual(before);
  });
});

describe("npm start", () => {
  it("prints its example against the port wrangler dev will use: --port if given, else 8787", () => {
    expect(portOf([])).toBe(DEFAULT_PORT);
    expect(DEFAULT_PORT).toBe(8787);
    expect(portOf(["--port", "9000"])).toBe(9000);
    expect(portOf(["--ip", "0.0.0.0", "--port=9001"])).toBe(9001);
    const commands = exampleCommands(9000, "tok");
    expect(commands).toHaveLength(EXAMPLE_REQUESTS.length);
    EXAMPLE_REQUESTS.forEach((r, i) => {
      expect(commands[i]).toContain(`http://localhost:9000${r.path}`);
      if (r.path.startsWith("/api/")) expect(commands[i]).toContain('-H "Authorization: Bearer tok"');
      if (r.body !== undefined) expect(commands[i]).toContain(`-X ${r.method} `);
    });
  });

  it("prints requests that each answer 200 on a fresh app, in order", async () => {
    for (const { method, path, body } of EXAMPLE_REQUESTS) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
});
