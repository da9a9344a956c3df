import { canonicalJson, type Json } from "../canonical/index.js";
import { type Row, rowArrays, runWrite, type SqlExecutor, type SqlValue } from "../host/index.js";
import { canonicalIntent, definedArgs, hasRef, type Intent, type IntentStep, type NomosStamp, resolveArgs } from "../intent/index.js";
import { type Sieve, sieveHash } from "../sieve/index.js";

/** The wake order's index (see CRYOSTASIS_DDL). */
const WAKE_INDEX = `CREATE INDEX IF NOT EXISTS _noema_cryostasis_wake ON _noema_cryostasis (wake_at)`;

export const CRYOSTASIS_DDL = [
  // Laws, Worlds and Sieves repeat across entries: each is stored once and named by version or a small id.
  `CREATE TABLE IF NOT EXISTS _noema_sieve (sieve_id INTEGER PRIMARY KEY, sieve_hash BLOB NOT NULL UNIQUE, sieve TEXT NOT NULL) STRICT`,
  // A frozen Intent is stored once: as a reference (sediment_id, step) to the `$freeze` step that
  // froze it, from which it is derived exactly, or whole in `intent` when it was frozen from code.
  // cryo_id is handed out by the store (nextCryoId), not by AUTOINCREMENT, whose sqlite_sequence write
  // made every freeze dearer; objects created before keep that table, which takes given ids alike.
  `CREATE TABLE IF NOT EXISTS _noema_cryostasis (cryo_id INTEGER PRIMARY KEY, wake_at INTEGER NOT NULL, intent TEXT, sediment_id INTEGER, step INTEGER, sieve_id INTEGER NOT NULL, nomos_version INTEGER NOT NULL, world_id INTEGER NOT NULL, freeze_key TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, frozen_at INTEGER NOT NULL) STRICT`,
  // Due entries are taken in wake-time order, ties by freezing order: an index entry ends with its
  // rowid, cryo_id, so (wake_at) alone keeps that order with a smaller entry than (wake_at, cryo_id).
  // A table clustered on (wake_at, cryo_id) WITHOUT ROWID, which needs no such index, was dearer in
  // workerd (issue 20): +6-12 µs per freeze in a fresh object, +20 µs and 21 bytes more per entry with 50,000 pending.
  WAKE_INDEX,
  `CREATE UNIQUE INDEX IF NOT EXISTS _noema_cryostasis_key ON _noema_cryostasis (freeze_key) WHERE freeze_key IS NOT NULL`,
  // No index on sediment_id: each index made every freeze write one more page (about a third of
  // the frozen row's cost in workerd), and only archival reads by it (see detachThrough).
  // A cryo_id is never handed out twice (sediments' origins name woken ones): when the entry with the
  // largest id leaves, that id is kept here, since the table no longer shows it. Only then is it written.
  `CREATE TABLE IF NOT EXISTS _noema_cryostasis_last (id INTEGER PRIMARY KEY CHECK (id = 1), cryo_id INTEGER NOT NULL) STRICT`,
  `CREATE TRIGGER IF NOT EXISTS _noema_cryostasis_last_id AFTER DELETE ON _noema_cryostasis
     WHEN old.cryo_id > coalesce((SELECT max(cryo_id) FROM _noema_cryostasis), 0)
     BEGIN INSERT INTO _noema_cryostasis_last (id, cryo_id) VALUES (1, old.cryo_id) ON CONFLICT (id) DO UPDATE SET cryo_id = max(cryo_id, excluded.cryo_id); END`,
];

/**
 * Indexes that objects made before still have, replaced with their first freeze (see nextCryoId):
 * the one on `sediment_id` by none, the wake order's on (wake_at, cryo_id) by WAKE_INDEX, which
 * such an object lacks (its wake does not run CRYOSTASIS_DDL again: the format is the same).
 */
const LEGACY_INDEXES: ReadonlyMap<string, string | undefined> = new Map([
  ["_noema_cryostasis_source", undefined],
  ["_noema_cryostasis_due", WAKE_INDEX],
]);

/**
 * The statements built-in steps run: explain shows them as they are. The Sieve and the World are
 * bound by their ids, which the store keeps in memory: looked up by hash in the statement, they
 * made the row cost about twice as much inside a Durable Object. The id is given (see nextCryoId)
 * and a key already pending fails the unique index: without AUTOINCREMENT's write and RETURNING,
 * the row's SQL costs about half as much in workerd's CPU profile.
 */
