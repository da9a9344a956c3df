import { buildIntent } from "@noema/core";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { attractor, freshProduct, observe, refusal, success } from "./helpers.js";

// Inventory v3's order holds: a reserve under the caller's reservation id, and cancelHold, which
// compensates a hold whether its reserve ran, ran and was released, or never arrived.

const setStock = (quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity }));
const reserve = (reservationId: string, quantity = 2) =>
  buildIntent(inventory, (s) => {
    const r = s.reserve({ locationId: "main", quantity, reservationId, orderId: "o-1" });
    s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
  });
const cancelHold = (reservationId: string, quantity = 2) =>
  buildIntent(inventory, (s) => {
    s.cancelHold({ reservationId, locationId: "main", quantity });
    s.$cancel({ key: reservationId });
  });
const commit = (reservationId: string) => buildIntent(inventory, (s) => void s.commit({ reservationId }));

async function stocked(quantity = 5) {
  const p = freshProduct("hold");
  success(await attractor(p).sedimentation(setStock(quantity)));
  return p;
}

describe("inventory v3 holds", () => {
  it("reserve under a given reservationId holds it under that id; the same id again is refused and changes nothing", async () => {
    const p = await stocked();
    const seal = success(await attractor(p).sedimentation(reserve("o-1.0")));
    expect(seal.outputs[0]).toMatchObject({ reservationId: "o-1.0", quantity: 2, orderId: "o-1" });
    const before = await observe(p);
    expect(before.snapshot?.reservations.map((r) => r.id)).toEqual(["o-1.0"]);
    const again = refusal(await attractor(p).sedimentation(reserve("o-1.0", 1)));
    expect(again.reason).toMatchObject({ kind: "constraint", rule: "reservations.id", message: "reservations.id must be unique" });
    const after = await observe(p);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);
  });

  it("cancelHold releases an active hold and cancels its frozen release", async () => {
    const p = await stocked();
    success(await attractor(p).sedimentation(reserve("o-1.0")));
    const seal = success(await attractor(p).sedimentation(cancelHold("o-1.0")));
    expect(seal.outputs[0]).toEqual({ reservationId: "o-1.0", status: "released" });
    const { snapshot } = await observe(p);
    expect(snapshot?.locations).toEqual([{ locationId: "main", quantity: 5, reserved: 0, available: 5 }]);
    expect(snapshot?.reservations).toEqual([]);
    expect(await attractor(p).frozen({ limit: 10 })).toEqual([]);
  });

  it("cancelHold before its reserve leaves a released tombstone: the late reserve is refused and holds nothing", async () => {
    const p = await stocked();
    success(await attractor(p).sedimentation(cancelHold("o-1.0")));
    const late = refusal(await attractor(p).sedimentation(reserve("o-1.0")));
    expect(late.reason).toMatchObject({ kind: "constraint", rule: "reservations.id" });
    const { snapshot, verify } = await observe(p);
    expect(snapshot?.locations).toEqual([{ locationId: "main", quantity: 5, reserved: 0, available: 5 }]);
    expect(snapshot?.reservations).toEqual([]);
    expect(verify.ok).toBe(true);
  });

  it("cancelHold of a released hold is a no-op; of a committed one it is refused, saying so", async () => {
    const p = await stocked();
    success(await attractor(p).sedimentation(reserve("o-1.0")));
    success(await attractor(p).sedimentation(cancelHold("o-1.0")));
    const before = (await observe(p)).snapshot;
    expect(success(await attractor(p).sedimentation(cancelHold("o-1.0"))).outputs[0]).toEqual({ reservationId: "o-1.0", status: "released" });
    expect((await observe(p)).snapshot).toEqual(before);

    success(await attractor(p).sedimentation(reserve("o-2.0", 1)));
    success(await attractor(p).sedimentation(commit("o-2.0")));
    const committed = await observe(p);
    const refused = refusal(await attractor(p).sedimentation(cancelHold("o-2.0", 1)));
    expect(refused.reason).toMatchObject({ kind: "expectation", step: 0, op: "cancelHold", message: "reservation o-2.0 is committed (a sale); it cannot be cancelled" });
    expect((await observe(p)).snapshot).toEqual(committed.snapshot);
  });
});
