import { canonicalJson, sha256Hex } from "../canonical/index.js";
import type { Row, SqlExecutor, SqlValue } from "../host/index.js";
import { CryostasisStore } from "../cryostasis/store.js";
import { SCOPE_PREFIX } from "../interpretation/scope.js";
import { SedimentLog } from "../seal/store.js";
import type { RowChange } from "./types.js";

/** A table's rows with their rowids, enough to put the table back exactly. */
interface TableRows {
  name: string;
  withRowid: boolean;
  /** BLOB columns (hashes), captured as hex text so that every host returns them alike. */
  blobs: readonly string[];
  rows: Row[];
}

/** Every table of a database, the internal ones and `sqlite_sequence` included: a state to return to. */
export interface Snapshot {
  tables: TableRows[];
}

const ROWID = "__noema_rowid";
const CRYOSTASIS = "_noema_cryostasis";
const SEQUENCE = "sqlite_sequence";
/** Written by a trigger when the newest frozen entry is deleted (cryostasis/store.ts): restoring that table writes it too. */
const CRYOSTASIS_LAST = "_noema_cryostasis_last";
/** Tables that writes to other tables write as well: put back last, over what those writes left. */
const WRITTEN_BY_OTHERS = [SEQUENCE, CRYOSTASIS_LAST];
/** The Precedents: refusals on record. Left out of a state unless a property reads them. */
export const PRECEDENT = "_noema_precedent";

/** Time columns by default: `at`, or a name ending in `_at` (created_at, expires_at, …). */
export const isTimeColumn = (_table: string, column: string): boolean => column === "at" || column.endsWith("_at");

export interface TableInfo {
  name: string;
  withRowid: boolean;
  columns: readonly string[];
  blobs: readonly string[];
}

/**
 * The tables a snapshot holds: all but the Precedents, which decide nothing later and which
 * every explored move rolls back anyway, unless `precedents` (a property reads them); `only`
 * narrows it to the tables named. The schema only changes inside rolled-back migrations, so
 * exploration reads this list once.
 */
