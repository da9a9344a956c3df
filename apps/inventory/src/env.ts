import type { InventoryAttractor } from "./attractor.js";

export interface Env {
  INVENTORY_ATTRACTOR: DurableObjectNamespace<InventoryAttractor>;
  /** Bearer token every /api route requires (a wrangler secret in production, .dev.vars locally). */
  NOEMA_API_TOKEN?: string;
}
