// Change capture: what each sediment changed in the published tables, recorded inside the
// transaction that seals it, so a Seal is published as a diff and the diffs of past sediments
// can be read again (a client resuming from its cursor). Only published tables carry triggers;
// an Attractor that publishes nothing creates nothing and runs nothing here.
import type { Json } from "../canonical/index.js";
import type { Row, SqlExecutor, SqlValue } from "../host/index.js";
import type { SnapshotTable, SyncChange, SyncCursor } from "./protocol.js";
import type { Publication, PublishedTable } from "./publication.js";

/** Sediments whose changes are kept for resuming clients; a client further behind gets a snapshot. */
export const SYNC_RETAINED = 10_000;
/** How often (in sediments) records older than SYNC_RETAINED are removed. */
const PRUNE_EVERY = 256;
/** The latest records kept in memory as well, so a broadcast right after a commit reads none back. */
const KEPT_IN_MEMORY = 64;

/** The tables change capture keeps its per-sediment diffs in (see docs/reference/storage.md). */
export const SYNC_DDL = [
  // Rows the running transaction touched in published tables, with whether and how each was seen before it: emptied at each seal.
  `CREATE TABLE IF NOT EXISTS _noema_sync_touched (tbl TEXT NOT NULL, pk TEXT NOT NULL, existed INTEGER NOT NULL, scope ANY, PRIMARY KEY (tbl, pk)) WITHOUT ROWID`,
  // One record per sediment since capture began: its chain link and its changes (JSON), so a diff is derivable later.
  `CREATE TABLE IF NOT EXISTS _noema_sync_changes (sediment_id INTEGER PRIMARY KEY, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, changes TEXT NOT NULL)`,
  // Where the records begin (diffs exist for sediments after `since`), and the publication they were captured under.
  `CREATE TABLE IF NOT EXISTS _noema_sync_meta (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL, publication TEXT NOT NULL)`,
];

/** One row a sediment changed, as recorded: its key, whether it existed before and its scope then, and its captured values after (null: gone). */
type Touched = [table: string, key: Json[], existed: 0 | 1, before: Json, row: Json[] | null];

/** One sediment's record: its chain link and the rows it changed. */
export interface CapturedSediment {
  sedimentId: number;
  hash: string;
  prevHash: string;
  touched: Touched[];
}

const q = (name: string) => `"${name}"`;
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const triggerName = (table: string, on: string) => `_noema_sync_${table}_${on}`;
/** The trigger that empties the touched rows once a sediment's record is stored (no table's trigger can have this name). */
const CLEAR_TRIGGER = "_noema_sync_clear";
/** Who may see a row: nobody's scope when the table is unscoped, else the scope value as text. */
const scopeMatches = (value: Json, subject: string) => value !== null && String(value) === subject;

/**
 * Records, per sediment, the rows it changed in the published tables (upserts and deletes by
 * primary key), and serves snapshots and per-subscriber diffs from them. `install` runs on
 * every wake (after migrations, which may rebuild a table and drop its triggers); `record`
 * runs inside each sealing transaction. Recording runs only between `start` and `pause`, which
 * the host calls as subscribers come and go: a World nobody watches pays nothing for it.
 */
export class ChangeCapture {
  private readonly tables: PublishedTable[];
  /**
   * The one statement `record` runs: it reads every row the sediment touched, in every published
   * table, with its values now, and stores them as the sediment's record (JSON built by SQLite),
   * returning it; a trigger on the records table then empties the touched rows.
   */
  private readonly recordStatement: string;
  /**
   * The latest records, in memory, oldest first: consecutive and chained by hash. Recorded inside
   * the sealing transaction, so the newest may have rolled back: `after` serves them only up to a
   * head the caller read from the committed log, whose hash the chain ends at.
   */
  private recent: CapturedSediment[] = [];
  /** The triggers that record touched rows, by name: their exact DDL, to find on a wake whether they are all in place. */
  private readonly triggers = new Map<string, string>();
  /** Whether the triggers are in place and each sediment is recorded (set by `install`, `start` and `pause`). */
  private live = false;
  /** The law the records are captured under (set by `install`). */
  private lawHash = "";

