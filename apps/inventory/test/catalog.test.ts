import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CATALOG_NAME } from "../src/catalog/index.js";
import { api, attractor, expectError, freshProduct } from "./helpers.js";

const catalog = () => env.CATALOG_ATTRACTOR.getByName(CATALOG_NAME);

/** The catalog's rows for these products. */
const listed = async (...ids: string[]) => (await catalog().products(undefined, 1000)).products.filter((p) => ids.includes(p.productId));

/** Runs the product's alarm until its outbox is empty. */
async function deliver(productId: string) {
  for (let i = 0; i < 5 && (await attractor(productId).outbox()).messages.length > 0; i++) await runDurableObjectAlarm(attractor(productId));
  expect((await attractor(productId).outbox()).messages).toEqual([]);
}

const stock = (p: string, locationId: string, quantity: number) => api("PUT", `/api/products/${p}/stock/${locationId}`, { quantity });

describe("the product catalog", () => {
  it("lists a product once it is stocked, once however often it is stocked again", async () => {
    const p = freshProduct();
    expect((await stock(p, "main", 5)).status).toBe(200);
    expect((await stock(p, "annex", 2)).status).toBe(200);
    expect((await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: 3, reason: "purchase" })).status).toBe(200);
    // One message, from the first stocking; the later ones use the same key and send nothing.
    const outbox = (await attractor(p).outbox()).messages;
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ key: `catalog:${p}`, to: { attractor: "CATALOG_ATTRACTOR", name: CATALOG_NAME }, attempts: 0 });
    await deliver(p);
    expect(await stock(p, "main", 7)).toMatchObject({ status: 200 });
    expect((await attractor(p).outbox()).messages).toEqual([]);
    expect(await listed(p)).toEqual([{ productId: p, firstStockedAt: expect.any(Number) }]);
    const receipts = (await attractor(p).receipts()).receipts;
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ outcome: "sealed", key: `catalog:${p}`, seal: { success: true, world: { attractor: "CatalogAttractor", name: CATALOG_NAME } } });
    // The catalog's sediment says it came as a message from the product's World.
    const sealed = receipts[0]!.seal!;
    expect(sealed.success && sealed.origin?.message).toMatchObject({ from: { attractor: "InventoryAttractor", name: p }, messageId: outbox[0]!.messageId });
  });

  it("a refused stocking sends nothing, and the product is not listed", async () => {
    const p = freshProduct();
    expect((await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: -1, reason: "sale" })).status).toBe(409);
    expect((await attractor(p).outbox()).messages).toEqual([]);
    await runDurableObjectAlarm(attractor(p));
    expect(await listed(p)).toEqual([]);
  });

  it("survives the product's Attractor dying between the first stocking and the message", async () => {
    const p = freshProduct();
    expect((await stock(p, "main", 5)).status).toBe(200);
    // Reset before the alarm runs: the message was committed with the stocking, and the next wake re-arms the alarm.
    await evictDurableObject(attractor(p));
    expect((await attractor(p).outbox()).messages).toHaveLength(1);
    expect(await runInDurableObject(attractor(p), (_, state) => state.storage.getAlarm())).not.toBeNull();
    await deliver(p);
    expect(await listed(p)).toHaveLength(1);
  });

  it("pages in productId order", async () => {
    const prefix = freshProduct("cat");
    const ids = [`${prefix}-c`, `${prefix}-a`, `${prefix}-b`];
    for (const id of ids) expect((await stock(id, "main", 1)).status).toBe(200);
    for (const id of ids) await deliver(id);
    const first = await api("GET", `/api/products?after=${prefix}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.products.map((x: { productId: string }) => x.productId)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(first.body.next).toBe(`${prefix}-b`);
    const second = await api("GET", `/api/products?after=${first.body.next}&limit=1`);
    expect(second.body.products.map((x: { productId: string }) => x.productId)).toEqual([`${prefix}-c`]);
  });

  it("bad paging input is a 400 naming the field", async () => {
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["limit=abc", "limit"],
      ["after=bad%20id", "after"],
      ["sort=desc", "sort"],
    ] as const) {
      const res = await api("GET", `/api/products?${query}`);
      expectError(res, 400, "invalid_input");
      expect(JSON.stringify(res.body.error.issues)).toContain(field);
    }
  });
});
