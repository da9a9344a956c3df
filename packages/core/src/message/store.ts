import { canonicalJson, sha256Hex } from "../canonical/index.js";
import type { MessageTarget } from "../builtin/index.js";
import type { SqlExecutor, World } from "../host/index.js";
import { type Intent, MAX_KEY_LENGTH } from "../intent/index.js";
import { storedSieve } from "../cryostasis/store.js";
import { type Sieve, sieveHash } from "../sieve/index.js";

export const MESSAGE_DDL = [
  // Pending messages; a message leaves the outbox in the transaction that records its receipt.
  `CREATE TABLE IF NOT EXISTS _noema_outbox (message_id INTEGER PRIMARY KEY AUTOINCREMENT, msg_key TEXT NOT NULL UNIQUE, target_attractor TEXT NOT NULL, target_name TEXT NOT NULL, intent TEXT NOT NULL, sieve_hash TEXT NOT NULL, sent_sediment INTEGER NOT NULL, sent_step INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_attempt_at INTEGER NOT NULL, created_at INTEGER NOT NULL) STRICT`,
  `CREATE INDEX IF NOT EXISTS _noema_outbox_due ON _noema_outbox (next_attempt_at, message_id)`,
  // One row per settled message: its key stays taken, and the receipt itself is in the sediment that recorded it.
  `CREATE TABLE IF NOT EXISTS _noema_receipt (message_id INTEGER PRIMARY KEY, msg_key TEXT NOT NULL UNIQUE, outcome TEXT NOT NULL, sediment_id INTEGER NOT NULL) STRICT`,
  // Leases written by versions that kept them on disk (now in memory): at an object's start, every one was taken by a run that died.
  `CREATE TABLE IF NOT EXISTS _noema_lease (message_id INTEGER PRIMARY KEY) STRICT`,
];

/** The statement `$send` runs: explain shows it as it is. */
export const SEND_SQL = `INSERT INTO _noema_outbox (msg_key, target_attractor, target_name, intent, sieve_hash, sent_sediment, sent_step, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (msg_key) DO NOTHING RETURNING message_id`;

/** Messages delivered per alarm run by default; the alarm is re-armed for the rest. */
export const MESSAGE_BATCH = 64;
/** Deliveries in flight at once within a run. */
export const MESSAGE_CONCURRENCY = 8;
/** Failed deliveries are tried this many times in all (about 18 minutes of backoff), then the message is undeliverable. */
export const MAX_MESSAGE_ATTEMPTS = 12;

/**
 * The key a message is sent under when `$send` gives none: the sender's World, the sediment
 * and the step, so a repeated delivery of the same send is recognised by the receiver.
 */
export function derivedMessageKey(from: World, sedimentId: number, step: number): string {
  const key = `msg:${from.attractor}/${from.name}:${sedimentId}.${step}`;
  return key.length <= MAX_KEY_LENGTH ? key : `msg:${sha256Hex(key)}`;
}

/** A pending message as the outbox holds it (listed as an OutboxEntry). */
export interface OutboxRow {
  messageId: number;
  key: string;
  to: MessageTarget;
  intent: Intent;
  sieveHash: string;
  sentIn: { sedimentId: number; step: number };
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number;
  createdAt: number;
}

/**
 * A pending message as the outbox holds it: the former name of `OutboxRow`.
 * @deprecated Renamed `OutboxRow` (an Attractor lists its outbox as `OutboxEntry`).
 */
export type OutboxEntry = OutboxRow;

export interface SendRequest {
  key: string;
  to: MessageTarget;
  intent: Intent;
  sieve: Sieve;
  sedimentId: number;
  step: number;
  now: number;
}

const SELECT = `SELECT message_id, msg_key, target_attractor, target_name, intent, sieve_hash, sent_sediment, sent_step, attempts, last_error, next_attempt_at, created_at FROM _noema_outbox`;

function entryOf(r: Record<string, unknown>): OutboxRow {
  return {
    messageId: Number(r.message_id),
    key: String(r.msg_key),
    to: { attractor: String(r.target_attractor), name: String(r.target_name) },
    intent: JSON.parse(String(r.intent)) as Intent,
    sieveHash: String(r.sieve_hash),
    sentIn: { sedimentId: Number(r.sent_sediment), step: Number(r.sent_step) },
    attempts: Number(r.attempts),
    lastError: r.last_error === null ? null : String(r.last_error),
    nextAttemptAt: Number(r.next_attempt_at),
    createdAt: Number(r.created_at),
  };
}

