import type { Row, SedimentHost, SqlExecutor } from "../host/index.js";
import { type InvariantSpec, type Nomos, NomosDefinitionError } from "../nomos/index.js";
import { issue, type ParseResult } from "../issue/index.js";
import { tablesOfInvariants } from "../sieve/index.js";

/**
 * Scoped invariants: where an Intent wrote, collected from the writes themselves. Each scoped
 * invariant has a key table (`_noema_scope_<invariant>`) that AFTER INSERT/UPDATE/DELETE
 * triggers on its tables fill with the keys of every row written (an UPDATE gives both the old
 * and the new key), whatever statement wrote it: a subquery, an upsert, a REPLACE (with
 * recursive_triggers on, its deletes fire too). DO SQLite refuses TEMP tables and triggers, so
 * they live in the main schema, named with Noema's prefix; the keys of an Intent are cleared
 * once it is checked, and roll back with it when it is refused.
 */

/** The key tables and triggers of scoped invariants: transient, empty between Intents, not state. */
export const SCOPE_PREFIX = "_noema_scope_";

interface ScopePlan {
  name: string;
  invariant: InvariantSpec;
  table: string;
  /** Statements that create the key table and its triggers. */
  ddl: string[];
  /** Empties the key table and returns what the Intent's writes marked: one statement, not a read and a clear. */
  take: string;
  /** Key columns per key. */
  width: number;
  /** The invariant's violations at the keys bound as a JSON array of key arrays. */
  scoped: string;
  summed: boolean;
}

/** Keys bound per scoped violations query: one JSON parameter, kept well under statement limits. */
const KEYS_PER_CHECK = 500;

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
const plans = new WeakMap<Nomos, ScopePlan[]>();
const installed = new WeakMap<SqlExecutor, string>();

function planOf(nomos: Nomos): ScopePlan[] {
  let out = plans.get(nomos);
  if (out) return out;
  const reads = tablesOfInvariants(nomos);
  out = [];
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
    const ddl = [`CREATE TABLE ${q(table)} (${keys.join(", ")}, d INTEGER NOT NULL, e INTEGER NOT NULL)`];
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
    const take = `DELETE FROM ${q(table)} RETURNING ${keys.join(", ")}, d, e`;
    const bound = `SELECT ${keys.map((k, i) => `value ->> ${i} AS ${k}`).join(", ")} FROM json_each(?)`;
    const on = scope.key.map((k, i) => `v.${q(k)} IS c.k${i}`).join(" AND ");
    const scoped = `SELECT v.* FROM (${bound}) AS c JOIN (${invariant.violations}) AS v ON ${on}`;
    out.push({ name, invariant, table, ddl, take, width: keys.length, scoped, summed: balance !== undefined });
  }
  plans.set(nomos, out);
  return out;
}

/** True when the Nomos declares any scoped invariant. */
export const hasScopes = (nomos: Nomos): boolean => planOf(nomos).length > 0;

/** Drops every key table and trigger, then creates those of `nomos`. */
function createScopes(db: SqlExecutor, nomos: Nomos): void {
  const existing = db.exec(`SELECT type, name FROM sqlite_master WHERE name LIKE '\\_noema\\_scope\\_%' ESCAPE '\\' AND type IN ('trigger', 'table') ORDER BY type DESC`, []);
  for (const r of existing) db.exec(`DROP ${r.type === "trigger" ? "TRIGGER" : "TABLE"} IF EXISTS ${q(String(r.name))}`, []);
  const plan = planOf(nomos);
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

/**
 * Before an Intent's statements: a host that did not install the scopes on wake gets them now,
 * inside the Intent (and again next time, since a refusal rolls them back with it).
 */
export function ensureScopes(db: SqlExecutor, nomos: Nomos): void {
  if (installed.get(db) === nomos.hash || !hasScopes(nomos)) return;
  createScopes(db, nomos);
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
 * Checks every invariant after an Intent: a scoped one at the keys its writes marked, an
 * unscoped one in full. Returns the first invariant (in declaration order) that is violated.
 * `ensureScopes` must have run before the Intent's statements.
 */
export function checkInvariants(db: SqlExecutor, nomos: Nomos): Violation | undefined {
  const scoped = new Map(planOf(nomos).map((p) => [p.name, p]));
  for (const [name, invariant] of Object.entries(nomos.invariants)) {
    const plan = scoped.get(name);
    const rows = plan ? violationsAt(db, plan, keysToCheck(db.exec(plan.take, []), plan)) : db.exec(invariant.violations, []);
    if (rows.length > 0) return { name, invariant, rows };
  }
  return undefined;
}

/**
 * The keys an Intent's marks ask to check: every key written, or with a balance only those
 * whose summed part moved or whose `over` row appeared, went or changed key. Grouped as
 * SQLite's GROUP BY groups (1 and 1.0 together, "1" apart); a sum that is not whole is
 * checked, since float addition in another order may not give SQLite's zero.
 */
function keysToCheck(marks: readonly Row[], plan: ScopePlan): (Row[string])[][] {
  const groups = new Map<string, { key: Row[string][]; d: number; e: boolean }>();
  for (const m of marks) {
    const key: Row[string][] = [];
    for (let i = 0; i < plan.width; i++) key.push(m[`k${i}`] ?? null);
    const id = keyId(key);
    const g = groups.get(id) ?? { key, d: 0, e: false };
    g.d += Number(m.d);
    g.e ||= Number(m.e) === 1;
    groups.set(id, g);
  }
  const moved = (g: { d: number; e: boolean }) => !plan.summed || g.e || g.d !== 0 || !Number.isInteger(g.d);
  return [...groups.values()].filter(moved).map((g) => g.key);
}

/** A key's identity as GROUP BY sees it: a string apart from the number it spells, 1 and 1.0 alike. */
const keyId = (key: Row[string][]): string => (key.length === 1 ? (typeof key[0] === "string" ? `s${key[0]}` : String(key[0])) : JSON.stringify(key));

/** The invariant's violations at these keys, a bounded batch of keys per query. */
function violationsAt(db: SqlExecutor, plan: ScopePlan, keys: (Row[string])[][]): Row[] {
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
