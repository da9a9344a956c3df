import { canonicalJson } from "../canonical/index.js";
import type { SqlExecutor } from "../host/index.js";
import type { Intent, NomosStamp } from "../intent/index.js";
import { type Sieve, sieveHash } from "../sieve/index.js";

export const CRYOSTASIS_DDL = [
  // Laws, Worlds and Sieves repeat across entries: each is stored once and named by version or hash.
  `CREATE TABLE IF NOT EXISTS _noema_sieve (sieve_hash TEXT PRIMARY KEY, sieve TEXT NOT NULL) STRICT`,
  `CREATE TABLE IF NOT EXISTS _noema_cryostasis (cryo_id INTEGER PRIMARY KEY AUTOINCREMENT, wake_at INTEGER NOT NULL, intent TEXT NOT NULL, sieve_hash TEXT NOT NULL, nomos_version INTEGER NOT NULL, world_hash TEXT NOT NULL, freeze_key TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, frozen_at INTEGER NOT NULL) STRICT`,
  // Due entries are taken in wake-time order, ties by freezing order.
  `CREATE INDEX IF NOT EXISTS _noema_cryostasis_due ON _noema_cryostasis (wake_at, cryo_id)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS _noema_cryostasis_key ON _noema_cryostasis (freeze_key) WHERE freeze_key IS NOT NULL`,
];

/** The statements built-in steps run: explain shows them as they are. */
export const FREEZE_SQL = `INSERT INTO _noema_cryostasis (wake_at, intent, sieve_hash, nomos_version, world_hash, freeze_key, frozen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (freeze_key) WHERE freeze_key IS NOT NULL DO NOTHING RETURNING cryo_id`;
export const CANCEL_SQL = `DELETE FROM _noema_cryostasis WHERE freeze_key = ? RETURNING cryo_id`;

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

/** A frozen Intent: everything needed to decide, when it wakes, whether it may still run. */
export interface FrozenEntry {
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

export interface FreezeRequest {
  wakeAt: number;
  key?: string | undefined;
  intent: Intent;
  sieve: Sieve;
  nomos: NomosStamp;
  worldHash: string;
  now: number;
}

const SELECT = `SELECT c.cryo_id, c.wake_at, c.intent, c.sieve_hash, c.nomos_version, n.name, n.hash, c.world_hash, c.freeze_key, c.attempts, c.last_error, c.frozen_at
  FROM _noema_cryostasis c LEFT JOIN _noema_nomos n ON n.version = c.nomos_version`;

function entryOf(r: Record<string, unknown>): FrozenEntry {
  return {
    cryoId: Number(r.cryo_id),
    wakeAt: Number(r.wake_at),
    intent: JSON.parse(String(r.intent)) as Intent,
    sieveHash: String(r.sieve_hash),
    nomos: { name: String(r.name), version: Number(r.nomos_version), hash: String(r.hash) },
    worldHash: String(r.world_hash),
    key: r.freeze_key === null ? null : String(r.freeze_key),
    attempts: Number(r.attempts),
    lastError: r.last_error === null ? null : String(r.last_error),
    frozenAt: Number(r.frozen_at),
  };
}

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
  // Sieves already stored: most Intents share a few shapes, so most freezes skip the insert.
  private readonly knownSieves = new Set<string>();

  constructor(private readonly db: SqlExecutor) {}

  /** Stores a frozen Intent; with a key already pending, stores nothing and returns that entry. */
  freeze(r: FreezeRequest): { cryoId: number; wakeAt: number; existing: boolean } {
    const hash = sieveHash(r.sieve);
    if (!this.knownSieves.has(hash)) {
      this.db.exec(`INSERT OR IGNORE INTO _noema_sieve (sieve_hash, sieve) VALUES (?, ?)`, [hash, canonicalJson(r.sieve)]);
      this.knownSieves.add(hash);
    }
    const inserted = this.db.exec(
      FREEZE_SQL,
      [r.wakeAt, canonicalJson(r.intent), hash, r.nomos.version, r.worldHash, r.key ?? null, r.now],
    )[0];
    if (inserted) return { cryoId: Number(inserted.cryo_id), wakeAt: r.wakeAt, existing: false };
    const found = this.db.exec(`SELECT cryo_id, wake_at, intent FROM _noema_cryostasis WHERE freeze_key = ?`, [r.key ?? null])[0]!;
    // A key names one frozen Intent: the same one again is a no-op, another one is a conflict.
    if (found.intent !== canonicalJson(r.intent)) throw new FreezeKeyConflict(r.key!, Number(found.cryo_id));
    return { cryoId: Number(found.cryo_id), wakeAt: Number(found.wake_at), existing: true };
  }

  /** The Sieve stored under this hash: what a frozen Intent depended on when it was frozen. */
  sieve(hash: string): Sieve | undefined {
    const row = this.db.exec(`SELECT sieve FROM _noema_sieve WHERE sieve_hash = ?`, [hash])[0];
    return row ? (JSON.parse(String(row.sieve)) as Sieve) : undefined;
  }

  cancelKey(key: string): boolean {
    return this.db.exec(CANCEL_SQL, [key]).length > 0;
  }

  /** Removes an entry; false when it is already gone (woken or cancelled before). */
  remove(cryoId: number): boolean {
    return this.db.exec(`DELETE FROM _noema_cryostasis WHERE cryo_id = ? RETURNING cryo_id`, [cryoId]).length > 0;
  }

  earliest(): number | undefined {
    const r = this.db.exec(`SELECT wake_at FROM _noema_cryostasis ORDER BY wake_at, cryo_id LIMIT 1`, [])[0];
    return r ? Number(r.wake_at) : undefined;
  }

  due(now: number, limit: number): FrozenEntry[] {
    return this.db.exec(`${SELECT} WHERE c.wake_at <= ? ORDER BY c.wake_at, c.cryo_id LIMIT ?`, [now, limit]).map(entryOf);
  }

  /** Pending entries in wake order, paged by (wakeAt, cryoId). */
  list(limit: number, after?: { wakeAt: number; cryoId: number }): FrozenEntry[] {
    return this.db
      .exec(`${SELECT} WHERE (c.wake_at, c.cryo_id) > (?, ?) ORDER BY c.wake_at, c.cryo_id LIMIT ?`, [after?.wakeAt ?? -1, after?.cryoId ?? -1, limit])
      .map(entryOf);
  }

  /** Records an unexpected failure and moves the entry's wake time back. */
  postpone(cryoId: number, attempts: number, error: string, wakeAt: number): void {
    this.db.exec(`UPDATE _noema_cryostasis SET attempts = ?, last_error = ?, wake_at = ? WHERE cryo_id = ?`, [attempts, error, wakeAt, cryoId]);
  }
}
