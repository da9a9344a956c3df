import { runInDurableObject } from "cloudflare:test";
import { buildIntent } from "@noema/core";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { api, attractor, expectError, freshProduct, success } from "./helpers.js";

// Reads that do not grow with history: each app read and the invariant check is planned with
// EXPLAIN QUERY PLAN inside the Durable Object, and none may scan a table that grows with
// history (reservations, movements) or sort with a temporary B-tree.

const GROWING = ["reservations", "movements"];

const reserve = (locationId: string) =>
  buildIntent(inventory, (s) => {
    const r = s.reserve({ locationId, quantity: 1 });
    s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
  });

async function productWithHistory(): Promise<string> {
  const p = freshProduct("plans");
  const stub = attractor(p);
  for (const l of ["A", "B"]) success(await stub.sedimentation(buildIntent(inventory, (s) => void s.setStock({ locationId: l, quantity: 50 }))));
  for (let i = 0; i < 6; i++) {
    const seal = success(await stub.sedimentation(reserve(i % 2 ? "A" : "B")));
    const { reservationId } = seal.outputs[0] as { reservationId: string };
    if (i % 3 === 0) success(await stub.sedimentation(buildIntent(inventory, (s) => void s.release({ reservationId }))));
  }
  return p;
}

/**
 * The plan's lines that read a history-growing table in full, or sort rows for an ORDER BY. (The
 * scoped check groups the keys table, which holds only the current Intent's keys.)
 */
const scans = (plan: { detail: string }[]) =>
  plan.map((r) => r.detail).filter((d) => GROWING.some((t) => new RegExp(`^SCAN ${t}\\b`).test(d) && !/USING (COVERING )?INDEX/.test(d)) || /TEMP B-TREE FOR ORDER BY/.test(d));

describe("query plans", () => {
  it("the snapshot page, the scoped invariant check and the audit page read indexes, never a whole history table", async () => {
    const p = await productWithHistory();
    const plans = await runInDurableObject(attractor(p), (_, state) => {
      const explain = (sql: string, ...params: (string | number)[]) => state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...params).toArray();
      const scoped = inventory.nomos.invariants.reserved_matches_active_reservations!;
      const keys = "_noema_scope_reserved_matches_active_reservations";
      return {
        "snapshot, first page": explain(`SELECT id, location_id, quantity, created_at, expires_at, order_id, channel FROM reservations WHERE status = 'active' ORDER BY created_at, id LIMIT ?`, 100),
        "snapshot, next page": explain(
          `SELECT id, location_id, quantity, created_at, expires_at, order_id, channel FROM reservations WHERE status = 'active' AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`,
          0,
          "r",
          100,
        ),
        // The check itself, as scope.ts builds it: the keys the Intent's own marks moved (those after the last one checked, by their number), then each key's rows by index.
        "invariant, scoped": explain(
          `SELECT EXISTS (SELECT v.* FROM (SELECT k0 FROM "${keys}" WHERE mark > ? GROUP BY k0 HAVING SUM(d) != 0 OR MAX(e) = 1) AS c JOIN (${scoped.violations}) AS v ON v."location_id" IS c.k0)`,
          0,
        ),
        "stock by location": explain(`SELECT location_id, quantity, reserved FROM stock WHERE location_id = ?`, "A"),
        "reservation by id": explain(`SELECT id FROM reservations WHERE id = ?`, "r-1-0"),
        "release's stock update": explain(
          `UPDATE stock SET reserved = reserved - (SELECT quantity FROM reservations WHERE id = ?) WHERE location_id = (SELECT location_id FROM reservations WHERE id = ?)`,
          "r",
          "r",
        ),
      };
    });
    for (const [read, plan] of Object.entries(plans)) expect(scans(plan), `${read}: ${JSON.stringify(plan)}`).toEqual([]);
    // It is the new index that serves the snapshot, in order.
    expect(plans["snapshot, first page"].map((r) => r.detail).join()).toMatch(/reservations_by_status_created/);
    expect(plans["invariant, scoped"].map((r) => r.detail).join()).toMatch(/reservations_by_location_status/);
    // Only the Intent's own marks are read, however many checked ones the key table still keeps.
    expect(plans["invariant, scoped"].map((r) => r.detail).join()).toMatch(/USING INTEGER PRIMARY KEY \(rowid>\?\)/);
  });

  it("GET /api/products/:id pages active reservations oldest first, 100 by default, with a cursor", async () => {
    const p = await productWithHistory();
    const all = (await api("GET", `/api/products/${p}`)).body;
    expect(all.reservations).toHaveLength(4);
    expect(all).not.toHaveProperty("next");
    const first = (await api("GET", `/api/products/${p}?limit=3`)).body;
    expect(first.reservations).toEqual(all.reservations.slice(0, 3));
    expect(first.next).toMatch(/^\d+:r-\d+-0$/);
    const second = (await api("GET", `/api/products/${p}?limit=3&after=${encodeURIComponent(first.next)}`)).body;
    expect(second.reservations).toEqual(all.reservations.slice(3));
    expect(second).not.toHaveProperty("next");
    expect(second.locations).toEqual(all.locations);
    expectError(await api("GET", `/api/products/${p}?after=nope`), 400, "invalid_input");
    expectError(await api("GET", `/api/products/${p}?limit=1001`), 400, "invalid_input");
  });

  it("the audit finds nothing Noema wrote, and reports a hand edit with its rows, repairing nothing", async () => {
    const p = await productWithHistory();
    expect((await api("GET", `/api/products/${p}/audit`)).body).toEqual({ findings: [], checked: { invariant: "reserved_matches_active_reservations", keys: 2 } });
    await runInDurableObject(attractor(p), (_, state) => state.storage.sql.exec("UPDATE stock SET reserved = reserved + 5 WHERE location_id = 'B'"));
    const first = (await api("GET", `/api/products/${p}/audit?limit=1`)).body;
    expect(first).toEqual({ findings: [], checked: { invariant: "reserved_matches_active_reservations", keys: 1 }, next: expect.any(String) });
    const second = (await api("GET", `/api/products/${p}/audit?limit=1&after=${encodeURIComponent(first.next)}`)).body;
    expect(second.findings).toEqual([
      { invariant: "reserved_matches_active_reservations", message: expect.stringMatching(/reserved stock must equal/), rows: [{ location_id: "B", reserved: 7, active: 2 }] },
    ]);
    // Reported, not repaired: the row is as the hand edit left it.
    expect((await api("GET", `/api/products/${p}`)).body.locations.find((l: { locationId: string }) => l.locationId === "B").reserved).toBe(7);
    expectError(await api("GET", `/api/products/${p}/audit?after=nope`), 400, "invalid_input");
  });
});
