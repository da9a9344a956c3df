import { buildIntent } from "@noema/core";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { api, attractor, freshProduct, observe } from "./helpers.js";

describe("concurrency", () => {
  it("200 parallel reservations of 1 against stock 50: exactly 50 succeed, 150 are 409", async () => {
    const p = freshProduct("rush");
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 50 })).status).toBe(200);

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1, orderId: `o-${i}` })),
    );
    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status !== 201);
    expect(won).toHaveLength(50);
    expect(lost).toHaveLength(150);
    for (const r of lost) {
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ error: { code: "refused" }, seal: { success: false, reason: { kind: "expectation" } } });
    }
    // Successes took consecutive places in the chain after the stocking sediment.
    expect(won.map((r) => r.body.seal.sedimentId).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(new Set(won.map((r) => r.body.reservation.id)).size).toBe(50);

    const { snapshot, sediments, precedents, verify } = await observe(p);
    expect(snapshot?.locations).toEqual([{ locationId: "main", quantity: 50, reserved: 50, available: 0 }]);
    expect(snapshot?.reservations).toHaveLength(50);
    expect(snapshot?.reservations.reduce((sum, r) => sum + r.quantity, 0)).toBe(50);
    expect(new Set(snapshot?.reservations.map((r) => r.orderId))).toEqual(new Set(won.map((r) => r.body.reservation.orderId)));
    expect(sediments).toHaveLength(51);
    expect(precedents).toHaveLength(150);
    expect(verify).toEqual({ ok: true, length: 51, head: sediments[50]!.hash, verifiedThrough: 51, checkpoint: null });
  });

  it("the same idempotent Intent sent 100 times at once is applied once, and every caller gets its Seal", async () => {
    const p = freshProduct("retry");
    const stub = attractor(p);
    await stub.sedimentation(buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 10 })));
    const intent = buildIntent(inventory, (s) => void s.reserve({ locationId: "main", quantity: 3 }), { idempotencyKey: "checkout-7" });

    const seals = await Promise.all(Array.from({ length: 100 }, () => attractor(p).sedimentation(intent)));
    expect(seals[0]).toMatchObject({ success: true, sedimentId: 2 });
    for (const seal of seals) expect(seal).toEqual(seals[0]);
    const { snapshot, sediments, precedents } = await observe(p);
    expect(snapshot?.locations).toEqual([{ locationId: "main", quantity: 10, reserved: 3, available: 7 }]);
    expect(sediments).toHaveLength(2);
    expect(precedents).toEqual([]);
  });
});
