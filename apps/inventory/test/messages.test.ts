import { buildIntent } from "@noema/core";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { api, attractor, expectError, freshProduct, observe, refusal, success } from "./helpers.js";

const setStock = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId, quantity }));
const reserve = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.reserve({ locationId, quantity }));
const noStockAt = (locationId: string) => `location ${locationId} has no stock of this product; set or add stock there first`;

describe("reservation refusals say what is missing", () => {
  it("a product never stocked: not found, naming the location, not 'not enough available stock'", async () => {
    const p = freshProduct();
    const seal = refusal(await attractor(p).sedimentation(reserve("main", 1)));
    expect(seal.reason).toMatchObject({ kind: "not_found", message: noStockAt("main"), step: 0, op: "reserve" });
  });

  it("a location without stock of a stocked product: not found, naming that location; state unchanged", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("main", 5)));
    const before = await observe(p);
    const seal = refusal(await stub.sedimentation(reserve("annex", 1)));
    expect(seal.reason).toMatchObject({ kind: "not_found", message: noStockAt("annex") });
    expect((await observe(p)).snapshot).toEqual(before.snapshot);
  });

  it("a location with stock but too little available still says so", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("main", 2)));
    success(await stub.sedimentation(reserve("main", 2)));
    expect(refusal(await stub.sedimentation(reserve("main", 1))).reason).toMatchObject({
      kind: "expectation",
      message: "not enough available stock at main to reserve 1",
    });
    // A location counted down to zero has a stock row: that is "not enough", not "none there".
    success(await stub.sedimentation(setStock("empty", 0)));
    expect(refusal(await stub.sedimentation(reserve("empty", 1))).reason.message).toBe("not enough available stock at empty to reserve 1");
  });

  it("over HTTP, no stock at the location is a 404 carrying the refusal Seal", async () => {
    const p = freshProduct();
    const res = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1 });
    expectError(res, 404, "not_found");
    expect(res.body.error.message).toBe(noStockAt("main"));
    expect(res.body.seal.reason.kind).toBe("not_found");
  });
});
