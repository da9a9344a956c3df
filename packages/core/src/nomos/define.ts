import { canonicalJson, contentHash, normalizeSql, sha256Hex } from "../canonical/index.js";
import { footprintsAvailable, registeredLawHash, setLawText, SieveDerivationError, statementFootprint } from "../footprint/index.js";
import type { AnyColumn, CheckSpec, ColumnSpec, InferRow } from "./column.js";

/** An index of a table: its columns in order, and whether it is UNIQUE. */
export interface IndexSpec {
  columns: readonly string[];
  unique?: boolean;
}

/** A table of a Nomos: its columns, and optionally a composite primary key, indexes and CHECKs. */
export interface TableSpec<C extends Record<string, AnyColumn> = Record<string, AnyColumn>> {
  columns: C;
  /** A composite primary key; column order matters to SQLite, so it is kept. */
  primaryKey?: readonly string[];
  checks?: Record<string, CheckSpec>;
  indexes?: Record<string, IndexSpec>;
}

type ColumnOf<T extends TableSpec> = keyof T["columns"] & string;

/**
 * What an invariant is about, key by key (e.g. per location): after an Intent, Noema checks it
 * only for the keys whose rows the Intent's statements wrote (inserted, updated from or to,
 * deleted), collected from the writes themselves. It holds for the other keys as it did before.
 */
export interface InvariantScope<T extends Record<string, TableSpec> = Record<string, TableSpec>> {
  /** The columns of a violation row that name its key, e.g. `["location_id"]`. */
  key: readonly string[];
  /**
   * Every table the violations query reads, with its columns that hold the key (in `key`'s
   * order): a write to a row there marks that row's key. A table the query reads but this
   * omits is refused when the Nomos is first interpreted.
   */
  tables: { readonly [K in keyof T]?: readonly ColumnOf<T[K]>[] };
  /**
   * Optional, for an invariant that is a balance per key: then only the keys whose balance an
   * Intent moved (or whose `over` row it inserted, deleted or re-keyed) are checked, without
   * reading the key's other rows: a hold at a location with 50k others costs what the first did.
   */
  balance?: {
    /** The table the invariant is about, one row per key: at a key without one, it holds. */
    over: keyof T & string;
    /**
     * Per table (each of `tables`), an SQL expression over one of its rows (columns by name).
     * At a key with an `over` row, the invariant holds exactly when these sum to 0 over the key's rows.
     */
    sum: { readonly [K in keyof T]?: string };
  };
}

/**
 * A cross-row assertion checked at the end of every sedimentation, before commit.
 * `violations` is a SELECT that returns one row per violation; none means it holds.
 * With a `scope`, only the keys the Intent wrote are checked; without, all of it is.
 */
export interface InvariantSpec<T extends Record<string, TableSpec> = Record<string, TableSpec>> {
  violations: string;
  message: string;
  scope?: InvariantScope<T>;
}

/** What `defineNomos` takes: a name, a version, tables and invariants. */
export interface NomosSpec<T extends Record<string, TableSpec>, V extends number = number> {
  name: string;
  version: V;
  tables: T;
  invariants?: Record<string, InvariantSpec<NoInfer<T>>>;
}

/** A canonical schema element: what the hash of a table, column or invariant covers. */
/**
 * A schema element a Sieve can name: a table's own constraints (`table:`), its set of
 * columns (`shape:`, what an INSERT depends on), one column, or one invariant.
 */
export type ElementKey = `table:${string}` | `shape:${string}` | `column:${string}.${string}` | `invariant:${string}`;

/** The schema part of a law, as `defineNomos` returns it: tables, invariants, version, DDL and content hash. */
export interface Nomos<T extends Record<string, TableSpec> = Record<string, TableSpec>, V extends number = number> {
  readonly name: string;
  /** The version, as a literal type where it was written as one: `Lineage.version(n)` finds a vocabulary by it. */
  readonly version: V;
  /** SHA-256 of the canonical form: stable under key order, whitespace and declaration order. */
  readonly hash: string;
  readonly tables: T;
  readonly invariants: Readonly<Record<string, InvariantSpec<T>>>;
  /** One content hash per table, column and invariant: the alphabet a Sieve is written in. */
  readonly elements: Readonly<Record<ElementKey, string>>;
  /** CREATE statements, in an order SQLite accepts. */
  readonly ddl: readonly string[];
  /** Human messages for named CHECKs, keyed by constraint name. */
  readonly checkMessages: Readonly<Record<string, string>>;
}

