import * as z from "#zod";
import { clone, type $ZodObject, type $ZodShape, type output, type ZodStandardJSONSchemaPayload } from "zod/v4/core";
import { canonicalJson, normalizeSql } from "../canonical/index.js";
import { SieveDerivationError, statementFootprint } from "../footprint/index.js";
import type { Row, SqlValue } from "../host/index.js";
import { checkInvariants, type Nomos, NomosDefinitionError, type RowOf, type TableSpec } from "../nomos/index.js";

export type { Row, SqlValue } from "../host/index.js";

/** What an Interpretation knows beyond the Intent: used for time and for deterministic ids. */
export interface InterpretationContext {
  /** Milliseconds since the epoch, fixed for the whole Intent. */
  now: number;
  /** The sedimentId this Intent receives if it commits. */
  sedimentId: number;
  /** Index of the step being interpreted. */
  step: number;
}

/** `${arg.name}`: the argument bound where it stands; an absent optional argument binds NULL. */
export interface ArgHole<K extends string = string, V = unknown> {
  readonly kind: "arg";
  readonly name: K;
  /** Type only: the argument's value type, so that expectations see it. */
  readonly value?: V;
}

/** `${ctx.now}`, `${ctx.sedimentId}`, `${ctx.step}`: a value of the Interpretation context. */
export interface ContextHole {
  readonly kind: "ctx";
  readonly name: keyof InterpretationContext;
}

/** `${computed((a, c) => …)}`: a value computed from the arguments and context; its source is part of the operation's hash. */
export interface ComputedHole<A> {
  readonly kind: "computed";
  // Method syntax: a hole computed from fewer arguments serves an operation with more.
  compute(args: A, ctx: InterpretationContext): SqlValue;
}

/** Stands where an argument that is neither a value (string, number, null) nor JSON data (array, object) is named: it cannot be bound. */
export interface NotBindable<K extends string> {
  readonly notBindable: `argument "${K}" is not a string, number, null, array or object`;
}

/** What a statement binds, one `?` each, in order. */
export type BoundHole = ArgHole | ContextHole | ComputedHole<never>;

/** What may stand in a `sql` template: a value accessor, another statement's text and holes spliced in, or a table's columns. */
export type Hole<A = never> = ArgHole | ContextHole | ComputedHole<A> | Statement<A, object> | ColumnList<object>;

/** Refuse the whole Intent unless the statement returns exactly `rows` rows (use RETURNING). */
export interface Expectation<A> {
  rows: number;
  refusal: (args: A) => string;
  /** `not_found` when no row means the thing named does not exist; `expectation` otherwise. */
  kind?: "expectation" | "not_found";
  /**
   * A read with its own expectation, run only when this one fails: if it fails too, its refusal
   * is given instead. It tells failures apart (no such row, or not enough) without one more
   * statement on every Intent that succeeds.
   */
  cause?: Statement<A>;
}

/**
 * A statement written with its values in place. `A` is what it needs of the operation's
 * arguments; `R` is the type of each row it returns, as `result` and `this.query` see it:
 * typed from the Nomos when it selects or returns `${columnsOf(…)}`, given with `.as<R>()`
 * where SQL computes the columns, else `Row` (any column, any SQL value).
 */
export interface Statement<A = unknown, R extends object = Row> {
  readonly kind: "statement";
  /** Static SQL with one `?` per hole, whitespace collapsed: the Sieve, the operation hash and explain read it. */
  readonly sql: string;
  readonly holes: readonly BoundHole[];
  readonly expectation?: Expectation<A> | undefined;
  /** Type only: the row type. Never set. */
  readonly row?: R;
  /**
   * The same statement, refusing the Intent unless it returns `rows` rows. The refusal sees
   * the arguments the statement binds; name a wider type (`(a: MyArgs) => …`) to see more.
   */
  expect<B extends A = A>(expectation: Expectation<B>): Statement<B, R>;
  /**
   * The same statement with its rows typed `T`, for columns SQL computes (`COUNT(*) AS n`,
   * `expires_at - ${ctx.now} AS left`), which no Nomos types. Type only: nothing is checked
   * when it runs, so say what SQLite returns (INTEGER and REAL as number, TEXT as string,
   * `| null` where it may be NULL). A method, not `sql<T>`: TypeScript cannot take one type
   * argument and infer the others, so `sql<T>` would lose what the holes need of the arguments.
   *
   * @example sql`SELECT COUNT(*) AS n FROM reservations WHERE status = 'active'`.as<{ n: number }>()
   */
  as<T extends object>(): Statement<A, T>;
}

