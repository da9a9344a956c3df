import type { Row, SedimentHost, SqlExecutor, SqlValue } from "../host/index.js";
import { type InvariantSpec, type Nomos, NomosDefinitionError } from "../nomos/index.js";
import { issue, type ParseResult } from "../issue/index.js";
import { tablesOfInvariants } from "../sieve/index.js";

/**
 * Scoped invariants: where an Intent wrote, collected from the writes themselves. Each scoped
 * invariant has a key table (`_noema_scope_<invariant>`) that AFTER INSERT/UPDATE/DELETE
 * triggers on its tables fill with the keys of every row written (an UPDATE gives both the old
 * and the new key), whatever statement wrote it: a subquery, an upsert, a REPLACE (with
 * recursive_triggers on, its deletes fire too). DO SQLite refuses TEMP tables and triggers, so
 * they live in the main schema, named with Noema's prefix. Each mark is numbered (AUTOINCREMENT:
 * never reused, even after a delete), so an Intent's marks are those after the last one checked;
 * they roll back with it when it is refused. Checked marks are deleted now and then, not per
 * Intent: the check is a read, which the Sedimenter folds into the log row's INSERT.
 */

/** The key tables and triggers of scoped invariants: bookkeeping of the check, not state of the law. */
export const SCOPE_PREFIX = "_noema_scope_";

interface ScopePlan {
  name: string;
  invariant: InvariantSpec;
  table: string;
  /** Statements that create the key table and its triggers. */
  ddl: string[];
  /**
   * The columns the check reads, in a SELECT or RETURNING list: `moved`, the keys the marks
   * after `?` (the last mark checked) ask to check, as a JSON array of key arrays (every key
   * written, or with a balance only those whose summed part moved or whose `over` row appeared,
   * went or changed key); `newest`, the newest mark.
   */
  read: string;
  moved: string;
  newest: string;
  /** The invariant's violations at the keys bound as a JSON array of key arrays. */
  scoped: string;
}

/** Keys bound per scoped violations query: one JSON parameter, kept well under statement limits. */
const KEYS_PER_CHECK = 500;
/** Checked marks a key table keeps before an Intent deletes them (in its own transaction, so a refusal keeps them). */
export const SCOPE_MARKS_KEPT = 1000;

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A law's scoped invariants, and the one list of columns that reads all their checks. */
interface ScopePlans {
  list: ScopePlan[];
  columns: string;
  byName: Map<string, ScopePlan>;
}
const plans = new WeakMap<Nomos, ScopePlans>();

const installed = new WeakMap<SqlExecutor, string>();

/**
 * What one Sedimenter knows of the marks: the newest one checked per scoped invariant, so an
 * Intent reads only its own, and the newest deleted. Kept in memory like the chain head, and
 * right for the same reason: it advances only when the Sedimenter's transaction commits. A new
 * owner reads the newest mark once (every mark in storage belongs to a committed, checked Intent).
 */
export class ScopeMarks {
  nomosHash: string | undefined;
  readonly checked = new Map<string, number>();
  readonly deleted = new Map<string, number>();
}

