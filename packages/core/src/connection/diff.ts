import { normalizeSql } from "../canonical/index.js";
import type { ColumnSpec, IndexSpec, InvariantScope, Nomos, TableSpec } from "../nomos/index.js";
import type { Vocabulary } from "../intent/index.js";
import { operationHash, tablesOfInvariants } from "../sieve/index.js";

/** How a law's change bears on an Intent: Flat (runs as is), Curved (must be reforged), Critical (must not run). */
export type ConnectionType = "Flat" | "Curved" | "Critical";

/** What changed about one element of the schema between two laws. */
export type ChangeKind =
  | "table_added"
  | "table_dropped"
  | "table_renamed"
  | "column_added"
  | "column_dropped"
  | "column_renamed"
  | "column_retyped"
  | "constraint_tightened"
  | "constraint_loosened"
  | "default_changed"
  | "index_added"
  | "index_dropped"
  | "invariant_added"
  | "invariant_changed"
  | "invariant_scoped"
  | "invariant_dropped"
  | "operation_added"
  | "operation_changed"
  | "operation_dropped"
  | "critical";

/** One change of the schema between two laws: the element, what happened to it, and the Connection type it makes. */
export interface Change {
  /** The element in the old law's terms (`table:T`, `column:T.c`, …), or in the new one's when added. */
  element: string;
  kind: ChangeKind;
  detail: string;
  /** What the change means for an Intent it affects. */
  effect: ConnectionType;
  /** Sieve keys (old law) that make an Intent affected; empty for a change that affects none. */
  affects: string[];
}

/** Author's declarations a structural diff cannot infer. */
export interface EvolutionHints {
  /** Renamed tables (old → new) and columns (`"table.old"` → new column name, table in old terms). */
  renames?: { tables?: Record<string, string>; columns?: Record<string, string> };
  /**
   * Marks the evolution as one that must stop old Intents at once (a security or legal fix): every
   * Intent, or with `operations` only those that name one of them (the others keep their Connection).
   */
  critical?: { reason: string; operations?: readonly string[] };
}

const sameColumn = (a: ColumnSpec, b: ColumnSpec) =>
  a.type === b.type &&
  a.notNull === b.notNull &&
  a.primaryKey === b.primaryKey &&
  a.unique === b.unique &&
  (a.default ?? null) === (b.default ?? null) &&
  normalizeSql(a.check?.sql ?? "") === normalizeSql(b.check?.sql ?? "");

function diffColumn(table: string, col: string, newName: string, a: ColumnSpec, b: ColumnSpec): Change[] {
  const el = `column:${table}.${col}`;
  const out: Change[] = [];
  const push = (kind: ChangeKind, detail: string, effect: ConnectionType, affects: string[]) => out.push({ element: el, kind, detail, effect, affects });
  if (col !== newName) push("column_renamed", `${table}.${col} is now ${newName}`, "Curved", [el]);
  if (a.type !== b.type) push("column_retyped", `${a.type} → ${b.type}`, "Curved", [el]);
  if (!a.notNull && b.notNull) push("constraint_tightened", "NOT NULL added", "Curved", [el, `shape:${table}`]);
  if (a.notNull && !b.notNull) push("constraint_loosened", "NOT NULL removed", "Flat", []);
  if (!a.unique && b.unique) push("constraint_tightened", "UNIQUE added", "Curved", [el]);
  if (a.unique && !b.unique) push("constraint_loosened", "UNIQUE removed", "Flat", []);
  if (a.primaryKey !== b.primaryKey) push("constraint_tightened", `PRIMARY KEY ${b.primaryKey ? "added" : "removed"}`, "Curved", [el, `write:${table}`]);
  const [ca, cb] = [normalizeSql(a.check?.sql ?? ""), normalizeSql(b.check?.sql ?? "")];
  if (ca !== cb) {
    if (cb === "") push("constraint_loosened", `CHECK (${ca}) removed`, "Flat", []);
    else push("constraint_tightened", ca === "" ? `CHECK (${cb}) added` : `CHECK (${ca}) → (${cb})`, "Curved", [el]);
  }
  if ((a.default ?? null) !== (b.default ?? null)) {
    // Only INSERTs that omit the column see a default.
    push("default_changed", `DEFAULT ${JSON.stringify(a.default ?? null)} → ${JSON.stringify(b.default ?? null)}`, "Curved", [`shape:${table}`]);
  }
  return out;
}