export const FREEZE_SQL = `INSERT INTO _noema_cryostasis (cryo_id, wake_at, intent, sediment_id, step, sieve_id, nomos_version, world_id, freeze_key, frozen_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const CANCEL_SQL = `DELETE FROM _noema_cryostasis WHERE freeze_key = ?`;
const REMOVE_SQL = `DELETE FROM _noema_cryostasis WHERE cryo_id = ?`;
/** Removes the entries named by a JSON array of ids: one statement for a woken batch, each id a rowid lookup. */
const REMOVE_ALL_SQL = `DELETE FROM _noema_cryostasis WHERE cryo_id IN (SELECT value FROM json_each(?))`;

/** Frozen Intents woken per alarm run by default; the alarm is re-armed for the rest. */
export const WAKE_BATCH = 500;

/** Unexpected failures are tried this many times in all (about 18 minutes of backoff), then given up as a Precedent. */
export const MAX_WAKE_ATTEMPTS = 12;

/** Capped exponential backoff after the n-th failed attempt (1 s, 2 s, 4 s, … at most 5 min). */
export function backoffMs(attempts: number): number {
  return scaledBackoffMs(attempts, 1000);
}

/** The same backoff starting at `firstMs` (messages let an Attractor choose it), capped at 5 min. */
export function scaledBackoffMs(attempts: number, firstMs: number): number {
  return Math.min(firstMs * 2 ** Math.max(attempts - 1, 0), 5 * 60 * 1000);
}

const SIEVE_ID = `SELECT sieve_id FROM _noema_sieve WHERE sieve_hash = unhex(?)`;

/** The Sieve stored under this hash. */
export function storedSieve(db: SqlExecutor, hash: string): Sieve | undefined {
  const row = db.exec(`SELECT sieve FROM _noema_sieve WHERE sieve_hash = unhex(?)`, [hash])[0];
  return row ? (JSON.parse(String(row.sieve)) as Sieve) : undefined;
}

/** A frozen Intent as stored: everything needed to decide, when it wakes, whether it may still run (listed as a FrozenEntry). */
export interface FrozenRow {
  cryoId: number;
  wakeAt: number;
  intent: Intent;
  /** Names the Sieve it depended on when frozen (`sieve(hash)` reads it). */
  sieveHash: string;
  /** The law it was frozen under. */
  nomos: NomosStamp;
  /** The World it was frozen in, by hash (stored in `_noema_world`). */
  worldHash: string;
  key: string | null;
  attempts: number;
  lastError: string | null;
  frozenAt: number;
}

/**
 * A frozen Intent as stored: the former name of `FrozenRow`.
 * @deprecated Renamed `FrozenRow` (an Attractor lists frozen Intents as `FrozenEntry`).
 */
export type FrozenEntry = FrozenRow;

export interface FreezeRequest {
  wakeAt: number;
  key?: string | undefined;
  intent: Intent;
  /** The `$freeze` step that froze it, when `frozenFromStep` derives exactly this Intent from that sediment: stored as this reference. */
  source?: { sedimentId: number; step: number } | undefined;
  sieve: Sieve;
  nomos: NomosStamp;
  worldHash: string;
  now: number;
}

/** An entry with its Sieve, law and World: `entryOf` reads its columns by position, in this order. */
const SELECT = `SELECT c.cryo_id, c.wake_at, c.intent, c.sediment_id, c.step, lower(hex(v.sieve_hash)) AS sieve_hash, c.nomos_version, n.name, n.hash, lower(hex(w.world_hash)) AS world_hash, c.freeze_key, c.attempts, c.last_error, c.frozen_at
  FROM _noema_cryostasis c LEFT JOIN _noema_nomos n ON n.version = c.nomos_version LEFT JOIN _noema_sieve v ON v.sieve_id = c.sieve_id LEFT JOIN _noema_world w ON w.world_id = c.world_id`;

/**
 * The Intent a `$freeze` step (step `step` of `intent`) freezes, derived from the sediment alone:
 * its steps with Refs resolved against the outputs of the steps before it, under the outer
 * Intent's stamp. Undefined when the outer Intent has no stamp. The step checks that this is
 * exactly what it froze before storing the reference, so deriving it later is exact.
 */
export function frozenFromStep(intent: Intent, step: number, outputs: readonly Json[]): Intent | undefined {
  const frozen = intent.steps[step]?.args.intent as { steps?: IntentStep[] } | undefined;
  if (!intent.nomos || !Array.isArray(frozen?.steps)) return undefined;
  const earlier = outputs.slice(0, step);
  const steps = frozen.steps.map((s) => (hasRef(s.args) ? { args: definedArgs(resolveArgs(s.args, earlier) as Record<string, Json>), op: s.op } : s));
  return canonicalIntent(intent.nomos, steps, undefined);
}

/** Where a frozen Intent stored by reference is read from: the Intent and outputs of a live sediment. */
export type SedimentSource = (sedimentId: number) => { intent: Intent; outputs: Json[] } | undefined;

/** A key already names a pending frozen Intent that is not this one. */
export class FreezeKeyConflict extends Error {
  override name = "FreezeKeyConflict";
  constructor(
    readonly key: string,
    readonly cryoId: number,
  ) {
    super(`freeze key "${key}" already names pending entry ${cryoId}, a different Intent`);
  }
}

/** Frozen Intents of one Attractor, in an internal table; every method runs inside the caller's transaction. */
export class CryostasisStore {
  // Most Intents share a few Sieves, so most freezes bind a known id. An id is known only once the
  // transaction that stored its Sieve committed: a rollback takes the row, and its id, with it.
  private readonly sieveIds = new Map<string, number>();
  /** Sieves stored by a transaction not yet known to have committed (see `committed`). */
  private readonly storedSieves = new Set<string>();
  /** Sieves read back by hash, for woken entries: content-addressed, so never stale. */
  private readonly sieves = new Map<string, Sieve>();
  /** World ids by hash: a World row is written once, when its Sedimenter starts, and never changes. */
  private readonly worldIds = new Map<string, number>();
  /** The largest cryo_id handed out, read on the first freeze (see nextCryoId). */
  private lastCryoId: number | undefined;

  /** `source` reads the sediments that entries stored by reference derive their Intent from; `byReference` false stores every Intent whole. */
  constructor(
    private readonly db: SqlExecutor,
    private readonly source: SedimentSource,
    private readonly byReference = true,
  ) {}

  /** Stores a frozen Intent; with a key already pending, stores nothing and returns that entry. */
  freeze(r: FreezeRequest): { cryoId: number; wakeAt: number; existing: boolean } {
    const source = this.byReference ? r.source : undefined;
    // Stored by reference, the text is needed only to compare with an entry already under the key.
    const intent = source ? undefined : canonicalJson(r.intent);
    const params = [0, r.wakeAt, intent ?? null, source?.sedimentId ?? null, source?.step ?? null, this.sieveId(r.sieve), r.nomos.version, this.worldId(r.worldHash), r.key ?? null, r.now];
    for (let tries = 0; ; tries++) {
      const cryoId = (params[0] = this.nextCryoId());
      try {
        runWrite(this.db, FREEZE_SQL, params);
        return { cryoId, wakeAt: r.wakeAt, existing: false };
      } catch (error) {
        // Refused by a unique index: the key is pending already, or another store on this database
        // (a check tool's) handed out the id; then the largest id is read again, once.
        const found = r.key === undefined ? undefined : this.db.exec(`SELECT cryo_id, wake_at, intent, sediment_id, step FROM _noema_cryostasis WHERE freeze_key = ?`, [r.key])[0];
        if (found) {
          // A key names one frozen Intent: the same one again is a no-op, another one is a conflict.
          if (this.intentText(found) !== (intent ?? canonicalJson(r.intent))) throw new FreezeKeyConflict(r.key!, Number(found.cryo_id));
          return { cryoId: Number(found.cryo_id), wakeAt: Number(found.wake_at), existing: true };
        }
        if (tries > 0) throw error;
        this.lastCryoId = undefined;
      }
    }
  }

  /**
   * An id no entry had before: past the largest in the table, the largest that left it (kept by
   * a trigger) and, for a table made with AUTOINCREMENT (before this), its sequence. Read once per
   * instance, then counted in memory; an id a rolled-back transaction took leaves a harmless gap.
   */
  private nextCryoId(): number {
    if (this.lastCryoId === undefined) {
      // An object made before the trigger has an AUTOINCREMENT table instead (sqlite_sequence exists once any such table does).
      const exists = new Set(this.db.exec(`SELECT name FROM sqlite_master WHERE name IN ('_noema_cryostasis_last', 'sqlite_sequence', ${[...LEGACY_INDEXES.keys()].map((i) => `'${i}'`).join(", ")})`, []).map((r) => r.name));
      // One made before an index was replaced gets the new one with its first freeze (in that transaction: a rollback keeps the old, harmlessly).
      for (const [index, replacement] of LEGACY_INDEXES) {
        if (!exists.has(index)) continue;
        this.db.exec(`DROP INDEX IF EXISTS ${index}`, []);
        if (replacement) this.db.exec(replacement, []);
      }
      const read = (sql: string) => Number(this.db.exec(sql, [])[0]?.id ?? 0);
      this.lastCryoId = Math.max(
        read(`SELECT max(cryo_id) AS id FROM _noema_cryostasis`),
        exists.has("_noema_cryostasis_last") ? read(`SELECT cryo_id AS id FROM _noema_cryostasis_last`) : 0,
        exists.has("sqlite_sequence") ? read(`SELECT seq AS id FROM sqlite_sequence WHERE name = '_noema_cryostasis'`) : 0,
      );
    }
    return ++this.lastCryoId;
  }

  /** The id of a Sieve, stored first when it is not yet known (inside the caller's transaction). */
  private sieveId(sieve: Sieve): number {
    const hash = sieveHash(sieve);
    const known = this.sieveIds.get(hash);
    if (known !== undefined) return known;
    this.db.exec(`INSERT OR IGNORE INTO _noema_sieve (sieve_hash, sieve) VALUES (unhex(?), ?)`, [hash, canonicalJson(sieve)]);
    this.storedSieves.add(hash);
    return Number(this.db.exec(SIEVE_ID, [hash])[0]!.sieve_id);
  }

  /**
   * Called after a transaction that may have frozen committed, outside it: the Sieves stored
   * since are read back, and known by the ids they have now (one a rollback took is not there).
   */
  committed(): void {
    if (this.storedSieves.size === 0) return;
    for (const hash of this.storedSieves) {
      const row = this.db.exec(SIEVE_ID, [hash])[0];
      if (row) this.sieveIds.set(hash, Number(row.sieve_id));
    }
    this.storedSieves.clear();
  }

  /** The id of a registered World (NULL for one never registered, which the row refuses). */
  private worldId(hash: string): number | null {
    let id = this.worldIds.get(hash);
    if (id === undefined) {
      const row = this.db.exec(`SELECT world_id FROM _noema_world WHERE world_hash = unhex(?)`, [hash])[0];
      if (!row) return null;
      this.worldIds.set(hash, (id = Number(row.world_id)));
    }
    return id;
  }

  /** An entry's frozen Intent: stored whole (`intent`), or derived from the `$freeze` step it references (`sedimentId`, `step`). */
  private intentOf(cryoId: SqlValue | undefined, intent: SqlValue | undefined, sedimentId: SqlValue | undefined, step: SqlValue | undefined): Intent {
    if (sedimentId === null || sedimentId === undefined) return JSON.parse(String(intent)) as Intent;
    const from = this.source(Number(sedimentId));
    const derived = from && frozenFromStep(from.intent, Number(step), from.outputs);
    // Only a hand edit can remove a live sediment that a pending entry references (archival copies the Intent in first).
    if (!derived) throw new Error(`frozen Intent ${String(cryoId)} references sediment ${String(sedimentId)}, step ${String(step)}, which is not in the log`);
    return derived;
  }

  /** The canonical JSON of an entry's frozen Intent, as a row of `_noema_cryostasis` holds it (whole or by reference). */
  intentText(r: Row): string {
    return r.sediment_id === null || r.sediment_id === undefined ? String(r.intent) : canonicalJson(this.intentOf(r.cryo_id, r.intent, r.sediment_id, r.step));
  }

  /**
   * Copies the Intent into every entry that references a sediment up to `sedimentId`, so
   * those sediments can leave the live log (archival) without a pending entry losing its Intent.
   * It scans the pending entries (a few ms per 100,000), once per archived segment: an index for
   * it would cost every freeze more (see CRYOSTASIS_DDL).
   */
  detachThrough(sedimentId: number): number {
    const rows = this.db.exec(`SELECT cryo_id, sediment_id, step FROM _noema_cryostasis WHERE sediment_id IS NOT NULL AND sediment_id <= ?`, [sedimentId]);
    for (const r of rows) this.db.exec(`UPDATE _noema_cryostasis SET intent = ?, sediment_id = NULL, step = NULL WHERE cryo_id = ?`, [this.intentText(r), r.cryo_id!]);
    return rows.length;
  }

  /** Rows of SELECT, as arrays in its column order: a woken batch reads hundreds, and arrays are what workerd makes cheapest. */
  private entries(where: string, params: readonly SqlValue[]): FrozenRow[] {
    // SELECT names each column once, in entryOf's order.
    return rowArrays(this.db, `${SELECT} ${where}`, params).map((v) => this.entryOf(v));
  }

  /** An entry from a row of SELECT (see its column order). */
  private entryOf([cryoId, wakeAt, intent, sedimentId, step, sieveHash, version, name, hash, worldHash, key, attempts, lastError, frozenAt]: SqlValue[]): FrozenRow {
    return {
      cryoId: Number(cryoId),
      wakeAt: Number(wakeAt),
      intent: this.intentOf(cryoId, intent, sedimentId, step),
      sieveHash: String(sieveHash),
      nomos: { name: String(name), version: Number(version), hash: String(hash) },
      worldHash: String(worldHash),
      key: key === null ? null : String(key),
      attempts: Number(attempts),
      lastError: lastError === null ? null : String(lastError),
      frozenAt: Number(frozenAt),
    };
  }

  /** The Sieve stored under this hash: what a frozen Intent depended on when it was frozen. */
  sieve(hash: string): Sieve | undefined {
    let sieve = this.sieves.get(hash);
    if (!sieve) {
      sieve = storedSieve(this.db, hash);
      if (sieve) this.sieves.set(hash, Object.freeze(sieve));
    }
    return sieve;
  }

  cancelKey(key: string): boolean {
    return this.deleted(CANCEL_SQL, key);
  }

  /** Removes an entry; false when it is already gone (woken or cancelled before). */
  remove(cryoId: number): boolean {
    return this.deleted(REMOVE_SQL, cryoId);
  }

  /** Removes the entries a wake sealed, in one statement (inside the batch's transaction, which applied them). */
  removeAll(cryoIds: readonly number[]): void {
    if (cryoIds.length === 0) return;
    runWrite(this.db, REMOVE_ALL_SQL, [JSON.stringify(cryoIds)]);
  }

  /** Runs a delete of at most one entry: whether it removed one. Every wake pays this, so RETURNING only where the host cannot count. */
  private deleted(sql: string, param: SqlValue): boolean {
    const { db } = this;
    return db.run ? db.run(sql, [param]) > 0 : db.exec(`${sql} RETURNING cryo_id`, [param]).length > 0;
  }

  earliest(): number | undefined {
    const r = this.db.exec(`SELECT wake_at FROM _noema_cryostasis ORDER BY wake_at, cryo_id LIMIT 1`, [])[0];
    return r ? Number(r.wake_at) : undefined;
  }

  due(now: number, limit: number): FrozenRow[] {
    return this.entries(`WHERE c.wake_at <= ? ORDER BY c.wake_at, c.cryo_id LIMIT ?`, [now, limit]);
  }

  /** Pending entries in wake order, paged by (wakeAt, cryoId). */
  list(limit: number, after?: { wakeAt: number; cryoId: number }): FrozenRow[] {
    return this.entries(`WHERE (c.wake_at, c.cryo_id) > (?, ?) ORDER BY c.wake_at, c.cryo_id LIMIT ?`, [after?.wakeAt ?? -1, after?.cryoId ?? -1, limit]);
  }

  /** Records an unexpected failure and moves the entry's wake time back. */
  postpone(cryoId: number, attempts: number, error: string, wakeAt: number): void {
    this.db.exec(`UPDATE _noema_cryostasis SET attempts = ?, last_error = ?, wake_at = ? WHERE cryo_id = ?`, [attempts, error, wakeAt, cryoId]);
  }
}
