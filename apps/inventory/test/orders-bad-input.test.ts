import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { orderStub } from "../src/orders/shards.js";
import { api, expectError, freshProduct, observe } from "./helpers.js";

const line = (productId: string, locationId = "main", quantity = 1) => ({ productId, locationId, quantity });

interface Case {
  name: string;
  body: unknown;
  /** Issue paths the 400 must name. */
  paths: string[];
}

/** Bodies for POST /api/orders over one stocked product P (its id put in by `withProduct`). */
const cases: Case[] = [
  { name: "no lines", body: { lines: [] }, paths: ["lines"] },
  { name: "lines missing", body: {}, paths: ["lines"] },
  { name: "51 lines", body: { lines: Array.from({ length: 51 }, (_, i) => line("P", `loc-${i}`)) }, paths: ["lines"] },
  { name: "the same product and location twice", body: { lines: [line("P"), line("Q"), line("P", "main", 2)] }, paths: ["lines.2"] },
  { name: "an unknown field", body: { lines: [line("P")], coupon: "X" }, paths: ["coupon"] },
  { name: "an unknown field in a line", body: { lines: [{ ...line("P"), price: 3 }] }, paths: ["lines.0.price"] },
  { name: "a bad orderId", body: { orderId: "a b", lines: [line("P")] }, paths: ["orderId"] },
  { name: "an orderId too long for its reservation ids", body: { orderId: "o".repeat(101), lines: [line("P")] }, paths: ["orderId"] },
  { name: "a bad productId", body: { lines: [line("x'; DROP TABLE stock;--")] }, paths: ["lines.0.productId"] },
  { name: "a bad locationId", body: { lines: [line("P", "")] }, paths: ["lines.0.locationId"] },
  { name: "quantity 0", body: { lines: [line("P", "main", 0)] }, paths: ["lines.0.quantity"] },
  { name: "a fractional quantity", body: { lines: [line("P", "main", 1.5)] }, paths: ["lines.0.quantity"] },
  { name: "ttlSeconds 0", body: { lines: [line("P")], ttlSeconds: 0 }, paths: ["ttlSeconds"] },
  { name: "ttlSeconds over a day", body: { lines: [line("P")], ttlSeconds: 86_401 }, paths: ["ttlSeconds"] },
  { name: "lines as an object", body: { lines: line("P") }, paths: ["lines"] },
  { name: "a body that is not JSON", body: "{lines:", paths: [""] },
];

const withProduct = (body: unknown, p: string): unknown => (typeof body === "string" ? body : JSON.parse(JSON.stringify(body).replaceAll('"P"', JSON.stringify(p))));

describe("orders: bad input is a 400 naming the field, and changes nothing", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const p = freshProduct("bad-order");
      expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 5 })).status).toBe(200);
      const before = await observe(p);
      const orderId = freshProduct("order");
      const body = withProduct(c.body, p);
      // With a valid orderId added where the case does not set one, to show no order was made under it.
      const sent = typeof body === "object" && body !== null && !("orderId" in body) ? { ...body, orderId } : body;
      const res = await api("POST", "/api/orders", sent);
      expectError(res, 400, "invalid_input");
      const paths = (res.body.error.issues as { path: string }[]).map((i) => i.path);
      for (const path of c.paths) expect(paths).toContain(path);
      expect(await observe(p)).toEqual(before);
      expect((await api("GET", `/api/orders/${orderId}`)).status).toBe(404);
      expect(await orderStub(env.ORDER_ATTRACTOR, orderId).order(orderId)).toBeUndefined();
    });
  }

  it("a bad id in the path is a 400 naming orderId", async () => {
    for (const [method, path] of [["GET", "/api/orders/a%20b"], ["POST", "/api/orders/a%20b/commit"], ["DELETE", "/api/orders/a%20b"]] as const) {
      const res = await api(method, path);
      expectError(res, 400, "invalid_input");
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual(["orderId"]);
    }
  });

  it("commit, cancel or read an unknown order: 404, and no order appears", async () => {
    const orderId = freshProduct("unknown-order");
    for (const [method, path] of [["POST", `/api/orders/${orderId}/commit`], ["DELETE", `/api/orders/${orderId}`], ["GET", `/api/orders/${orderId}`]] as const) {
      expectError(await api(method, path), 404, "not_found");
    }
    const shard = orderStub(env.ORDER_ATTRACTOR, orderId);
    expect(await shard.order(orderId)).toBeUndefined();
    // Nothing in its shard's log names it.
    expect((await shard.sediments()).sediments.filter((s) => JSON.stringify(s).includes(orderId))).toEqual([]);
  });
});
