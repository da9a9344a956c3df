// The baseline: a reservation Durable Object written by hand (no framework), the inventory's
// `reserve` SQL, its invariant query and one log row, nothing else.
import { DurableObject } from "cloudflare:workers";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { inventoryNomosV3 as inventoryNomos } from "../../apps/inventory/src/nomos.js";
import { type Env, ID, LOCATION, type LogMode, type Reservation, type ReserveArgs } from "./env.js";

// ---------------------------------------------------------------------------------------
// Hand-written: the inventory `reserve` SQL, the invariant query and one log row, nothing else.
// ---------------------------------------------------------------------------------------

/**
 * The DDL and invariant `inventoryNomos` derives (the law the Noema side holds, v3), written out
 * by hand and compared with it in `schemaMatches`: both sides keep the same tables and indexes.
 * The hand-written DO checks the invariant in full, as one without Noema's scopes would.
 */
const INVENTORY_DDL = [
  `CREATE TABLE "stock" ("location_id" TEXT PRIMARY KEY, "quantity" INTEGER NOT NULL CONSTRAINT "stock_quantity_check" CHECK (quantity >= 0), "reserved" INTEGER NOT NULL DEFAULT 0 CONSTRAINT "stock_reserved_check" CHECK (reserved >= 0), "updated_at" INTEGER NOT NULL, CONSTRAINT "stock_reserved_within_quantity" CHECK (reserved <= quantity)) STRICT`,
  `CREATE TABLE "reservations" ("id" TEXT PRIMARY KEY, "location_id" TEXT NOT NULL, "quantity" INTEGER NOT NULL CONSTRAINT "reservations_quantity_check" CHECK (quantity > 0), "status" TEXT NOT NULL CONSTRAINT "reservations_status_check" CHECK (status IN ('active', 'released', 'committed')), "order_id" TEXT, "created_at" INTEGER NOT NULL, "expires_at" INTEGER NOT NULL, "closed_at" INTEGER, "channel" TEXT NOT NULL CONSTRAINT "reservations_channel_check" CHECK (channel IN ('direct', 'web', 'marketplace', 'store'))) STRICT`,
  `CREATE INDEX "reservations_by_location_status" ON "reservations" ("location_id", "status", "quantity")`,
  `CREATE INDEX "reservations_by_status_created" ON "reservations" ("status", "created_at", "id")`,
  `CREATE TABLE "movements" ("id" INTEGER PRIMARY KEY, "location_id" TEXT NOT NULL, "delta" INTEGER NOT NULL, "reason" TEXT NOT NULL CONSTRAINT "movements_reason_check" CHECK (reason IN ('sale', 'purchase', 'adjust', 'return', 'transfer')), "reference_id" TEXT, "at" INTEGER NOT NULL) STRICT`,
  `CREATE TABLE "channel_sync" ("channel" TEXT PRIMARY KEY CONSTRAINT "channel_sync_channel_check" CHECK (channel IN ('direct', 'web', 'marketplace', 'store')), "last_sediment_id" INTEGER NOT NULL CONSTRAINT "channel_sync_last_sediment_id_check" CHECK (last_sediment_id >= 0), "synced_at" INTEGER NOT NULL) STRICT`,
];
const LOG_DDL = [
  `CREATE TABLE log_plain (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, payload TEXT NOT NULL) STRICT`,
  `CREATE TABLE log_chain (id INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL, payload TEXT NOT NULL) STRICT`,
];
const GENESIS = "0".repeat(64);

export const RESERVE_STOCK = `UPDATE stock SET reserved = reserved + ?, updated_at = ? WHERE location_id = ? AND quantity - reserved >= ? RETURNING location_id, quantity, reserved`;
export const INSERT_RESERVATION = `INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (?, ?, ?, 'active', ?, ?, ? + ? * 1000, ?) RETURNING id, expires_at`;
export const INVARIANT = `SELECT location_id, reserved, active FROM (
        SELECT s.location_id, s.reserved,
          (SELECT COALESCE(SUM(r.quantity), 0) FROM reservations r WHERE r.location_id = s.location_id AND r.status = 'active') AS active
        FROM stock s) WHERE reserved != active`;