/** A row of a table as SQLite returns it (see InferRow): what `columnsOf` types a statement's rows with. */
export type RowOf<T extends TableSpec> = InferRow<T["columns"]>;

/** Characters of a Nomos, operation or output name on the wire. */
export const MAX_NAME_LENGTH = 64;

const IDENT = /^[a-z][a-z0-9_]{0,62}$/;

/** Thrown by `defineNomos` when the schema is wrong (a bad name, an unknown column, SQL that does not parse), so a bad law fails when it is defined. */
export class NomosDefinitionError extends Error {
  override name = "NomosDefinitionError";
}

function ident(kind: string, name: string): string {
  if (!IDENT.test(name)) {
    throw new NomosDefinitionError(`${kind} name "${name}" must match ${IDENT} (lower case, starting with a letter)`);
  }
  return name;
}

function canonicalColumn(spec: ColumnSpec) {
  return {
    type: spec.type,
    notNull: spec.notNull,
    primaryKey: spec.primaryKey,
    unique: spec.unique,
    default: spec.default ?? null,
    check: spec.check ? normalizeSql(spec.check.sql) : null,
  };
}

/** The table's own constraints, without its columns: those are elements of their own. */
function canonicalTableLevel(spec: TableSpec) {
  return {
    primaryKey: spec.primaryKey ?? null,
    checks: Object.fromEntries(Object.entries(spec.checks ?? {}).map(([k, c]) => [k, normalizeSql(c.sql)])),
    // `unique: false` and no `unique` are the same index, so they hash the same (as the latter always did).
    indexes: Object.fromEntries(
      Object.entries(spec.indexes ?? {}).map(([k, i]) => [k, i.unique ? { columns: i.columns, unique: true } : { columns: i.columns }]),
    ),
  };
}

function sqlLiteral(value: string | number | null): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

/** CREATE statements for one table of a Nomos and its indexes: a migration that adds a table. */
export function createTableSql(nomos: Nomos, table: string): string[] {
  const spec = nomos.tables[table];
  if (!spec) throw new NomosDefinitionError(`Nomos ${nomos.name} v${nomos.version} has no table "${table}"`);
  return tableDdl(table, spec);
}

/** The CREATE INDEX statement of one declared index: a migration that adds an index. */
export function createIndexSql(nomos: Nomos, table: string, index: string): string {
  const i = nomos.tables[table]?.indexes?.[index];
  if (!i) throw new NomosDefinitionError(`Nomos ${nomos.name} v${nomos.version} has no index "${index}" on "${table}"`);
  return indexDdl(table, index, i);
}

/**
 * The ALTER TABLE that adds one column as the Nomos declares it, in place, with Noema's own
 * constraint name for its CHECK (`<table>_<column>_check`, whose message a refusal reports):
 * a migration that adds a column. SQLite appends the column, so it must be the table's last
 * one; SQLite cannot add a PRIMARY KEY or UNIQUE column, nor a NOT NULL one without a
 * default, in place: for those, and to add or change a table CHECK, use `rebuildTableSql`.
 *
 * @example migration: [addColumnSql(v2, "seats", "price_cents")]
 */
