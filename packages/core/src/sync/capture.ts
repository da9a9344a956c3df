// Change capture: what each sediment changed in the published tables, recorded inside the
// transaction that seals it, so a Seal is published as a diff and the diffs of past sediments
// can be read again (a client resuming from its cursor). Only published tables carry triggers;
// an Attractor that publishes nothing creates nothing and runs nothing here.
import type { Json } from "../canonical/index.js";
import { NEXT_SEDIMENT_ID_SQL } from "../seal/store.js";
import { type Row, rowArrays, type SqlExecutor, type SqlValue } from "../host/index.js";
import type { SnapshotTable, SyncChange, SyncCursor } from "./protocol.js";
import type { Publication, PublishedTable } from "./publication.js";

/** Sediments whose changes are kept for resuming clients; a client further behind gets a snapshot. */
export const SYNC_RETAINED = 10_000;
/** How often (in sediments) records older than SYNC_RETAINED are removed. */
const PRUNE_EVERY = 256;
/**
 * The latest records kept in memory as well, so a broadcast right after a commit reads none back:
 * it needs the newest one or two. Few, so that a record dies young: kept across V8's scavenges
 * (64 were), records were promoted and added to the major GCs that fell in a subscriber's write.
 */
const KEPT_IN_MEMORY = 8;

/**
 * A touch's id is its sediment's id times this, plus its number within the sediment: the touches of
 * one sediment are one range of rowids, appended in order. Sediment ids stay below 2^39; a sediment
 * that changes this many published rows is refused while capture runs (a diff that size could not be sent anyway).
 */
const TOUCHES_PER_SEDIMENT = 2 ** 24;
/** Bits of a touch id below its sediment's id: log2(TOUCHES_PER_SEDIMENT). */
const TOUCH_BITS = Math.log2(TOUCHES_PER_SEDIMENT);

/** The tables change capture keeps its per-sediment diffs in (see docs/reference/storage.md). */
export const SYNC_DDL = [
  // One row per touch of a published row, in the order they happened: a JSON array [table, key, existed, scope before, values after].
  // A rowid table appended to: about one page written per commit, where rows keyed (sediment, table, key) wrote half a page more.
  `CREATE TABLE IF NOT EXISTS _noema_sync_touch (id INTEGER PRIMARY KEY, touch TEXT NOT NULL)`,
  // Where the records begin (diffs exist for sediments after `since`), and the publication they were captured under.
  `CREATE TABLE IF NOT EXISTS _noema_sync_meta (id INTEGER PRIMARY KEY CHECK (id = 1), since INTEGER NOT NULL, publication TEXT NOT NULL)`,
];
/** Tables of earlier versions of change capture, dropped when capture stops. */
const LEGACY_TABLES = ["_noema_sync_touched", "_noema_sync_changes", "_noema_sync_rows"];

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
/** Who may see a row: nobody's scope when the table is unscoped, else the scope value as text. */
const scopeMatches = (value: Json, subject: string) => value !== null && String(value) === subject;
/** Whether `subject` sees a row of scope `value` (any row of an unscoped table, `scopeIndex` -1). Module level: no closure per row in `view`. */
const sees = (scopeIndex: number, value: Json, subject: string | null) => scopeIndex < 0 || (subject !== null && scopeMatches(value, subject));

/**
 * A sediment's touches as read (JSON arrays joined by commas, in the order they happened) as its
 * record lists them: one entry per row, with whether and how it was seen before its first touch and
 * its values after its last, in key order (table, then the key's JSON), so that a record read back
 * equals the one kept in memory.
 */
function touchedOf(stored: string): Touched[] {
  const touches = JSON.parse(`[${stored}]`) as Touched[];
  if (touches.length < 2 || inTableOrder(touches)) return touches;
  // Sorted stably by row, so a row's touches stay in order next to each other: its first is kept, with its last "after".
  const ids = touches.map((t) => `${t[0]}\u0000${JSON.stringify(t[1])}`);
  const order = touches.map((_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b));
  const out: Touched[] = [];
  for (let i = 0; i < order.length; i++) {
    const t = touches[order[i]!]!;
    if (i > 0 && ids[order[i]!] === ids[order[i - 1]!]) out[out.length - 1]![4] = t[4];
    else out.push(t);
  }
  return out;
}

/** Touches up to this many are checked pairwise for a table in common (a usual Intent changes a row or two of a few tables). */
const FEW_TOUCHES = 8;

/**
 * When no two of a few touches share a table, they are sorted where they lie, by table: the
 * order touchedOf's sort gives (its key begins with the table, then a NUL), with no row to merge
 * and no string made. False, untouched, otherwise.
 */
