// @noema/cloudflare: the Attractor, the Durable Object base class that runs a Noema law, and the
// types of what its RPC methods answer. The HTTP layer is @noema/cloudflare/http; the R2 archive
// @noema/cloudflare/archive; the testing kit @noema/cloudflare/testing.
export {
  ALARM_RETRY_MS,
  type AlarmOwnedByAttractor,
  Attractor,
  AttractorDefinitionError,
  type AttractorOf,
  type AttractorStatics,
  type FrozenEntry,
  type FrozenSummary,
  type NomosReport,
  type Query,
} from "./attractor.js";
export type { FreezeWhen } from "./cryostasis.js";
export type { ChainStatus, RowsPage, TableInfo, TailCheck } from "./inspection.js";
export { DEFAULT_DELIVERY, type DeliveryOptions, type OutboxEntry, type OutboxMessage, type ReceiptEntry } from "./messages.js";
export { SYNC_LINGER_MS, type SyncGrant } from "./sync/index.js";
