// The reference app's Worker with the test-only v4 law (law-v4.ts): the same name, bindings and
// classes as src/index.ts, so `wrangler dev` on the same persist directory finds the same
// Durable Objects, now holding v4. Only the inventory Attractor's law differs.
import type { Lineage } from "@noema/core";
import { app } from "../src/api.js";
import { InventoryAttractor as InventoryAttractorV3 } from "../src/attractor.js";
import { inventoryLawV4 } from "./law-v4.js";

export { CatalogAttractor } from "../src/catalog/attractor.js";
export { OrderAttractor } from "../src/orders/attractor.js";

export class InventoryAttractor extends InventoryAttractorV3 {
  protected override lawFor(): Lineage {
    return inventoryLawV4;
  }
}

export default app;
