import type { Lineage } from "@noema/core";
import type { Seal } from "@noema/core";
import { InventoryAttractor } from "../src/attractor.js";
import { inventoryLaw } from "../src/law.js";
import { OrderAttractor } from "../src/orders/attractor.js";
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

/** Where a test sets how many of the next deliveries to a SwitchedInventoryAttractor fail. */
export const FAILURES_KEY = "failures";

/**
 * The real InventoryAttractor with a failure switch: while the count in its storage is above
 * zero, a delivered message fails before it reaches the Attractor (as a product object that is
 * down or overloaded would) and the count goes down by one.
 */
export class SwitchedInventoryAttractor extends InventoryAttractor {
  override receive(message: unknown): Seal {
    const failures = this.ctx.storage.kv.get<number>(FAILURES_KEY) ?? 0;
    if (failures > 0) {
      this.ctx.storage.kv.put(FAILURES_KEY, failures - 1);
      throw new Error(`product ${this.ctx.id.name ?? "?"} is unavailable (test switch)`);
    }
    return super.receive(message);
  }
}

/** The real OrderAttractor, holding its lines in SwitchedInventoryAttractors. */
export class SwitchedOrderAttractor extends OrderAttractor {
  static override products = "SWITCHED_INVENTORY_ATTRACTOR";
  static override sends = { SWITCHED_INVENTORY_ATTRACTOR: inventoryLaw };
}