export function tableList(db: SqlExecutor, precedents = false, only?: readonly string[]): TableInfo[] {
  return db
    .exec(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT IN ('sqlite_schema'${precedents ? "" : `, '${PRECEDENT}'`}) ORDER BY name`, [])
    // The scoped invariants' key tables only hold the keys of the Intent being checked: not state.
    .filter((r) => !String(r.name).startsWith(SCOPE_PREFIX) && (!only || only.includes(String(r.name))))
    .map((r) => {
      const name = String(r.name);
      const info = db.exec(`PRAGMA table_info("${name}")`, []);
      const blobs = info.filter((c) => String(c.type).toUpperCase() === "BLOB").map((c) => String(c.name));
      return { name, withRowid: !/WITHOUT\s+ROWID/i.test(String(r.sql ?? "")), columns: info.map((c) => String(c.name)), blobs };
    });
}

export function capture(db: SqlExecutor, tables: readonly TableInfo[] = tableList(db)): Snapshot {
  // A frozen Intent stored by reference is captured as its Intent, so states compare by what is frozen.
  const log = new SedimentLog(db);
  const frozen = new CryostasisStore(db, (id) => log.source(id));
  return {
    tables: tables.map(({ name, withRowid, columns, blobs }) => {
      const list = columns.map((c) => (blobs.includes(c) ? `lower(hex("${c}")) AS "${c}"` : `"${c}"`)).join(", ");
      const rows = db.exec(`SELECT ${withRowid ? `rowid AS ${ROWID}, ` : ""}${list} FROM "${name}"${withRowid ? " ORDER BY rowid" : ""}`, []);
      if (name === CRYOSTASIS) for (const r of rows) r.intent = frozen.intentText(r);
      return { name, withRowid, blobs, rows };
    }),
  };
}

/**
 * Puts every table back as the snapshot has it (the schema must be the snapshot's). Given what the
 * database holds now (`holds`, a snapshot of the same tables), only the tables that differ are written.
 */
export function restore(db: SqlExecutor, snapshot: Snapshot, holds?: Snapshot): void {
  const same = (t: TableRows, i: number) => holds?.tables[i]?.name === t.name && JSON.stringify(holds.tables[i]!.rows) === JSON.stringify(t.rows);
  const changed = snapshot.tables.filter((t, i) => !same(t, i));
  if (!changed.length) return;
  // Inserting into AUTOINCREMENT tables writes sqlite_sequence, deleting frozen entries may write
  // _noema_cryostasis_last: both are put back last, over what those writes left.
  const ordered = [...changed.filter((t) => !WRITTEN_BY_OTHERS.includes(t.name)), ...snapshot.tables.filter((t) => WRITTEN_BY_OTHERS.includes(t.name))];
  for (const { name } of ordered) db.exec(`DELETE FROM "${name}"`, []);
  for (const { name, rows, blobs } of ordered) {
    if (WRITTEN_BY_OTHERS.includes(name)) db.exec(`DELETE FROM "${name}"`, []);
    for (const row of rows) {
      const columns = Object.keys(row);
      const names = columns.map((c) => (c === ROWID ? "rowid" : `"${c}"`));
      const values = columns.map((c) => (blobs.includes(c) ? "unhex(?)" : "?"));
      db.exec(`INSERT INTO "${name}" (${names.join(", ")}) VALUES (${values.join(", ")})`, columns.map((c) => row[c] ?? null));
    }
  }
}

/** A table's rows as the law sees them: without rowids. */
export function rowsOf(snapshot: Snapshot, table: string): Row[] {
  const found = snapshot.tables.find((t) => t.name === table);
  return (found?.rows ?? []).map((r) => {
    const { [ROWID]: _rowid, ...rest } = r;
    return rest;
  });
}

/** What a state holds of a table besides the Nomos tables: the columns the properties name, in order when they may read it. */
export interface TableRead {
  table: string;
  columns: readonly string[];
  /** Keeps the rows' order (and rowids): the queries may read it (rowid, LIMIT, group_concat, a window). */
  ordered: boolean;
}

/** The columns of a frozen Intent every state holds (see stateHash). */
const FROZEN_STATE = ["wake_at", "intent", "nomos_version", "freeze_key", "attempts"];

/** Words by which a query can read the order of rows rather than their content. */
const ORDER_WORDS = ["rowid", "oid", "_rowid_", "limit", "offset", "group_concat", "json_group_array", "over"];

/**
 * The tables besides the Nomos tables and the frozen Intents that some query reads (the sediment
 * log, the Precedents, …), found by the words of the queries' text, and the columns of each that
 * they name (all of them after a `*` that is not `count(*)`).
 */
export function tablesRead(queries: readonly string[], tables: readonly TableInfo[], besides: readonly string[]): TableRead[] {
  const text = queries.join("\n").toLowerCase();
  const words = new Set(text.match(/[a-z_][a-z0-9_]*/g) ?? []);
  const star = /select\s+(distinct\s+)?\*|\.\*/.test(text);
  const ordered = ORDER_WORDS.some((w) => words.has(w));
  return tables
    .filter((t) => !besides.includes(t.name) && t.name !== SEQUENCE && words.has(t.name.toLowerCase()))
    .map((t) => ({
      table: t.name,
      // The frozen Intents are in every state already, by what is frozen and when it wakes: only their other columns are added.
      columns: t.columns.filter((c) => (star || words.has(c.toLowerCase())) && !(t.name === CRYOSTASIS && FROZEN_STATE.includes(c))),
      ordered,
    }))
    .filter((t) => t.table !== CRYOSTASIS || t.columns.length > 0);
}

/**
 * The state as exploration tells states apart: every Nomos table and the pending frozen
 * Intents, with times relative to the clock, and every other table a property reads (`extra`,
 * whole). The sediment log, Precedents and entry ids are otherwise left out, so two paths to the
 * same tables are one state: a property that reads them must see them in the state, or it would
 * only be evaluated on the first path to reach those tables.
 */
export function stateHash(
  snapshot: Snapshot,
  nomosTables: readonly string[],
  now: number,
  timeColumn: (table: string, column: string) => boolean,
  extra: readonly TableRead[] = [],
): string {
  const relative = (table: string, row: Row): Row => {
    const out: Row = {};
    for (const [k, v] of Object.entries(row)) out[k] = typeof v === "number" && timeColumn(table, k) ? v - now : v;
    return out;
  };
  const tables: Record<string, string[]> = {};
  for (const table of nomosTables) tables[table] = rowsOf(snapshot, table).map((r) => canonicalJson(relative(table, r))).sort();
  tables[CRYOSTASIS] = rowsOf(snapshot, CRYOSTASIS)
    .map((r) =>
      canonicalJson({ wakeIn: Number(r.wake_at) - now, intent: r.intent ?? null, version: r.nomos_version ?? null, key: r.freeze_key ?? null, attempts: r.attempts ?? null } as Record<string, SqlValue>),
    )
    .sort();
  // The log's timestamps are absolute: with them in the state, so is the clock.
  if (extra.some((t) => t.columns.includes("timestamp"))) tables[""] = [String(now)];
  for (const { table, columns, ordered } of extra) {
    const found = snapshot.tables.find((t) => t.name === table);
    const rows = (found?.rows ?? []).map((r) => canonicalJson(Object.fromEntries([...(ordered ? [ROWID] : []), ...columns].map((c) => [c, r[c] ?? null]))));
    tables[table] = ordered ? rows : rows.sort();
  }
  return sha256Hex(canonicalJson(tables));
}

/** Rows gained and lost per table between two snapshots (Nomos tables and frozen Intents). */
export function changes(before: Snapshot, after: Snapshot, tables: readonly string[]): RowChange[] {
  const out: RowChange[] = [];
  for (const table of [...tables, CRYOSTASIS]) {
    const was = new Map(rowsOf(before, table).map((r) => [canonicalJson(r), r]));
    const now = new Map(rowsOf(after, table).map((r) => [canonicalJson(r), r]));
    for (const [k, row] of was) if (!now.has(k)) out.push({ table, change: "-", row });
    for (const [k, row] of now) if (!was.has(k)) out.push({ table, change: "+", row });
  }
  return out;
}