export function addColumnSql(nomos: Nomos, table: string, column: string): string {
  const spec = nomos.tables[table];
  if (!spec) throw new NomosDefinitionError(`Nomos ${nomos.name} v${nomos.version} has no table "${table}"`);
  const columns = Object.keys(spec.columns);
  const c = Object.hasOwn(spec.columns, column) ? spec.columns[column]!.spec : undefined;
  if (!c) throw new NomosDefinitionError(`Nomos ${nomos.name} v${nomos.version} has no column "${table}.${column}"`);
  const rebuild = `use rebuildTableSql(nomos, "${table}", …) instead`;
  if (columns[columns.length - 1] !== column) {
    throw new NomosDefinitionError(`column "${table}.${column}" is not the table's last: SQLite adds a column at the end, so the table would differ from a new Attractor's; declare it last or ${rebuild}`);
  }
  if (c.primaryKey || c.unique) throw new NomosDefinitionError(`SQLite cannot add a PRIMARY KEY or UNIQUE column ("${table}.${column}") in place; ${rebuild}`);
  if (c.notNull && (c.default === undefined || c.default === null)) {
    throw new NomosDefinitionError(`SQLite cannot add a NOT NULL column without a default ("${table}.${column}") in place; ${rebuild} with a fill for it`);
  }
  return `ALTER TABLE "${table}" ADD COLUMN ${columnDdl(table, column, c)}`;
}

/**
 * The statements that rebuild a table into its shape under `to` (SQLite cannot add a
 * NOT NULL column without a default, nor change a constraint, in place): create the new
 * table beside the old one, copy every row, drop the old, rename, recreate the indexes.
 * `fill` gives an SQL expression over the old row for columns that are new or change.
 */
export function rebuildTableSql(to: Nomos, table: string, fill: Record<string, string> = {}): string[] {
  const spec = to.tables[table];
  if (!spec) throw new NomosDefinitionError(`Nomos ${to.name} v${to.version} has no table "${table}"`);
  const next = `${table}__next`;
  const [create, ...indexes] = tableDdl(next, spec, table);
  const columns = Object.keys(spec.columns);
  const values = columns.map((c) => fill[c] ?? `"${c}"`);
  return [
    create!,
    `INSERT INTO "${next}" (${columns.map((c) => `"${c}"`).join(", ")}) SELECT ${values.join(", ")} FROM "${table}"`,
    `DROP TABLE "${table}"`,
    `ALTER TABLE "${next}" RENAME TO "${table}"`,
    ...indexes.map((i) => i.replace(` ON "${next}" `, ` ON "${table}" `)),
  ];
}

function tableDdl(name: string, spec: TableSpec, constraintPrefix: string = name): string[] {
  const defs = Object.entries(spec.columns).map(([col, { spec: c }]) => columnDdl(constraintPrefix, col, c));
  if (spec.primaryKey) defs.push(`PRIMARY KEY (${spec.primaryKey.map((c) => `"${c}"`).join(", ")})`);
  for (const [check, c] of Object.entries(spec.checks ?? {})) defs.push(`CONSTRAINT "${check}" CHECK (${c.sql})`);
  const out = [`CREATE TABLE "${name}" (${defs.join(", ")}) STRICT`];
  for (const [index, i] of Object.entries(spec.indexes ?? {})) out.push(indexDdl(name, index, i));
  return out;
}

/** One column's definition; its CHECK is named `<table>_<column>_check`, the key of its refusal message. */
function columnDdl(table: string, col: string, c: ColumnSpec): string {
  let d = `"${col}" ${c.type}`;
  if (c.primaryKey) d += " PRIMARY KEY";
  if (c.notNull && !c.primaryKey) d += " NOT NULL";
  if (c.unique) d += " UNIQUE";
  if (c.default !== undefined) d += ` DEFAULT ${sqlLiteral(c.default)}`;
  if (c.check) d += ` CONSTRAINT "${table}_${col}_check" CHECK (${c.check.sql})`;
  return d;
}

function indexDdl(table: string, index: string, i: IndexSpec): string {
  return `CREATE ${i.unique ? "UNIQUE " : ""}INDEX "${index}" ON "${table}" (${i.columns.map((c) => `"${c}"`).join(", ")})`;
}

