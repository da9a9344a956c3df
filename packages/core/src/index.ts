// @noema/core: the authoring API. What a Worker, a script or a test needs to declare a law and
// build, parse, explain or compare Intents. The machinery that runs a law inside a store
// (Sedimenter, stores, DDL, hashing) is @noema/core/runtime; the model checker is
// @noema/core/check. zod is a peer: import it yourself.

export type { Json, JsonArray, JsonObject } from "./canonical/index.js";
export type { Row, SqlValue } from "./host/index.js";
export { formatIssues, formatPath, issue, type Issue, type IssuePath, type ParseResult } from "./issue/index.js";

// Nomos: tables, columns, invariants.
export { type AnyColumn, blob, type CheckSpec, Column, type ColumnSpec, type ColumnType, type InferRow, integer, real, text } from "./nomos/column.js";
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
  MAX_ARRAY_LENGTH,
  MAX_INTENT_BYTES,
  MAX_KEY_LENGTH,
  MAX_STEPS,
  MAX_STRING_LENGTH,
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
export { CANCEL, FREEZE, type FreezeArgs, MAX_FREEZE_MS } from "./cryostasis/builtins.js";
export { MAX_TARGET_NAME, SEND, type SendArgs } from "./message/builtin.js";
export { parseClaimed, parseIntent } from "./admission/parse.js";
export type { CarryResult, CarryStep, Origin } from "./admission/admit.js";
export { type ConnectionReport, connectionFor, type ExplainResult, explainOutside } from "./admission/outside.js";

// Lineage and Connection: how a law evolves.
export { type Evolution, type LatestOf, Lineage, LineageDefinitionError, lineage, type Phase, type Policy, type Provisions, type ReforgeContext } from "./connection/lineage.js";
export { type Connection, connection } from "./connection/index.js";
export type { Change, ChangeKind, ConnectionType, EvolutionHints } from "./connection/diff.js";

// Explain and the Sieve.
export { type ComputedParam, type ExplainedStatement, type Explanation, explain } from "./interpretation/explain.js";
export { type Sieve, SieveDerivationError } from "./sieve/index.js";
// What `noema build` generates next to a law: the footprints a Worker derives Sieves from without the SQL parser.
export { type FootprintTable, registerFootprints } from "./footprint/index.js";

// Seals, Sediments and Precedents: what an Attractor answers.
export { type Reason, type ReasonKind, REASON_KINDS } from "./refusal/index.js";
export type { Checkpoint, Message, Precedent, Receipt, RefusalSeal, Seal, SealOrigin, Sediment, SuccessSeal, Verification, World } from "./seal/types.js";
export type { FreezeResult, WakeOutcome } from "./seal/sedimenter.js";