  constructor(
    private readonly db: SqlExecutor,
    readonly publication: Publication,
  ) {
    this.tables = Object.values(publication.tables);
    // One SELECT per table, each row a Touched as JSON, in one compound statement ordered by table and key.
    const touched = this.tables
      .map((t, n) => {
        const on = t.key.map((c, i) => `t.${q(c)} = json_extract(x.pk, '$[${i}]')`).join(" AND ");
        const row = `CASE WHEN t.${q(t.key[0]!)} IS NOT NULL THEN json_array(${t.captured.map((c) => `t.${q(c)}`).join(", ")}) END`;
        return `SELECT ${n} AS n, x.pk AS k, json_array(${literal(t.name)}, json(x.pk), x.existed, x.scope, json(${row})) AS r
           FROM _noema_sync_touched x LEFT JOIN ${q(t.name)} t ON ${on} WHERE x.tbl = ${literal(t.name)}`;
      })
      .join(" UNION ALL ");
    this.recordStatement = `INSERT INTO _noema_sync_changes (sediment_id, hash, prev_hash, changes)
      SELECT ?, ?, ?, json_group_array(json(r)) FROM (${touched} ORDER BY n, k) RETURNING changes`;
    // The touched rows are emptied as their record is stored, by the same statement: one query per sediment.
    this.triggers.set(CLEAR_TRIGGER, `CREATE TRIGGER ${q(CLEAR_TRIGGER)} AFTER INSERT ON _noema_sync_changes BEGIN DELETE FROM _noema_sync_touched; END`);
    for (const t of this.tables) {
      const key = (row: "NEW" | "OLD") => `json_array(${t.key.map((c) => `${row}.${q(c)}`).join(", ")})`;
      const scope = (row: "OLD") => (t.scope ? `${row}.${q(t.scope)}` : "NULL");
      // The first touch of a row in a sediment keeps what it was before. Not INSERT OR IGNORE: inside a trigger the outer
      // statement's conflict clause (an UPSERT's) overrides the trigger's, and the duplicate would abort the Intent.
      const touch = (row: "NEW" | "OLD", existed: 0 | 1) =>
        `INSERT INTO _noema_sync_touched (tbl, pk, existed, scope) SELECT ${literal(t.name)}, ${key(row)}, ${existed}, ${existed ? scope("OLD") : "NULL"}
         WHERE NOT EXISTS (SELECT 1 FROM _noema_sync_touched WHERE tbl = ${literal(t.name)} AND pk = ${key(row)});`;
      const create = (on: string, body: string) => this.triggers.set(triggerName(t.name, on), `CREATE TRIGGER ${q(triggerName(t.name, on))} ${body}`);
      create("insert", `AFTER INSERT ON ${q(t.name)} BEGIN ${touch("NEW", 0)} END`);
      // Only updates of captured columns or the key: a write to a hidden column costs nothing here.
      const watched = [...new Set([...t.captured, ...t.key])].map(q).join(", ");
      create("update", `AFTER UPDATE OF ${watched} ON ${q(t.name)} BEGIN ${touch("OLD", 1)} ${touch("NEW", 0)} END`);
      create("delete", `AFTER DELETE ON ${q(t.name)} BEGIN ${touch("OLD", 1)} END`);
    }
  }

  /** True when something is published: otherwise nothing is installed or recorded. */
  get active(): boolean {
    return this.tables.length > 0;
  }

  /** True while sediments are recorded: from `start` (a subscriber arrived) until `pause`. */
  get recording(): boolean {
    return this.live;
  }

