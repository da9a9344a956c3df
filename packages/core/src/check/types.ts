import type { Json } from "../canonical/index.js";
import type { LatestOf, Lineage } from "../connection/lineage.js";
import type { StepBuilder } from "../builder/index.js";
import type { Row, SqlExecutor } from "../host/index.js";
import type { Intent, OperationSpec, Vocabulary } from "../intent/index.js";

/** What the checker needs from a database: SQL and a nestable synchronous transaction. It owns the clock itself. */
export interface CheckDatabase {
  db: SqlExecutor;
  /** Runs `fn` atomically and may be nested (the Sedimenter nests): if it throws, nothing it wrote survives. */
  transaction<T>(fn: () => T): T;
  close?(): void;
}

/** A value an argument may take; `undefined` leaves an optional argument out. */
export type DomainValue = Json | undefined;

/**
 * The values one argument is tried with: a list, or a query run in the state being expanded
 * (its first column gives the values, for example the ids of existing reservations), plus `also`.
 */
export type Domain = readonly DomainValue[] | { sql: string; also?: readonly DomainValue[] };

/** The values the checker tries for each argument, by argument name. */
export type Domains = Readonly<Record<string, Domain>>;

/** Arguments of one concrete action, as its template receives them. */
export type ActionArgs = Readonly<Record<string, Json>>;

/**
 * One kind of Intent a client sends. Without `build` it is the single step `op(args)`;
 * with it, any Intent the app sends (for example a reserve and the `$freeze` of its release).
 * Arguments not given in `args` are derived from the schema of `op` (enums, integers at
 * the bounds, ids from the pool); domains of arguments `op` does not have at a version are dropped.
 */
export interface ActionSpec<Ops extends Record<string, OperationSpec> = Record<string, OperationSpec>> {
  op: string;
  args?: Domains;
  build?: (step: StepBuilder<Ops>, args: ActionArgs) => void;
  /** Versions it is sent under; all by default. */
  versions?: readonly number[];
  /** Marks the action as refused only by its own expectations: a refusal by a constraint or invariant fails the check. */
  guarded?: boolean;
}

/**
 * A query that must return no rows in every reachable state. It may read any table: the Nomos
 * tables, the frozen Intents (`_noema_cryostasis`), the sediment log (`_noema_sediment`) and the
 * Precedents (`_noema_precedent`); a state then includes what it reads, so paths are told apart
 * by the log too. `:now` in it is the checker's clock (ms since the epoch) at that state.
 */
export interface SafetyProperty {
  name: string;
  /** SQL returning the rows that break the property; `:now` is bound to the clock. */
  sql: string;
  description?: string;
  /** Versions it applies to (it may name tables only some versions have); all by default. */
  versions?: readonly number[];
}

/** A query that must return no rows once the clock has passed every wake time, from every reachable state. */
export type LivenessProperty = SafetyProperty;

/** The operations of a law's newest vocabulary: what its check's `build` functions may call. */
export type OpsOf<L extends Vocabulary | Lineage> = LatestOf<L>["operations"];

/**
 * What `noema check` explores and proves. Write it with `defineCheck({ law, … })`, which types
 * every `build` from the law; `Ops` (the newest version's operations) is for annotating by hand.
 */
export interface CheckDefinition<Ops extends Record<string, OperationSpec> = Record<string, OperationSpec>> {
  /** The law: a Vocabulary or a Lineage, every version of which is explored. */
  law: Vocabulary | Lineage;
  /** The Intents a client sends; by default one single-step action per operation, with derived domains. */
  actions?: Readonly<Record<string, ActionSpec<Ops>>>;
  /** Domains for derived actions by argument name (e.g. `{ delta: [1, -1] }`). */
  domains?: Domains;
  /** The id pool for string arguments without a domain (default: the first of DEFAULT_ID_POOLS the schema accepts). */
  ids?: readonly string[];
  /** Adds the values seen in integer columns of the state to the domains of integer arguments. */
  seenValues?: boolean;
  /** Extra clock steps, in milliseconds, offered as actions beside "advance to the next wake time". */
  waits?: readonly number[];
  properties?: readonly SafetyProperty[];
  liveness?: readonly LivenessProperty[];
  /** Which integer columns hold times: in the state hash they are made relative to the clock. */
  timeColumn?: (table: string, column: string) => boolean;
}

