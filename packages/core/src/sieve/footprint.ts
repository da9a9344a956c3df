import * as sqliteBuild from "node-sql-parser/build/sqlite.js";
import type { Nomos } from "../nomos/index.js";

type ParserClass = typeof sqliteBuild.Parser;
// The build is CommonJS: bundlers expose it as named exports, Node's ESM loader as `default`.
const build = sqliteBuild as unknown as { Parser?: ParserClass; default?: { Parser: ParserClass } };
let parser: InstanceType<ParserClass> | undefined;

/** The SQL parser, built on the first Sieve derivation: building it costs startup time that code only building Intents never needs. */
function sqlParser(): InstanceType<ParserClass> {
  return (parser ??= new (build.Parser ?? build.default!.Parser)());
}

/** Whether a Sieve derivation has built the SQL parser yet (for tests of lazy loading). */
export const sqlParserBuilt = (): boolean => parser !== undefined;
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
/**
 * What a name in a FROM clause stands for: a base table, or a derived table or common table
 * expression with its output column names (undefined when they are not known, as for `*`).
 */
type Source = { table: string } | { outputs: ReadonlySet<string> | undefined };
/** One level of name resolution: alias or table name → source. */
type Scope = Map<string, Source>;
/** What an expression sees: the scopes around it (innermost last) and the WITH names in force. */
interface Context {
  scopes: Scope[];
  ctes: ReadonlyMap<string, ReadonlySet<string> | undefined>;
}

const STATEMENTS = new Set(["select", "insert", "replace", "update", "delete"]);
const baseOf = (s: Source | undefined): string | undefined => (s && "table" in s ? s.table : undefined);

/** Words outside quotes, comments and parentheses, with their offsets: enough to find clause keywords. */
function topLevelWords(sql: string): { word: string; start: number; end: number }[] {
  const out: { word: string; start: number; end: number }[] = [];
  let depth = 0;
  for (let i = 0; i < sql.length; ) {
    const ch = sql[i]!;
    const close = ch === "'" || ch === '"' || ch === "`" ? ch : ch === "[" ? "]" : undefined;
    const skipTo = (end: number, width: number) => (end < 0 ? sql.length : end + width);
    if (close) i = skipTo(sql.indexOf(close, i + 1), 1);
    else if (sql.startsWith("--", i)) i = skipTo(sql.indexOf("\n", i), 1);
    else if (sql.startsWith("/*", i)) i = skipTo(sql.indexOf("*/", i + 2), 2);
    else if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[\w$]/.test(sql[j]!)) j++;
      if (depth === 0) out.push({ word: sql.slice(i, j).toUpperCase(), start: i, end: j });
      i = j;
    } else {
      if (ch === "(") depth++;
      else if (ch === ")") depth--;
      i++;
    }
  }
  return out;
}

interface UpsertClause {
  /** `(columns) [WHERE expr]`, or empty. */
  target: string;
  /** `NOTHING` or `UPDATE SET … [WHERE …]`. */
  action: string;
}

/**
 * node-sql-parser's SQLite grammar has no upsert clause (INSERT … ON CONFLICT … DO …), so it
 * is cut out here and its parts are parsed on their own: the INSERT (with its RETURNING),
 * and per clause the conflict target and the DO UPDATE assignments.
 */
function splitUpsert(sql: string): { main: string; upserts: UpsertClause[] } {
  const words = topLevelWords(sql);
  if (words[0]?.word !== "INSERT" && words[0]?.word !== "REPLACE") return { main: sql, upserts: [] };
  const starts = words.flatMap((w, i) => (w.word === "ON" && words[i + 1]?.word === "CONFLICT" ? [i] : []));
  if (starts.length === 0) return { main: sql, upserts: [] };
  const first = words[starts[0]!]!.start;
  const returning = words.find((w) => w.word === "RETURNING" && w.start > first);
  const end = returning?.start ?? sql.length;
  const upserts = starts.map((i, k) => {
    const from = words[i + 1]!.end;
    const to = k + 1 < starts.length ? words[starts[k + 1]!]!.start : end;
    const action = words.find((w) => w.word === "DO" && w.start > from && w.start < to);
    if (!action) throw new SieveDerivationError(`cannot parse SQL to derive its Sieve: ON CONFLICT without DO\n  in: ${sql}`);
    return { target: sql.slice(from, action.start).trim(), action: sql.slice(action.end, to).trim() };
  });
  return { main: sql.slice(0, first) + (returning ? sql.slice(returning.start) : ""), upserts };
}

/**
 * Derives a statement's footprint from the SQL itself: a real SQLite-dialect parser gives the
 * syntax tree, and column references are resolved the way SQLite does, innermost scope first.
 * A name that is an output of a derived table or WITH clause (or no column at all) is left out:
 * it was counted where it was defined.
 */