/**
 * A message taken for delivery: left alone until `until`. A message taken right after its send
 * committed also asks the alarm to look at `recheck`, well before its lease ends: should the
 * object die mid-delivery, the alarm is what starts it again.
 */
interface Lease {
  until: number;
  recheck?: number;
}

/** Sieves kept parsed per outbox: a Sieve never changes under its hash, and a law has few of them. */
const SIEVE_CACHE = 64;

/** The outbox of one Attractor and the keys of its settled messages; every method runs inside the caller's transaction. */
export class OutboxStore {
  /** Sieves known stored: only once the transaction that stored one committed (a rollback takes the row with it). */
  private readonly knownSieves = new Set<string>();
  /** Sieves stored by a transaction not yet known to have committed (see `committed`). */
  private readonly storedSieves = new Set<string>();
  /** Each delivery carries its message's Sieve: read and parsed once per hash, not once per message. */
  private readonly sieves = new Map<string, Sieve>();
  /**
   * Messages taken for delivery, until when (a lease). In memory: an object runs as one instance
   * at a time, so a lease only has to hold within this run, and a run that dies takes its leases
   * with it (its messages are due again at once). Nothing is written to take a message, so a
   * delivery does not wait for a write to be durable before it goes out.
   */
  private readonly leased = new Map<number, Lease>();

  constructor(private readonly db: SqlExecutor) {}

  /** After a transaction that may have sent committed, outside it: the Sieves it stored are known if they are there (a rollback took them). */
  committed(): void {
    for (const hash of this.storedSieves) if (storedSieve(this.db, hash)) this.knownSieves.add(hash);
    this.storedSieves.clear();
  }

  /** Stores a message; a key already used (pending or settled) stores nothing and names that message. */
  send(r: SendRequest): { messageId: number; existing: boolean } {
    const settled = this.db.exec(`SELECT message_id FROM _noema_receipt WHERE msg_key = ?`, [r.key])[0];
    if (settled) return { messageId: Number(settled.message_id), existing: true };
    // Shared with Cryostasis (_noema_sieve): a Sieve is stored once, whoever depends on it.
    const hash = sieveHash(r.sieve);
    if (!this.knownSieves.has(hash)) {
      this.db.exec(`INSERT OR IGNORE INTO _noema_sieve (sieve_hash, sieve) VALUES (unhex(?), ?)`, [hash, canonicalJson(r.sieve)]);
      this.storedSieves.add(hash);
    }
    const inserted = this.db.exec(SEND_SQL, [r.key, r.to.attractor, r.to.name, canonicalJson(r.intent), hash, r.sedimentId, r.step, r.now, r.now])[0];
    if (inserted) return { messageId: Number(inserted.message_id), existing: false };
    return { messageId: Number(this.db.exec(`SELECT message_id FROM _noema_outbox WHERE msg_key = ?`, [r.key])[0]!.message_id), existing: true };
  }

  sieve(hash: string): Sieve {
    const cached = this.sieves.get(hash);
    if (cached) return cached;
    const sieve = storedSieve(this.db, hash);
    if (!sieve) throw new Error(`Sieve ${hash} of a pending message is not stored`);
    if (this.sieves.size >= SIEVE_CACHE) this.sieves.clear();
    this.sieves.set(hash, sieve);
    return sieve;
  }

