import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, freshProduct } from "./helpers.js";

describe("smoke", () => {
  it("stocks and reserves", async () => {
    const p = freshProduct();
    const put = await api("PUT", `/api/products/${p}/stock/main`, { quantity: 5 });
    expect(put.status).toBe(200);
    const r = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 2 });
    expect(r.status).toBe(201);
    const g = await api("GET", `/api/products/${p}`);
    expect(g.body.locations[0]).toEqual({ locationId: "main", quantity: 5, reserved: 2, available: 3 });
    const stub = env.INVENTORY_ATTRACTOR.getByName(p);
    const v = await stub.verify();
    expect(v).toMatchObject({ ok: true, length: 2 });
    expect(r.body.seal.world.name).toBe(p);
  });
});