  /**
   * Creates the tables and, on every wake (a migration may have rebuilt a table and dropped its
   * triggers), finds whether recording went on unbroken: exactly the triggers it needs are in
   * place, under the same publication and law. Then it goes on; otherwise it starts again at
   * `head` when someone is `subscribed`, and stays paused when nobody is.
   */
  install(head: number, lawHash: string, subscribed: boolean): void {
    if (!this.active) return;
    for (const ddl of SYNC_DDL) this.db.exec(ddl, []);
    this.lawHash = lawHash;
    this.recent = [];
    const meta = this.db.exec(`SELECT publication FROM _noema_sync_meta`, [])[0];
    const present = this.presentTriggers();
    this.live = meta?.publication === this.shape() && present.length === this.triggers.size && present.every((t) => this.triggers.get(String(t.name)) === t.sql);
    if (this.live) this.db.exec(`DELETE FROM _noema_sync_touched`, []);
    else if (subscribed) this.start(head);
    // Already paused (no meta row, no trigger: what `stop` leaves) on most wakes of a World nobody watches: nothing to write.
    else if (meta !== undefined || present.length > 0) this.stop(present);
  }

  /**
   * Starts recording at `head` (a subscriber arrived): cursors before it get a snapshot, since
   * what happened while paused was not recorded. Nothing to do while recording.
   */
  start(head: number): void {
    if (!this.active || this.live) return;
    this.stop(this.presentTriggers());
    for (const ddl of this.triggers.values()) this.db.exec(ddl, []);
    // Written last: a start cut short leaves no meta row, and the next wake starts again.
    this.db.exec(`INSERT INTO _noema_sync_meta (id, since, publication) VALUES (1, ?, ?)`, [head, this.shape()]);
    this.live = true;
  }

  /**
   * Stops recording (nobody subscribed for a while), so writes cost nothing here. The records go:
   * they could not be continued, and every cursor gets a snapshot until the next `start`.
   */
  pause(): void {
    if (this.live) this.stop(this.presentTriggers());
  }

  private stop(present: Row[]): void {
    // The meta row first: a stop cut short leaves nothing that claims to be complete.
    this.db.exec(`DELETE FROM _noema_sync_meta`, []);
    for (const t of present) this.db.exec(`DROP TRIGGER IF EXISTS ${q(String(t.name))}`, []);
    this.db.exec(`DELETE FROM _noema_sync_changes`, []);
    this.db.exec(`DELETE FROM _noema_sync_touched`, []);
    this.live = false;
    this.recent = [];
  }

