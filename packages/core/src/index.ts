// @noema/core: the authoring API. What a Worker, a script or a test needs to declare a law and
// build, parse, explain or compare Intents. The machinery that runs a law inside a store
// (Sedimenter, stores, DDL, hashing) is @noema/core/runtime. zod is a peer: import it yourself.

export type { Json } from "./canonical/index.js";

// Nomos: tables, columns, invariants.
export { type AnyColumn, blob, type CheckSpec, Column, type ColumnSpec, type ColumnType, type InferRow, integer, real, text } from "./nomos/column.js";
export {
  createTableSql,
  defineNomos,
  type ElementKey,
  type IndexSpec,
  type InvariantSpec,
  type Nomos,
  NomosDefinitionError,
  type NomosSpec,
  rebuildTableSql,
  type RowOf,
  type TableSpec,
} from "./nomos/define.js";

// Vocabulary and Intents.
export {
  defineVocabulary,
  type InterpretationContext,
  type ObjectSchema,
  operation,
  type OperationSpec,
  type Row,
  type SqlValue,
  type StatementSpec,
  type Vocabulary,
  VocabularyDefinitionError,
} from "./intent/vocabulary.js";
export {
  type ArgsWithRefs,
  type BuildOptions,
  buildIntent,
  type FrozenStepBuilder,
  IntentValidationError,
  type OutputRef,
  type OutputRefs,
  type StepBuilder,
} from "./intent/builder.js";
export {
  type ArgValue,
  CANCEL,
  DEFAULT_LIMITS,
  FREEZE,
  type FreezeArgs,
  formatPath,
  type Intent,
  type IntentLimits,
  type IntentStep,
  type Issue,
  MAX_FREEZE_MS,
  type NomosStamp,
  type ParseResult,
  parseIntent,
  type Ref,
} from "./intent/wire.js";

// Lineage and Connection: how a law evolves.
export {
  type CarryResult,
  type CarryStep,
  type Evolution,
  Lineage,
  LineageDefinitionError,
  lineage,
  type Phase,
  type Policy,
  type Provisions,
  type ReforgeContext,
} from "./connection/lineage.js";
export { type Connection, connection } from "./connection/index.js";
export type { Change, ChangeKind, ConnectionType, EvolutionHints } from "./connection/diff.js";

// Explain and the Sieve.
export { type ComputedParam, type ExplainedStatement, type Explanation, explain } from "./interpretation/explain.js";
export { type Sieve, SieveDerivationError } from "./sieve/index.js";

// Seals, Sediments and Precedents: what an Attractor answers.
export type {
  Origin,
  Precedent,
  Reason,
  ReasonKind,
  RefusalSeal,
  Seal,
  Sediment,
  SuccessSeal,
  Verification,
  World,
} from "./seal/types.js";
export type { FreezeResult, WakeOutcome } from "./seal/sedimenter.js";
