// @noema/core: writing a law. What a Worker, a script or a test needs to declare a law (a Nomos,
// a Vocabulary, a Lineage), build, parse and explain Intents, and read the Seals, Reasons and
// limits an Attractor answers with. What a host needs to run a law (the Sedimenter, its log,
// the hashing hook) is @noema/core/runtime; the model checker is @noema/core/check. zod is a
// peer: import it yourself.
import { MAX_ARRAY_LENGTH as ARRAY_LENGTH, MAX_INTENT_BYTES as INTENT_BYTES, MAX_STEPS as STEPS, MAX_STRING_LENGTH as STRING_LENGTH } from "./intent/wire.js";

export type { Json, JsonArray, JsonObject } from "./canonical/index.js";
export type { Row, SqlValue } from "./host/index.js";
export { formatIssues, formatPath, type Issue, type IssuePath, type ParseResult } from "./issue/index.js";

// Nomos: tables, columns, invariants.
export { type AnyColumn, blob, type CheckSpec, type ColumnSpec, type ColumnType, type InferRow, integer, real, text } from "./nomos/column.js";
export {
  addColumnSql,
  createIndexSql,
  createTableSql,
  defineNomos,
  type ElementKey,
  type IndexSpec,
  type InvariantScope,
  type InvariantSpec,
  type Nomos,
  NomosDefinitionError,
  type NomosSpec,
  rebuildTableSql,
  type RowOf,
  type TableSpec,
} from "./nomos/define.js";

// Vocabulary: operations written as SQL with their values in place.
export {
  type ArgHole,
  type Args,
  type BoundHole,
  type ColumnList,
  columnsOf,
  type ComputedHole,
  type ContextHole,
  defineVocabulary,
  describeVocabulary,
  type Expectation,
  type Hole,
  type InterpretationContext,
  MAX_BOUND_PARAMETERS,
  type ObjectSchema,
  operation,
  type OperationDescription,
  type OperationSpec,
  type RowsOf,
  sql,
  type Statement,
  type Statements,
  type StatementTools,
  type Vocabulary,
  VocabularyDefinitionError,
} from "./intent/vocabulary.js";

// Intents: the wire format, the typed builder, parsing.
export {
  type ArgValue,
  DEFAULT_LIMITS,
  type Intent,
  type IntentLimits,
  type IntentStep,
  MAX_KEY_LENGTH,
  type NomosStamp,
  type Ref,
} from "./intent/wire.js";
export {
  type ArgsWithRefs,
  type BuildOptions,
  buildIntent,
  type BuiltIntent,
  type FrozenStepBuilder,
  IntentValidationError,
  type OutputRef,
  type OutputRefs,
  type ResultOf,
  resultOf,
  safeBuildIntent,
  type StepBuilder,
} from "./builder/index.js";
export { type FreezeArgs, MAX_FREEZE_MS } from "./cryostasis/builtins.js";
export { MAX_TARGET_NAME, type SendArgs } from "./message/builtin.js";
export { parseClaimed, parseIntent } from "./admission/parse.js";
export type { CarryStep, Origin } from "./admission/admit.js";
export { type ConnectionReport, connectionFor, type ExplainResult, explainOutside } from "./admission/outside.js";

// Lineage and Connection: how a law evolves.
export { type Evolution, type LatestOf, Lineage, LineageDefinitionError, lineage, type Phase, type Policy, type Provisions, type ReforgeContext } from "./connection/lineage.js";
export { type Connection, connection } from "./connection/index.js";
export type { Change, ChangeKind, ConnectionType, EvolutionHints } from "./connection/diff.js";

// Explain and the Sieve.
export { type ComputedParam, type ExplainedStatement, type Explanation, explain } from "./interpretation/explain.js";
export { type Sieve, SieveDerivationError } from "./sieve/index.js";
// What `noema build` generates next to a law: the footprints a Worker derives Sieves from without the SQL parser.
export { type FootprintLaws, type FootprintTable, registerFootprints } from "./footprint/index.js";

// Seals, Sediments and Precedents: what an Attractor answers.
export { type Reason, type ReasonKind, REASON_KINDS } from "./refusal/index.js";
export type { Checkpoint, Message, Precedent, Receipt, RefusalSeal, Seal, SealOrigin, Sediment, SuccessSeal, Verification, World } from "./seal/types.js";
export type { FreezeResult, WakeOutcome } from "./seal/sedimenter.js";

// The Intent limits have one home, DEFAULT_LIMITS; these names stay one release for code that read them.
/** @deprecated Use `DEFAULT_LIMITS.maxSteps`: steps of an Intent, frozen steps included. */
export const MAX_STEPS: number = STEPS;
/** @deprecated Use `DEFAULT_LIMITS.maxBytes`: bytes of an Intent's JSON. */
export const MAX_INTENT_BYTES: number = INTENT_BYTES;
/** @deprecated Use `DEFAULT_LIMITS.maxStringLength`: characters of any string in the arguments. */
export const MAX_STRING_LENGTH: number = STRING_LENGTH;
/** @deprecated Use `DEFAULT_LIMITS.maxArrayLength`: elements of any array in the arguments. */
export const MAX_ARRAY_LENGTH: number = ARRAY_LENGTH;

// Sync: what subscribers may see (the protocol itself is @noema/core/sync).
export { definePublication, type Publication, PublicationDefinitionError, type PublicationSpec, type TablePublication } from "./sync/publication.js";