  /** Every change-capture trigger in place, this publication's or an older one's. */
  private presentTriggers(): Row[] {
    return this.db.exec(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_noema\\_sync\\_%' ESCAPE '\\'`, []);
  }

  /** What the records were captured under: another publication or law (a migration may have rewritten published rows outside any sediment) starts again. */
  private shape(): string {
    return JSON.stringify({ law: this.lawHash, tables: this.tables });
  }

  /** Inside the sealing transaction: the rows this sediment touched, with their values now, recorded under its id. */
  record(sediment: { sedimentId: number; hash: string; prevHash: string }): void {
    if (!this.live) return;
    const [stored] = this.db.exec(this.recordStatement, [sediment.sedimentId, sediment.hash, sediment.prevHash]);
    this.remember({ sedimentId: sediment.sedimentId, hash: sediment.hash, prevHash: sediment.prevHash, touched: JSON.parse(String(stored!.changes)) as Touched[] });
    if (sediment.sedimentId % PRUNE_EVERY === 0 && sediment.sedimentId > SYNC_RETAINED) {
      const below = sediment.sedimentId - SYNC_RETAINED;
      this.db.exec(`DELETE FROM _noema_sync_changes WHERE sediment_id <= ?`, [below]);
      this.db.exec(`UPDATE _noema_sync_meta SET since = MAX(since, ?)`, [below]);
    }
  }

  /** Keeps a new record in memory: one at or after its id was rolled back with its transaction; one that does not continue the chain there starts it anew. */
  private remember(record: CapturedSediment): void {
    const recent = this.recent;
    while (recent.length > 0 && recent[recent.length - 1]!.sedimentId >= record.sedimentId) recent.pop();
    const last = recent[recent.length - 1];
    if (last && (last.sedimentId !== record.sedimentId - 1 || last.hash !== record.prevHash)) recent.length = 0;
    recent.push(record);
    if (recent.length > KEPT_IN_MEMORY) recent.shift();
  }

  /** Diffs exist for every sediment after this one (older cursors need a snapshot). */
  since(): number {
    return Number(this.db.exec(`SELECT since FROM _noema_sync_meta`, [])[0]?.since ?? Infinity);
  }

  /** The chain link recorded for a sediment, to check a client's cursor against; undefined when none is kept. */
  link(sedimentId: number): SyncCursor | undefined {
    const row = this.db.exec(`SELECT hash FROM _noema_sync_changes WHERE sediment_id = ?`, [sedimentId])[0];
    return row ? { sedimentId, hash: String(row.hash) } : undefined;
  }

  /**
   * The records of the sediments after `after`, up to `limit` of them, oldest first. Given the
   * committed `head`, from memory when the records kept there reach from `after` to it (a
   * broadcast right after a commit): they are what storage holds, and nothing is read.
   */
  after(after: number, limit: number, head?: SyncCursor): CapturedSediment[] {
    const recent = this.recent;
    const last = recent[recent.length - 1];
    const first = recent.length - (last ? last.sedimentId - after : 0);
    if (head && last && last.sedimentId === head.sedimentId && last.hash === head.hash && first >= 0 && first < recent.length) return recent.slice(first, first + limit);
    return this.db.exec(`SELECT sediment_id, hash, prev_hash, changes FROM _noema_sync_changes WHERE sediment_id > ? ORDER BY sediment_id LIMIT ?`, [after, limit]).map((r) => ({
      sedimentId: Number(r.sediment_id),
      hash: String(r.hash),
      prevHash: String(r.prev_hash),
      touched: JSON.parse(String(r.changes)) as Touched[],
    }));
  }

  /** What one sediment changed that `subject` may see: an upsert per visible row now, a delete per row that left its view. */
  view(captured: CapturedSediment, subject: string | null): SyncChange[] {
    const changes: SyncChange[] = [];
    for (const [table, key, existed, before, row] of captured.touched) {
      const t = this.publication.tables[table];
      if (!t) continue;
      const scopeIndex = t.scope === undefined ? -1 : t.captured.indexOf(t.scope);
      const sees = (value: Json) => scopeIndex < 0 || (subject !== null && scopeMatches(value, subject));
      if (row && sees(row[scopeIndex]!)) changes.push({ table, op: "upsert", row: row.slice(0, t.columns.length) });
      else if (existed && sees(before)) changes.push({ table, op: "delete", key });
    }
    return changes;
  }

  /** Every row `subject` may see now, per published table (a scoped table shows nothing without a subject). */
  snapshot(subject: string | null): Record<string, SnapshotTable> {
    const tables: Record<string, SnapshotTable> = {};
    for (const t of this.tables) {
      const where = t.scope === undefined ? "" : ` WHERE ${q(t.scope)} = ?`;
      const params: SqlValue[] = t.scope === undefined ? [] : [subject];
      const read = this.db.raw
        ? this.db.raw(`SELECT ${t.columns.map(q).join(", ")} FROM ${q(t.name)}${where} ORDER BY ${t.key.map(q).join(", ")}`, params)
        : this.db.exec(`SELECT ${t.columns.map(q).join(", ")} FROM ${q(t.name)}${where} ORDER BY ${t.key.map(q).join(", ")}`, params).map((r) => t.columns.map((c) => r[c]!));
      tables[t.name] = { columns: [...t.columns], key: [...t.key], rows: read as Json[][] };
    }
    return tables;
  }
}