function inTableOrder(touches: Touched[]): boolean {
  if (touches.length > FEW_TOUCHES) return false;
  for (let i = 1; i < touches.length; i++) for (let j = 0; j < i; j++) if (touches[i]![0] === touches[j]![0]) return false;
  for (let i = 1; i < touches.length; i++) {
    const t = touches[i]!;
    let j = i - 1;
    for (; j >= 0 && touches[j]![0] > t[0]; j--) touches[j + 1] = touches[j]!;
    touches[j + 1] = t;
  }
  return true;
}

/** The first touch id of the sediment whose id is bound at this point, and the first one after it. */
const TOUCHES_OF = `id >= ? * ${TOUCHES_PER_SEDIMENT} AND id < (? + 1) * ${TOUCHES_PER_SEDIMENT}`;
/** The column the log row's INSERT returns while recording: the sediment's touches ('' when it changed no published row). */
const RECORD_COLUMN = "_noema_sync_record";
const RECORD_READ = `COALESCE((SELECT group_concat(touch, ',' ORDER BY id) FROM _noema_sync_touch WHERE ${TOUCHES_OF}), '') AS ${RECORD_COLUMN}`;

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

  /** `links` reads the log's chain links (`SedimentLog.links`): a record keeps only rows, and a sediment that changed no published row keeps none. */
  constructor(
    private readonly db: SqlExecutor,
    readonly publication: Publication,
    private readonly links: (from: number, limit: number) => SyncCursor[],
  ) {
    this.tables = Object.values(publication.tables);
    for (const t of this.tables) {
      const key = (row: "NEW" | "OLD") => `json_array(${t.key.map((c) => `${row}.${q(c)}`).join(", ")})`;
      const values = `json_array(${t.captured.map((c) => `NEW.${q(c)}`).join(", ")})`;
      // A BLOB scope, which no subject can equal and JSON cannot hold, is null.
      const scope = t.scope ? `CASE WHEN typeof(OLD.${q(t.scope)}) = 'blob' THEN NULL ELSE OLD.${q(t.scope)} END` : "NULL";
      // Every touch is appended under the next id in its sediment's range (`touchedOf` keeps a row's first "before" and last "after"); past the range, the write is refused.
      // One statement: the sediment's id and the next touch id are each looked up once per touch.
      const next = `SELECT MAX(COALESCE((SELECT MAX(id) FROM _noema_sync_touch), 0) + 1, sediment * ${TOUCHES_PER_SEDIMENT}) AS id, sediment FROM (SELECT ${NEXT_SEDIMENT_ID_SQL} AS sediment)`;
      const touch = (row: "NEW" | "OLD", existed: 0 | 1, after: string) =>
        `INSERT INTO _noema_sync_touch (id, touch) SELECT CASE WHEN id < (sediment + 1) * ${TOUCHES_PER_SEDIMENT} THEN id ELSE RAISE(ABORT, 'change capture: a sediment changed more than ${TOUCHES_PER_SEDIMENT} published rows') END,
         json_array(${literal(t.name)}, ${key(row)}, ${existed}, ${existed ? scope : "NULL"}, ${after}) FROM (${next});`;
      const create = (on: string, body: string) => this.triggers.set(triggerName(t.name, on), `CREATE TRIGGER ${q(triggerName(t.name, on))} ${body}`);
      create("insert", `AFTER INSERT ON ${q(t.name)} BEGIN ${touch("NEW", 0, values)} END`);
      // Only updates of captured columns or the key: a write to a hidden column costs nothing here. A new key is a delete and an insert.
      const watched = [...new Set([...t.captured, ...t.key])].map(q).join(", ");
      const sameKey = t.key.map((c) => `OLD.${q(c)} IS NEW.${q(c)}`).join(" AND ");
      create("update", `AFTER UPDATE OF ${watched} ON ${q(t.name)} WHEN ${sameKey} BEGIN ${touch("OLD", 1, values)} END`);
      create("rekey", `AFTER UPDATE OF ${watched} ON ${q(t.name)} WHEN NOT (${sameKey}) BEGIN ${touch("OLD", 1, "NULL")} ${touch("NEW", 0, values)} END`);
      create("delete", `AFTER DELETE ON ${q(t.name)} BEGIN ${touch("OLD", 1, "NULL")} END`);
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
    // Rows written outside any sediment since (as a migration writes) are no sediment's: a snapshot carries them.
    if (this.live) this.db.exec(`DELETE FROM _noema_sync_touch WHERE id >= (? + 1) * ${TOUCHES_PER_SEDIMENT}`, [head]);
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
    this.db.exec(`DELETE FROM _noema_sync_touch`, []);
    for (const table of LEGACY_TABLES) this.db.exec(`DROP TABLE IF EXISTS ${table}`, []);
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

  /**
   * While recording, what the sealing transaction reads with the log row (its INSERT's RETURNING,
   * see SedimenterOptions.sealingRead): this sediment's rows, so `record` runs no statement of its own.
   */
  sealingRead(sedimentId: number): { columns: string; params: SqlValue[] } | undefined {
    return this.live ? { columns: RECORD_READ, params: [sedimentId, sedimentId] } : undefined;
  }

  /** Inside the sealing transaction: the rows this sediment touched, with their values now, filed under its id (`read`: what `sealingRead` read). */
  record(sediment: { sedimentId: number; hash: string; prevHash: string }, read?: Row): void {
    if (!this.live) return;
    const returned = read?.[RECORD_COLUMN];
    const stored = typeof returned === "string" ? returned : this.db.exec(`SELECT ${RECORD_READ}`, [sediment.sedimentId, sediment.sedimentId])[0]?.[RECORD_COLUMN];
    const touched = typeof stored === "string" && stored !== "" ? touchedOf(stored) : [];
    // Its link alone: the sealing path's sediment carries the Intent and outputs, which a record must not keep.
    this.remember({ sedimentId: sediment.sedimentId, hash: sediment.hash, prevHash: sediment.prevHash, touched });
    if (sediment.sedimentId % PRUNE_EVERY === 0 && sediment.sedimentId > SYNC_RETAINED) {
      const below = sediment.sedimentId - SYNC_RETAINED;
      this.db.exec(`DELETE FROM _noema_sync_touch WHERE id < (? + 1) * ${TOUCHES_PER_SEDIMENT}`, [below]);
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

  /**
   * The records of the sediments after `after`, up to `limit` of them, oldest first. Given the
   * committed `head`, from memory when the records kept there reach from `after` to it (a
   * broadcast right after a commit): they are what storage holds, and nothing is read. None when
   * `after` precedes the records, or the log no longer holds its chain link.
   */
  after(after: number, limit: number, head?: SyncCursor): CapturedSediment[] {
    const recent = this.recent;
    const last = recent[recent.length - 1];
    const first = recent.length - (last ? last.sedimentId - after : 0);
    if (head && last && last.sedimentId === head.sedimentId && last.hash === head.hash && first >= 0 && first < recent.length) return recent.slice(first, first + limit);
    // Sediments at or before `since` were not recorded: none of them can be served.
    const links = after < this.since() ? [] : this.links(after, limit);
    if (links.length < 2) return [];
    // The touches of each sediment, joined as `touchedOf` reads them (the sediment's id by shift: a touch id may exceed 2^53).
    const read = rowArrays(this.db, `SELECT id >> ${TOUCH_BITS}, group_concat(touch, ',' ORDER BY id) FROM _noema_sync_touch WHERE id >= (? + 1) * ${TOUCHES_PER_SEDIMENT} AND id < (? + 1) * ${TOUCHES_PER_SEDIMENT} GROUP BY id >> ${TOUCH_BITS}`, [after, links[links.length - 1]!.sedimentId]);
    const bySediment = new Map(read.map(([id, touches]) => [Number(id), touchedOf(String(touches))]));
    return links.slice(1).map((link, i) => ({ sedimentId: link.sedimentId, hash: link.hash, prevHash: links[i]!.hash, touched: bySediment.get(link.sedimentId) ?? [] }));
  }

  /** What one sediment changed that `subject` may see: an upsert per visible row now, a delete per row that left its view. */
  view(captured: CapturedSediment, subject: string | null): SyncChange[] {
    const changes: SyncChange[] = [];
    // A touch read by index: destructured, it made an iterator and its results per touch.
    for (const touch of captured.touched) {
      const table = touch[0];
      const row = touch[4];
      const t = this.publication.tables[table];
      if (!t) continue;
      const scopeIndex = t.scope === undefined ? -1 : t.captured.indexOf(t.scope);
      // The captured values end with the scope column when it is not published: sliced off only then.
      if (row && sees(scopeIndex, row[scopeIndex]!, subject)) changes.push({ table, op: "upsert", row: row.length === t.columns.length ? row : row.slice(0, t.columns.length) });
      else if (touch[2] && sees(scopeIndex, touch[3], subject)) changes.push({ table, op: "delete", key: touch[1] });
    }
    return changes;
  }

  /** Every row `subject` may see now, per published table (a scoped table shows nothing without a subject). */
  snapshot(subject: string | null): Record<string, SnapshotTable> {
    const tables: Record<string, SnapshotTable> = {};
    for (const t of this.tables) {
      const where = t.scope === undefined ? "" : ` WHERE ${q(t.scope)} = ?`;
      const params: SqlValue[] = t.scope === undefined ? [] : [subject];
      const read = rowArrays(this.db, `SELECT ${t.columns.map(q).join(", ")} FROM ${q(t.name)}${where} ORDER BY ${t.key.map(q).join(", ")}`, params);
      tables[t.name] = { columns: [...t.columns], key: [...t.key], rows: read as Json[][] };
    }
    return tables;
  }
}
