import { createIndexSql, createTableSql, type Intent, lineage, rebuildTableSql } from "@noema/core";
import { inventoryNomosV2, inventoryNomosV3 } from "./nomos.js";
import { inventoryV1, inventoryV2, inventoryV3 } from "./vocabulary.js";

const DAY = 24 * 60 * 60 * 1000;

/**
 * The inventory law and its history. v1 → v2 adds sales channels: existing reservations
 * are filled in as `direct`, and v1 reserve Intents are reforged to say so.
 *
 * v2 → v3 is Flat for every v2 Intent except reserve, so nothing needs reforging by hand:
 * - the invariant's new scope (per location) changes how it is checked, not what it asserts:
 *   it refuses exactly the Intents it refused before (a property in the core tests proves it),
 *   so its element, and every Sieve naming it, is unchanged. The Connection lists it as Flat;
 * - the new index changes no row an Intent may write (not UNIQUE): Flat;
 * - cancelHold is a new operation: no v2 Intent names it;
 * - reserve gains an optional `reservationId`: its definition changed, so the Connection calls
 *   it Curved, and the reforge carries a v2 reserve over unchanged (without the argument it
 *   computes the same `r-<sedimentId>-<step>` id as v2 did).
 */
export const inventoryLaw = lineage(inventoryV1).evolve(inventoryV2, {
  migration: [
    ...rebuildTableSql(inventoryNomosV2, "reservations", { channel: "'direct'" }),
    ...createTableSql(inventoryNomosV2, "channel_sync"),
  ],
  reforge: (intent: Intent): Intent => ({
    ...intent,
    steps: intent.steps.map((step) => (step.op === "reserve" ? { ...step, args: { ...step.args, channel: "direct" } } : step)),
  }),
  // Clients still sending v1 Intents get 30 days from each Attractor's upgrade; after that
  // their reserve Intents are refused (Flat ones, like release and commit, keep running).
  provisions: { gracePeriod: 30 * DAY, afterGrace: "refuse-curved" },
}).evolve(inventoryV3, {
  migration: [createIndexSql(inventoryNomosV3, "reservations", "reservations_by_status_created")],
  reforge: (intent: Intent): Intent => intent,
});
