// @noema/core/runtime: what a host needs to run a law inside a store: the Sedimenter and what
// constructing and driving it takes (the host ports, the log, migrations, the alarm chores'
// defaults, verification and archival), and the hashing hook. @noema/cloudflare is one host; an
// application does not import this. Anything else a test needs is in @noema/core/internal,
// which is not part of the public API.

// The ports a host provides, and the hashing hook.
export { type AlarmChore, type SedimentHost, type SqlExecutor, sqlValueOf } from "./host/index.js";
export { once } from "./once.js";
export { builtinSha256Hex, type Sha256Hex, textHash, useSha256 } from "./canonical/index.js";
export { sha256Halves } from "./canonical/sha256.js";

// The Sedimenter, its log and the law it holds.
export { type ReceiptRecord, Sedimenter, type SedimenterOptions } from "./seal/sedimenter.js";
export { type AppliedNomos, type ChainLink, createInternalTables, DEFAULT_PAGE, MAX_PAGE, nomosHistory, SedimentLog, type VerifySlice } from "./seal/store.js";
export { GENESIS_HASH, sedimentHash } from "./seal/chain.js";
export { applyLineage, MigrationError, type MigrationState } from "./seal/migrate.js";
export { intentSieve, operationHash } from "./sieve/index.js";
export { audit, AUDIT_PAGE, type AuditFinding, type AuditPage } from "./interpretation/scope.js";

// What the alarm chores take: Cryostasis, the outbox, verification, archival.
export { WAKE_BATCH } from "./cryostasis/store.js";
export { MAX_MESSAGE_ATTEMPTS, MESSAGE_BATCH, MESSAGE_CONCURRENCY, type OutboxEntry, OutboxStore } from "./message/store.js";
export { FULL_VERIFY_EVERY, Verifier, type VerifyPass } from "./seal/verify.js";
export {
  type ArchiveBreak,
  type ArchivedSegment,
  DEFAULT_PRECEDENT_RETENTION_MS,
  DEFAULT_SEGMENT_AGE_MS,
  DEFAULT_SEGMENT_ENTRIES,
  type ObjectStorePort,
  type SegmentKind,
  type SegmentManifest,
} from "./seal/archive.js";
export { Archive, type ArchiveOptions, type ArchiveReport, type ArchivedVerification } from "./seal/archive-log.js";
export { type CapturedSediment, ChangeCapture, SYNC_DDL, SYNC_RETAINED } from "./sync/capture.js";
export type { PublishedTable } from "./sync/publication.js";

// What a client runs an Intent with on its own replica, as the Sedimenter does (@noema/client).
export { bindParams } from "./intent/vocabulary.js";
export { isBuiltinOp } from "./intent/wire.js";
export { carry } from "./admission/admit.js";
export { parseClaimedOnce } from "./admission/parse.js";
export { tablesOfInvariants } from "./sieve/index.js";
export { interpret } from "./interpretation/sqlite.js";
export { installScopes } from "./interpretation/scope.js";
export { Refusal } from "./refusal/index.js";
export { balanceMarks, type HeldTable, movedBalance, type PredictionPlan, predictionPlan, type UnseenElement } from "./sync/prediction.js";