/** What a careful hand-written DO checks without a schema library. */
export function checkReserveArgs(a: ReserveArgs): string | null {
  if (typeof a !== "object" || a === null) return "body must be an object";
  if (typeof a.locationId !== "string" || !ID.test(a.locationId)) return "locationId is invalid";
  if (!Number.isInteger(a.quantity) || a.quantity < 1 || a.quantity > 1_000_000_000) return "quantity is invalid";
  if (a.ttlSeconds !== undefined && (!Number.isInteger(a.ttlSeconds) || a.ttlSeconds < 1 || a.ttlSeconds > 86_400)) return "ttlSeconds is invalid";
  if (a.orderId !== undefined && (typeof a.orderId !== "string" || !ID.test(a.orderId))) return "orderId is invalid";
  return null;
}

// ---------------------------------------------------------------------------------------
// Write cost by active reservations (issue 8 §1): state filled in bulk, as n reserve Intents
// would leave it (rows and stock.reserved), without their log; the same SQL on both sides.
// ---------------------------------------------------------------------------------------

const FILL_ACTIVE = `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?)
  INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel)
  SELECT 'g-' || ? || '-' || i, 'main', 1, 'active', NULL, ?, ? + 86400000, 'direct' FROM c`;

export function fillActive(sql: SqlStorage, n: number, tag: string): void {
  if (n === 0) return;
  const now = Date.now();
  sql.exec(FILL_ACTIVE, n, tag, now, now);
  sql.exec("UPDATE stock SET reserved = reserved + ? WHERE location_id = 'main'", n);
}

export interface GrowthProbe {
  /** k writes of each kind, timed as a batch; the fastest of `rounds`. */
  k: number;
  reserveMs: number;
  setStockMs: number;
}