function diffTableLevel(table: string, a: TableSpec, b: TableSpec, columnMap: (c: string) => string): Change[] {
  const out: Change[] = [];
  const el = `table:${table}`;
  const pkA = (a.primaryKey ?? []).map(columnMap).join(",");
  const pkB = (b.primaryKey ?? []).join(",");
  if (pkA !== pkB) out.push({ element: el, kind: "constraint_tightened", detail: `PRIMARY KEY (${pkA}) → (${pkB})`, effect: "Curved", affects: [`write:${table}`] });
  const checksA = a.checks ?? {};
  const checksB = b.checks ?? {};
  for (const name of new Set([...Object.keys(checksA), ...Object.keys(checksB)])) {
    const sa = checksA[name] ? normalizeSql(checksA[name].sql) : "";
    const sb = checksB[name] ? normalizeSql(checksB[name].sql) : "";
    if (sa === sb) continue;
    if (sb === "") out.push({ element: el, kind: "constraint_loosened", detail: `CHECK ${name} removed`, effect: "Flat", affects: [] });
    else out.push({ element: el, kind: "constraint_tightened", detail: sa === "" ? `CHECK ${name} (${sb}) added` : `CHECK ${name} (${sa}) → (${sb})`, effect: "Curved", affects: [`write:${table}`] });
  }
  const idxA = a.indexes ?? {};
  const idxB = b.indexes ?? {};
  const key = (i: IndexSpec | undefined, map: (c: string) => string) => (i ? `${i.unique ? "UNIQUE " : ""}(${i.columns.map(map).join(",")})` : "");
  for (const name of new Set([...Object.keys(idxA), ...Object.keys(idxB)])) {
    const [ia, ib] = [idxA[name], idxB[name]];
    const [before, after] = [key(ia, columnMap), key(ib, (c) => c)];
    if (before === after) continue;
    const push = (kind: ChangeKind, detail: string, effect: ConnectionType) =>
      out.push({ element: el, kind, detail, effect, affects: effect === "Flat" ? [] : [`write:${table}`] });
    // A new or changed UNIQUE index can refuse a write the old law accepted; any other index change cannot.
    if (ib?.unique) push("constraint_tightened", `UNIQUE index ${name} ${after}`, "Curved");
    else if (ia?.unique) push("constraint_loosened", ib ? `index ${name} ${before} → ${after}` : `UNIQUE index ${name} dropped`, "Flat");
    else if (!ib) push("index_dropped", `index ${name} dropped`, "Flat");
    else push("index_added", ia ? `index ${name} ${before} → ${after}` : `index ${name} ${after}`, "Flat");
  }
  return out;
}

const scopeText = (scope: InvariantScope | undefined) =>
  scope
    ? `per (${scope.key.join(", ")}) of ${Object.entries(scope.tables)
        .map(([t, cols]) => `${t}(${(cols ?? []).join(", ")})`)
        .sort()
        .join(", ")}`
    : "in full";

/**
 * The structural diff between two laws, each change classified by what it does to an
 * Intent that depends on it. Renames come from hints; without them a rename is a drop
 * plus an add.
 */
