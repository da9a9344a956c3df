import { createTableSql, type Intent, lineage, rebuildTableSql } from "@noema/core";
import { inventoryNomosV2 } from "./nomos.js";
import { inventoryV1, inventoryV2 } from "./vocabulary.js";

const DAY = 24 * 60 * 60 * 1000;

/**
 * The inventory law and its history. v1 → v2 adds sales channels: existing reservations
 * are filled in as `direct`, and v1 reserve Intents are reforged to say so.
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
});
