export {
  ALARM_RETRY_MS,
  type AlarmOwnedByAttractor,
  Attractor,
  AttractorDefinitionError,
  type AttractorOf,
  type AttractorStatics,
  type ExplainResult,
  type FrozenSummary,
  MAX_PAGE,
  type NomosReport,
  type Query,
} from "./attractor.js";
export { type ArchiveSettings, r2Store } from "./archive.js";
export type { ChainStatus, RowsPage, TableInfo, TailCheck } from "./inspection.js";
export { DEFAULT_DELIVERY, DELIVERY_LEASE_MS, type DeliveryOptions, type OutboxMessage, type ReceiptEntry } from "./messages.js";
export type { SyncGrant } from "./sync/index.js";