/**
 * Some columns of one table of a Nomos, from `columnsOf`: spliced into a `sql` template
 * (`SELECT ${…} FROM t`, `RETURNING ${…}`) it writes their names and types the statement's rows.
 */
export interface ColumnList<R extends object = Row> {
  readonly kind: "columns";
  readonly table: string;
  readonly columns: readonly string[];
  /** The names as SQL: `a, b, c`. */
  readonly sql: string;
  /** Type only: the row type. Never set. */
  readonly row?: R;
}

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
// What needs nothing (a context hole, a fragment without arguments) is `never` here, so that it drops out of the union.
type NeedOf<H> = H extends ArgHole<infer K, infer V>
  ? undefined extends V
    ? { [P in K]?: V }
    : { [P in K]: V }
  : H extends ComputedHole<infer A> | Statement<infer A, object>
    ? unknown extends A
      ? never
      : A
    : never;
/** The arguments a template's holes need, as one object type. */
export type NeedsOf<H> = [NeedOf<H>] extends [never] ? unknown : UnionToIntersection<NeedOf<H>>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RowOfHole<H> = H extends ColumnList<infer R> ? R : never;
/** The row type of a template's holes: the columns spliced in (all of them, as one row), else `Row`. */
export type RowOfHoles<H> = [RowOfHole<H>] extends [never] ? Row : Simplify<UnionToIntersection<RowOfHole<H>>>;

// A registered symbol, not `instanceof`: statements made by another copy of the core (its sources
// and its build in one process, or two installed versions) are still recognised.
const STATEMENT = Symbol.for("noema.statement");

class SqlStatement<A, R extends object = Row> implements Statement<A, R> {
  readonly kind = "statement";
  readonly [STATEMENT] = true;
  constructor(
    readonly sql: string,
    readonly holes: readonly BoundHole[],
    readonly expectation?: Expectation<A>,
  ) {
    Object.freeze(this);
  }

  expect<B extends A = A>(expectation: Expectation<B>): Statement<B, R> {
    return new SqlStatement<B, R>(this.sql, this.holes, expectation);
  }

  as<T extends object>(): Statement<A, T> {
    return this as unknown as Statement<A, T>;
  }
}

const isStatement = (h: unknown): h is Statement<never> => typeof h === "object" && h !== null && STATEMENT in h;
const COLUMNS = Symbol.for("noema.columns");
const isColumnList = (h: unknown): h is ColumnList<object> => typeof h === "object" && h !== null && COLUMNS in h;

/** SQLite's keywords: columnsOf quotes a column named like one (some cannot stand bare), and writes every other name bare, as people write it. */
const RESERVED = new Set(
  ("abort action add after all alter always analyze and as asc attach autoincrement before begin between by cascade case cast check collate column commit conflict " +
    "constraint create cross current current_date current_time current_timestamp database default deferrable deferred delete desc detach distinct do drop each else end " +
    "escape except exclude exclusive exists explain fail filter first following for foreign from full generated glob group groups having if ignore immediate in index " +
    "indexed initially inner insert instead intersect into is isnull join key last left like limit match materialized natural no not nothing notnull null nulls of " +
    "offset on or order others outer over partition plan pragma preceding primary query raise range recursive references regexp reindex release rename replace " +
    "restrict returning right rollback row rows savepoint select set table temp temporary then ties to transaction trigger unbounded union unique update using " +
    "vacuum values view virtual when where window with without").split(" "),
);
const columnName = (name: string) => (RESERVED.has(name) ? `"${name}"` : name);

type ColumnsOfTable<N extends Nomos, T extends keyof N["tables"]> = keyof N["tables"][T]["columns"] & string;

/**
 * Columns of one table of a Nomos, to splice into `SELECT ${…} FROM t` or `RETURNING ${…}`:
 * the statement's rows are then typed from the Nomos, each column as SQLite returns it
 * (INTEGER and REAL as number, TEXT as string, BLOB as bytes, `| null` unless NOT NULL).
 * Without names, every column in declaration order. Each name must be a column of the
 * table, checked here, when the law is defined.
 *
 * @example
 * const stockColumns = columnsOf(inventoryNomos, "stock", "location_id", "quantity");
 * sql`SELECT ${stockColumns} FROM stock WHERE location_id = ${arg.locationId}` // rows: { location_id: string; quantity: number }[]
 */
