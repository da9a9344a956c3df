// @noema/core/runtime: what runs a law inside a store. Used by @noema/cloudflare (and by any
// other host); an application does not need it. Not covered by the authoring API's stability.

export { canonicalJson, contentHash, normalizeSql, sha256Hex } from "./canonical/index.js";
export { diffNomos, diffVocabulary } from "./connection/diff.js";
export { phaseAt } from "./connection/lineage.js";
export {
  backoffMs,
  CANCEL_SQL,
  CRYOSTASIS_DDL,
  CryostasisStore,
  FREEZE_SQL,
  FreezeKeyConflict,
  type FreezeRequest,
  type FrozenEntry,
  MAX_WAKE_ATTEMPTS,
} from "./cryostasis/store.js";
export { countPlaceholders, MAX_BOUND_PARAMETERS, placeholdersOf, strictArgs } from "./intent/vocabulary.js";
export { checkStepArgs, isRef, limitIssues, nomosStamp, operationsOf, zodIssues } from "./intent/wire.js";
export { constraintReason, type Freezer, interpret, type SqlExecutor } from "./interpretation/sqlite.js";
export { type CanonicalSediment, GENESIS_HASH, hashCanonicalSediment, sedimentHash, worldHash } from "./seal/chain.js";
export { applyLineage, MigrationError, type MigrationState, verifySchema } from "./seal/migrate.js";
export { type Prepared, Sedimenter, type SedimenterOptions, type SedimentHost } from "./seal/sedimenter.js";
export { type AppliedNomos, createInternalTables, latestApplied, nomosHistory, recordApplied, SedimentLog } from "./seal/store.js";
export { Refusal } from "./seal/types.js";
export { type Footprint, statementFootprint } from "./sieve/footprint.js";
export { intentSieve, operationFootprint, operationHash, sieveHash, sieveOf, tablesOfInvariants } from "./sieve/index.js";
