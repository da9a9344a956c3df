import { SieveDerivationError } from "./error.js";
import { emptyFootprint, type Footprint, type Schema } from "./table.js";
import { type Node, offsetOfName, readStatement, type Upsert } from "./read.js";

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
  /** Result-column aliases of the SELECTs around: SQLite lets WHERE, GROUP BY, HAVING and ORDER BY name them. */
  aliases: ReadonlySet<string>;
}


const STATEMENTS = new Set(["select", "insert", "replace", "update", "delete"]);
const baseOf = (s: Source | undefined): string | undefined => (s && "table" in s ? s.table : undefined);
/** Every table has these, naming its rowid, unless it declares a column of that name. */
const ROWID = new Set(["rowid", "oid", "_rowid_"]);
const JSON_TABLE = new Set(["key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root"]);
/** The table-valued functions a FROM clause may call, with their columns (hidden ones included). */
const TABLE_FUNCTIONS: Readonly<Record<string, ReadonlySet<string>>> = { json_each: JSON_TABLE, json_tree: JSON_TABLE };
// SQLite's names are case-insensitive; a Nomos declares them in lower case.
const lower = (name: string) => name.toLowerCase();

/**
 * Derives a statement's footprint from the SQL itself: a real SQLite-dialect parser gives the
 * syntax tree, and column references are resolved the way SQLite does, innermost scope first.
 * A name that is an output of a derived table or WITH clause is left out: it was counted where
 * it was defined. A name that resolves nowhere is an error, as SQLite's "no such column" is.
 */
