// @noema/core/runtime: what runs a law inside a store. Used by @noema/cloudflare (and by any
// other host); an application does not need it. Not covered by the authoring API's stability.

export { canonicalJson, contentHash, nobleSha256Hex, normalizeSql, type Sha256Hex, sha256Hex, textHash, useSha256 } from "./canonical/index.js";
export type { AlarmChore, SedimentHost, SqlExecutor } from "./host/index.js";
export { prefixIssues, zodIssues } from "./issue/index.js";
export { MAX_NAME_LENGTH } from "./nomos/define.js";
export { bindParams, countPlaceholders, holeStructure, type NeedsOf, type NotBindable, operationSchemas, statementsOf, strictArgs } from "./intent/vocabulary.js";
export {
  argsSchema,
  carriedSteps,
  checkOpArgs,
  definedArgs,
  type Envelope,
  isBuiltinOp,
  isRef,
  limitIssues,
  looksLikeRef,
  nomosStamp,
  operationOutputs,
  operationsOf,
  parseEnvelope,
  refIssues,
  resolveArgs,
  resolveValue,
  sizeIssue,
  stepLimitIssues,
  stepSchema,
  type StepScope,
  unknownOperation,
} from "./intent/wire.js";
export { type Footprint, statementFootprint } from "./footprint/index.js";
export { intentSieve, operationFootprint, operationHash, sieveHash, sieveOf, tablesOfInvariants } from "./sieve/index.js";
export { diffNomos, diffVocabulary } from "./connection/diff.js";
export { phaseAt } from "./connection/lineage.js";
export { Refusal } from "./refusal/index.js";
export {
  type BuiltinHost,
  type BuiltinRun,
  type BuiltinStatement,
  type BuiltinStep,
  keyIssue,
  type MessageTarget,
} from "./builtin/index.js";
export { wakeTime, type WakeWhen } from "./cryostasis/builtins.js";
export { BUILTIN_STEPS, builtinStep, checkStepArgs, outputsOf, stepScope } from "./interpretation/builtins.js";
export {
  derivedMessageKey,
  MAX_MESSAGE_ATTEMPTS,
  MESSAGE_BATCH,
  MESSAGE_CONCURRENCY,
  MESSAGE_DDL,
  type OutboxEntry,
  OutboxStore,
  SEND_SQL,
} from "./message/store.js";
export {
  backoffMs,
  scaledBackoffMs,
  CANCEL_SQL,
  CRYOSTASIS_DDL,
  CryostasisStore,
  FREEZE_SQL,
  FreezeKeyConflict,
  frozenFromStep,
  type FreezeRequest,
  type FrozenEntry,
  MAX_WAKE_ATTEMPTS,
  type SedimentSource,
  WAKE_BATCH,
} from "./cryostasis/store.js";
export { constraintReason, interpret } from "./interpretation/sqlite.js";
export { audit, AUDIT_PAGE, type AuditFinding, type AuditPage, installScopes, SCOPE_MARKS_KEPT } from "./interpretation/scope.js";
export { type Admission, admissionIssues, type AdmissionOptions, admit, carry } from "./admission/admit.js";
export { claimedVersion } from "./admission/parse.js";
export { type CanonicalSediment, GENESIS_HASH, hashCanonicalSediment, sedimentHash, worldHash } from "./seal/chain.js";
export { applyLineage, MigrationError, type MigrationState, verifySchema } from "./seal/migrate.js";
export { type ReceiptRecord, Sedimenter, type SedimenterOptions } from "./seal/sedimenter.js";
export {
  type AppliedNomos,
  type ChainLink,
  createInternalTables,
  DEFAULT_PAGE,
  FORMAT_VERSION,
  latestApplied,
  MAX_PAGE,
  nomosHistory,
  recordApplied,
  SedimentLog,
  type VerifySlice,
} from "./seal/store.js";
export { FULL_VERIFY_EVERY, VERIFY_DDL, VERIFY_SLICE, Verifier, type VerifyPass } from "./seal/verify.js";
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
