import type { InventoryAttractor } from "./attractor.js";
import type { CatalogAttractor } from "./catalog/attractor.js";
import type { HotAttractor } from "./hot/attractor.js";
import type { OrderAttractor } from "./orders/attractor.js";

export interface Env {
  INVENTORY_ATTRACTOR: DurableObjectNamespace<InventoryAttractor>;
  CATALOG_ATTRACTOR: DurableObjectNamespace<CatalogAttractor>;
  ORDER_ATTRACTOR: DurableObjectNamespace<OrderAttractor>;
  /** Hot products: a coordinator and its shards (docs/concepts/escrow.md). */
  HOT_ATTRACTOR: DurableObjectNamespace<HotAttractor>;
  /** Full-access bearer tokens, comma-separated for rotation (a wrangler secret in production, .dev.vars locally). */
  NOEMA_API_TOKEN?: string;
  /** Read-only bearer tokens, comma-separated: every read route and the inspector, 403 on any write. */
  NOEMA_READ_TOKENS?: string;
}