export function deriveFootprint(nomos: Schema, sql: string): Footprint {
  const ast = readStatement(sql);
  /** Throws; with a name, the error points at where it first stands. */
  const fail = (problem: string, name?: string): never => {
    throw new SieveDerivationError(problem, sql, name === undefined ? undefined : offsetOfName(sql, name));
  };
  const fp = emptyFootprint();
  const hasColumn = (table: string, column: string) => Object.hasOwn(nomos.tables[table]!.columns, column);
  const addColumn = (table: string, column: string) => {
    if (hasColumn(table, column)) fp.columns.add(`${table}.${column}`);
    else if (!ROWID.has(column)) fail(`table "${table}" has no column "${column}" in Nomos ${nomos.name} v${nomos.version}`, column);
  };
  const allColumns = (table: string) => {
    for (const c of Object.keys(nomos.tables[table]!.columns)) fp.columns.add(`${table}.${c}`);
  };

  const baseTable = (name: string): string => {
    if (!Object.hasOwn(nomos.tables, name)) fail(`SQL names table "${name}", which Nomos ${nomos.name} v${nomos.version} does not declare`, name);
    fp.tables.add(name);
    return name;
  };

  const columnName = (c: unknown): string | undefined => {
    const name = typeof c === "string" ? c : ((c as Node | undefined)?.expr as Node | undefined)?.value;
    return typeof name === "string" ? lower(name) : undefined;
  };

  /** Adds the column a reference names: the nearest scope that has it decides, as in SQLite. */
  const resolve = (qualifier: string | undefined, column: string, ctx: Context, quoted: boolean): void => {
    // A source whose columns are not known (a derived table of `*`) may hold any name.
    let unknown = false;
    for (let i = ctx.scopes.length - 1; i >= 0; i--) {
      const scope = ctx.scopes[i]!;
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
        const outputs = table ? undefined : (source as { outputs: ReadonlySet<string> | undefined }).outputs;
        if (!table && !outputs) unknown = true;
        if (table ? hasColumn(table, column) : outputs?.has(column)) {
          if (table) addColumn(table, column);
          found = true;
        }
      }
      if (found) return;
    }
    if (qualifier !== undefined) return void fail(`SQL names "${qualifier}.${column}", but no table or alias "${qualifier}" is in scope there`, qualifier);
    // SQLite reads "x" as a string when no column x is in scope.
    if (quoted || unknown || ROWID.has(column) || ctx.aliases.has(column)) return;
    fail(`SQL names column "${column}", which no table in scope has in Nomos ${nomos.name} v${nomos.version}`, column);
  };

  const visit = (node: unknown, ctx: Context): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, ctx));
    if (node === null || typeof node !== "object") return;
    const n = node as Node;
    if (n.type === "column_ref") {
      const column = columnName(n.column);
      if (column !== undefined) resolve(typeof n.table === "string" ? lower(n.table) : undefined, column, ctx, false);
      return;
    }
    // SQLite reads "x" as a column when one is in scope, else as a string: the parser always says string.
    if (n.type === "double_quote_string" && typeof n.value === "string") return resolve(undefined, lower(n.value), ctx, true);
    if (typeof n.type === "string" && STATEMENTS.has(n.type)) return statement(n, ctx);
    for (const [key, value] of Object.entries(n)) if (key !== "tableList" && key !== "columnList") visit(value, ctx);
  };

  /** The output column names of a SELECT, or undefined when it has a `*`. */
  const outputsOf = (select: Node): Set<string> | undefined => {
    const names = new Set<string>();
    for (const c of (Array.isArray(select.columns) ? select.columns : []) as Node[]) {
      const expr = c.expr as Node | undefined;
      const name = typeof c.as === "string" ? lower(c.as) : expr?.type === "column_ref" ? columnName(expr.column) : undefined;
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
      const alias = typeof item.as === "string" ? lower(item.as) : undefined;
      // The parser reads `a NATURAL JOIN b` as `a AS NATURAL` cross-joined with `b`: refuse it rather than miss its columns.
      if (alias === "natural") fail("NATURAL JOIN is not supported: name the join columns with USING or ON", "natural");
      const expr = item.expr as Node | undefined;
      let source: Source | undefined;
      if (typeof item.table === "string") {
        const name = lower(item.table);
        source = !item.db && ctx.ctes.has(name) ? { outputs: ctx.ctes.get(name) } : { table: baseTable(name) };
        scope.set(name, source);
      } else if (expr?.type === "function") {
        // A table-valued function: its arguments may name the tables before it (`FROM t, json_each(t.tags)`).
        const name = lower(String((((expr.name as Node | undefined)?.name as Node[] | undefined)?.[0] as Node | undefined)?.value ?? ""));
        const columns = TABLE_FUNCTIONS[name];
        if (!columns) fail(`table-valued function "${name}" is not supported in FROM (json_each and json_tree are)`, name);
        visit(expr.args, { ...ctx, scopes: [...ctx.scopes, scope] });
        source = { outputs: columns };
        scope.set(name, source);
      } else if (expr) {
        visit(expr, ctx);
        const select = selectOf(expr);
        source = { outputs: select ? outputsOf(select) : undefined };
        scope.set(`(derived ${scope.size})`, source);
      }
      if (source && alias) scope.set(alias, source);
      // JOIN … USING (c) compares c of this table with c of the tables joined before it: the joined one must have it.
      for (const u of (Array.isArray(item.using) ? item.using : []) as unknown[]) {
        const name = columnName(typeof u === "string" ? u : { expr: u });
        if (name === undefined) continue;
        for (const s of new Set(scope.values())) {
          const table = baseOf(s);
          if (table && (s === source || hasColumn(table, name))) addColumn(table, name);
        }
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
      const name = lower(typeof def.name === "string" ? def.name : String((def.name as Node).value));
      const declared = Array.isArray(def.columns) ? (def.columns as Node[]).map((c) => (c.type === "column_ref" ? columnName(c.column) : columnName(c))) : undefined;
      const select = selectOf(def.stmt);
      ctes.set(name, declared ? new Set(declared.filter((c): c is string => c !== undefined)) : select ? outputsOf(select) : undefined);
    }
    const inner = { ...ctx, ctes };
    for (const def of defs) visit(def.stmt, inner);
    return inner;
  };

  /** SET assignments: each names a column of the target tables; its value sees `inner`. */
  const assignments = (sets: unknown, tables: readonly string[], inner: Context) => {
    for (const set of (sets as Node[] | null | undefined) ?? []) {
      const name = columnName(set.column);
      for (const t of tables) if (name !== undefined) addColumn(t, name);
      visit(set.value, inner);
    }
  };

  const statement = (n: Node, outer: Context) => {
    const type = n.type as string;
    const ctx = withCtes(n, outer);
    if (type === "select") {
      const scope = fromScope(n.from, ctx);
      const aliases = new Set(ctx.aliases);
      for (const c of (Array.isArray(n.columns) ? n.columns : []) as Node[]) if (typeof c.as === "string") aliases.add(lower(c.as));
      const inner = { ...ctx, scopes: [...ctx.scopes, scope], aliases };
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
      // An upsert's target and DO UPDATE see the target table, and `excluded`: the row that was to be inserted.
      for (const upsert of (n.upserts as Upsert[] | undefined) ?? []) {
        const table = tables[0] ?? fail("an upsert must insert into a table of the Nomos");
        const source: Source = { table };
        const scoped = { ...ctx, scopes: [...ctx.scopes, new Map([[table, source], ["excluded", source]])] };
        visit(upsert.target?.columns, scoped);
        visit(upsert.target?.where, scoped);
        assignments(upsert.set, [table], scoped);
        visit(upsert.where, scoped);
      }
      return;
    }
    if (type === "update") assignments(n.set, tables, inner);
    visit(n.where, inner);
    visit(n.returning, inner);
  };

  visit(ast, { scopes: [], ctes: new Map(), aliases: new Set() });
  return fp;
}
