import { canonicalJson } from "../canonical/index.js";
import type { Intent, NomosStamp } from "../intent/index.js";
import type { SqlExecutor } from "../interpretation/sqlite.js";
import type { Sieve } from "../sieve/index.js";

export const CRYOSTASIS_DDL = [
  `CREATE TABLE IF NOT EXISTS _noema_cryostasis (cryo_id INTEGER PRIMARY KEY AUTOINCREMENT, wake_at INTEGER NOT NULL, intent TEXT NOT NULL, sieve TEXT NOT NULL, nomos_version INTEGER NOT NULL, nomos_hash TEXT NOT NULL, world TEXT NOT NULL, freeze_key TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, frozen_at INTEGER NOT NULL) STRICT`,
  // Due entries are taken in wake-time order, ties by freezing order.
  `CREATE INDEX IF NOT EXISTS _noema_cryostasis_due ON _noema_cryostasis (wake_at, cryo_id)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS _noema_cryostasis_key ON _noema_cryostasis (freeze_key) WHERE freeze_key IS NOT NULL`,
];

/** Unexpected failures are retried this many times in all, then given up as a Precedent. */
export const MAX_WAKE_ATTEMPTS = 5;

/** Capped exponential backoff after the n-th failed attempt (1 s, 2 s, 4 s, … at most 5 min). */
export function backoffMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(attempts - 1, 0), 5 * 60 * 1000);
}

/** A frozen Intent: everything needed to decide, when it wakes, whether it may still run. */
export interface FrozenEntry {
  cryoId: number;
  wakeAt: number;
  intent: Intent;
  /** The schema elements it depends on, with their hashes when it was frozen. */
  sieve: Sieve;
  /** The law it was frozen under. */
  nomos: NomosStamp;
  /** The World it was frozen in (canonical JSON). */
  world: string;
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
  world: string;
  now: number;
}

const COLUMNS = "cryo_id, wake_at, intent, sieve, nomos_version, nomos_hash, world, freeze_key, attempts, last_error, frozen_at";

function entryOf(r: Record<string, unknown>, name: string): FrozenEntry {
  return {
    cryoId: Number(r.cryo_id),
    wakeAt: Number(r.wake_at),
    intent: JSON.parse(String(r.intent)) as Intent,
    sieve: JSON.parse(String(r.sieve)) as Sieve,
    nomos: { name, version: Number(r.nomos_version), hash: String(r.nomos_hash) },
    world: String(r.world),
    key: r.freeze_key === null ? null : String(r.freeze_key),
    attempts: Number(r.attempts),
    lastError: r.last_error === null ? null : String(r.last_error),
    frozenAt: Number(r.frozen_at),
  };
}

/** Frozen Intents of one Attractor, in an internal table; every method runs inside the caller's transaction. */
export class CryostasisStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly nomosName: string,
  ) {}

  /** Stores a frozen Intent; with a key already frozen, stores nothing and returns the existing entry. */
  freeze(r: FreezeRequest): { cryoId: number; wakeAt: number; existing: boolean } {
    if (r.key !== undefined) {
      const found = this.db.exec(`SELECT cryo_id, wake_at FROM _noema_cryostasis WHERE freeze_key = ?`, [r.key])[0];
      if (found) return { cryoId: Number(found.cryo_id), wakeAt: Number(found.wake_at), existing: true };
    }
    const row = this.db.exec(
      `INSERT INTO _noema_cryostasis (wake_at, intent, sieve, nomos_version, nomos_hash, world, freeze_key, frozen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING cryo_id`,
      [r.wakeAt, canonicalJson(r.intent), canonicalJson(r.sieve), r.nomos.version, r.nomos.hash, r.world, r.key ?? null, r.now],
    )[0]!;
    return { cryoId: Number(row.cryo_id), wakeAt: r.wakeAt, existing: false };
  }

  cancelKey(key: string): boolean {
    return this.db.exec(`DELETE FROM _noema_cryostasis WHERE freeze_key = ? RETURNING cryo_id`, [key]).length > 0;
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
    return this.db
      .exec(`SELECT ${COLUMNS} FROM _noema_cryostasis WHERE wake_at <= ? ORDER BY wake_at, cryo_id LIMIT ?`, [now, limit])
      .map((r) => entryOf(r, this.nomosName));
  }

  get(cryoId: number): FrozenEntry | undefined {
    const r = this.db.exec(`SELECT ${COLUMNS} FROM _noema_cryostasis WHERE cryo_id = ?`, [cryoId])[0];
    return r && entryOf(r, this.nomosName);
  }

  /** Pending entries in wake order, paged by (wakeAt, cryoId). */
  list(limit: number, after?: { wakeAt: number; cryoId: number }): FrozenEntry[] {
    return this.db
      .exec(
        `SELECT ${COLUMNS} FROM _noema_cryostasis WHERE (wake_at, cryo_id) > (?, ?) ORDER BY wake_at, cryo_id LIMIT ?`,
        [after?.wakeAt ?? -1, after?.cryoId ?? -1, limit],
      )
      .map((r) => entryOf(r, this.nomosName));
  }

  count(): number {
    return Number(this.db.exec(`SELECT COUNT(*) AS n FROM _noema_cryostasis`, [])[0]!.n);
  }

  /** Records an unexpected failure and moves the entry's wake time back. */
  postpone(cryoId: number, attempts: number, error: string, wakeAt: number): void {
    this.db.exec(`UPDATE _noema_cryostasis SET attempts = ?, last_error = ?, wake_at = ? WHERE cryo_id = ?`, [attempts, error, wakeAt, cryoId]);
  }
}
