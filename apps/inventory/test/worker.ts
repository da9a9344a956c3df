import type { Lineage } from "@noema/core";
import { InventoryAttractor } from "../src/attractor.js";
import { inventoryLaw } from "../src/law.js";
import { capacityLaw, criticalLaw, flakyLaw, graceLaws, noReforgeLaw } from "./laws.js";

export * from "../src/index.js";
export { default } from "../src/index.js";

/** Where a test pins the version an Attractor's code knows, in the Attractor's own storage. */
export const PIN_KEY = "pin";

/**
 * An InventoryAttractor whose code knows `law` only up to the version pinned in its storage
 * (`initial` until a test pins another): a test starts it on an older law, pins a newer one
 * and evicts it, and the next request wakes it as a new deployment would.
 */
function pinnedTo(law: () => Lineage, initial: number) {
  return class extends InventoryAttractor {
    protected override lawFor(): Lineage {
      // Synchronous KV of SQLite-backed objects: readable here, in the constructor. Its table
      // (`_cf_KV`) starts with an underscore, so schema checks leave it out.
      return law().upTo(this.ctx.storage.kv.get<number>(PIN_KEY) ?? initial);
    }
  };
}

export class PinnedInventoryAttractor extends pinnedTo(() => inventoryLaw, 1) {}
export class CriticalAttractor extends pinnedTo(() => criticalLaw, 1) {}
export class NoReforgeAttractor extends pinnedTo(() => noReforgeLaw, 1) {}
export class BeforeGraceAttractor extends pinnedTo(graceLaws.before, 1) {}
export class DuringGraceAttractor extends pinnedTo(graceLaws.during, 1) {}
export class AfterGraceAttractor extends pinnedTo(graceLaws.after, 1) {}
export class RefuseAllAttractor extends pinnedTo(graceLaws.afterRefuseAll, 1) {}
/** Starts on v2; pinning v3 runs a migration that stock above capacity makes fail. */
export class CapacityAttractor extends pinnedTo(() => capacityLaw, 2) {}

/** Runs the shipped law plus `restock`, whose parameters cannot be computed for one location (see laws.ts). */
export class FlakyAttractor extends InventoryAttractor {
  static override law = flakyLaw;
}
