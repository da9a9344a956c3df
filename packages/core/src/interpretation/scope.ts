import type { Row, SedimentHost, SqlExecutor, SqlValue } from "../host/index.js";
import type { InvariantScope, InvariantSpec, Nomos } from "../nomos/index.js";
import { issue, type ParseResult } from "../issue/index.js";

/**
 * Scoped invariants: where an Intent wrote, collected from the writes themselves. Each scoped
 * invariant has a key table (`_noema_scope_<invariant>`, shared by invariants without a balance
 * whose scopes mark the same key columns of the same tables) that AFTER INSERT/UPDATE/DELETE
 * triggers on its tables fill with the keys of every row written (an UPDATE that moves a row
 * gives its old and its new key), whatever statement wrote it: a subquery, an upsert, a REPLACE (with
 * recursive_triggers on, its deletes fire too). DO SQLite refuses TEMP tables and triggers, so
 * they live in the main schema, named with Noema's prefix. Each mark is numbered by its rowid,
 * so an Intent's marks are those after the last one checked; they roll back with it when it is
 * refused. Checked marks are deleted now and then, not per Intent, and the newest checked one is
 * kept, so a new mark is always numbered after it (AUTOINCREMENT would ensure that too, at the
 * cost of a write to sqlite_sequence per statement). The check is a read, which the Sedimenter
 * folds into the log row's INSERT.
 */

/** The key tables and triggers of scoped invariants: bookkeeping of the check, not state of the law. */
export const SCOPE_PREFIX = "_noema_scope_";

interface ScopePlan {
  name: string;
  table: string;
  /** Statements that create the key table and its triggers. */
  ddl: string[];
  /** The column that reads the newest mark, so the next Intent reads only its own. */
  newest: string;
}

/**
 * How one invariant is checked, in declaration order: `column` is 1 when it is violated (a
 * scoped one only at the keys the marks after `?`, the last mark checked, moved), and `rows`
 * reads its violations there, which only a refusal needs.
 */
interface CheckPlan {
  name: string;
  invariant: InvariantSpec;
  flag: string;
  column: string;
  rows: string;
  scope?: ScopePlan;
  /** Its key table's index in `Plans.scoped`: where its last checked mark is. */
  table?: number;
}

/** Checked marks a key table keeps before an Intent deletes them (in its own transaction, so a refusal keeps them). */
export const SCOPE_MARKS_KEPT = 1000;

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A law's invariant checks, its key tables, and the one list of columns that reads every check. */
interface Plans {
  checks: CheckPlan[];
  scoped: ScopePlan[];
  /** The key table of each scoped check, in the order of the checks' `?`; undefined when that is `scoped` itself (no table shared). */
  checkTables: number[] | undefined;
  columns: string;
}
const plans = new WeakMap<Nomos, Plans>();

const installed = new WeakMap<SqlExecutor, string>();

/**
 * What one Sedimenter knows of the marks: the newest one checked per key table, so an
 * Intent reads only its own, and the newest deleted. Kept in memory like the chain head, and
 * right for the same reason: it advances only when the Sedimenter's transaction commits. A new
 * owner reads the newest mark once (every mark in storage belongs to a committed, checked Intent).
 */
export class ScopeMarks {
  nomosHash: string | undefined;
  readonly checked = new Map<string, number>();
  readonly deleted = new Map<string, number>();
}

function planOf(nomos: Nomos): Plans {
  const known = plans.get(nomos);
  if (known) return known;
  const checks: CheckPlan[] = [];
  // Invariants whose scopes mark the same keys of the same writes share one key table and its triggers.
  const bySignature = new Map<string, ScopePlan>();
  for (const [name, invariant] of Object.entries(nomos.invariants)) {
    const flag = `v${checks.length}`;
    const signature = scopeSignature(invariant);
    const scope = scopePlan(nomos, name, invariant, `n${checks.length}`, signature === undefined ? undefined : bySignature.get(signature));
    if (scope && signature !== undefined) bySignature.set(signature, scope.plan);
    const rows = scope?.rows ?? invariant.violations;
    checks.push({ name, invariant, flag, column: `EXISTS (${rows}) AS ${flag}`, rows, ...(scope ? { scope: scope.plan } : {}) });
  }
  const scoped = [...new Set(checks.flatMap((c) => (c.scope ? [c.scope] : [])))];
  for (const c of checks) if (c.scope) c.table = scoped.indexOf(c.scope);
  const tables = checks.flatMap((c) => (c.table === undefined ? [] : [c.table]));
  const columns = [...checks.map((c) => c.column), ...scoped.map((p) => `(SELECT MAX(mark) FROM ${q(p.table)}) AS ${p.newest}`)].join(", ");
  const planned = { checks, scoped, checkTables: tables.length === scoped.length ? undefined : tables, columns };
  plans.set(nomos, planned);
  return planned;
}