export function columnsOf<N extends Nomos, T extends keyof N["tables"] & string, const C extends readonly ColumnsOfTable<N, T>[] = []>(
  nomos: N,
  table: T,
  ...names: C
): ColumnList<Simplify<C extends readonly [] ? RowOf<N["tables"][T]> : Pick<RowOf<N["tables"][T]>, C[number]>>> {
  const spec: TableSpec | undefined = Object.hasOwn(nomos.tables, table) ? nomos.tables[table] : undefined;
  if (!spec) throw new NomosDefinitionError(`Nomos ${nomos.name} v${nomos.version} has no table "${table}"`);
  for (const name of names) {
    if (!Object.hasOwn(spec.columns, name)) throw new NomosDefinitionError(`Nomos ${nomos.name} v${nomos.version} has no column "${table}.${name}"`);
  }
  const columns = Object.freeze(names.length > 0 ? [...names] : Object.keys(spec.columns));
  return Object.freeze({ kind: "columns", [COLUMNS]: true, table, columns, sql: columns.map(columnName).join(", ") });
}
const HOLE_KINDS = new Set(["arg", "ctx", "computed"]);

/**
 * Writes a statement with its values in place, as Drizzle's `sql` does: each hole becomes a
 * `?` bound to that value, so no value is ever SQL text. Holes are `arg.x`, `ctx.now` and
 * `computed(…)` from the operation's `statements` function, or another statement spliced in.
 *
 * @example sql`UPDATE stock SET reserved = reserved + ${arg.quantity} WHERE location_id = ${arg.locationId}`
 */
export function sql<const H extends readonly Hole<never>[]>(strings: TemplateStringsArray, ...holes: H): Statement<NeedsOf<H[number]>, RowOfHoles<H[number]>> {
  let text = strings[0]!;
  const bound: BoundHole[] = [];
  holes.forEach((hole: unknown, i) => {
    if (isColumnList(hole)) text += hole.sql;
    else if (isStatement(hole)) {
      if (hole.expectation) throw new VocabularyDefinitionError(`a statement with an expectation cannot be spliced into another: ${hole.sql}`);
      text += hole.sql;
      bound.push(...hole.holes);
    } else if (typeof hole === "object" && hole !== null && HOLE_KINDS.has((hole as BoundHole).kind)) {
      text += "?";
      bound.push(hole as BoundHole);
    } else {
      throw new VocabularyDefinitionError(`a sql hole must be arg.x, ctx.x, computed(…), columnsOf(…) or a statement, not ${JSON.stringify(hole)}: ${strings.join("?")}`);
    }
    text += strings[i + 1]!;
  });
  const normalized = normalizeSql(text);
  // A `?` written in the text would bind nothing the template knows of.
  if (countPlaceholders(normalized) !== bound.length) {
    throw new VocabularyDefinitionError(`write each value as a hole, not as ?: ${normalized}`);
  }
  return new SqlStatement(normalized, Object.freeze(bound)) as Statement<NeedsOf<H[number]>, RowOfHoles<H[number]>>;
}

/**
 * `arg.x` for each argument of the operation; naming one it does not have is a type error.
 * A string, number or null binds as it is; an array or object binds as its canonical JSON text
 * (keys sorted), which SQL reads with `json_each(${arg.x})` and `json_extract`.
 */
export type Args<A> = {
  readonly [K in keyof A & string]: A[K] extends SqlValue | undefined ? ArgHole<K, A[K]> : Exclude<A[K], undefined> extends readonly unknown[] | Readonly<Record<string, unknown>> ? ArgHole<K, A[K]> : NotBindable<K>;
};

/** What an operation's `statements` function receives: the accessors a `sql` template binds. */
export interface StatementTools<A> {
  /** Each argument of the operation, bound where it stands. */
  readonly arg: Args<A>;
  /** The Interpretation context: the Intent's time, its sedimentId and the step's index. */
  readonly ctx: { readonly [K in keyof InterpretationContext]: ContextHole };
  /** A value computed from the arguments and context, bound where it stands (explain shows it as `{$computedFrom}` when it reads a Ref). */
  computed(compute: (args: A, ctx: InterpretationContext) => SqlValue): ComputedHole<A>;
}

/** An operation's statements, by name, run in declaration order. */
export type Statements<A = never> = Readonly<Record<string, Statement<A, object>>>;
/** The rows each named statement returned, typed as the statement says (see `Statement`). */
export type RowsOf<S> = { readonly [K in keyof S]: S[K] extends Statement<never, infer R> ? R[] : Row[] };