export class HandWrittenReservations extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private seq: number;
  private head: string;
  /** The stock row the last reservation wrote (its RETURNING): what the sync baseline broadcasts. */
  protected lastStock: Record<string, SqlStorageValue> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    const sql = this.sql;
    const fresh = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'stock'").toArray().length === 0;
    if (fresh) ctx.storage.transactionSync(() => [...INVENTORY_DDL, ...LOG_DDL].forEach((d) => sql.exec(d)));
    const last = sql.exec<{ id: number | null }>("SELECT MAX(id) AS id FROM (SELECT id FROM log_plain UNION ALL SELECT id FROM log_chain)").one();
    this.seq = last.id ?? 0;
    const chainHead = sql.exec<{ hash: string }>("SELECT hash FROM log_chain ORDER BY id DESC LIMIT 1").toArray()[0];
    this.head = chainHead?.hash ?? GENESIS;
  }

  setStock(locationId: string, quantity: number): void {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE stock SET quantity = ?, updated_at = ? WHERE location_id = ?", quantity, now, locationId);
      this.sql.exec(
        "INSERT INTO stock (location_id, quantity, reserved, updated_at) SELECT ?, ?, 0, ? WHERE NOT EXISTS (SELECT 1 FROM stock WHERE location_id = ?)",
        locationId,
        quantity,
        now,
        locationId,
      );
    });
  }

  /** One reservation: the same statements as the inventory `reserve` op, the invariant, one log row, one transaction. */
  reserve(a: ReserveArgs, log: LogMode = "chain"): Reservation {
    const problem = checkReserveArgs(a);
    if (problem) throw new Error(problem);
    const now = Date.now();
    const id = this.seq + 1;
    const ttl = a.ttlSeconds ?? 900;
    const orderId = a.orderId ?? null;
    let hash = "";
    const output = this.ctx.storage.transactionSync((): Reservation => {
      const sql = this.sql;
      const stock = sql.exec(RESERVE_STOCK, a.quantity, now, a.locationId, a.quantity).toArray();
      if (stock.length !== 1) throw new Error(`not enough available stock at ${a.locationId} to reserve ${a.quantity}`);
      this.lastStock = stock[0];
      const row = sql.exec<{ id: string; expires_at: number }>(INSERT_RESERVATION, `r-${id}-0`, a.locationId, a.quantity, orderId, now, now, ttl, "direct").toArray()[0]!;
      if (sql.exec(INVARIANT).toArray().length > 0) throw new Error("reserved stock must equal the sum of active reservations");
      const out: Reservation = { reservationId: row.id, locationId: a.locationId, quantity: a.quantity, expiresAt: row.expires_at, orderId };
      const payload = JSON.stringify({ id, at: now, op: "reserve", args: a, output: out });
      if (log === "plain") {
        sql.exec("INSERT INTO log_plain (id, at, payload) VALUES (?, ?, ?)", id, now, payload);
      } else {
        hash = bytesToHex(sha256(utf8ToBytes(JSON.stringify({ prevHash: this.head, payload }))));
        sql.exec("INSERT INTO log_chain (id, prev_hash, hash, at, payload) VALUES (?, ?, ?, ?, ?)", id, this.head, hash, now, payload);
      }
      return out;
    });
    // Advance the in-memory head only after the transaction succeeded.
    this.seq = id;
    if (log === "chain") this.head = hash;
    return output;
  }

  /** n reservations, each its own transaction, all inside this one request (one output-gate commit). */
  loop(n: number, log: LogMode): number {
    const args: ReserveArgs = { locationId: "main", quantity: 1 };
    const start = performance.now();
    for (let i = 0; i < n; i++) this.reserve(args, log);
    return performance.now() - start;
  }

  /** Adds n active reservations at "main" in one transaction (the state n reservations leave). */
  fill(n: number): void {
    this.ctx.storage.transactionSync(() => fillActive(this.sql, n, "h"));
  }

  /** k reservations and k setStock at the current number of active reservations, each its own transaction. */
  growthProbe(k: number, rounds: number): GrowthProbe {
    let [reserveMs, setStockMs] = [Infinity, Infinity];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < k; i++) this.reserve({ locationId: "main", quantity: 1 });
      const t1 = performance.now();
      // What a hand-written setStock checks: the same invariant (it may not drop below what is reserved).
      for (let i = 0; i < k; i++) {
        this.ctx.storage.transactionSync(() => {
          this.sql.exec("UPDATE stock SET quantity = quantity, updated_at = ? WHERE location_id = 'main'", Date.now());
          if (this.sql.exec(INVARIANT).toArray().length > 0) throw new Error("invariant");
        });
      }
      const t2 = performance.now();
      [reserveMs, setStockMs] = [Math.min(reserveMs, t1 - t0), Math.min(setStockMs, t2 - t1)];
    }
    return { k, reserveMs, setStockMs };
  }

  /** Bytes on disk (SQLite pages). */
  size(): number {
    return this.ctx.storage.sql.databaseSize;
  }

  /** n chained log rows alone, with the payload a reservation writes: the bytes one hand-written log row costs. */
  logRows(n: number): number {
    const before = this.size();
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (let i = 0; i < n; i++) {
        const id = ++this.seq;
        const out: Reservation = { reservationId: `r-${id}-0`, locationId: LOCATION, quantity: 1, expiresAt: now + 900_000, orderId: null };
        const payload = JSON.stringify({ id, at: now, op: "reserve", args: { locationId: LOCATION, quantity: 1 }, output: out });
        const hash = bytesToHex(sha256(utf8ToBytes(JSON.stringify({ prevHash: this.head, payload }))));
        this.sql.exec("INSERT INTO log_chain (id, prev_hash, hash, at, payload) VALUES (?, ?, ?, ?, ?)", id, this.head, hash, now, payload);
        this.head = hash;
      }
    });
    return (this.size() - before) / n;
  }

  /** True when the hand-written DDL and invariant are exactly the Nomos's: both sides run the same SQL. */
  schemaMatches(): boolean {
    const invariant = inventoryNomos.invariants.reserved_matches_active_reservations?.violations;
    return JSON.stringify(INVENTORY_DDL) === JSON.stringify(inventoryNomos.ddl) && INVARIANT === invariant;
  }
}