function planOf(nomos: Nomos): ScopePlans {
  const known = plans.get(nomos);
  if (known) return known;
  const reads = tablesOfInvariants(nomos);
  const out: ScopePlan[] = [];
  for (const [name, invariant] of Object.entries(nomos.invariants)) {
    const { scope } = invariant;
    if (!scope) continue;
    // Keys are collected only from the listed tables: a write elsewhere would go unchecked.
    for (const t of reads.get(name)!) {
      if (!scope.tables[t]) {
        throw new NomosDefinitionError(`invariant "${name}" reads table "${t}", which its scope does not list: a write there would not be checked`);
      }
    }
    const table = `${SCOPE_PREFIX}${name}`;
    const keys = scope.key.map((_, i) => `k${i}`);
    // d: the row's signed part of the balance; e: 1 when a row of `over` appeared, went or changed key.
    const ddl = [`CREATE TABLE ${q(table)} (mark INTEGER PRIMARY KEY AUTOINCREMENT, ${keys.join(", ")}, d INTEGER NOT NULL, e INTEGER NOT NULL)`];
    const { balance } = scope;
    for (const [t, columns] of Object.entries(scope.tables)) {
      if (!columns) continue;
      const all = Object.keys(nomos.tables[t]!.columns);
      const sum = balance?.sum[t];
      const anchor = balance?.over === t;
      // The row's columns under their own names, so `sum` is written as over a plain row.
      const row = (of: "NEW" | "OLD", sign: "" | "-", moved: string) =>
        `SELECT ${columns.map((c) => q(c)).join(", ")}, ${sum === undefined ? "0" : `${sign}(${sum})`}, ${anchor ? moved : "0"} FROM (SELECT ${all.map((c) => `${of}.${q(c)} AS ${q(c)}`).join(", ")})`;
      const rekeyed = `(${columns.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)}`).join(" OR ")})`;
      const insert = (rows: string) => `INSERT INTO ${q(table)} (${keys.join(", ")}, d, e) ${rows};`;
      const trigger = (event: string, suffix: string, body: string) =>
        `CREATE TRIGGER ${q(`${table}__${t}_${suffix}`)} AFTER ${event} ON ${q(t)} BEGIN ${body} END`;
      ddl.push(
        trigger("INSERT", "i", insert(row("NEW", "", "1"))),
        trigger("UPDATE", "u", insert(`${row("OLD", "-", rekeyed)} UNION ALL ${row("NEW", "", rekeyed)}`)),
        trigger("DELETE", "d", insert(row("OLD", "-", "1"))),
      );
    }
    const group = keys.join(", ");
    const candidates = `SELECT ${group} FROM ${q(table)} WHERE mark > ? GROUP BY ${group}${balance ? " HAVING SUM(d) != 0 OR MAX(e) = 1" : ""}`;
    const [moved, newest] = [`m${out.length}`, `n${out.length}`];
    const read = `(SELECT json_group_array(json_array(${group})) FROM (${candidates})) AS ${moved}, (SELECT MAX(mark) FROM ${q(table)}) AS ${newest}`;
    const bound = `SELECT ${keys.map((k, i) => `value ->> ${i} AS ${k}`).join(", ")} FROM json_each(?)`;
    const on = scope.key.map((k, i) => `v.${q(k)} IS c.k${i}`).join(" AND ");
    const scoped = `SELECT v.* FROM (${bound}) AS c JOIN (${invariant.violations}) AS v ON ${on}`;
    out.push({ name, invariant, table, ddl, read, moved, newest, scoped });
  }
  const planned = { list: out, columns: out.map((p) => p.read).join(", "), byName: new Map(out.map((p) => [p.name, p])) };
  plans.set(nomos, planned);
  return planned;
}

/** Drops every key table and trigger, then creates those of `nomos`. */
function createScopes(db: SqlExecutor, nomos: Nomos): void {
  const existing = db.exec(`SELECT type, name FROM sqlite_master WHERE name LIKE '\\_noema\\_scope\\_%' ESCAPE '\\' AND type IN ('trigger', 'table') ORDER BY type DESC`, []);
  for (const r of existing) db.exec(`DROP ${r.type === "trigger" ? "TRIGGER" : "TABLE"} IF EXISTS ${q(String(r.name))}`, []);
  const plan = planOf(nomos).list;
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
 * after them: each invariant in declaration order, a scoped one at the keys its marks ask for,
 * an unscoped one in full. The scoped part is a read of `columns`, which the caller may fold
 * into a statement it runs anyway (a RETURNING clause, with `params` bound after its own).
 */
export interface InvariantCheck {
  /** Columns for a SELECT or RETURNING list; empty when no invariant is scoped. */
  readonly columns: string;
  readonly params: readonly SqlValue[];
  /** The first violated invariant, given the row `columns` read. */
  violation(row: Row): Violation | undefined;
  /** Called once the Intent's transaction committed: its marks are checked. */
  committed(row: Row): void;
}

/**
 * Before an Intent's statements, inside its transaction: makes sure the key tables and triggers
 * are the law's (a host that did not install them on wake gets them now, rolled back with a
 * refused Intent), deletes checked marks once enough have gathered, and returns the check.
 * Without `marks` (or with marks of another law) the newest mark is read first.
 */
export function beginCheck(db: SqlExecutor, nomos: Nomos, marks?: ScopeMarks): InvariantCheck {
  const { list: plan, columns, byName } = planOf(nomos);
  // Created here, the key tables start empty and numbering afresh, whatever `marks` remembers.
  const creating = plan.length > 0 && installed.get(db) !== nomos.hash;
  if (creating) createScopes(db, nomos);
  const known = !creating && marks?.nomosHash === nomos.hash ? marks : undefined;
  const newestMark = (p: ScopePlan) => Number(db.exec(`SELECT COALESCE(MAX(mark), 0) AS n FROM ${q(p.table)}`, [])[0]!.n);
  const checked = plan.map((p) => (creating ? 0 : known ? (known.checked.get(p.name) ?? 0) : newestMark(p)));
  const deleting = plan.map((p, i) => checked[i]! - (known?.deleted.get(p.name) ?? 0) >= SCOPE_MARKS_KEPT);
  plan.forEach((p, i) => {
    if (deleting[i]) db.exec(`DELETE FROM ${q(p.table)} WHERE mark <= ?`, [checked[i]!]);
  });
  return {
    columns,
    params: checked,
    violation(row) {
      for (const [name, invariant] of Object.entries(nomos.invariants)) {
        const p = byName.get(name);
        const rows = p ? violationsAt(db, p, movedKeys(row, p)) : db.exec(invariant.violations, []);
        if (rows.length > 0) return { name, invariant, rows };
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
      plan.forEach((p, i) => {
        const newest = row[p.newest];
        marks.checked.set(p.name, typeof newest === "number" ? newest : checked[i]!);
        if (deleting[i]) marks.deleted.set(p.name, checked[i]!);
      });
    },
  };
}

/** The keys a scoped invariant moved, from the row its columns were read into; a row without them is a bug, never "nothing moved". */
function movedKeys(row: Row, plan: ScopePlan): SqlValue[][] {
  const moved = row[plan.moved];
  if (typeof moved !== "string") throw new Error("the scoped invariant check was not read: select or return its columns");
  return JSON.parse(moved) as SqlValue[][];
}

/** The invariant's violations at these keys, a bounded batch of keys per query. */
function violationsAt(db: SqlExecutor, plan: ScopePlan, keys: SqlValue[][]): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_CHECK) rows.push(...db.exec(plan.scoped, [JSON.stringify(keys.slice(i, i + KEYS_PER_CHECK))]));
  return rows;
}

/** Keys one audit page checks, by default and at most. */
export const AUDIT_PAGE = { default: 100, max: 1000 } as const;

export interface AuditFinding {
  invariant: string;
  message: string;
  /** The rows that violate it, as its violations query returns them. */
  rows: Row[];
}

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