/** The Zod object schema of an operation's arguments or outputs: `z.object` of classic `zod` or of `zod/mini`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any object schema
export type ObjectSchema = $ZodObject<any>;

/** An object schema's fields by name, whichever Zod build made it. */
export const shapeOf = (schema: ObjectSchema): $ZodShape => schema._zod.def.shape;

/** The same object schema with unknown keys refused (classic zod's `.strict()`), its checks kept. */
export const strict = (schema: ObjectSchema): ObjectSchema => clone(schema, { ...schema._zod.def, catchall: z.never() });

/** An operation of a vocabulary, as `operation()` declares it: description, argument and output schemas, its SQL statements and its result. */
export interface OperationSpec<A extends ObjectSchema = ObjectSchema, O extends ObjectSchema = ObjectSchema, S extends Statements = Statements> {
  description: string;
  args: A;
  output: O;
  statements: S;
  /**
   * Builds the declared output from the rows each statement returned, by statement name.
   * Method syntax, so that any operation fits `Record<string, OperationSpec>`.
   */
  result(rows: RowsOf<S>, args: output<A>, ctx: InterpretationContext): output<O>;
}

/** A law of one version: a Nomos and the operations allowed to write it (what `defineVocabulary` returns). */
export interface Vocabulary<
  N extends Nomos = Nomos,
  Ops extends Record<string, OperationSpec> = Record<string, OperationSpec>,
> {
  readonly nomos: N;
  readonly operations: Ops;
}

/** SQLite's limit on bound parameters per statement. */
export const MAX_BOUND_PARAMETERS = 100;

/** Thrown by `defineVocabulary` when an operation is wrong (unknown table, too many parameters, a hole SQL cannot bind), so a bad law fails when it is defined. */
export class VocabularyDefinitionError extends Error {
  override name = "VocabularyDefinitionError";
}

/** Counts `?` placeholders outside string literals and quoted identifiers. */
export function countPlaceholders(sql: string): number {
  let count = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "?") count++;
  }
  return count;
}

// Built once per schema or operation: rebuilding a strict Zod schema per call costs more than the parse itself.
const strictSchemas = new WeakMap<ObjectSchema, ObjectSchema>();
const statementLists = new WeakMap<OperationSpec, readonly (readonly [string, Statement<never, object>])[]>();

/** The operation's argument schema with unknown keys refused. */
export function strictArgs(op: OperationSpec): ObjectSchema {
  let schema = strictSchemas.get(op.args);
  if (!schema) strictSchemas.set(op.args, (schema = strict(op.args)));
  return schema;
}

/** An operation's statements as `[name, statement]` in run order, listed once. */
export function statementsOf(op: OperationSpec): readonly (readonly [string, Statement<never, object>])[] {
  let list = statementLists.get(op);
  if (!list) statementLists.set(op, (list = Object.freeze(Object.entries(op.statements))));
  return list;
}

/** An argument's value as bound: an array or object as its canonical JSON text, an absent one as NULL. */
export function bindValue(value: unknown): SqlValue {
  return value === undefined ? null : typeof value === "object" && value !== null ? canonicalJson(value) : (value as SqlValue);
}

/** The values a statement binds, in order, for parsed arguments (no Refs left). */
export function bindParams(statement: Statement<never, object>, args: Record<string, unknown>, ctx: InterpretationContext): SqlValue[] {
  return statement.holes.map((h) => (h.kind === "arg" ? bindValue(args[h.name]) : h.kind === "ctx" ? ctx[h.name] : h.compute(args as never, ctx)));
}

/** A hole as the operation hash sees it: which value it binds, and the source of a computed one. */
export function holeStructure(h: BoundHole): Record<string, string> {
  return h.kind === "computed" ? { computed: normalizeSql(String(h.compute)) } : { [h.kind]: h.name };
}

type JsonSchema = ZodStandardJSONSchemaPayload<ObjectSchema>;
const schemaCache = new WeakMap<OperationSpec, { args: JsonSchema; output: JsonSchema }>();

/** The JSON Schemas of an operation's arguments (as sent, defaults optional) and output, computed once. */
export function operationSchemas(op: OperationSpec): { args: JsonSchema; output: JsonSchema } {
  let schemas = schemaCache.get(op);
  if (!schemas) {
    schemas = {
      args: z.toJSONSchema(op.args, { unrepresentable: "any", io: "input" }),
      output: z.toJSONSchema(op.output, { unrepresentable: "any" }),
    };
    schemaCache.set(op, schemas);
  }
  return schemas;
}