/**
 * What a scope's key table holds, when another invariant's could hold the same: the key columns
 * each table writes. A balance's marks carry its own sums (and clients read its table by name), so it has none.
 */
function scopeSignature({ scope }: InvariantSpec): string | undefined {
  return scope && !scope.balance ? JSON.stringify(Object.entries(scope.tables).sort()) : undefined;
}

/** A scoped invariant's key table (`shared`, or its own), triggers and check: its violations at the keys its marks after `?` moved. */
function scopePlan(nomos: Nomos, name: string, invariant: InvariantSpec, newest: string, shared?: ScopePlan): { plan: ScopePlan; rows: string } | undefined {
  // defineNomos has refused a scope that omits a table the invariant reads.
  const { scope } = invariant;
  if (!scope) return undefined;
  const table = shared?.table ?? `${SCOPE_PREFIX}${name}`;
  const keys = keyColumns(scope);
  const group = keys.join(", ");
  const moved = `SELECT ${group} FROM ${q(table)} WHERE mark > ? GROUP BY ${group}${scope.balance ? " HAVING SUM(d) != 0 OR MAX(e) = 1" : ""}`;
  const on = scope.key.map((k, i) => `v.${q(k)} IS c.${keys[i]}`).join(" AND ");
  return { plan: shared ?? { name, table, ddl: keyTableDdl(nomos, table, scope), newest }, rows: `SELECT v.* FROM (${moved}) AS c JOIN (${invariant.violations}) AS v ON ${on}` };
}

/** A key table's columns for a scope's key, in its order. */
const keyColumns = (scope: InvariantScope) => scope.key.map((_, i) => `k${i}`);

