import { canonicalJson, type Json, sha256Hex, utf8Length } from "../canonical/index.js";
import { type Row, rowArrays, type SqlExecutor, type SqlValue } from "../host/index.js";
import type { Intent, NomosStamp } from "../intent/index.js";
import type { Nomos } from "../nomos/index.js";
import { cryostasisFeature, CRYOSTASIS_DDL, CryostasisStore } from "../cryostasis/index.js";
import { messagesFeature } from "../message/index.js";
import { type CanonicalSediment, GENESIS_HASH, hashCanonicalSediment } from "./chain.js";
import type { Origin } from "../admission/index.js";
import type { Reason, ReasonKind } from "../refusal/index.js";
import type { Precedent, Sediment, Verification, World } from "./types.js";
import { verificationFeature } from "./verify.js";

/** The features whose tables every Attractor has, created with the log's (the archive makes its own when declared). */
const FEATURE_TABLES = [cryostasisFeature, verificationFeature, messagesFeature].flatMap((f) => f.tables);

/** Largest page of sediments, precedents or frozen Intents one read returns. */
export const MAX_PAGE = 1000;
/** Page size when a caller gives none. */
export const DEFAULT_PAGE = 100;

/**
 * Version of the internal tables' layout, kept in `_noema_format`. 1 (no `_noema_format` row):
 * hashes as hex TEXT, `prev_hash` stored, the World by hash, frozen Intents stored whole.
 * 2: hashes as 32-byte BLOBs, `prev_hash` derived from the previous row (or the anchor), the
 * World and Sieve by small integer ids, the held law's stamp and the idempotency key cut from
 * the stored Intent text, and a frozen Intent that its sediment can re-derive kept as a reference.
 * 3: a log row may name a shape (`_noema_shape`): its Intent and outputs then hold only their
 * values, the shape the rest (see splitShape). Rows of format 2 stay as they are, whole.
 */
export const FORMAT_VERSION = 3;

/** Rows read per statement while verifying the chain. */
const VERIFY_BATCH = 500;

/** Hashes are stored as 32-byte BLOBs and cross every API as lower-case hex: these convert in SQL. */
const HEX_IN = "unhex(?)";
const hexOut = (column: string) => `lower(hex(${column}))`;

/** Internal tables; the `_noema_` prefix is reserved and no Nomos may declare it. */
const INTERNAL_DDL = [
  `CREATE TABLE IF NOT EXISTS _noema_format (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT`,
  `CREATE TABLE IF NOT EXISTS _noema_nomos (version INTEGER PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
  // The World repeats in every entry, so entries name it by a small id and it is stored once.
  `CREATE TABLE IF NOT EXISTS _noema_world (world_id INTEGER PRIMARY KEY, world_hash BLOB NOT NULL UNIQUE, world TEXT NOT NULL) STRICT`,
  // prev_hash is not stored: it is the previous row's hash (the anchor's for the first live row).
  // intent: canonical JSON, without the stamp of law nomos_version and the idempotency key when nomos_version is set (see storedIntent);
  // with a shape_id, intent and outputs hold only their values (see splitShape).
  `CREATE TABLE IF NOT EXISTS _noema_sediment (sediment_id INTEGER PRIMARY KEY, hash BLOB NOT NULL, timestamp INTEGER NOT NULL, intent TEXT NOT NULL, nomos_version INTEGER, outputs TEXT NOT NULL, world_id INTEGER NOT NULL, origin TEXT, idempotency_key TEXT, shape_id INTEGER) STRICT`,
  // What Intents and outputs of one kind share (their JSON with the values left out): stored once, named by the rows.
  `CREATE TABLE IF NOT EXISTS _noema_shape (shape_id INTEGER PRIMARY KEY, intent TEXT NOT NULL, outputs TEXT NOT NULL) STRICT`,
  // Partial: most Intents carry no key, and they should not pay for an index entry.
  `CREATE UNIQUE INDEX IF NOT EXISTS _noema_sediment_idempotency ON _noema_sediment (idempotency_key) WHERE idempotency_key IS NOT NULL`,
  // The last sediment removed from the live log (archived): the first live row chains to its hash.
  `CREATE TABLE IF NOT EXISTS _noema_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), sediment_id INTEGER NOT NULL, hash BLOB NOT NULL) STRICT`,
  `CREATE TABLE IF NOT EXISTS _noema_precedent (precedent_id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, intent TEXT NOT NULL, reason TEXT NOT NULL, nomos_version INTEGER NOT NULL, nomos_hash TEXT NOT NULL, timestamp INTEGER NOT NULL) STRICT`,
  // The Precedent filters, each in id order so a page is read off the index.
  `CREATE INDEX IF NOT EXISTS _noema_precedent_kind ON _noema_precedent (kind, precedent_id)`,
  `CREATE INDEX IF NOT EXISTS _noema_precedent_nomos ON _noema_precedent (nomos_version, precedent_id)`,
  // Archived entries that carried an idempotency key, with their previous hash: a retried Intent still gets its Seal instead of applying twice.
  `CREATE TABLE IF NOT EXISTS _noema_archived_key (sediment_id INTEGER PRIMARY KEY, hash BLOB NOT NULL, prev_hash BLOB NOT NULL, timestamp INTEGER NOT NULL, intent TEXT NOT NULL, nomos_version INTEGER, outputs TEXT NOT NULL, world_id INTEGER NOT NULL, origin TEXT, idempotency_key TEXT NOT NULL UNIQUE, shape_id INTEGER) STRICT`,
];

/** A version of the law as a World applied it: name, version, hash and when. */
export interface AppliedNomos extends NomosStamp {
  appliedAt: number;
}

/** Creates the internal tables, upgrading an older layout first; safe to run on every wake, inside the wake's transaction. */
export function createInternalTables(db: SqlExecutor): void {
  const format = formatVersion(db);
  if (format === FORMAT_VERSION) return;
  if (format === 1) upgradeFromV1(db);
  // 2 → 3: rows keep their whole text (no shape); only new rows are shaped.
  if (format === 2) for (const t of ["_noema_sediment", "_noema_archived_key"]) db.exec(`ALTER TABLE ${t} ADD COLUMN shape_id INTEGER`, []);
  for (const ddl of [...INTERNAL_DDL, ...FEATURE_TABLES]) db.exec(ddl, []);
  db.exec(`INSERT OR REPLACE INTO _noema_format (id, version) VALUES (1, ?)`, [FORMAT_VERSION]);
}

const tableExists = (db: SqlExecutor, name: string) => db.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, [name]).length > 0;

/** The layout of the internal tables: undefined for a fresh object, 1 for tables made before `_noema_format` existed. */
function formatVersion(db: SqlExecutor): number | undefined {
  if (tableExists(db, "_noema_format")) {
    const r = db.exec(`SELECT version FROM _noema_format WHERE id = 1`, [])[0];
    if (r) {
      const version = Number(r.version);
      if (version > FORMAT_VERSION) throw new Error(`the internal tables are in format ${version}, newer than this code's ${FORMAT_VERSION}: deploy the newer code`);
      return version;
    }
  }
  return tableExists(db, "_noema_sediment") ? 1 : undefined;
}