/** A scope's canonical form, once its keys and columns are known to exist. */
function checkScope(invariant: string, scope: InvariantScope, tables: Record<string, TableSpec>) {
  const { key } = scope;
  if (key.length === 0) throw new NomosDefinitionError(`scope of invariant "${invariant}" names no key columns`);
  for (const k of key) ident(`key column of invariant "${invariant}"`, k);
  const entries = Object.entries(scope.tables).filter((e): e is [string, readonly string[]] => e[1] !== undefined);
  if (entries.length === 0) throw new NomosDefinitionError(`scope of invariant "${invariant}" names no tables`);
  for (const [table, columns] of entries) {
    const t = tables[table];
    if (!t) throw new NomosDefinitionError(`scope of invariant "${invariant}" names unknown table "${table}"`);
    if (columns.length !== key.length) {
      throw new NomosDefinitionError(`scope of invariant "${invariant}" gives ${columns.length} key columns for "${table}", its key has ${key.length}`);
    }
    for (const c of columns) {
      if (!Object.hasOwn(t.columns, c)) throw new NomosDefinitionError(`scope of invariant "${invariant}" names unknown column "${table}.${c}"`);
    }
  }
  const byName = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : 1);
  const canonical = { key, tables: Object.fromEntries(entries.sort(byName)) };
  const { balance } = scope;
  if (!balance) return canonical;
  if (!Object.hasOwn(scope.tables, balance.over)) throw new NomosDefinitionError(`balance of invariant "${invariant}" is over table "${balance.over}", which its tables do not list`);
  const sum = Object.entries(balance.sum).filter((e): e is [string, string] => e[1] !== undefined);
  // A table left out of the sum could move the invariant without moving the sum.
  for (const [table] of entries) {
    if (!sum.some(([t]) => t === table)) throw new NomosDefinitionError(`balance of invariant "${invariant}" gives no sum for table "${table}"`);
  }
  for (const [table] of sum) {
    if (!Object.hasOwn(scope.tables, table)) throw new NomosDefinitionError(`balance of invariant "${invariant}" sums table "${table}", which its tables do not list`);
  }
  return { ...canonical, balance: { over: balance.over, sum: Object.fromEntries(sum.map(([t, e]): [string, string] => [t, normalizeSql(e)]).sort(byName)) } };
}