/** How `check` runs: the database it opens per run, the depth, which properties, the random walks, and where it reports progress. */
export interface CheckOptions {
  /** A fresh, empty database per call (an in-memory SQLite). */
  openDatabase: () => CheckDatabase;
  /** Actions from the empty state, 1..20. */
  depth?: number;
  /** Only these checks (property names, or replay, migration, reforge, cryostasis, guards). */
  only?: readonly string[];
  /** Stop a version's exploration after this many distinct states. */
  maxStates?: number;
  /** Random walks from the empty state after the breadth-first run, checking safety properties (unexhaustive). */
  walks?: number;
  /** Moves per random walk; three times the depth by default. */
  walkLength?: number;
  /** Seed of the random walks: the same seed walks the same paths. */
  seed?: number;
  /** The clock at the empty state, in ms since the epoch. */
  start?: number;
  /**
   * False explores every path as its own state, without merging paths that reach the same state:
   * exponentially slower, for testing that merging loses nothing.
   */
  prune?: boolean;
  /** Called after each depth level. */
  onProgress?: (progress: Progress) => void;
}

/** A progress report while `check` explores: the version, the depth reached and the states seen. */
export interface Progress {
  version: number;
  depth: number;
  states: number;
  transitions: number;
  ms: number;
}

/** The kind of a check: a property of the definition, or one the checker always runs. */
export type CheckKind = "safety" | "liveness" | "guards" | "replay" | "migration" | "reforge" | "cryostasis" | "crash";

/** One row gained or lost by a table in one step of a counterexample. */
export interface RowChange {
  table: string;
  change: "+" | "-";
  row: Row;
}

/** One step of a counterexample: the action and the Intent it built, the time, what became of it, and the rows it changed. */
export interface CounterexampleStep {
  /** The action's name, or "tick" for the clock. */
  action: string;
  /** The action of the check definition that built the Intent (its key in `actions`, or the operation), and its arguments; absent for a clock step. */
  name?: string;
  args?: ActionArgs;
  /** The Intent as sent (wire format), built under the version the step ran in; absent for a clock step. */
  intent?: Intent;
  /** The clock when it ran (for a clock step, the time it advanced to). */
  now: number;
  /** What happened: `sealed #3`, `refused (expectation): …`, `woke 1: sealed #4`. */
  outcome: string;
  changes: RowChange[];
}

/** The shortest sequence from the empty state that shows the failure. */
export interface Counterexample {
  steps: CounterexampleStep[];
  /** What fails at the end of it. */
  failure: string;
}

/** The outcome of one check under one version: passed, failed with the counterexample that breaks it, or for information. */
export interface CheckResult {
  /** `safety:name`, `liveness:name`, `guards:op`, `replay`, `migration`, `reforge`, `cryostasis` or `crash`. */
  name: string;
  kind: CheckKind;
  version: number;
  status: "ok" | "failed" | "info";
  detail: string;
  counterexample?: Counterexample;
}

/** What `check` explored under one version of the law: states and transitions. */
export interface VersionStats {
  version: number;
  states: number;
  transitions: number;
  /** The deepest level that found a new state. */
  depth: number;
  /** False when maxStates stopped the exploration. */
  complete: boolean;
  ms: number;
}

/** What `check` answers: whether every check passed, each result, and what it explored per version. */
export interface CheckReport {
  ok: boolean;
  depth: number;
  versions: VersionStats[];
  results: CheckResult[];
  ms: number;
}
