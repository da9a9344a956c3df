import { createTableSql, type Json, type Nomos, type Row, type SqlValue } from "@noema/core";
import { type HeldTable, installScopes, sqlValueOf, tablesOfInvariants } from "@noema/core/runtime";
import type { SyncChange, SnapshotFrame, SyncCursor } from "@noema/core/sync";
import { type ReplicaDatabase, toSql } from "./database.js";

/** The replica's own bookkeeping, next to the World's tables: the cursor and the tables it holds. */
const META = "_noema_client";

/** A published table as the replica holds it. `exact`: created from the law's own DDL (all of its columns seen), so writes to it can be predicted. */
export interface ReplicaTable {
  columns: string[];
  key: string[];
  exact: boolean;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The local copy of one World: the confirmed state (what the server published, committed)
 * and, above it, an optimistic layer (pending Intents applied in one open transaction, each in
 * a savepoint). Server changes roll the layer back, commit, and let the client apply it again:
 * the rebase.
 */
export class Replica {
  /** The last sediment the confirmed state includes; undefined before the first snapshot. */
  head: SyncCursor | undefined;
  readonly tables = new Map<string, ReplicaTable>();
  /** Moves whenever the tables held change (a snapshot, a drop): a prediction plan made before it is stale. */
  generation = 0;
  private layer = false;

  constructor(
    readonly db: ReplicaDatabase,
    private readonly nomos: Nomos,
    /** Tables the server scopes to the subscriber (their rows are never all here), with their scope column. */
    private readonly scoped: ReadonlyMap<string, string> = new Map(),
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${META} (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT`, []);
    const saved = db.exec(`SELECT k, v FROM ${META}`, []);
    const value = (k: string) => saved.find((r) => r.k === k)?.v as string | undefined;
    const head = value("head");
    const tables = value("tables");
    // A replica saved under another law is read no further: its rows may not mean what this law says.
    if (head && tables && value("law") === nomos.hash) {
      this.head = JSON.parse(head) as SyncCursor;
      for (const [name, t] of Object.entries(JSON.parse(tables) as Record<string, ReplicaTable>)) this.tables.set(name, t);
    }
  }

  /** What the replica holds of a table, as `predictionPlan` asks: undefined when the server does not publish it. */
  held(name: string): HeldTable | undefined {
    const table = this.tables.get(name);
    return table && { columns: table.columns, whole: table.exact, scope: this.scoped.get(name) };
  }

  /** Runs a statement on the replica as it stands (optimistic layer included), its values as the core sees them. */
  read(sql: string, params: readonly SqlValue[]): Row[] {
    return this.db.exec(sql, params).map((r) => {
      const row: Row = {};
      for (const [k, v] of Object.entries(r)) row[k] = sqlValueOf(v);
      return row;
    });
  }

  /** Drops the optimistic layer: the confirmed state is what the database then holds. */
  rollback(): void {
    if (!this.layer) return;
    this.db.exec("ROLLBACK", []);
    this.layer = false;
  }

  /** Opens the optimistic layer, where pending Intents are applied. */
  private open(): void {
    if (this.layer) return;
    this.db.exec("BEGIN", []);
    this.layer = true;
  }

  /** Runs `fn` in a savepoint of the optimistic layer: if it throws, nothing it wrote stays, and the error is rethrown. */
  attempt<T>(fn: () => T): T {
    this.open();
    this.db.exec("SAVEPOINT noema_pending", []);
    try {
      const result = fn();
      this.db.exec("RELEASE noema_pending", []);
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK TO noema_pending", []);
      this.db.exec("RELEASE noema_pending", []);
      throw error;
    }
  }

  /** Changes the confirmed state in one transaction (the optimistic layer rolled back first). */
  private confirm(fn: () => void): void {
    this.rollback();
    this.db.exec("BEGIN", []);
    try {
      fn();
      this.db.exec("COMMIT", []);
    } catch (error) {
      this.db.exec("ROLLBACK", []);
      throw error;
    }
  }

  /** Forgets everything: the tables and the cursor. The next connection asks for a snapshot. */
  drop(): void {
    this.confirm(() => this.dropTables());
    this.head = undefined;
  }

  private dropTables(): void {
    const existing = this.db.exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != '${META}'`, []);
    for (const { name } of existing) this.db.exec(`DROP TABLE IF EXISTS ${quote(String(name))}`, []);
    this.db.exec(`DELETE FROM ${META}`, []);
    this.tables.clear();
    this.generation++;
  }