/** Rows copied per statement batch while upgrading. */
const UPGRADE_BATCH = 500;

/**
 * Format 1 → 2, in the wake's transaction (all or nothing): the old tables are renamed, the new
 * ones created, every row copied through the same encoders new rows use, and the old tables
 * dropped. Hashes are not recomputed: a row that did not verify before still does not.
 */
function upgradeFromV1(db: SqlExecutor): void {
  const old = ["_noema_sediment", "_noema_world", "_noema_cryostasis", "_noema_sieve"].filter((t) => tableExists(db, t));
  for (const index of ["_noema_sediment_idempotency", "_noema_cryostasis_due", "_noema_cryostasis_key"]) db.exec(`DROP INDEX IF EXISTS ${index}`, []);
  for (const t of old) db.exec(`ALTER TABLE ${t} RENAME TO ${t}_v1`, []);
  for (const ddl of [...INTERNAL_DDL, ...CRYOSTASIS_DDL]) db.exec(ddl, []);
  const log = new SedimentLog(db);
  const worldIds = new Map<string, number>();
  if (old.includes("_noema_world")) {
    for (const w of db.exec(`SELECT world_hash, world FROM _noema_world_v1`, [])) worldIds.set(String(w.world_hash), log.registerWorld(String(w.world), String(w.world_hash)));
  }
  if (old.includes("_noema_sediment")) {
    for (let after = 0; ; ) {
      const rows = db.exec(`SELECT * FROM _noema_sediment_v1 WHERE sediment_id > ? ORDER BY sediment_id LIMIT ?`, [after, UPGRADE_BATCH]);
      for (const r of rows) {
        const key = r.idempotency_key === null ? null : String(r.idempotency_key);
        const stored = log.storedIntent(String(r.intent), key);
        // A World that is not stored (only by tampering) gets an id that names none: verify reports it.
        const worldId = worldIds.get(String(r.world_hash)) ?? 0;
        db.exec(
          `INSERT INTO _noema_sediment (sediment_id, hash, timestamp, intent, nomos_version, outputs, world_id, origin, idempotency_key) VALUES (?, ${HEX_IN}, ?, ?, ?, ?, ?, ?, ?)`,
          [r.sediment_id!, r.hash!, r.timestamp!, stored.text, stored.nomosVersion, r.outputs!, worldId, r.origin ?? null, key],
        );
        after = Number(r.sediment_id);
      }
      if (rows.length < UPGRADE_BATCH) break;
    }
  }
  if (old.includes("_noema_cryostasis")) {
    const sieveIds = new Map<string, number>();
    if (old.includes("_noema_sieve")) {
      for (const r of db.exec(`SELECT sieve_hash, sieve FROM _noema_sieve_v1`, [])) {
        sieveIds.set(String(r.sieve_hash), Number(db.exec(`INSERT INTO _noema_sieve (sieve_hash, sieve) VALUES (${HEX_IN}, ?) RETURNING sieve_id`, [r.sieve_hash!, r.sieve!])[0]!.sieve_id));
      }
    }
    // Kept whole (no sediment reference): the upgrade does not re-derive what it cannot check cheaply.
    const rows = db.exec(`SELECT * FROM _noema_cryostasis_v1`, []);
    for (const r of rows) {
      db.exec(
        `INSERT INTO _noema_cryostasis (cryo_id, wake_at, intent, sieve_id, nomos_version, world_id, freeze_key, attempts, last_error, frozen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [r.cryo_id!, r.wake_at!, r.intent!, sieveIds.get(String(r.sieve_hash)) ?? 0, r.nomos_version!, worldIds.get(String(r.world_hash)) ?? 0, r.freeze_key ?? null, r.attempts!, r.last_error ?? null, r.frozen_at!],
      );
    }
    // Woken entries' ids are named by their sediments' origins: the new table must not hand them out again.
    const seq = db.exec(`SELECT seq FROM sqlite_sequence WHERE name = '_noema_cryostasis_v1'`, [])[0];
    const top = rows.reduce((m, r) => Math.max(m, Number(r.cryo_id)), 0);
    if (seq && Number(seq.seq) > top) {
      db.exec(`INSERT INTO _noema_cryostasis (cryo_id, wake_at, intent, sieve_id, nomos_version, world_id, frozen_at) VALUES (?, 0, '', 0, 0, 0, 0)`, [Number(seq.seq)]);
      db.exec(`DELETE FROM _noema_cryostasis WHERE cryo_id = ?`, [Number(seq.seq)]);
    }
  }
  for (const t of old) db.exec(`DROP TABLE ${t}_v1`, []);
}

export function latestApplied(db: SqlExecutor): AppliedNomos | undefined {
  const r = db.exec(`SELECT version, name, hash, applied_at FROM _noema_nomos ORDER BY version DESC LIMIT 1`, [])[0];
  return r && { version: Number(r.version), name: String(r.name), hash: String(r.hash), appliedAt: Number(r.applied_at) };
}

export function recordApplied(db: SqlExecutor, nomos: Nomos, now: number): AppliedNomos {
  db.exec(`INSERT INTO _noema_nomos (version, name, hash, applied_at) VALUES (?, ?, ?, ?)`, [nomos.version, nomos.name, nomos.hash, now]);
  return { name: nomos.name, version: nomos.version, hash: nomos.hash, appliedAt: now };
}

/** Every version of the law this store applied, oldest first. */
export function nomosHistory(db: SqlExecutor): AppliedNomos[] {
  return db
    .exec(`SELECT version, name, hash, applied_at FROM _noema_nomos ORDER BY version`, [])
    .map((r) => ({ version: Number(r.version), name: String(r.name), hash: String(r.hash), appliedAt: Number(r.applied_at) }));
}

/** A cursor in the chain: an entry's id and hash (id 0 and GENESIS_HASH before the first). */
export interface ChainLink {
  sedimentId: number;
  hash: string;
}

/** A slice of verification: where it got to, or the first broken link. */
export type VerifySlice = { ok: true; through: ChainLink; done: boolean } | { ok: false; brokenAt: number; length: number };

const SEDIMENT_COLUMNS = `s.sediment_id, ${hexOut("s.hash")} AS hash, s.timestamp, s.intent, s.nomos_version, s.idempotency_key, s.outputs, s.origin, ${hexOut("w.world_hash")} AS world_hash, w.world, s.shape_id`;
const SEDIMENT_FROM = `FROM _noema_sediment s LEFT JOIN _noema_world w ON w.world_id = s.world_id`;
/** With the previous row's hash: what a read returns as `prevHash`. */
const SEDIMENT_SELECT = `SELECT ${SEDIMENT_COLUMNS}, (SELECT ${hexOut("p.hash")} FROM _noema_sediment p WHERE p.sediment_id = s.sediment_id - 1) AS prev_hash ${SEDIMENT_FROM}`;

/** An archived keyed entry, read as a live one (its previous hash stored). */
const ARCHIVED_KEY_SELECT = `SELECT ${SEDIMENT_COLUMNS}, ${hexOut("s.prev_hash")} AS prev_hash FROM _noema_archived_key s LEFT JOIN _noema_world w ON w.world_id = s.world_id`;

/**
 * The id the next sediment will have, as an SQL expression: what triggers that run inside a
 * sealing transaction (change capture's) file their rows under, since the log row comes last.
 */
export const NEXT_SEDIMENT_ID_SQL = `(COALESCE((SELECT MAX(sediment_id) FROM _noema_sediment), (SELECT sediment_id FROM _noema_anchor WHERE id = 1), 0) + 1)`;

/** The append-only, hash-chained log of committed Intents, and the record of refused ones. */
export class SedimentLog {
  /** World ids by hash, and the canonical stamp of each law version: both few and never changed once written. */
  private readonly worldIds = new Map<string, number>();
  private readonly stamps = new Map<number, string | null>();
  /** The held law's version, its canonical stamp, and how a keyless Intent of it begins. */
  private held: { version: number; stamp: string; keyless: string } | null | undefined;
  /** The last INSERT `append` ran, with the columns it returns. */
  private insert: { columns: string; sql: string } | undefined;
  private shapeCache: Shapes | undefined;
  /** Where `append` found the values of its Intent and of its outputs: reused, so a write makes no arrays for them. */
  private readonly intentScan = new Scan();
  private readonly outputsScan = new Scan();
  /** See mayHoldArchivedKeys: undefined until read. */
  private archivedKeys: boolean | undefined;

  /** `shapes` false stores new rows whole (the model checker's SQL properties read them); rows by shape are read either way. */
  constructor(
    private readonly db: SqlExecutor,
    private readonly byShape = true,
  ) {}

  head(): ChainLink {
    const row = this.db.exec(`SELECT sediment_id, ${hexOut("hash")} AS hash FROM _noema_sediment ORDER BY sediment_id DESC LIMIT 1`, [])[0];
    return row ? { sedimentId: Number(row.sediment_id), hash: String(row.hash) } : this.anchor();
  }

  /** The stored hash of a live entry. */
  hashOf(sedimentId: number): string | undefined {
    const row = this.db.exec(`SELECT ${hexOut("hash")} AS hash FROM _noema_sediment WHERE sediment_id = ?`, [sedimentId])[0];
    return row ? String(row.hash) : undefined;
  }

  /**
   * The chain links of sediment `from` and of up to `limit` sediments after it, oldest first
   * (`from`'s own from the anchor or genesis when it is not a live row), or none when `from`'s
   * link is no longer held.
   */
  links(from: number, limit: number): ChainLink[] {
    const links = this.db.exec(`SELECT sediment_id, ${hexOut("hash")} AS hash FROM _noema_sediment WHERE sediment_id >= ? ORDER BY sediment_id LIMIT ?`, [from, limit + 1]).map((r) => ({ sedimentId: Number(r.sediment_id), hash: String(r.hash) }));
    if (links[0]?.sedimentId === from) return links;
    const anchor = this.anchor();
    return anchor.sedimentId === from ? [anchor, ...links.slice(0, limit)] : [];
  }

  /** The last sediment removed from the live log, which the first live row chains to; genesis (id 0) when none was. */
  anchor(): ChainLink {
    const row = this.db.exec(`SELECT sediment_id, ${hexOut("hash")} AS hash FROM _noema_anchor WHERE id = 1`, [])[0];
    return row ? { sedimentId: Number(row.sediment_id), hash: String(row.hash) } : { sedimentId: 0, hash: GENESIS_HASH };
  }

  /**
   * Removes the live rows up to `sedimentId` (already archived elsewhere) in the caller's
   * transaction, and makes that row's hash the anchor. Frozen Intents that reference one of
   * those rows get their Intent copied in first: a pending frozen Intent never depends on an
   * archived row.
   */
  archiveThrough(sedimentId: number): ChainLink {
    const row = this.db.exec(`SELECT ${hexOut("hash")} AS hash FROM _noema_sediment WHERE sediment_id = ?`, [sedimentId])[0];
    if (!row) throw new Error(`sediment ${sedimentId} is not in the live log`);
    // Set before the copy, and left set if it rolls back: a needless lookup, never a missed one.
    this.archivedKeys = true;
    new CryostasisStore(this.db, (id) => this.source(id)).detachThrough(sedimentId);
    // Keyed entries stay answerable, with the previous hash their row can no longer derive.
    this.db.exec(
      `INSERT INTO _noema_archived_key (sediment_id, hash, prev_hash, timestamp, intent, nomos_version, outputs, world_id, origin, idempotency_key, shape_id) SELECT s.sediment_id, s.hash,
         COALESCE((SELECT p.hash FROM _noema_sediment p WHERE p.sediment_id = s.sediment_id - 1), (SELECT a.hash FROM _noema_anchor a WHERE a.id = 1 AND a.sediment_id = s.sediment_id - 1), zeroblob(32)),
         s.timestamp, s.intent, s.nomos_version, s.outputs, s.world_id, s.origin, s.idempotency_key, s.shape_id
       FROM _noema_sediment s WHERE s.sediment_id <= ? AND s.idempotency_key IS NOT NULL`,
      [sedimentId],
    );
    this.db.exec(`DELETE FROM _noema_sediment WHERE sediment_id <= ?`, [sedimentId]);
    this.db.exec(`INSERT OR REPLACE INTO _noema_anchor (id, sediment_id, hash) VALUES (1, ?, ${HEX_IN})`, [sedimentId, row.hash!]);
    return { sedimentId, hash: String(row.hash) };
  }

  /** The canonical stamp of law `version` as an Intent carries it, from `_noema_nomos`. */
  private stamp(version: number): string | null {
    let stamp = this.stamps.get(version);
    if (stamp === undefined) {
      const r = this.db.exec(`SELECT name, hash FROM _noema_nomos WHERE version = ?`, [version])[0];
      stamp = r ? canonicalJson({ name: String(r.name), version, hash: String(r.hash) }) : null;
      // An unknown version is not cached: it may be applied later.
      if (stamp !== null) this.stamps.set(version, stamp);
    }
    return stamp;
  }

  /**
   * How an Intent's canonical JSON is stored: without the held law's stamp and the idempotency
   * key (kept in their own columns) when it begins with exactly them, else whole. Keys are
   * sorted, so a stamped Intent begins `{"idempotencyKey":…,"nomos":…,` and the cut is exact.
   */
  storedIntent(canonical: string, key: string | null): { text: string; nomosVersion: number | null } {
    if (this.held === undefined) {
      const r = this.db.exec(`SELECT version FROM _noema_nomos ORDER BY version DESC LIMIT 1`, [])[0];
      const version = r ? Number(r.version) : undefined;
      const stamp = version === undefined ? null : this.stamp(version);
      this.held = stamp === null ? null : { version: version!, stamp, keyless: intentPrefix(stamp, null) };
    }
    const { held } = this;
    const asHeld = held && cut(canonical, key === null ? held.keyless : intentPrefix(held.stamp, key), held.version);
    if (asHeld) return asHeld;
    // Rows upgraded from format 1 carry older laws' stamps.
    const claimed = /^\{(?:"idempotencyKey":"(?:[^"\\]|\\.)*",)?"nomos":\{"hash":"[0-9a-f]{64}","name":"(?:[^"\\]|\\.)*","version":(\d+)\},/.exec(canonical);
    const version = claimed ? Number(claimed[1]) : undefined;
    const stamp = version === undefined ? null : this.stamp(version);
    return (stamp !== null && cut(canonical, intentPrefix(stamp, key), version!)) || { text: canonical, nomosVersion: null };
  }

  /** The canonical JSON an Intent was hashed with, from its stored form (the inverse of `storedIntent`). */
  private canonicalIntent(text: string, nomosVersion: unknown, key: unknown): string {
    if (nomosVersion === null || nomosVersion === undefined) return text;
    // A law row that is gone (only by tampering) leaves a stamp that hashes differently: verify reports it.
    const stamp = this.stamp(Number(nomosVersion)) ?? "null";
    return `${intentPrefix(stamp, key === null || key === undefined ? null : String(key))}${text.slice(1)}`;
  }

  private toSediment(row: Row): Sediment {
    const sedimentId = Number(row.sediment_id);
    const anchor = row.prev_hash === null ? this.anchor() : undefined;
    return {
      sedimentId,
      hash: String(row.hash),
      // No previous row: the anchor's hash when this is the first live row (a gap leaves the chain broken there).
      prevHash: row.prev_hash !== null ? String(row.prev_hash) : anchor!.sedimentId === sedimentId - 1 ? anchor!.hash : GENESIS_HASH,
      timestamp: Number(row.timestamp),
      ...this.parsed(row),
      world: JSON.parse(String(row.world)) as World,
      ...(row.origin === null || row.origin === undefined ? {} : { origin: JSON.parse(String(row.origin)) as Origin }),
    };
  }

  /** The Intent and outputs of a live sediment: where a frozen Intent stored by reference is derived from. */
  source(sedimentId: number): { intent: Intent; outputs: Json[] } | undefined {
    const r = this.db.exec(`SELECT intent, nomos_version, idempotency_key, outputs, shape_id FROM _noema_sediment WHERE sediment_id = ?`, [sedimentId])[0];
    return r && this.parsed(r);
  }

  /** A row's Intent and outputs, parsed from their stored form. */
  private parsed(r: Row): { intent: Intent; outputs: Json[] } {
    const { intent, outputs } = this.canonical(r.intent!, r.nomos_version ?? null, r.idempotency_key ?? null, r.outputs!, r.shape_id ?? null);
    return { intent: JSON.parse(intent) as Intent, outputs: JSON.parse(outputs) as Json[] };
  }

  /**
   * The canonical JSON of a row's Intent and outputs, as they were hashed: the shape's values put
   * back, then the stamp and key. A shape that is gone or does not fit (only by tampering) gives
   * text that hashes differently: verify reports it.
   */
  private canonical(intent: SqlValue, nomosVersion: SqlValue, key: SqlValue, outputs: SqlValue, shapeId: SqlValue): { intent: string; outputs: string } {
    let [i, o] = [String(intent), String(outputs)];
    if (shapeId !== null && shapeId !== undefined) {
      const shape = this.shapes().byId.get(Number(shapeId));
      [i, o] = shape ? [fillShape(shape.intent, i), fillShape(shape.outputs, o)] : ["null", "null"];
    }
    return { intent: this.canonicalIntent(i, nomosVersion, key), outputs: o };
  }

  /** The shapes, read once (few: one per kind of Intent, at most MAX_SHAPES). */
  private shapes(): Shapes {
    if (!this.shapeCache) {
      const cache: Shapes = { byId: new Map(), byHash: new Map(), unsettled: [] };
      for (const r of this.db.exec(`SELECT shape_id, intent, outputs FROM _noema_shape`, [])) remember(cache, Number(r.shape_id), String(r.intent), String(r.outputs));
      this.shapeCache = cache;
    }
    return this.shapeCache;
  }

  /**
   * The id of the shape the last scans found (`intentScan`, `outputsScan`, of `intent` and
   * `outputs`), stored now when new; null once MAX_SHAPES are stored (the row is then kept whole).
   * A known shape is found by its hash and compared in place: its text is not written out.
   */
  private shapeId(intent: string, outputs: string, hash: number): number | null {
    const cache = this.shapes();
    const candidates = cache.byHash.get(hash);
    if (candidates) {
      for (const id of candidates) {
        const shape = cache.byId.get(id)!;
        if (fits(intent, this.intentScan, shape.intent) && fits(outputs, this.outputsScan, shape.outputs)) return id;
      }
    }
    if (cache.byId.size >= MAX_SHAPES) return null;
    const [intentShape, outputsShape] = [shapeText(intent, this.intentScan), shapeText(outputs, this.outputsScan)];
    const id = Number(this.db.exec(`INSERT INTO _noema_shape (intent, outputs) VALUES (?, ?) RETURNING shape_id`, [intentShape, outputsShape])[0]!.shape_id);
    remember(cache, id, intentShape, outputsShape);
    cache.unsettled.push(id);
    return id;
  }

  /**
   * After the transaction that appended: shapes stored in it are kept when it committed, and
   * forgotten when it rolled back (their rows are gone with it; a later row stores them again).
   */
  settle(committed: boolean): void {
    const cache = this.shapeCache;
    if (!cache || cache.unsettled.length === 0) return;
    if (!committed) {
      for (const id of cache.unsettled) {
        const { hash } = cache.byId.get(id)!;
        cache.byId.delete(id);
        const rest = cache.byHash.get(hash)!.filter((other) => other !== id);
        if (rest.length > 0) cache.byHash.set(hash, rest);
        else cache.byHash.delete(hash);
      }
    }
    cache.unsettled = [];
  }

  /**
   * Appends inside the caller's transaction; the caller supplies the next id, the previous
   * hash and the canonical JSON it hashed, so nothing is serialized twice. The previous hash
   * is not stored: it is the previous row's. `returning` reads more in the same statement (the
   * Intent's invariant check): its columns, with its parameters bound after the row's.
   */
  append(entry: CanonicalSediment & { hash: string; idempotencyKey: string | null }, returning?: { columns: string; params: readonly SqlValue[] }): Row {
    const stored = this.storedIntent(entry.intent, entry.idempotencyKey);
    const columns = returning?.columns ?? "";
    let intentText = stored.text;
    let outputsText = entry.outputs;
    let shapeId: number | null = null;
    if (this.byShape) {
      const hash = scanShape(entry.outputs, undefined, this.outputsScan, hashChar(scanShape(stored.text, STRUCTURE_KEYS, this.intentScan, FNV_BASIS), SHAPE_JOIN_CODE));
      shapeId = this.shapeId(stored.text, entry.outputs, hash);
      if (shapeId !== null) {
        intentText = valuesText(stored.text, this.intentScan);
        outputsText = valuesText(entry.outputs, this.outputsScan);
      }
    }
    const params = [entry.sedimentId, entry.hash, entry.timestamp, intentText, stored.nomosVersion, outputsText, this.worldId(entry.worldHash), entry.origin ?? null, entry.idempotencyKey, shapeId];
    // concat makes the array at its size; a push past the literal's 10 slots grew it to 31.
    return this.db.exec(this.appendSql(columns), columns && returning!.params.length > 0 ? params.concat(returning!.params) : params)[0] ?? {};
  }

  /** The log row's INSERT reading `columns`, built once while they stay the same (Workers pays for a statement text built anew). */
  private appendSql(columns: string): string {
    if (this.insert?.columns !== columns) {
      const read = columns ? ` RETURNING ${columns}` : "";
      this.insert = { columns, sql: `INSERT INTO _noema_sediment (sediment_id, hash, timestamp, intent, nomos_version, outputs, world_id, origin, idempotency_key, shape_id) VALUES (?, ${HEX_IN}, ?, ?, ?, ?, ?, ?, ?, ?)${read}` };
    }
    return this.insert.sql;
  }
  /** Records a World under its hash and returns its id; entries name it by that id. */
  registerWorld(worldJson: string, worldHash: string): number {
    this.db.exec(`INSERT OR IGNORE INTO _noema_world (world_hash, world) VALUES (${HEX_IN}, ?)`, [worldHash, worldJson]);
    return this.worldId(worldHash);
  }

  /** The id of a registered World (0, which names none, for one never registered). */
  worldId(worldHash: string): number {
    let id = this.worldIds.get(worldHash);
    if (id === undefined) {
      const r = this.db.exec(`SELECT world_id FROM _noema_world WHERE world_hash = ${HEX_IN}`, [worldHash])[0];
      if (!r) return 0;
      this.worldIds.set(worldHash, (id = Number(r.world_id)));
    }
    return id;
  }

  byIdempotencyKey(key: string): Sediment | undefined {
    const row =
      this.db.exec(`${SEDIMENT_SELECT} WHERE s.idempotency_key = ?`, [key])[0] ??
      (this.mayHoldArchivedKeys() ? this.db.exec(`${ARCHIVED_KEY_SELECT} WHERE s.idempotency_key = ?`, [key])[0] : undefined);
    return row ? this.toSediment(row) : undefined;
  }

  /** Whether `_noema_archived_key` may hold a row: read once, then set by archiving (most logs never archive, and a keyed Intent then looks in one table). */
  private mayHoldArchivedKeys(): boolean {
    return (this.archivedKeys ??= this.db.exec(`SELECT 1 FROM _noema_archived_key LIMIT 1`, []).length > 0);
  }

  /** A page of the log after `after`; `next` is set when more follow. */
  page(after: number, limit: number): { sediments: Sediment[]; next?: number } {
    const rows = this.db.exec(`${SEDIMENT_SELECT} WHERE s.sediment_id > ? ORDER BY s.sediment_id LIMIT ?`, [after, limit + 1]);
    const sediments = rows.slice(0, limit).map((r) => this.toSediment(r));
    return rows.length > limit ? { sediments, next: sediments[sediments.length - 1]!.sedimentId } : { sediments };
  }

  /**
   * Verifies at most `maxRows` entries after `from` (a link already verified, or the anchor) and
   * up to `through`: each one's id follows the last, its World row matches its hash, and its
   * hash, recomputed from the stored text and the previous hash, is the stored one. Reports the
   * first entry that does not match, with `length` the entries verified before it.
   */
  verifySlice(from: ChainLink, through: number, maxRows: number): VerifySlice {
    let prev = from;
    // Read again per slice: what is verified is storage as it is now, not what this instance remembers.
    this.stamps.clear();
    this.shapeCache = undefined;
    // The World rows, few, read once per slice: the hash an entry names when its World row still matches its hash, else none.
    const worlds = new Map<number, string>();
    for (const w of this.db.exec(`SELECT world_id, ${hexOut("world_hash")} AS world_hash, world FROM _noema_world`, [])) {
      const wh = sha256Hex(String(w.world));
      if (wh === w.world_hash) worlds.set(Number(w.world_id), wh);
    }
    for (let left = maxRows; left > 0 && prev.sedimentId < through; ) {
      const rows = rowArrays(
        this.db,
        `SELECT sediment_id, ${hexOut("hash")}, timestamp, intent, nomos_version, idempotency_key, outputs, origin, world_id, shape_id FROM _noema_sediment WHERE sediment_id > ? AND sediment_id <= ? ORDER BY sediment_id LIMIT ?`,
        [prev.sedimentId, through, Math.min(left, VERIFY_BATCH)],
      );
      if (rows.length === 0) break;
      for (const [id, stored, timestamp, intent, nomosVersion, key, outputs, origin, worldId, shapeId] of rows) {
        const sedimentId = Number(id);
        const broken = { ok: false as const, brokenAt: sedimentId, length: prev.sedimentId };
        if (sedimentId !== prev.sedimentId + 1) return broken;
        // A World row that no longer matches its hash (or is gone) breaks every entry that names it.
        const wh = worlds.get(Number(worldId));
        if (wh === undefined) return broken;
        const text = this.canonical(intent!, nomosVersion!, key!, outputs!, shapeId!);
        const hash = hashCanonicalSediment({
          sedimentId,
          prevHash: prev.hash,
          timestamp: Number(timestamp),
          intent: text.intent,
          outputs: text.outputs,
          origin: origin === null ? null : String(origin),
          worldHash: wh,
        });
        if (hash !== stored) return broken;
        prev = { sedimentId, hash };
      }
      left -= rows.length;
    }
    // Rows missing before `through` (removed from the end, or a gap): the next entry is not there.
    if (prev.sedimentId < through && maxRows > 0 && this.db.exec(`SELECT 1 FROM _noema_sediment WHERE sediment_id = ?`, [prev.sedimentId + 1]).length === 0) {
      return { ok: false, brokenAt: prev.sedimentId + 1, length: prev.sedimentId };
    }
    return { ok: true, through: prev, done: prev.sedimentId >= through };
  }

  /**
   * Recomputes every hash and link of the live log from the anchor, in one synchronous pass;
   * reports the first entry that does not match. Rows removed from the end cannot be seen here:
   * compare `length` and `head` with a Seal you hold. The Attractor verifies in slices instead.
   */
  verify(): Verification {
    const head = this.head();
    let from = this.anchor();
    for (;;) {
      const slice = this.verifySlice(from, head.sedimentId, VERIFY_BATCH * 4);
      if (!slice.ok) return slice;
      from = slice.through;
      if (slice.done) return { ok: true, length: from.sedimentId, head: from.hash, verifiedThrough: from.sedimentId, checkpoint: null };
    }
  }

  /** Inputs larger than `maxBytes` are kept as size and hash only: a refusal must never fail on SQLite's row limit. */
  recordPrecedent(input: unknown, reason: Reason, nomos: NomosStamp, timestamp: number, maxBytes: number): number {
    let intent: string;
    try {
      intent = canonicalJson(input ?? null);
    } catch {
      intent = JSON.stringify(String(input));
    }
    const bytes = utf8Length(intent);
    if (bytes > maxBytes) intent = canonicalJson({ $omitted: { bytes, sha256: sha256Hex(intent) } });
    const row = this.db.exec(
      `INSERT INTO _noema_precedent (kind, intent, reason, nomos_version, nomos_hash, timestamp) VALUES (?, ?, ?, ?, ?, ?) RETURNING precedent_id`,
      [reason.kind, intent, canonicalJson(reason), nomos.version, nomos.hash, timestamp],
    )[0]!;
    return Number(row.precedent_id);
  }

  /** A page of Precedents; each filter is a plain equality, so SQLite reads the page off that filter's index. */
  precedents(filter: { kind?: ReasonKind; nomosVersion?: number; after?: number; limit: number }): Precedent[] {
    const where = ["precedent_id > ?"];
    const params: SqlValue[] = [filter.after ?? 0];
    if (filter.kind !== undefined) {
      where.push("kind = ?");
      params.push(filter.kind);
    }
    if (filter.nomosVersion !== undefined) {
      where.push("nomos_version = ?");
      params.push(filter.nomosVersion);
    }
    return this.db
      .exec(
        `SELECT precedent_id, intent, reason, nomos_version, nomos_hash, timestamp FROM _noema_precedent WHERE ${where.join(" AND ")} ORDER BY precedent_id LIMIT ?`,
        [...params, filter.limit],
      )
      .map((r) => ({
        precedentId: Number(r.precedent_id),
        intent: JSON.parse(String(r.intent)) as Json,
        reason: JSON.parse(String(r.reason)) as Reason,
        nomosVersion: Number(r.nomos_version),
        nomosHash: String(r.nomos_hash),
        timestamp: Number(r.timestamp),
      }));
  }

  /** Inside the caller's transaction, once the precedents through `precedentId` are safely archived: removes them. */
  archivePrecedentsThrough(precedentId: number): void {
    this.db.exec(`DELETE FROM _noema_precedent WHERE precedent_id <= ?`, [precedentId]);
  }
}

/** What precedes the rest of a stamped Intent's canonical JSON: its idempotency key, if any, and its stamp. */
/** The Intent stored without `prefix` (its stamp and key), when it begins with exactly that. */
const cut = (canonical: string, prefix: string, version: number): { text: string; nomosVersion: number } | undefined =>
  canonical.startsWith(prefix) ? { text: `{${canonical.slice(prefix.length)}`, nomosVersion: version } : undefined;
const intentPrefix = (stamp: string, key: string | null) => `{${key === null ? "" : `"idempotencyKey":${JSON.stringify(key)},`}"nomos":${stamp},`;

/** A stored shape: its Intent's and outputs' text split at their holes, and the hash of its text. */
interface Shape {
  intent: string[];
  outputs: string[];
  hash: number;
}

/** The stored shapes by id, and their ids by hash (see FNV_BASIS); `unsettled` were stored by the running transaction. */
interface Shapes {
  byId: Map<number, Shape>;
  byHash: Map<number, number[]>;
  unsettled: number[];
}

/** Most shapes one log stores: past it, rows of a new kind are kept whole (a law that builds keys from data makes many). */
export const MAX_SHAPES = 256;
/** Marks a value left out of a shape: canonical JSON never holds a raw control character. */
export const HOLE = "\u0001";
const HOLE_CODE = HOLE.charCodeAt(0);
/** Between a shape's Intent and its outputs, in the text its hash is taken of. */
const SHAPE_JOIN_CODE = 2;
/** Values an Intent keeps in its shape: after these keys they name its structure (operations, references, version), not its data. */
export const STRUCTURE_KEYS = ['"op"', '"output"', '"step"', '"v"'];

/**
 * FNV-1a cut to 30 bits (a small integer in V8, so no number is boxed): a shape is looked up by the
 * hash of its text `intent + "\u0002" + outputs`, then compared.
 */
const FNV_BASIS = 0x011c9dc5;
const FNV_PRIME = 0x01000193;
const HASH_BITS = 0x3fffffff;
const hashChar = (h: number, code: number): number => Math.imul(h ^ code, FNV_PRIME) & HASH_BITS;
function hashRange(h: number, text: string, from: number, to: number): number {
  for (let i = from; i < to; i++) h = hashChar(h, text.charCodeAt(i));
  return h;
}

/** Files a shape read or stored under its id and hash; a later row of the same text is found first, as a map by text would. */
function remember(cache: Shapes, id: number, intent: string, outputs: string): void {
  const hash = hashRange(hashChar(hashRange(FNV_BASIS, intent, 0, intent.length), SHAPE_JOIN_CODE), outputs, 0, outputs.length);
  cache.byId.set(id, { intent: intent.split(HOLE), outputs: outputs.split(HOLE), hash });
  const ids = cache.byHash.get(hash);
  if (ids) ids.unshift(id);
  else cache.byHash.set(hash, [id]);
}

/** Where a text's values are: `at` holds each one's start and end, `count` how many; reused from one text to the next. */
class Scan {
  readonly at: number[] = [];
  count = 0;
  /** The values' slices, joined by valuesText (emptied after, so they keep no write's strings alive). */
  readonly slices: string[] = [];
}

/** Where the JSON token at `at` ends: after a string's closing quote, or at the delimiter after a number, true, false or null. */
function tokenEnd(json: string, at: number): number {
  if (json.charCodeAt(at) === 34 /* " */) {
    for (let j = at; ; ) {
      j = json.indexOf('"', j + 1);
      if (j === -1) return json.length;
      let k = j - 1;
      while (json.charCodeAt(k) === 92 /* \ */) k--;
      if ((j - 1 - k) % 2 === 0) return j + 1;
    }
  }
  let j = at + 1;
  while (j < json.length) {
    const c = json.charCodeAt(j);
    if (c === 44 || c === 125 || c === 93) break;
    j++;
  }
  return j;
}

/** Whether the value at `i` follows one of the keys `keep` (the key's token began at `keyAt`). */
function keptKey(json: string, keyAt: number, i: number, keep: readonly string[]): boolean {
  for (let k = 0; k < keep.length; k++) if (i === keyAt + keep[k]!.length + 1 && json.startsWith(keep[k]!, keyAt)) return true;
  return false;
}

/**
 * Finds the values splitShape leaves out of canonical JSON (each value after any key not in
 * `keep`, and in arrays) into `scan`, and returns `h` carried over the shape's text (the JSON with
 * each value replaced by HOLE). A scan of the text, no parse and no string made: it runs on every write.
 */
function scanShape(json: string, keep: readonly string[] | undefined, scan: Scan, h: number): number {
  const { at } = scan;
  let count = 0;
  let last = 0;
  let keyAt = -1;
  for (let i = 0; i < json.length; ) {
    const c = json.charCodeAt(i);
    // , : { } [ ]
    if (c === 44 || c === 58 || c === 123 || c === 125 || c === 91 || c === 93) {
      i++;
      continue;
    }
    const end = tokenEnd(json, i);
    if (json.charCodeAt(end) === 58) keyAt = i;
    else if (!(keep && json.charCodeAt(i - 1) === 58 && keptKey(json, keyAt, i, keep))) {
      h = hashChar(hashRange(h, json, last, i), HOLE_CODE);
      at[2 * count] = i;
      at[2 * count + 1] = end;
      count++;
      last = end;
    }
    i = end;
  }
  scan.count = count;
  return hashRange(h, json, last, json.length);
}

/** Whether `json`, with the values `scan` found left out, is the shape `parts` (split at its holes): compared in place. */
function fits(json: string, scan: Scan, parts: readonly string[]): boolean {
  if (parts.length !== scan.count + 1) return false;
  for (let k = 0, from = 0; k <= scan.count; k++) {
    const to = k < scan.count ? scan.at[2 * k]! : json.length;
    const part = parts[k]!;
    if (to - from !== part.length || !json.startsWith(part, from)) return false;
    from = scan.at[2 * k + 1]!;
  }
  return true;
}

/** The shape of `json` whose values `scan` found: each replaced by HOLE. */
function shapeText(json: string, scan: Scan): string {
  let shape = "";
  let last = 0;
  for (let k = 0; k < scan.count; k++) {
    shape += `${json.slice(last, scan.at[2 * k])}${HOLE}`;
    last = scan.at[2 * k + 1]!;
  }
  return shape + json.slice(last);
}

/** The values `scan` found in `json`, comma-separated; values only commas apart in `json` are taken as one slice. */
function valuesText(json: string, scan: Scan): string {
  const { at, count, slices } = scan;
  let n = 0;
  for (let k = 0; k < count; ) {
    const start = at[2 * k]!;
    let end = at[2 * k + 1]!;
    for (k++; k < count && at[2 * k] === end + 1 && json.charCodeAt(end) === 44; k++) end = at[2 * k + 1]!;
    slices[n++] = json.slice(start, end);
  }
  if (slices.length !== n) slices.length = n;
  // One flat string: joining by `+=` made two strings per value, and SQL then copied them into one.
  const values = slices.join(",");
  slices.fill("");
  return values;
}

/**
 * Splits canonical JSON into its shape, with each value (after any key not in `keep`, and in
 * arrays) replaced by HOLE, and those values, comma-separated: Intents of one kind share the shape.
 * `append` makes the same split in steps (scanShape, then shapeText or valuesText) so a known shape
 * is never written out; this is the split as one call, what the format's tests hold it to.
 */
export function splitShape(json: string, keep?: readonly string[]): { shape: string; values: string } {
  const scan = new Scan();
  scanShape(json, keep, scan, FNV_BASIS);
  return { shape: shapeText(json, scan), values: valuesText(json, scan) };
}

/** The JSON a shape (split at its holes) and its values make again: the inverse of splitShape. */
export function fillShape(parts: readonly string[], values: string): string {
  let out = parts[0]!;
  let i = 1;
  for (let at = 0; at < values.length; at++) {
    const end = tokenEnd(values, at);
    out += `${values.slice(at, end)}${parts[i++] ?? ""}`;
    at = end;
  }
  // Values that do not fit the shape (only by tampering) make null, which hashes differently.
  return i === parts.length ? out : "null";
}
