import { utf8ToBytes } from "@noble/hashes/utils.js";
import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import type { SqlExecutor } from "../host/index.js";
import type { Intent, NomosStamp } from "../intent/index.js";
import type { Nomos } from "../nomos/index.js";
import { CRYOSTASIS_DDL } from "../cryostasis/store.js";
import { MESSAGE_DDL } from "../message/store.js";
import { type CanonicalSediment, GENESIS_HASH, hashCanonicalSediment } from "./chain.js";
import type { Origin } from "../admission/index.js";
import type { Reason, ReasonKind } from "../refusal/index.js";
import type { Precedent, Sediment, Verification, World } from "./types.js";

/** Largest page of sediments, precedents or frozen Intents one read returns. */
export const MAX_PAGE = 1000;
/** Page size when a caller gives none. */
export const DEFAULT_PAGE = 100;
/** Rows read per batch while verifying the chain. */
const VERIFY_BATCH = 500;

/** Internal tables; the `_noema_` prefix is reserved and no Nomos may declare it. */
const INTERNAL_DDL = [
  `CREATE TABLE IF NOT EXISTS _noema_nomos (version INTEGER PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
  // The World repeats in every entry, so entries name it by hash and it is stored once.
  `CREATE TABLE IF NOT EXISTS _noema_world (world_hash TEXT PRIMARY KEY, world TEXT NOT NULL) STRICT`,
  `CREATE TABLE IF NOT EXISTS _noema_sediment (sediment_id INTEGER PRIMARY KEY, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, timestamp INTEGER NOT NULL, intent TEXT NOT NULL, outputs TEXT NOT NULL, world_hash TEXT NOT NULL, origin TEXT, idempotency_key TEXT) STRICT`,
  // Partial: most Intents carry no key, and they should not pay for an index entry.
  `CREATE UNIQUE INDEX IF NOT EXISTS _noema_sediment_idempotency ON _noema_sediment (idempotency_key) WHERE idempotency_key IS NOT NULL`,
  `CREATE TABLE IF NOT EXISTS _noema_precedent (precedent_id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, intent TEXT NOT NULL, reason TEXT NOT NULL, nomos_version INTEGER NOT NULL, nomos_hash TEXT NOT NULL, timestamp INTEGER NOT NULL) STRICT`,
];

export interface AppliedNomos extends NomosStamp {
  appliedAt: number;
}

/** Creates the internal tables; safe to run on every wake. */
export function createInternalTables(db: SqlExecutor): void {
  for (const ddl of [...INTERNAL_DDL, ...CRYOSTASIS_DDL, ...MESSAGE_DDL]) db.exec(ddl, []);
}

export function latestApplied(db: SqlExecutor): AppliedNomos | undefined {
  const r = db.exec(`SELECT version, name, hash, applied_at FROM _noema_nomos ORDER BY version DESC LIMIT 1`, [])[0];
  return r && { version: Number(r.version), name: String(r.name), hash: String(r.hash), appliedAt: Number(r.applied_at) };
}

export function recordApplied(db: SqlExecutor, nomos: Nomos, now: number): AppliedNomos {
  db.exec(`INSERT INTO _noema_nomos (version, name, hash, applied_at) VALUES (?, ?, ?, ?)`, [nomos.version, nomos.name, nomos.hash, now]);
  return { name: nomos.name, version: nomos.version, hash: nomos.hash, appliedAt: now };
}

export function nomosHistory(db: SqlExecutor): AppliedNomos[] {
  return db
    .exec(`SELECT version, name, hash, applied_at FROM _noema_nomos ORDER BY version`, [])
    .map((r) => ({ version: Number(r.version), name: String(r.name), hash: String(r.hash), appliedAt: Number(r.applied_at) }));
}

function toSediment(row: Record<string, unknown>): Sediment {
  return {
    sedimentId: Number(row.sediment_id),
    hash: String(row.hash),
    prevHash: String(row.prev_hash),
    timestamp: Number(row.timestamp),
    intent: JSON.parse(String(row.intent)) as Intent,
    outputs: JSON.parse(String(row.outputs)) as Json[],
    world: JSON.parse(String(row.world)) as World,
    ...(row.origin === null || row.origin === undefined ? {} : { origin: JSON.parse(String(row.origin)) as Origin }),
  };
}

const SEDIMENT_SELECT = `SELECT s.sediment_id, s.hash, s.prev_hash, s.timestamp, s.intent, s.outputs, s.origin, s.world_hash, w.world
  FROM _noema_sediment s LEFT JOIN _noema_world w ON w.world_hash = s.world_hash`;

/** The append-only, hash-chained log of committed Intents, and the record of refused ones. */
export class SedimentLog {
  constructor(private readonly db: SqlExecutor) {}

  head(): { sedimentId: number; hash: string } {
    const row = this.db.exec(`SELECT sediment_id, hash FROM _noema_sediment ORDER BY sediment_id DESC LIMIT 1`, [])[0];
    return row ? { sedimentId: Number(row.sediment_id), hash: String(row.hash) } : { sedimentId: 0, hash: GENESIS_HASH };
  }

  /**
   * Appends inside the caller's transaction; the caller supplies the next id, the previous
   * hash and the canonical JSON it hashed, so nothing is serialized twice.
   */
  append(entry: CanonicalSediment & { hash: string; idempotencyKey: string | null }): void {
    this.db.exec(
      `INSERT INTO _noema_sediment (sediment_id, hash, prev_hash, timestamp, intent, outputs, world_hash, origin, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
      entry.sedimentId,
      entry.hash,
      entry.prevHash,
      entry.timestamp,
      entry.intent,
      entry.outputs,
      entry.worldHash,
      entry.origin ?? null,
      entry.idempotencyKey,
      ],
    );
  }

  /** Records a World under its hash; entries name it by that hash. */
  registerWorld(worldJson: string, worldHash: string): void {
    this.db.exec(`INSERT OR IGNORE INTO _noema_world (world_hash, world) VALUES (?, ?)`, [worldHash, worldJson]);
  }

  byIdempotencyKey(key: string): Sediment | undefined {
    const row = this.db.exec(`${SEDIMENT_SELECT} WHERE s.idempotency_key = ?`, [key])[0];
    return row ? toSediment(row) : undefined;
  }

  /** A page of the log after `after`; `next` is set when more follow. */
  page(after: number, limit: number): { sediments: Sediment[]; next?: number } {
    const rows = this.db.exec(
      `${SEDIMENT_SELECT} WHERE s.sediment_id > ? ORDER BY s.sediment_id LIMIT ?`,
      [after, limit + 1],
    );
    const sediments = rows.slice(0, limit).map(toSediment);
    return rows.length > limit ? { sediments, next: sediments[sediments.length - 1]!.sedimentId } : { sediments };
  }

  /**
   * Recomputes every hash and link from the stored text; reports the first entry that does
   * not match. Rows removed from the end cannot be seen here: compare `length` and `head`
   * with a Seal you hold.
   */
  verify(): Verification {
    let prevHash = GENESIS_HASH;
    let expectedId = 1;
    let length = 0;
    const worldHashes = new Map<string, string>();
    for (let after = 0; ; ) {
      const rows = this.db.exec(`${SEDIMENT_SELECT} WHERE s.sediment_id > ? ORDER BY s.sediment_id LIMIT ?`, [after, VERIFY_BATCH]);
      for (const r of rows) {
        const sedimentId = Number(r.sediment_id);
        // A World row that no longer matches its hash breaks every entry that names it.
        const world = r.world === null ? "" : String(r.world);
        let wh = worldHashes.get(world);
        if (wh === undefined) worldHashes.set(world, (wh = sha256Hex(world)));
        if (wh !== r.world_hash) return { ok: false, brokenAt: sedimentId, length };
        const hash = hashCanonicalSediment({
          sedimentId,
          prevHash: String(r.prev_hash),
          timestamp: Number(r.timestamp),
          intent: String(r.intent),
          outputs: String(r.outputs),
          origin: r.origin === null ? null : String(r.origin),
          worldHash: wh,
        });
        if (sedimentId !== expectedId || r.prev_hash !== prevHash || hash !== r.hash) return { ok: false, brokenAt: sedimentId, length };
        prevHash = hash;
        expectedId++;
        length++;
        after = sedimentId;
      }
      if (rows.length < VERIFY_BATCH) break;
    }
    return { ok: true, length, head: prevHash };
  }

  /** Inputs larger than `maxBytes` are kept as size and hash only: a refusal must never fail on SQLite's row limit. */
  recordPrecedent(input: unknown, reason: Reason, nomos: NomosStamp, timestamp: number, maxBytes: number): number {
    let intent: string;
    try {
      intent = canonicalJson(input ?? null);
    } catch {
      intent = JSON.stringify(String(input));
    }
    const bytes = utf8ToBytes(intent).length;
    if (bytes > maxBytes) intent = canonicalJson({ $omitted: { bytes, sha256: sha256Hex(intent) } });
    const row = this.db.exec(
      `INSERT INTO _noema_precedent (kind, intent, reason, nomos_version, nomos_hash, timestamp) VALUES (?, ?, ?, ?, ?, ?) RETURNING precedent_id`,
      [reason.kind, intent, canonicalJson(reason), nomos.version, nomos.hash, timestamp],
    )[0]!;
    return Number(row.precedent_id);
  }

  precedents(filter: { kind?: ReasonKind; nomosVersion?: number; after?: number; limit: number }): Precedent[] {
    return this.db
      .exec(
        `SELECT precedent_id, intent, reason, nomos_version, nomos_hash, timestamp FROM _noema_precedent
         WHERE precedent_id > ? AND (? IS NULL OR kind = ?) AND (? IS NULL OR nomos_version = ?)
         ORDER BY precedent_id LIMIT ?`,
        [filter.after ?? 0, filter.kind ?? null, filter.kind ?? null, filter.nomosVersion ?? null, filter.nomosVersion ?? null, filter.limit],
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
}