/** Declares a Nomos once; everything else (DDL, hashes, messages) is derived from it. */
export function defineNomos<const T extends Record<string, TableSpec>, const V extends number>(spec: NomosSpec<T, V>): Nomos<T, V> {
  if (!Number.isInteger(spec.version) || spec.version < 1) {
    throw new NomosDefinitionError(`version must be a positive integer, got ${spec.version}`);
  }
  // Intents carry the name on the wire, where it may be 1–MAX_NAME_LENGTH characters.
  if (typeof spec.name !== "string" || spec.name.length < 1 || spec.name.length > MAX_NAME_LENGTH) {
    throw new NomosDefinitionError(`Nomos name must be 1–${MAX_NAME_LENGTH} characters, got "${spec.name}"`);
  }
  // What each element's hash covers; hashed on first read (a Sieve's derivation), not at module evaluation.
  const elementValues: [string, unknown][] = [];
  const checkMessages: Record<string, string> = {};
  const ddl: string[] = [];
  const canonicalTables: Record<string, unknown> = {};
  const schemaNames = new Set<string>();
  for (const [table, t] of Object.entries(spec.tables)) {
    ident("table", table);
    const columns = Object.keys(t.columns);
    if (columns.length === 0) throw new NomosDefinitionError(`table "${table}" has no columns`);
    for (const col of columns) ident(`column of "${table}"`, col);
    for (const col of t.primaryKey ?? []) {
      if (!columns.includes(col)) throw new NomosDefinitionError(`primary key of "${table}" names unknown column "${col}"`);
    }
    // SQLite refuses a second primary key only when the DDL runs, on the Attractor's first wake: refuse it here.
    const keyColumns = columns.filter((col) => t.columns[col]!.spec.primaryKey);
    if (t.primaryKey && t.primaryKey.length === 0) throw new NomosDefinitionError(`primary key of "${table}" names no columns`);
    if (keyColumns.length + (t.primaryKey ? 1 : 0) > 1) {
      throw new NomosDefinitionError(`table "${table}" declares more than one primary key; use primaryKey: [...] for a composite key`);
    }
    for (const [index, i] of Object.entries(t.indexes ?? {})) {
      ident("index", index);
      // Tables and indexes share one namespace in SQLite.
      if (schemaNames.has(index) || Object.hasOwn(spec.tables, index)) {
        throw new NomosDefinitionError(`index name "${index}" is already used by another index or table`);
      }
      schemaNames.add(index);
      for (const col of i.columns) {
        if (!columns.includes(col)) throw new NomosDefinitionError(`index "${index}" names unknown column "${table}.${col}"`);
      }
    }
    // Constraint names key the refusal messages, so each must be unique across the Nomos.
    const addCheck = (name: string, message: string) => {
      if (Object.hasOwn(checkMessages, name)) throw new NomosDefinitionError(`check name "${name}" is used twice`);
      checkMessages[name] = message;
    };
    for (const [check, c] of Object.entries(t.checks ?? {})) addCheck(ident("check", check), c.message);
    for (const [col, c] of Object.entries(t.columns)) {
      if (c.spec.check) addCheck(`${table}_${col}_check`, c.spec.check.message);
      elementValues.push([`column:${table}.${col}`, canonicalColumn(c.spec)]);
    }
    const tableLevel = canonicalTableLevel(t);
    canonicalTables[table] = {
      ...tableLevel,
      columns: Object.fromEntries(Object.entries(t.columns).map(([k, c]) => [k, canonicalColumn(c.spec)])),
    };
    elementValues.push([`table:${table}`, tableLevel], [`shape:${table}`, [...columns].sort()]);
    ddl.push(...tableDdl(table, t));
  }
  const invariants = spec.invariants ?? {};
  const canonicalInvariants: Record<string, unknown> = {};
  for (const [name, inv] of Object.entries(invariants)) {
    ident("invariant", name);
    const violations = normalizeSql(inv.violations);
    // The element is what the invariant asserts (a Sieve names it); its scope is how it is checked,
    // which the law's hash covers. Unscoped invariants hash as they always did.
    elementValues.push([`invariant:${name}`, violations]);
    canonicalInvariants[name] = inv.scope ? { violations, scope: checkScope(name, inv.scope, spec.tables) } : violations;
  }
  // Hashed on first read, like the elements, and not at all when the law's generated footprints
  // were registered with this text (see registerFootprints): a Worker runs no SHA-256 for its law.
  const canonical = canonicalJson({ name: spec.name, tables: canonicalTables, invariants: canonicalInvariants });
  let hash: string | undefined;
  let elements: Readonly<Record<ElementKey, string>> | undefined;
  const nomos = Object.freeze({
    name: spec.name,
    version: spec.version,
    get hash(): string {
      return (hash ??= registeredLawHash(canonical) ?? sha256Hex(canonical));
    },
    tables: spec.tables,
    invariants,
    // One SHA-256 per table, column and invariant: a Worker that only routes to its Durable Objects never reads them.
    get elements(): Readonly<Record<ElementKey, string>> {
      return (elements ??= Object.freeze(Object.fromEntries(elementValues.map(([key, value]) => [key, contentHash(value)]))) as Record<ElementKey, string>);
    },
    ddl: Object.freeze(ddl),
    checkMessages: Object.freeze(checkMessages),
  });
  setLawText(nomos, canonical);
  // Without the SQL parser (in a Worker) and before the law's generated footprints are registered,
  // the invariants are read when a vocabulary of this Nomos is defined.
  if (footprintsAvailable(nomos)) checkInvariants(nomos);
  return nomos;
}

/** Reads every invariant's violations query as a Sieve will (see checkViolations). */
export function checkInvariants(nomos: Nomos): void {
  for (const [name, inv] of Object.entries(nomos.invariants)) checkViolations(nomos, name, inv);
}

/** Reads an invariant's violations query as a Sieve will; a scope must list every table it reads, or a write there would go unchecked. */
function checkViolations(nomos: Nomos, name: string, invariant: InvariantSpec): void {
  let tables: ReadonlySet<string>;
  try {
    tables = statementFootprint(nomos, invariant.violations).tables;
  } catch (error) {
    if (error instanceof SieveDerivationError) throw new NomosDefinitionError(`invariant "${name}": ${error.message}`, { cause: error });
    throw error;
  }
  const { scope } = invariant;
  for (const t of scope ? tables : []) {
    if (!scope!.tables[t]) throw new NomosDefinitionError(`invariant "${name}" reads table "${t}", which its scope does not list: a write there would not be checked`);
  }
}