export function statementFootprint(nomos: Nomos, sql: string): Footprint {
  const parse = (text: string): Node => {
    try {
      return sqlParser().astify(text, OPTIONS) as unknown as Node;
    } catch (error) {
      throw new SieveDerivationError(`cannot parse SQL to derive its Sieve: ${(error as Error).message.split("\n")[0]}\n  in: ${sql}`);
    }
  };
  const { main, upserts } = splitUpsert(sql);
  const ast = parse(main);
  if (Array.isArray(ast)) throw new SieveDerivationError(`a statement must be one SQL statement\n  in: ${sql}`);

  const fp = emptyFootprint();
  const hasColumn = (table: string, column: string) => Object.hasOwn(nomos.tables[table]!.columns, column);
  const addColumn = (table: string, column: string) => {
    if (hasColumn(table, column)) fp.columns.add(`${table}.${column}`);
  };
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

  /** Adds the column a reference names: the nearest scope that has it decides, as in SQLite. */
  const resolve = (qualifier: string | undefined, column: string, scopes: Scope[]): void => {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const scope = scopes[i]!;
      if (qualifier !== undefined) {
        if (!scope.has(qualifier)) continue;
        const table = baseOf(scope.get(qualifier));
        if (table && column === "*") allColumns(table);
        else if (table) addColumn(table, column);
        return;
      }
      if (column === "*") {
        for (const source of scope.values()) if (baseOf(source)) allColumns(baseOf(source)!);
        return;
      }
      let found = false;
      for (const source of new Set(scope.values())) {
        const table = baseOf(source);
        if (table ? hasColumn(table, column) : (source as { outputs?: ReadonlySet<string> }).outputs?.has(column)) {
          if (table) addColumn(table, column);
          found = true;
        }
      }
      if (found) return;
    }
  };

  const visit = (node: unknown, ctx: Context): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, ctx));
    if (node === null || typeof node !== "object") return;
    const n = node as Node;
    if (n.type === "column_ref") {
      const column = columnName(n.column);
      if (column !== undefined) resolve(typeof n.table === "string" ? n.table : undefined, column, ctx.scopes);
      return;
    }
    // SQLite reads "x" as a column when one is in scope, else as a string: the parser always says string.
    if (n.type === "double_quote_string" && typeof n.value === "string") return resolve(undefined, n.value, ctx.scopes);
    if (typeof n.type === "string" && STATEMENTS.has(n.type)) return statement(n, ctx);
    for (const [key, value] of Object.entries(n)) if (key !== "tableList" && key !== "columnList") visit(value, ctx);
  };

  /** The output column names of a SELECT, or undefined when it has a `*`. */
  const outputsOf = (select: Node): Set<string> | undefined => {
    const names = new Set<string>();
    for (const c of (Array.isArray(select.columns) ? select.columns : []) as Node[]) {
      const expr = c.expr as Node | undefined;
      const name = typeof c.as === "string" ? c.as : expr?.type === "column_ref" ? columnName(expr.column) : undefined;
      if (name === "*") return undefined;
      if (name !== undefined) names.add(name);
    }
    return names;
  };
  const selectOf = (n: unknown): Node | undefined => {
    const node = n as Node | undefined;
    return node?.type === "select" ? node : (node?.ast as Node | undefined)?.type === "select" ? (node!.ast as Node) : undefined;
  };

  const fromScope = (items: unknown, ctx: Context): Scope => {
    const scope: Scope = new Map();
    const list = (Array.isArray(items) ? items : []) as Node[];
    for (const item of list) {
      const alias = typeof item.as === "string" ? item.as : undefined;
      // The parser reads `a NATURAL JOIN b` as `a AS NATURAL` cross-joined with `b`: refuse it rather than miss its columns.
      if (alias?.toUpperCase() === "NATURAL") throw new SieveDerivationError(`NATURAL JOIN is not supported: name the join columns with USING or ON\n  in: ${sql}`);
      if (typeof item.table === "string") {
        const cte = item.db ? undefined : ctx.ctes.has(item.table) ? { outputs: ctx.ctes.get(item.table) } : undefined;
        const source: Source = cte ?? { table: baseTable(item.table) };
        scope.set(item.table, source);
        if (alias) scope.set(alias, source);
      } else if (item.expr) {
        visit(item.expr, ctx);
        const select = selectOf(item.expr);
        scope.set(alias ?? `(derived ${scope.size})`, { outputs: select ? outputsOf(select) : undefined });
      }
      // JOIN … USING (c) compares c of this table with c of the tables joined before it.
      for (const u of (Array.isArray(item.using) ? item.using : []) as unknown[]) {
        const name = typeof u === "string" ? u : (u as Node).value;
        if (typeof name !== "string") continue;
        for (const source of scope.values()) if (baseOf(source)) addColumn(baseOf(source)!, name);
      }
    }
    // JOIN … ON sees every table of the FROM clause.
    for (const item of list) if (item.on) visit(item.on, { ...ctx, scopes: [...ctx.scopes, scope] });
    return scope;
  };

  /** WITH names are visible in their own bodies (recursion) and in the statement they precede. */
  const withCtes = (n: Node, ctx: Context): Context => {
    if (!Array.isArray(n.with) || n.with.length === 0) return ctx;
    const ctes = new Map(ctx.ctes);
    const defs = n.with as Node[];
    for (const def of defs) {
      const name = typeof def.name === "string" ? def.name : String((def.name as Node).value);
      const declared = Array.isArray(def.columns) ? (def.columns as Node[]).map((c) => (c.type === "column_ref" ? columnName(c.column) : columnName(c))) : undefined;
      const select = selectOf(def.stmt);
      ctes.set(name, declared ? new Set(declared.filter((c): c is string => c !== undefined)) : select ? outputsOf(select) : undefined);
    }
    const inner = { ...ctx, ctes };
    for (const def of defs) visit(def.stmt, inner);
    return inner;
  };

  const statement = (n: Node, outer: Context) => {
    const type = n.type as string;
    const ctx = withCtes(n, outer);
    if (type === "select") {
      const scope = fromScope(n.from, ctx);
      const inner = { ...ctx, scopes: [...ctx.scopes, scope] };
      // The other SELECTs of a compound (UNION, …) do not see this one's tables.
      for (const [key, value] of Object.entries(n)) if (key !== "from" && key !== "type" && key !== "with" && key !== "_next") visit(value, inner);
      visit(n._next, outer);
      return;
    }
    const target = fromScope(type === "delete" ? (n.from ?? n.table) : n.table, ctx);
    const tables = [...new Set([...target.values()].map(baseOf))].filter((t): t is string => t !== undefined);
    for (const t of tables) fp.writes.add(t);
    const inner = { ...ctx, scopes: [...ctx.scopes, target] };
    if (type === "insert" || type === "replace") {
      for (const t of tables) fp.inserts.add(t);
      const columns = (n.columns as unknown[] | null | undefined) ?? [];
      // Without a column list, VALUES fill every column in declaration order.
      if (columns.length === 0) tables.forEach(allColumns);
      for (const c of columns) {
        const name = columnName(c);
        for (const t of tables) if (name !== undefined) addColumn(t, name);
      }
      // VALUES and INSERT … SELECT do not see the target table; RETURNING does.
      visit(n.values, ctx);
      visit(n.returning, inner);
      return;
    }
    if (type === "update") {
      for (const set of (n.set as Node[] | undefined) ?? []) {
        const name = columnName(set.column);
        for (const t of tables) if (name !== undefined) addColumn(t, name);
        visit(set.value, inner);
      }
    }
    visit(n.where, inner);
    visit(n.returning, inner);
  };

  const root: Context = { scopes: [], ctes: new Map() };
  visit(ast, root);

  if (upserts.length > 0) {
    // The conflict target and DO UPDATE see the target table, and `excluded`: the row that was to be inserted.
    const table = baseOf([...fromScope(ast.table, root).values()][0]);
    if (!table) throw new SieveDerivationError(`an upsert must insert into a table of the Nomos\n  in: ${sql}`);
    const source: Source = { table };
    const scoped: Context = { ...root, scopes: [new Map([[table, source], ["excluded", source]])] };
    for (const { target, action } of upserts) {
      if (target !== "") {
        const where = topLevelWords(target).find((w) => w.word === "WHERE");
        const columns = target.slice(0, where?.start ?? target.length).trim();
        if (!columns.startsWith("(") || !columns.endsWith(")")) {
          throw new SieveDerivationError(`cannot parse SQL to derive its Sieve: ON CONFLICT target ${columns}\n  in: ${sql}`);
        }
        const select = parse(`SELECT ${columns.slice(1, -1)} FROM ${table}${where ? ` ${target.slice(where.start)}` : ""}`);
        visit(select.columns, scoped);
        visit(select.where, scoped);
      }
      const words = topLevelWords(action);
      if (words[0]?.word === "NOTHING" && words.length === 1) continue;
      if (words[0]?.word !== "UPDATE") throw new SieveDerivationError(`cannot parse SQL to derive its Sieve: ON CONFLICT DO ${action}\n  in: ${sql}`);
      const update = parse(`UPDATE ${table} ${action.slice(words[0].end)}`);
      for (const set of (update.set as Node[] | undefined) ?? []) {
        const name = columnName(set.column);
        if (name !== undefined) addColumn(table, name);
        visit(set.value, scoped);
      }
      visit(update.where, scoped);
    }
  }
  return fp;
}

export function mergeFootprints(into: Footprint, from: Footprint): Footprint {
  for (const key of ["tables", "columns", "writes", "inserts"] as const) for (const v of from[key]) into[key].add(v);
  return into;
}