  /** Replaces the confirmed state with a snapshot. */
  restore(snapshot: SnapshotFrame): void {
    this.confirm(() => {
      this.dropTables();
      for (const [name, table] of Object.entries(snapshot.tables)) {
        const spec = Object.hasOwn(this.nomos.tables, name) ? this.nomos.tables[name] : undefined;
        const lawColumns = spec ? Object.keys(spec.columns) : [];
        // The law's DDL (its CHECKs, NOT NULLs, STRICT types) only where every column is seen and the law agrees on them.
        // A table scoped to the subscriber holds some of its rows only: what reads it whole cannot be predicted.
        const exact = !this.scoped.has(name) && lawColumns.length === table.columns.length && table.columns.every((c) => lawColumns.includes(c));
        if (exact) for (const ddl of createTableSql(this.nomos, name)) this.db.exec(ddl, []);
        else {
          const key = table.key.length > 0 ? `, PRIMARY KEY (${table.key.map(quote).join(", ")})` : "";
          // Every column the law has (hidden ones stay NULL), so the subscriber's own INSERTs and the law's triggers run here.
          const columns = [...lawColumns, ...table.columns.filter((c) => !lawColumns.includes(c))];
          this.db.exec(`CREATE TABLE ${quote(name)} (${columns.map(quote).join(", ")}${key})`, []);
        }
        this.tables.set(name, { columns: table.columns, key: table.key, exact });
        // A fresh table, and a snapshot lists each row once: plain inserts, one prepared statement.
        const insert = `INSERT INTO ${quote(name)} (${table.columns.map(quote).join(", ")}) VALUES (${table.columns.map(() => "?").join(", ")})`;
        for (const row of table.rows) this.db.exec(insert, row.map(toSql));
      }
      this.save({ sedimentId: snapshot.sedimentId, hash: snapshot.hash });
    });
    // Scoped invariants keep key tables filled by triggers: installed once the tables they watch are here.
    const watched = [...tablesOfInvariants(this.nomos).values()].flatMap((t) => [...t]);
    if (watched.every((t) => this.tables.has(t))) {
      installScopes({ db: this.db, transaction: (fn) => this.transaction(fn), now: Date.now }, this.nomos);
    }
  }

  private transaction<T>(fn: () => T): T {
    let result!: T;
    this.confirm(() => void (result = fn()));
    return result;
  }

  /** Applies one sediment's changes to the confirmed state and moves the cursor to it. */
  apply(cursor: SyncCursor, changes: readonly SyncChange[]): void {
    this.confirm(() => {
      for (const change of changes) {
        if (change.op === "upsert") this.upsert(change.table, change.row);
        else this.remove(change.table, change.key);
      }
      this.save(cursor);
    });
  }

  private upsert(name: string, row: readonly Json[]): void {
    const table = this.tables.get(name);
    if (!table) throw new Error(`the server changed table "${name}", which its snapshot did not list`);
    const holes = table.columns.map(() => "?").join(", ");
    const values = row.map(toSql);
    if (table.key.length > 0) this.remove(name, table.key.map((k) => row[table.columns.indexOf(k)] ?? null));
    this.db.exec(`INSERT INTO ${quote(name)} (${table.columns.map(quote).join(", ")}) VALUES (${holes})`, values);
  }

  private remove(name: string, key: readonly Json[]): void {
    const table = this.tables.get(name);
    if (!table) throw new Error(`the server changed table "${name}", which its snapshot did not list`);
    const columns = table.key.length > 0 ? table.key : table.columns;
    this.db.exec(`DELETE FROM ${quote(name)} WHERE ${columns.map((c) => `${quote(c)} IS ?`).join(" AND ")}`, key.map(toSql));
  }

  private save(cursor: SyncCursor): void {
    this.head = cursor;
    const put = `INSERT INTO ${META} (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`;
    this.db.exec(put, ["head", JSON.stringify(cursor)]);
    this.db.exec(put, ["law", this.nomos.hash]);
    this.db.exec(put, ["tables", JSON.stringify(Object.fromEntries(this.tables))]);
  }

}