  /** When the next message is due: a leased one when its lease ends. */
  earliest(): number | undefined {
    // Past the leased ones, the first row is the earliest message free to take.
    const rows = this.db.exec(`SELECT message_id, next_attempt_at FROM _noema_outbox ORDER BY next_attempt_at, message_id LIMIT ?`, [this.leased.size + 1]);
    const free = rows.find((r) => !this.leased.has(Number(r.message_id)));
    const times = [...this.leased.values()].map((l) => l.recheck ?? l.until);
    if (free) times.push(Number(free.next_attempt_at));
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /**
   * Due messages free to take, at most `limit`, in the order they are due. The leased ones are
   * told apart by id from the due index alone: only the messages taken are read whole (their
   * Intents parsed), not the ones in flight before them.
   */
  private due(now: number, limit: number, free: (messageId: number) => boolean): OutboxRow[] {
    const ids = this.db
      .exec(`SELECT message_id FROM _noema_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, message_id LIMIT ?`, [now, limit + this.leased.size])
      .map((r) => Number(r.message_id))
      .filter(free)
      .slice(0, limit);
    if (ids.length === 0) return [];
    return this.db.exec(`${SELECT} WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY next_attempt_at, message_id`, [JSON.stringify(ids)]).map(entryOf);
  }

  /**
   * Takes due messages for delivery: each is left alone until `until` (a lease), unless settled
   * or postponed first; with `recheck`, the alarm looks again then (see Lease). A recheck time
   * that has come is spent: the run that saw it leaves the message to its lease.
   */
  take(now: number, limit: number, until: number, recheck?: number): OutboxRow[] {
    for (const lease of this.leased.values()) if (lease.recheck !== undefined && lease.recheck <= now) delete lease.recheck;
    const taken = this.due(now, limit, (messageId) => (this.leased.get(messageId)?.until ?? 0) <= now);
    for (const t of taken) this.leased.set(t.messageId, recheck === undefined ? { until } : { until, recheck });
    return taken;
  }

  /**
   * Makes every lease kept on disk (by earlier versions) due at `now`. An object runs as one
   * instance at a time, so at its start each lease belongs to a run that died (kill -9, eviction,
   * code update): waiting it out would hold an order up for the whole lease. A delivery still in
   * flight from that run may then arrive twice, which the message's key makes harmless. Returns
   * how many were released.
   */
  releaseLeases(now: number): number {
    const released = this.db.exec(`UPDATE _noema_outbox SET next_attempt_at = ? WHERE next_attempt_at > ? AND message_id IN (SELECT message_id FROM _noema_lease) RETURNING message_id`, [now, now]).length;
    this.db.exec(`DELETE FROM _noema_lease`, []);
    return released;
  }

  /** Whether an earlier version left leases on disk (almost never: leases live in memory now). */
  hasStoredLeases(): boolean {
    return this.db.exec(`SELECT 1 FROM _noema_lease LIMIT 1`, []).length > 0;
  }

  /** Pending messages in the order they were sent, after `after` (a messageId). */
  list(limit: number, after = 0): OutboxRow[] {
    return this.db.exec(`${SELECT} WHERE message_id > ? ORDER BY message_id LIMIT ?`, [after, limit]).map(entryOf);
  }

  /** Records a failed attempt and when to try again. */
  postpone(messageId: number, attempts: number, error: string, nextAttemptAt: number): void {
    this.db.exec(`UPDATE _noema_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE message_id = ?`, [attempts, error, nextAttemptAt, messageId]);
    this.leased.delete(messageId);
  }

  /** Takes the message out and keeps its key taken; false when another delivery settled it first. */
  settle(entry: OutboxRow, outcome: string, sedimentId: number): boolean {
    this.leased.delete(entry.messageId);
    if (this.db.exec(`DELETE FROM _noema_outbox WHERE message_id = ? RETURNING message_id`, [entry.messageId]).length === 0) return false;
    this.db.exec(`INSERT INTO _noema_receipt (message_id, msg_key, outcome, sediment_id) VALUES (?, ?, ?, ?)`, [entry.messageId, entry.key, outcome, sedimentId]);
    return true;
  }

  /** Settled messages after `after` (a messageId), with the sediment that recorded each receipt's origin. */
  receipts(limit: number, after = 0): { messageId: number; sedimentId: number; origin: string | null }[] {
    return this.db
      .exec(`SELECT r.message_id, r.sediment_id, s.origin FROM _noema_receipt r LEFT JOIN _noema_sediment s ON s.sediment_id = r.sediment_id WHERE r.message_id > ? ORDER BY r.message_id LIMIT ?`, [after, limit])
      .map((r) => ({ messageId: Number(r.message_id), sedimentId: Number(r.sediment_id), origin: r.origin === null ? null : String(r.origin) }));
  }
}
