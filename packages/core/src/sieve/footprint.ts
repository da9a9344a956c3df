import * as sqliteBuild from "node-sql-parser/build/sqlite.js";
import type { Nomos } from "../nomos/index.js";

type ParserClass = typeof sqliteBuild.Parser;
// The build is CommonJS: bundlers expose it as named exports, Node's ESM loader as `default`.
const build = sqliteBuild as unknown as { Parser?: ParserClass; default?: { Parser: ParserClass } };
const Parser: ParserClass = build.Parser ?? build.default!.Parser;
const parser = new Parser();
const OPTIONS = { database: "sqlite" } as const;

/** What one SQL statement touches, in the vocabulary of a Nomos. */
export interface Footprint {
  /** Every table read or written. */
  tables: Set<string>;
  /** Every `table.column` named, read or written. */
  columns: Set<string>;
  /** Tables written by INSERT, UPDATE or DELETE. */
  writes: Set<string>;
  /** Tables written by INSERT: they depend on the table's whole set of columns. */
  inserts: Set<string>;
}

export class SieveDerivationError extends Error {
  override name = "SieveDerivationError";
}

export const emptyFootprint = (): Footprint => ({ tables: new Set(), columns: new Set(), writes: new Set(), inserts: new Set() });

type Node = Record<string, unknown>;
/** One level of name resolution: alias or table name → base table, or null for a derived table. */
type Scope = Map<string, string | null>;

const STATEMENTS = new Set(["select", "insert", "replace", "update", "delete"]);

/**
 * Derives a statement's footprint from the SQL itself: a real SQLite-dialect parser gives the
 * syntax tree, and column references are resolved the way SQLite does, innermost scope first.
 * A name that is no column of any table in scope (an alias, a derived table's output) is left
 * out: it was counted where it was defined.
 */
export function statementFootprint(nomos: Nomos, sql: string): Footprint {
  let ast: unknown;
  try {
    ast = parser.astify(sql, OPTIONS);
  } catch (error) {
    throw new SieveDerivationError(`cannot parse SQL to derive its Sieve: ${(error as Error).message.split("\n")[0]}\n  in: ${sql}`);
  }
  const fp = emptyFootprint();
  const hasColumn = (table: string, column: string) => Object.hasOwn(nomos.tables[table]!.columns, column);
  const allColumns = (table: string) => {
    for (const c of Object.keys(nomos.tables[table]!.columns)) fp.columns.add(`${table}.${c}`);
  };

  const baseTable = (name: string): string => {
    if (!Object.hasOwn(nomos.tables, name)) {
      throw new SieveDerivationError(`SQL names table "${name}", which Nomos ${nomos.name} v${nomos.version} does not declare\n  in: ${sql}`);
    }
    fp.tables.add(name);
    return name;
  };

  const columnName = (c: unknown): string | undefined =>
    typeof c === "string" ? c : ((c as Node | undefined)?.expr as Node | undefined)?.value as string | undefined;

  const resolve = (ref: Node, scopes: Scope[]) => {
    const column = columnName(ref.column);
    if (column === undefined) return;
    const qualifier = typeof ref.table === "string" ? ref.table : undefined;
    for (let i = scopes.length - 1; i >= 0; i--) {
      const scope = scopes[i]!;
      if (qualifier !== undefined) {
        if (!scope.has(qualifier)) continue;
        const table = scope.get(qualifier);
        if (table && column === "*") allColumns(table);
        else if (table && hasColumn(table, column)) fp.columns.add(`${table}.${column}`);
        return;
      }
      if (column === "*") {
        for (const table of scope.values()) if (table) allColumns(table);
        return;
      }
      const match = [...new Set(scope.values())].filter((t): t is string => t !== null && hasColumn(t, column));
      if (match.length > 0) {
        for (const t of match) fp.columns.add(`${t}.${column}`);
        return;
      }
    }
  };

  const visit = (node: unknown, scopes: Scope[]): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, scopes));
    if (node === null || typeof node !== "object") return;
    const n = node as Node;
    if (n.type === "column_ref") return resolve(n, scopes);
    if (typeof n.type === "string" && STATEMENTS.has(n.type)) return statement(n, scopes);
    for (const [key, value] of Object.entries(n)) if (key !== "tableList" && key !== "columnList") visit(value, scopes);
  };

  const fromScope = (items: unknown, scopes: Scope[]): Scope => {
    const scope: Scope = new Map();
    for (const item of (Array.isArray(items) ? items : []) as Node[]) {
      if (typeof item.table === "string") {
        const table = baseTable(item.table);
        scope.set(table, table);
        if (typeof item.as === "string") scope.set(item.as, table);
      } else if (item.expr) {
        visit(item.expr, scopes);
        scope.set(typeof item.as === "string" ? item.as : `(derived ${scope.size})`, null);
      }
    }
    // JOIN ... ON sees every table of the FROM clause.
    for (const item of (Array.isArray(items) ? items : []) as Node[]) if (item.on) visit(item.on, [...scopes, scope]);
    return scope;
  };

  const statement = (n: Node, outer: Scope[]) => {
    const type = n.type as string;
    if (type === "select") {
      const scope = fromScope(n.from, outer);
      for (const [key, value] of Object.entries(n)) if (key !== "from" && key !== "type") visit(value, [...outer, scope]);
      return;
    }
    const target = fromScope(type === "delete" ? (n.from ?? n.table) : n.table, outer);
    const tables = [...new Set(target.values())].filter((t): t is string => t !== null);
    for (const t of tables) fp.writes.add(t);
    const inner = [...outer, target];
    if (type === "insert" || type === "replace") {
      for (const t of tables) fp.inserts.add(t);
      for (const c of (n.columns as unknown[] | undefined) ?? []) {
        const name = columnName(c);
        for (const t of tables) if (name !== undefined && hasColumn(t, name)) fp.columns.add(`${t}.${name}`);
      }
      // VALUES and INSERT ... SELECT do not see the target table; RETURNING does.
      visit(n.values, outer);
      visit(n.returning, inner);
      return;
    }
    if (type === "update") {
      for (const set of (n.set as Node[] | undefined) ?? []) {
        const name = columnName(set.column);
        for (const t of tables) if (name !== undefined && hasColumn(t, name)) fp.columns.add(`${t}.${name}`);
        visit(set.value, inner);
      }
    }
    visit(n.where, inner);
    visit(n.returning, inner);
  };

  visit(ast, []);
  return fp;
}

export function mergeFootprints(into: Footprint, from: Footprint): Footprint {
  for (const key of ["tables", "columns", "writes", "inserts"] as const) for (const v of from[key]) into[key].add(v);
  return into;
}