/** A scope's key table and the triggers that fill it. */
function keyTableDdl(nomos: Nomos, table: string, scope: InvariantScope): string[] {
  const keys = keyColumns(scope);
  // d: the row's signed part of the balance; e: 1 when a row of `over` appeared, went or changed key.
  const ddl = [`CREATE TABLE ${q(table)} (mark INTEGER PRIMARY KEY, ${keys.join(", ")}, d INTEGER NOT NULL, e INTEGER NOT NULL)`];
  const { balance } = scope;
  for (const [t, columns] of Object.entries(scope.tables)) {
    if (!columns) continue;
    const all = Object.keys(nomos.tables[t]!.columns);
    const sum = balance?.sum[t];
    const anchor = balance?.over === t;
    // The row's columns under their own names, so `sum` is written as over a plain row.
    const plain = (of: "NEW" | "OLD") => `(SELECT ${all.map((c) => `${of}.${q(c)} AS ${q(c)}`).join(", ")})`;
    // A row of `over` that appears, goes or moves to another key: e is 1.
    const row = (of: "NEW" | "OLD", sign: "" | "-") =>
      `SELECT ${columns.map((c) => q(c)).join(", ")}, ${sum === undefined ? "0" : `${sign}(${sum})`}, ${anchor ? "1" : "0"} FROM ${plain(of)}`;
    const rekeyed = `(${columns.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)}`).join(" OR ")})`;
    const insert = (rows: string) => `INSERT INTO ${q(table)} (${keys.join(", ")}, d, e) ${rows};`;
    const trigger = (event: string, suffix: string, body: string, when = "") =>
      `CREATE TRIGGER ${q(`${table}__${t}_${suffix}`)} AFTER ${event} ON ${q(t)}${when && ` WHEN ${when}`} BEGIN ${body} END`;
    // An update that keeps the key is one mark of what it moved, or none when a balance did not move.
    const newKey = columns.map((c) => `NEW.${q(c)}`).join(", ");
    const inPlace = !balance
      ? insert(`SELECT ${newKey}, 0, 0`)
      : sum === undefined
        ? undefined
        : insert(`SELECT ${newKey}, x, 0 FROM (SELECT (SELECT ${sum} FROM ${plain("NEW")}) - (SELECT ${sum} FROM ${plain("OLD")}) AS x) WHERE x IS NOT 0`);
    ddl.push(
      trigger("INSERT", "i", insert(row("NEW", ""))),
      trigger("UPDATE", "u", insert(`${row("OLD", "-")} UNION ALL ${row("NEW", "")}`), rekeyed),
      ...(inPlace ? [trigger("UPDATE", "k", inPlace, `NOT ${rekeyed}`)] : []),
      trigger("DELETE", "d", insert(row("OLD", "-"))),
    );
  }
  return ddl;
}

/** Drops every key table and trigger, then creates those of `nomos`. */
function createScopes(db: SqlExecutor, nomos: Nomos): void {
  const existing = db.exec(`SELECT type, name FROM sqlite_master WHERE name LIKE '\\_noema\\_scope\\_%' ESCAPE '\\' AND type IN ('trigger', 'table') ORDER BY type DESC`, []);
  for (const r of existing) db.exec(`DROP ${r.type === "trigger" ? "TRIGGER" : "TABLE"} IF EXISTS ${q(String(r.name))}`, []);
  const plan = planOf(nomos).scoped;
  // A REPLACE deletes the rows it conflicts with; only with recursive_triggers do their DELETE triggers fire.
  if (plan.length > 0) db.exec("PRAGMA recursive_triggers = ON", []);
  for (const p of plan) for (const sql of p.ddl) db.exec(sql, []);
}

/**
 * Makes the key tables and triggers match `nomos`, dropping those of another law (a migration
 * may have rebuilt a table, dropping its triggers, or changed a scope). The Attractor runs it
 * on wake, once its law is applied, in a transaction of its own.
 */
export function installScopes(host: SedimentHost, nomos: Nomos): void {
  host.transaction(() => createScopes(host.db, nomos));
  installed.set(host.db, nomos.hash);
}

/** The violation an Intent is refused for: the least row in canonical order, so every check that finds the same set names the same one. */
export function firstViolation(rows: readonly Row[]): Row | undefined {
  let first: Row | undefined;
  let firstText = "";
  for (const row of rows) {
    const text = JSON.stringify(row);
    if (first === undefined || text < firstText) [first, firstText] = [row, text];
  }
  return first;
}

export interface Violation {
  name: string;
  invariant: InvariantSpec;
  rows: Row[];
}

/**
 * The invariant check of one Intent, begun before its statements (`beginCheck`) and finished
 * after them: each invariant in declaration order, a scoped one at the keys its marks moved,
 * an unscoped one in full. It is a read of `columns`, one flag per invariant, which the caller
 * may fold into a statement it runs anyway (a RETURNING clause, with `params` bound after its
 * own); only a violated invariant's rows are read apart, for the refusal to name one.
 */
export interface InvariantCheck {
  /** Columns for a SELECT or RETURNING list; empty when the law has no invariant. */
  readonly columns: string;
  readonly params: readonly SqlValue[];
  /** The first violated invariant, given the row `columns` read. */
  violation(row: Row): Violation | undefined;
  /** Called once the Intent's transaction committed: its marks are checked. */
  committed(row: Row): void;
}

/** The newest mark in a scoped invariant's key table (module level: no closure per Intent). */
const newestMark = (db: SqlExecutor, p: ScopePlan) => Number(db.exec(`SELECT COALESCE(MAX(mark), 0) AS n FROM ${q(p.table)}`, [])[0]!.n);

/**
 * Before an Intent's statements, inside its transaction: makes sure the key tables and triggers
 * are the law's (a host that did not install them on wake gets them now, rolled back with a
 * refused Intent), deletes checked marks once enough have gathered, and returns the check.
 * Without `marks` (or with marks of another law) the newest mark is read first.
 */
export function beginCheck(db: SqlExecutor, nomos: Nomos, marks?: ScopeMarks): InvariantCheck {
  const { checks, scoped, checkTables, columns } = planOf(nomos);
  // Created here, the key tables start empty and numbering afresh, whatever `marks` remembers.
  const creating = scoped.length > 0 && installed.get(db) !== nomos.hash;
  if (creating) createScopes(db, nomos);
  const known = !creating && marks?.nomosHash === nomos.hash ? marks : undefined;
  const checked = scoped.map((p) => (creating ? 0 : known ? (known.checked.get(p.name) ?? 0) : newestMark(db, p)));
  const deleting = scoped.map((p, i) => checked[i]! - (known?.deleted.get(p.name) ?? 0) >= SCOPE_MARKS_KEPT);
  scoped.forEach((p, i) => {
    // The newest checked mark stays: the next one is numbered after it.
    if (deleting[i]) db.exec(`DELETE FROM ${q(p.table)} WHERE mark < ?`, [checked[i]!]);
  });
  return {
    columns,
    // A check's `?` is its key table's last mark checked; invariants of one scope read the same table.
    params: checkTables ? checkTables.map((i) => checked[i]!) : checked,
    violation(row) {
      for (const c of checks) {
        const flag = row[c.flag];
        // A row without the flag is a bug, never "not violated".
        if (flag === undefined) throw new Error("the invariant check was not read: select or return its columns");
        if (!flag) continue;
        const rows = db.exec(c.rows, c.table === undefined ? [] : [checked[c.table]!]);
        if (rows.length > 0) return { name: c.name, invariant: c.invariant, rows };
      }
      return undefined;
    },
    committed(row) {
      // Committed with the Intent, the tables it created stay: the next one need not create them again.
      if (creating) installed.set(db, nomos.hash);
      if (!marks) return;
      if (marks.nomosHash !== nomos.hash) {
        marks.nomosHash = nomos.hash;
        marks.checked.clear();
        marks.deleted.clear();
      }
      scoped.forEach((p, i) => {
        const newest = row[p.newest];
        marks.checked.set(p.name, typeof newest === "number" ? newest : checked[i]!);
        if (deleting[i]) marks.deleted.set(p.name, checked[i]!);
      });
    },
  };
}

/** Keys one audit page checks, by default and at most. */
export const AUDIT_PAGE = { default: 100, max: 1000 } as const;

/** An invariant that an audit found violated, with the rows that violate it. */
export interface AuditFinding {
  invariant: string;
  message: string;
  /** The rows that violate it, as its violations query returns them. */
  rows: Row[];
}

/** One page of an audit: the violations found and what was checked. */
export interface AuditPage {
  findings: AuditFinding[];
  /** What this page checked: an invariant in full, or a scoped one's keys in order. */
  checked: { invariant: string; keys?: number };
  /** Pass as `after` for the next page; absent once every invariant was checked. */
  next?: string;
}

type Cursor = { i: number; k?: (string | number | null)[] };

/** The cursor `after` names, or undefined when no audit page handed it out. */
function readCursor(after: string | undefined, count: number): Cursor | undefined {
  if (after === undefined) return { i: 0 };
  let c: unknown;
  try {
    c = JSON.parse(after);
  } catch {
    c = undefined;
  }
  const ok = (x: unknown): x is Cursor =>
    typeof x === "object" && x !== null && Number.isInteger((x as Cursor).i) && (x as Cursor).i >= 0 && (x as Cursor).i < count &&
    ((x as Cursor).k === undefined || Array.isArray((x as Cursor).k));
  return ok(c) ? c : undefined;
}

/**
 * The full check as an audit, in pages: each invariant in full, a scoped one key by key in
 * key order (`limit` keys a page). Noema refuses every Intent that would break an invariant,
 * so a finding means the data was changed outside it (a migration, a hand edit): it is
 * reported with its rows, never repaired. An `after` no page handed out is an issue, not a throw.
 */
export function audit(db: SqlExecutor, nomos: Nomos, page: { after?: string; limit?: number } = {}): ParseResult<AuditPage> {
  const names = Object.keys(nomos.invariants);
  const cursor = readCursor(page.after, Math.max(1, names.length));
  if (!cursor) return { ok: false, issues: [issue("invalid_value", ["after"], "after is not a cursor an audit page returned")] };
  return { ok: true, value: auditPage(db, nomos, names, cursor, page.limit) };
}

function auditPage(db: SqlExecutor, nomos: Nomos, names: string[], cursor: Cursor, pageLimit: number | undefined): AuditPage {
  if (names.length === 0) return { findings: [], checked: { invariant: "" } };
  const limit = Math.min(Math.max(1, Math.trunc(pageLimit ?? AUDIT_PAGE.default)), AUDIT_PAGE.max);
  const name = names[cursor.i]!;
  const invariant = nomos.invariants[name]!;
  const following = cursor.i + 1 < names.length ? JSON.stringify({ i: cursor.i + 1 }) : undefined;
  const found = (rows: Row[]): AuditFinding[] => (rows.length === 0 ? [] : [{ invariant: name, message: invariant.message, rows }]);
  const { scope } = invariant;
  if (!scope) return { findings: found(db.exec(invariant.violations, [])), checked: { invariant: name }, ...(following ? { next: following } : {}) };
  const keys = scope.key.map((_, i) => `k${i}`);
  const union = Object.entries(scope.tables)
    .filter((e): e is [string, readonly string[]] => e[1] !== undefined)
    .map(([t, cols]) => `SELECT ${cols.map((c, i) => `${q(c)} AS k${i}`).join(", ")} FROM ${q(t)}`)
    .join(" UNION ");
  const after = cursor.k && cursor.k.length === keys.length ? cursor.k : undefined;
  const where = after ? ` WHERE (${keys.join(", ")}) > (${keys.map(() => "?").join(", ")})` : "";
  const slice = `SELECT ${keys.join(", ")} FROM (${union})${where} ORDER BY ${keys.join(", ")} LIMIT ${limit}`;
  const params = after ?? [];
  const sliceKeys = db.exec(slice, params);
  const on = scope.key.map((k, i) => `v.${q(k)} IS c.k${i}`).join(" AND ");
  const rows = sliceKeys.length === 0 ? [] : db.exec(`SELECT v.* FROM (${slice}) AS c JOIN (${invariant.violations}) AS v ON ${on}`, params);
  const last = sliceKeys.at(-1);
  const next = sliceKeys.length === limit && last ? JSON.stringify({ i: cursor.i, k: keys.map((k) => last[k] ?? null) }) : following;
  return { findings: found(rows), checked: { invariant: name, keys: sliceKeys.length }, ...(next ? { next } : {}) };
}