/** What a client needs to know of one operation to build a step of it. */
export interface OperationDescription {
  description: string;
  /** JSON Schema of the arguments a step sends: defaulted ones are optional. */
  args: JsonSchema;
  /** JSON Schema of the output the step's Seal carries, which later steps can reference. */
  output: JsonSchema;
}

/** Each operation of a vocabulary with its description and the JSON Schemas of its arguments and output. */
export function describeVocabulary(vocabulary: Vocabulary): Record<string, OperationDescription> {
  return Object.fromEntries(
    Object.entries(vocabulary.operations).map(([name, op]) => [name, { description: op.description, ...operationSchemas(op) }]),
  );
}

/**
 * Declares an operation. `statements` receives the accessors its `sql` templates bind and
 * returns the statements by name; `result` reads their rows by the same names.
 */
export function operation<A extends ObjectSchema, O extends ObjectSchema, S extends Statements<output<A>>>(spec: {
  description: string;
  args: A;
  output: O;
  /** The statements by name, or a function of the accessors their holes bind that returns them. */
  statements: S | ((tools: StatementTools<output<A>>) => S);
  result: (rows: RowsOf<S>, args: output<A>, ctx: InterpretationContext) => output<O>;
}): OperationSpec<A, O, S> {
  const arg = Object.fromEntries(Object.keys(shapeOf(spec.args)).map((name) => [name, Object.freeze({ kind: "arg", name })]));
  const ctx = { now: { kind: "ctx", name: "now" }, sedimentId: { kind: "ctx", name: "sedimentId" }, step: { kind: "ctx", name: "step" } } as const;
  const tools: StatementTools<output<A>> = {
    arg: arg as unknown as Args<output<A>>,
    ctx,
    computed: (compute) => Object.freeze({ kind: "computed", compute }),
  };
  // `result` is kept as written: its source is part of the operation's hash.
  return { description: spec.description, args: spec.args, output: spec.output, statements: Object.freeze(typeof spec.statements === "function" ? spec.statements(tools) : spec.statements), result: spec.result };
}

/** Derives a statement's footprint (and so its part of every Sieve), or says which statement cannot be read. */
function readable(nomos: Nomos, sql: string, where: string): void {
  try {
    statementFootprint(nomos, sql);
  } catch (error) {
    if (error instanceof SieveDerivationError) throw new VocabularyDefinitionError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Declares a law of one version: a Nomos and its operations, each checked now against the Nomos (its SQL parsed, its holes bound). */
export function defineVocabulary<N extends Nomos, const Ops extends Record<string, OperationSpec>>(
  nomos: N,
  operations: Ops,
): Vocabulary<N, Ops> {
  checkInvariants(nomos);
  for (const [name, op] of Object.entries(operations)) {
    if (!/^[a-z][A-Za-z0-9]{0,63}$/.test(name)) {
      throw new VocabularyDefinitionError(`operation name "${name}" must be camelCase letters and digits`);
    }
    const statements = statementsOf(op);
    if (statements.length === 0) throw new VocabularyDefinitionError(`operation "${name}" has no statements`);
    for (const [key, s] of statements) {
      if (!isStatement(s)) throw new VocabularyDefinitionError(`operation "${name}" statement "${key}" is not written with sql\`…\``);
      const cause = s.expectation?.cause;
      // A cause runs only on refusal, so it must explain, never change: a read, itself expecting rows, one level deep.
      if (cause && (!isStatement(cause) || !/^SELECT\b/i.test(cause.sql) || !cause.expectation || cause.expectation.cause)) {
        throw new VocabularyDefinitionError(`operation "${name}" statement "${key}": an expectation's cause must be a SELECT with an expectation and no cause of its own`);
      }
      if (s.holes.length > MAX_BOUND_PARAMETERS) {
        throw new VocabularyDefinitionError(
          `operation "${name}" statement "${key}" has ${s.holes.length} placeholders; SQLite in Durable Objects binds at most ${MAX_BOUND_PARAMETERS}`,
        );
      }
      // Every statement's footprint now, so that SQL the Sieve cannot read fails here and not in a request.
      readable(nomos, s.sql, `operation "${name}" statement "${key}"`);
      if (cause) readable(nomos, cause.sql, `operation "${name}" statement "${key}" (its expectation's cause)`);
    }
  }
  return Object.freeze({ nomos, operations });
}