export function diffNomos(from: Nomos, to: Nomos, hints: EvolutionHints = {}): Change[] {
  const changes: Change[] = [];
  const tableRenames = hints.renames?.tables ?? {};
  const columnRenames = hints.renames?.columns ?? {};
  const newTableName = (t: string) => tableRenames[t] ?? t;
  const seenNew = new Set<string>();
  for (const [table, a] of Object.entries(from.tables)) {
    const target = newTableName(table);
    const b = to.tables[target];
    if (!b) {
      changes.push({ element: `table:${table}`, kind: "table_dropped", detail: `table ${table} dropped`, effect: "Curved", affects: [`table:${table}`] });
      continue;
    }
    seenNew.add(target);
    if (target !== table) {
      changes.push({ element: `table:${table}`, kind: "table_renamed", detail: `table ${table} is now ${target}`, effect: "Curved", affects: [`table:${table}`] });
    }
    const newColumnName = (c: string) => columnRenames[`${table}.${c}`] ?? c;
    const seenCols = new Set<string>();
    for (const [col, ca] of Object.entries(a.columns)) {
      const nc = newColumnName(col);
      const cb = b.columns[nc];
      if (!cb) {
        changes.push({ element: `column:${table}.${col}`, kind: "column_dropped", detail: `column ${table}.${col} dropped`, effect: "Curved", affects: [`column:${table}.${col}`] });
        continue;
      }
      seenCols.add(nc);
      if (nc !== col || !sameColumn(ca.spec, cb.spec)) changes.push(...diffColumn(table, col, nc, ca.spec, cb.spec));
    }
    for (const [col, cb] of Object.entries(b.columns)) {
      if (seenCols.has(col)) continue;
      // An old INSERT does not name the new column: it fails if the column requires a value, or
      // (UNIQUE with a default) from its second row on, when every such row gets the same value.
      const { notNull, unique, default: fill } = cb.spec;
      const why = notNull && fill === undefined ? "NOT NULL without a default" : unique && fill !== undefined && fill !== null ? "UNIQUE with a default" : undefined;
      changes.push({
        element: `column:${target}.${col}`,
        kind: "column_added",
        detail: why ? `column ${target}.${col} added, ${why}` : `column ${target}.${col} added`,
        effect: why ? "Curved" : "Flat",
        affects: why ? [`shape:${table}`] : [],
      });
    }
    changes.push(...diffTableLevel(table, a, b, newColumnName));
  }
  for (const table of Object.keys(to.tables)) {
    if (!seenNew.has(table)) changes.push({ element: `table:${table}`, kind: "table_added", detail: `table ${table} added`, effect: "Flat", affects: [] });
  }
  // An invariant matters to Intents that write a table it reads: only they can break it.
  const writesOf = (tables: Set<string>, renamed: boolean) => {
    const back = Object.fromEntries(Object.entries(tableRenames).map(([o, n]) => [n, o]));
    return [...tables].map((t) => `write:${renamed ? (back[t] ?? t) : t}`);
  };
  const invTo = tablesOfInvariants(to);
  for (const [name, inv] of Object.entries(to.invariants)) {
    const old = from.invariants[name];
    const affects = writesOf(invTo.get(name)!, true);
    if (!old) changes.push({ element: `invariant:${name}`, kind: "invariant_added", detail: inv.message, effect: "Curved", affects });
    else if (normalizeSql(old.violations) !== normalizeSql(inv.violations)) {
      changes.push({ element: `invariant:${name}`, kind: "invariant_changed", detail: inv.message, effect: "Curved", affects: [`invariant:${name}`, ...affects] });
    } else if (scopeText(old.scope) !== scopeText(inv.scope)) {
      // A scope says where the invariant is checked, not what it asserts: it refuses exactly the
      // Intents it refused before (given it held before them), so no Intent is affected.
      changes.push({ element: `invariant:${name}`, kind: "invariant_scoped", detail: `checked ${scopeText(old.scope)} → ${scopeText(inv.scope)}`, effect: "Flat", affects: [] });
    }
  }
  for (const name of Object.keys(from.invariants)) {
    if (!to.invariants[name]) {
      changes.push({ element: `invariant:${name}`, kind: "invariant_dropped", detail: `invariant ${name} dropped`, effect: "Flat", affects: [] });
    }
  }
  if (hints.critical) {
    const { reason, operations } = hints.critical;
    changes.push({ element: "nomos", kind: "critical", detail: reason, effect: "Critical", affects: operations?.map((op) => `op:${op}`) ?? [] });
  }
  return changes;
}

/** Operation-level changes: an Intent names operations, so their definitions are part of its law. */
export function diffVocabulary(from: Vocabulary, to: Vocabulary): Change[] {
  const changes: Change[] = [];
  for (const [name, op] of Object.entries(from.operations)) {
    const next = to.operations[name];
    const el = `op:${name}`;
    if (!next) changes.push({ element: el, kind: "operation_dropped", detail: `operation ${name} dropped`, effect: "Curved", affects: [el] });
    else if (operationHash(op) !== operationHash(next)) {
      changes.push({ element: el, kind: "operation_changed", detail: `operation ${name} changed (arguments, SQL or bindings)`, effect: "Curved", affects: [el] });
    }
  }
  for (const name of Object.keys(to.operations)) {
    if (!from.operations[name]) changes.push({ element: `op:${name}`, kind: "operation_added", detail: `operation ${name} added`, effect: "Flat", affects: [] });
  }
  return changes;
}
