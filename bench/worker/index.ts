// Bench Worker for `npm run bench`: a hand-written reservation DO (no framework) next to
// the real InventoryAttractor, plus endpoints that drive both in the same ways.
import { DurableObject } from "cloudflare:workers";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { buildIntent, connection, defineNomos, integer, type TableSpec, text, DEFAULT_LIMITS, type Intent, parseIntent, type Seal, type Verification } from "@noema/core";
import { type Sedimenter, SedimentLog, useSha256 } from "@noema/core/runtime";
import { hashCanonicalSediment, installScopes } from "@noema/core/internal";
import { nodeSha256 } from "../../packages/cloudflare/src/hash.js";
import { Archive, DEFAULT_SEGMENT_ENTRIES, type SedimentHost } from "@noema/core/runtime";
import type { Row } from "@noema/core";
import { r2Store } from "@noema/cloudflare";
import { intentSieve, sedimentHash } from "@noema/core/runtime";
import { canonicalJson, diffNomos, countPlaceholders, interpret, sha256Hex } from "@noema/core/internal";
import { app } from "../../apps/inventory/src/api.js";
import { InventoryAttractor } from "../../apps/inventory/src/attractor.js";
import type { CatalogAttractor } from "../../apps/inventory/src/catalog/attractor.js";
import { Attractor } from "@noema/cloudflare";
import { catalog } from "../../apps/inventory/src/catalog/vocabulary.js";
import { inventoryNomosV3 as inventoryNomos } from "../../apps/inventory/src/nomos.js";
import { inventory, inventoryV1 } from "../../apps/inventory/src/vocabulary.js";
import { inventoryLaw } from "../../apps/inventory/src/law.js";
import type { OrderAttractor } from "../../apps/inventory/src/orders/attractor.js";

export interface Env {
  HAND: DurableObjectNamespace<HandWrittenReservations>;
  /** The name the inventory Hono app expects, so `/api/*` runs the real app unchanged. */
  INVENTORY_ATTRACTOR: DurableObjectNamespace<NoemaReservations>;
  /** The inventory's first stockings list products there (InventoryAttractor's `static sends`). */
  CATALOG_ATTRACTOR: DurableObjectNamespace<CatalogAttractor>;
  MESSAGE_SENDER: DurableObjectNamespace<MessageSender>;
  ORDER_ATTRACTOR: DurableObjectNamespace<OrderAttractor>;
  NOEMA_API_TOKEN: string;
  ARCHIVE_BENCH: DurableObjectNamespace<ArchiveBench>;
  NOEMA_ARCHIVE: R2Bucket;
}

export interface ReserveArgs {
  locationId: string;
  quantity: number;
  ttlSeconds?: number;
  orderId?: string;
}

export interface Reservation {
  reservationId: string;
  locationId: string;
  quantity: number;
  expiresAt: number;
  orderId: string | null;
}

export type LogMode = "plain" | "chain";

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

const RESERVE_STOCK = `UPDATE stock SET reserved = reserved + ?, updated_at = ? WHERE location_id = ? AND quantity - reserved >= ? RETURNING location_id, quantity, reserved`;
const INSERT_RESERVATION = `INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (?, ?, ?, 'active', ?, ?, ? + ? * 1000, ?) RETURNING id, expires_at`;
const INVARIANT = `SELECT location_id, reserved, active FROM (
        SELECT s.location_id, s.reserved,
          (SELECT COALESCE(SUM(r.quantity), 0) FROM reservations r WHERE r.location_id = s.location_id AND r.status = 'active') AS active
        FROM stock s) WHERE reserved != active`;

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What a careful hand-written DO checks without a schema library. */
function checkReserveArgs(a: ReserveArgs): string | null {
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

function fillActive(sql: SqlStorage, n: number, tag: string): void {
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

// ---------------------------------------------------------------------------------------
// Noema: the real InventoryAttractor; this subclass only adds bench entry points.
// ---------------------------------------------------------------------------------------

const reserveIntent = (a: ReserveArgs): Intent => buildIntent(inventory, (s) => void s.reserve(a));

/**
 * Pieces of the sedimentation path, each run n times in `NoemaReservations.profile`. The
 * `sql*` and `interpret*` parts run inside a transaction that is rolled back, so subtract
 * `txRollback` from them.
 */
export const PROFILE_PARTS = [
  "buildIntent", // client side: what the Worker pays per Intent
  "parseIntent", // the Attractor's first check
  "argsStrictParse", // off the path now: `op.args.strict()` built afresh per parse (the core caches it)
  "argsCachedParse", // the args parse with the cached strict schema: interpret repeats it only for steps with Refs
  "countPlaceholders", // off the path now (the core caches the counts): two counts per statement
  "canonicalJsonIntent",
  "sedimentHash", // canonicalJson of the whole entry + SHA-256
  "sha256Entry", // SHA-256 alone over the same canonical entry
  "appendJson", // canonicalJson of the Intent and the outputs, as the Sedimenter's commit does
  "hashCanonical", // the commit's hashing as it runs: those two canonicalJson + hashCanonicalSediment
  "handChainHash", // the hand-written DO's chaining: JSON.stringify of its payload + SHA-256
  "txRollback", // an empty transactionSync that throws: the floor of the rolled-back parts
  "txCommit", // an empty transactionSync that commits: the floor of a committed one
  "sqlReserve", // the reserve statements + invariant, raw, as the hand-written DO runs them
  "sqlSedimentRow", // the above + the _noema_sediment INSERT with this Intent's sizes
  "invariantQuery",
  "interpretInTx", // interpret(): parse, statements, invariant
  "sedimentation", // the whole path, committed (last: it adds reservations)
  "setStockV2", // a current-law Intent: no Connection check
  "setStockV1Flat", // the same change as a v1 Intent: parse under v1, cached Connection (Flat), re-stamp, parse under v2
  "connectionUncached", // the Connection v1 → v2 under one Intent's Sieve, computed afresh (what the cache saves)
  "diff100Tables", // diffNomos between two 100-table laws that differ in 10 places
  "parseReserveAndFreeze", // parseIntent of the inventory API's reservation: reserve + $freeze of its release
  "admit", // the Sedimenter's admission of an arriving Intent: law claim, parse, Connection (none here)
  "announce", // telling live inspectors of a new head, with none connected
] as const;
/**
 * Freezing cost: the same reservation Intent without and with a `$freeze` of its release (as the
 * inventory API sends it), each on its own fresh DO per round so both start from empty tables.
 */
export const FREEZE_PARTS = ["reserveOnly", "reserveAndFreeze"] as const;
/**
 * Committed pieces of a reservation, each on its own fresh DO like `reserveOnly` and the
 * hand-written loops: tables grow alike (the invariant sums every active reservation), and no
 * part pays the throw and rollback that the rolled-back parts above do.
 */
export const COMMITTED_PARTS = ["sqlReserveCommitted", "sqlSedimentRowCommitted", "interpretCommitted", "sedimenterCommitted"] as const;
export type ProfilePart = (typeof PROFILE_PARTS)[number] | (typeof FREEZE_PARTS)[number] | (typeof COMMITTED_PARTS)[number];

/** Parts that touch no storage run 10x as often: the DO clock only ticks in milliseconds. */
const PURE_PARTS: Partial<Record<ProfilePart, true>> = {
  buildIntent: true,
  parseIntent: true,
  argsStrictParse: true,
  argsCachedParse: true,
  countPlaceholders: true,
  canonicalJsonIntent: true,
  sedimentHash: true,
  sha256Entry: true,
  appendJson: true,
  hashCanonical: true,
  handChainHash: true,
  parseReserveAndFreeze: true,
  admit: true,
  announce: true,
};
const iterations = (part: ProfilePart, n: number) => (PURE_PARTS[part] ? n * 10 : n);

const setStockV2 = buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 1_000_000 }));
const setStockV1 = buildIntent(inventoryV1, (s) => void s.setStock({ locationId: "main", quantity: 1_000_000 }));

/** Two laws of 100 tables × 8 columns, 10 of whose tables differ (a column added, retyped, a CHECK changed…). */
function hundredTables(version: number, changed: boolean) {
  const tables: Record<string, TableSpec> = {};
  for (let t = 0; t < 100; t++) {
    const columns: TableSpec["columns"] = { id: text().primaryKey() };
    for (let c = 0; c < 7; c++) columns[`c${c}`] = integer().notNull().default(0).check(`c${c} >= 0`, "non-negative");
    if (changed && t % 10 === 0) {
      columns.c1 = text();
      columns.c2 = integer().notNull().default(0).check("c2 >= 1", "positive");
      columns.extra = integer().notNull();
    }
    tables[`t${t}`] = { columns, indexes: { [`t${t}_by_c0`]: { columns: ["c0"] } } };
  }
  return defineNomos({ name: "hundred", version, tables });
}
const hundredTablesA = hundredTables(1, false);
const hundredTablesB = hundredTables(2, true);

/** The inventory API's reservation: the reserve and its release frozen until expiry, in one Intent. */
const reserveAndFreeze = buildIntent(inventory, (s) => {
  const r = s.reserve({ locationId: "main", quantity: 1 });
  s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
});
/** What the Cryostasis benches freeze from code: a release to keep pending, a setStock to wake (it needs no reservation). */
const releaseIntent = (reservationId: string) => buildIntent(inventory, (s) => void s.release({ reservationId }));
const HOUR = 3_600_000;
/** A wake time spread over 1 h … 30 days ahead, fixed per i, so pending entries are not inserted in wake order. */
const spreadWakeAt = (now: number, i: number) => now + HOUR + ((i * 2_654_435_761) % (30 * 24 * HOUR));

/**
 * Intents as they reach a DO over RPC: structured clones, never the objects buildIntent returned in
 * this isolate (a core may trust those and skip parsing, which no client's Intent gets). Made before
 * the timed loop: one per sedimentation, as every RPC delivers a fresh object.
 */
const sent = (intent: Intent, n: number): Intent[] => Array.from({ length: n }, () => structuredClone(intent));

const reserveArgsStrict = inventory.operations.reserve.args.strict();
const reserveStatements = Object.values(inventory.operations.reserve.statements);

/** The tag live inspector sockets are accepted under (packages/cloudflare/src/inspection.ts). */
const LIVE_TAG = "noema-live";

export class NoemaReservations extends InventoryAttractor {
  /** The Attractor's Sedimenter, for the breakdown's parts below the Attractor. */
  private get internals(): Sedimenter {
    return (this as unknown as { sedimenter: Sedimenter }).sedimenter;
  }

  setup(locationId: string, quantity: number): Seal {
    return this.sedimentation(buildIntent(inventory, (s) => void s.setStock({ locationId, quantity })));
  }

  /** The framework path for one reservation, Intent built here as a client would. */
  reserve(a: ReserveArgs): Seal {
    return this.sedimentation(reserveIntent(a));
  }

  /** n sealed reservations, each its own transaction, all inside this one request. */
  loop(n: number): number {
    // Built once, like the hand-written loop reuses its args: the client-side build is not DO work.
    const intents = sent(reserveIntent({ locationId: "main", quantity: 1 }), n);
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const seal = this.sedimentation(intents[i]!);
      if (!seal.success) throw new Error(`bench reservation refused: ${seal.reason.message}`);
    }
    return performance.now() - start;
  }

  /** Runs one piece of the sedimentation path n times, for a rough breakdown of where time goes. */
  profile(part: ProfilePart, n: number): { ms: number; sink: number } {
    const intent = reserveIntent({ locationId: "main", quantity: 1 });
    const args = intent.steps[0]!.args;
    const sql = this.ctx.storage.sql;
    const exec = (text: string, params: readonly (string | number | null)[]) => sql.exec<Record<string, string | number | null>>(text, ...params).toArray();
    // One executor with the scopes installed, as the Attractor's is on wake: interpret() would otherwise create them in every Intent.
    const db = { exec };
    installScopes({ db, transaction: (fn) => this.ctx.storage.transactionSync(fn), now: Date.now }, inventory.nomos);
    const now = Date.now();
    const output = { reservationId: "r-1-0", locationId: "main", quantity: 1, expiresAt: now + 900_000, orderId: null };
    const entry = { sedimentId: 1, prevHash: "0".repeat(64), timestamp: now, intent, outputs: [output], world: this.world };
    const canonicalEntry = canonicalJson(entry);
    // The row as the log stores it (format 2): the Intent without the held stamp, the World by id.
    const log = new SedimentLog({ exec });
    const stored = log.storedIntent(canonicalJson(intent), null);
    const sedimentRow = [stored.text, stored.nomosVersion, canonicalJson(entry.outputs), log.worldId(sha256Hex(canonicalJson(this.world)))] as const;
    const rolledBack = (fn: (i: number) => void, i: number) => {
      try {
        this.ctx.storage.transactionSync(() => {
          fn(i);
          throw new RollBack();
        });
      } catch (e) {
        if (!(e instanceof RollBack)) throw e;
      }
    };
    const rawReserve = (i: number) => {
      exec(RESERVE_STOCK, [1, now, "main", 1]);
      exec(INSERT_RESERVATION, [`p-${i}`, "main", 1, null, now, now, 900, "direct"]);
      exec(INVARIANT, []);
    };
    const arriving: Partial<Record<ProfilePart, Intent>> = {
      parseIntent: intent,
      sedimentation: intent,
      reserveOnly: intent,
      sedimenterCommitted: intent,
      admit: intent,
      setStockV2,
      setStockV1Flat: setStockV1,
      parseReserveAndFreeze: reserveAndFreeze,
      reserveAndFreeze,
    };
    const wire = arriving[part] ? sent(arriving[part], n) : [];
    // Results that are otherwise unused go here, so no piece can be optimized away.
    let sink = 0;
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      switch (part) {
        case "buildIntent":
          reserveIntent({ locationId: "main", quantity: 1 });
          break;
        case "parseIntent":
          parseIntent(inventory, wire[i], DEFAULT_LIMITS);
          break;
        case "argsStrictParse":
          inventory.operations.reserve.args.strict().safeParse(args);
          break;
        case "argsCachedParse":
          reserveArgsStrict.safeParse(args);
          break;
        case "countPlaceholders":
          for (const st of reserveStatements) sink += countPlaceholders(st.sql) + countPlaceholders(st.sql);
          break;
        case "canonicalJsonIntent":
          sink += canonicalJson(intent).length;
          break;
        case "sedimentHash":
          sink += sedimentHash(entry).length;
          break;
        case "sha256Entry":
          sink += sha256Hex(canonicalEntry).length;
          break;
        case "appendJson":
          sink += (canonicalJson(entry.intent) + canonicalJson(entry.outputs)).length;
          break;
        case "hashCanonical":
          sink += hashCanonicalSediment({
            sedimentId: 1,
            prevHash: entry.prevHash,
            timestamp: now,
            intent: canonicalJson(intent),
            outputs: canonicalJson(entry.outputs),
            worldHash: sedimentRow[2],
          }).length;
          break;
        case "handChainHash": {
          const payload = JSON.stringify({ id: 1, at: now, op: "reserve", args, output });
          sink += bytesToHex(sha256(utf8ToBytes(JSON.stringify({ prevHash: entry.prevHash, payload })))).length;
          break;
        }
        case "txRollback":
          rolledBack(() => {}, i);
          break;
        case "txCommit":
          this.ctx.storage.transactionSync(() => {});
          break;
        case "sqlReserve":
          rolledBack(rawReserve, i);
          break;
        case "sqlSedimentRow":
          rolledBack((j) => {
            rawReserve(j);
            exec(
              "INSERT INTO _noema_sediment (sediment_id, hash, timestamp, intent, nomos_version, outputs, world_id, idempotency_key) VALUES (?, unhex(?), ?, ?, ?, ?, ?, ?)",
              [1_000_000_000 + j, "f".repeat(64), now, ...sedimentRow, null],
            );
          }, i);
          break;
        case "invariantQuery":
          exec(INVARIANT, []);
          break;
        case "sqlReserveCommitted":
          this.ctx.storage.transactionSync(() => rawReserve(i));
          break;
        case "sqlSedimentRowCommitted":
          this.ctx.storage.transactionSync(() => {
            rawReserve(i);
            exec(
              "INSERT INTO _noema_sediment (sediment_id, hash, timestamp, intent, nomos_version, outputs, world_id, origin, idempotency_key) VALUES (?, unhex(?), ?, ?, ?, ?, ?, ?, ?)",
              [1_000_000_000 + i, "f".repeat(64), now, ...sedimentRow, null, null],
            );
          });
          break;
        case "interpretCommitted":
          this.ctx.storage.transactionSync(() => interpret(inventory, intent, db, { now, sedimentId: 1_000_000_000 + i }));
          break;
        case "interpretInTx":
          rolledBack((j) => interpret(inventory, intent, db, { now, sedimentId: 1_000_000_000 + j }), i);
          break;
        case "sedimentation":
        case "setStockV2":
        case "setStockV1Flat":
          this.sedimentation(wire[i]);
          break;
        case "connectionUncached":
          sink += connection(inventoryV1, inventory, { sieve: intentSieve(inventoryV1, setStockV1), hints: inventoryLaw.evolutionFrom(1) }).changes.length;
          break;
        case "diff100Tables":
          sink += diffNomos(hundredTablesA, hundredTablesB).length;
          break;
        case "parseReserveAndFreeze":
          parseIntent(inventory, wire[i], DEFAULT_LIMITS);
          break;
        case "admit":
          sink += Number(this.internals.admit(wire[i]).ok);
          break;
        case "announce":
          sink += this.ctx.getWebSockets(LIVE_TAG).length;
          break;
        case "sedimenterCommitted":
          if (!this.internals.sediment(wire[i]).success) throw new Error("bench sedimenterCommitted refused");
          break;
        case "reserveOnly":
        case "reserveAndFreeze": {
          // A refusal would be cheap and look like a fast freeze: every one must seal.
          const seal = this.sedimentation(wire[i]);
          if (!seal.success) throw new Error(`bench ${part} refused: ${seal.reason.message}`);
          break;
        }
      }
    }
    return { ms: performance.now() - start, sink };
  }

  /**
   * Wake throughput: n setStock Intents frozen from code, due right away, then woken the way the
   * alarm does (`alarm()` called until nothing is due; each call wakes one batch). All of it runs in
   * this one call, so the real alarm cannot take entries in between. `plainN` plain sedimentations
   * of the same Intent follow, for comparison.
   */
  async wakeBench(n: number, plainN: number): Promise<WakeBench> {
    const count = (table: string) => Number(this.query(`SELECT COUNT(*) AS n FROM ${table}`)[0]!.n);
    // A wake time must lie ahead when it is frozen; 50 ms ahead is past once the loop is done.
    let last = 0;
    const frozenStart = performance.now();
    for (let i = 0; i < n; i++) {
      const r = this.freeze(setStockV2, { at: Date.now() + 50 });
      if (!r.ok) throw new Error(`bench freeze refused: ${JSON.stringify(r.issues)}`);
      last = r.wakeAt;
    }
    const freezeMs = performance.now() - frozenStart;
    while (Date.now() <= last) {
      // Spin, not await: the real alarm must not take entries before they are timed.
    }
    const [sediments, precedents] = [count("_noema_sediment"), count("_noema_precedent")];
    const due = () => {
      const next = this.frozen({ limit: 1 })[0];
      return next !== undefined && next.wakeAt <= Date.now();
    };
    let batches = 0;
    const wakeStart = performance.now();
    // Bounded: an entry that failed is postponed, so it is not due again within this loop.
    while (due() && batches <= n) {
      await this.alarm();
      batches++;
    }
    const wakeMs = performance.now() - wakeStart;
    const result = {
      n,
      freezeMs,
      wakeMs,
      batches,
      sealed: count("_noema_sediment") - sediments,
      refused: count("_noema_precedent") - precedents,
      left: count("_noema_cryostasis"),
    };
    const plainStart = performance.now();
    for (let i = 0; i < plainN; i++) {
      const seal = this.sedimentation(setStockV2);
      if (!seal.success) throw new Error(`bench setStock refused: ${seal.reason.message}`);
    }
    return { ...result, plainN, plainMs: performance.now() - plainStart };
  }

  /** Adds n active reservations at "main" outside any Intent, as a migration would (the audit would see them). */
  fill(n: number): void {
    this.ctx.storage.transactionSync(() => {
      fillActive(this.ctx.storage.sql, n, "n");
      // The fill is not an Intent: drop the marks its rows made (numbering goes on), so the next Intent checks only its own.
      this.ctx.storage.sql.exec("DELETE FROM _noema_scope_reserved_matches_active_reservations");
    });
  }

  /** k reservations as the API sends them (reserve + $freeze of its release) and k setStock, each sealed. */
  growthProbe(k: number, rounds: number): GrowthProbe {
    let [reserveMs, setStockMs] = [Infinity, Infinity];
    const stockAt = buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 1_000_000_000 }));
    for (let r = 0; r < rounds; r++) {
      const [reserves, stocks] = [sent(reserveAndFreeze, k), sent(stockAt, k)];
      const t0 = performance.now();
      for (const intent of reserves) if (!this.sedimentation(intent).success) throw new Error("bench reserve refused");
      const t1 = performance.now();
      for (const intent of stocks) if (!this.sedimentation(intent).success) throw new Error("bench setStock refused");
      const t2 = performance.now();
      [reserveMs, setStockMs] = [Math.min(reserveMs, t1 - t0), Math.min(setStockMs, t2 - t1)];
    }
    return { k, reserveMs, setStockMs };
  }

  /**
   * Wake rate of due releases among many active reservations: n reservations through the API's
   * Intent (reserve + $freeze of its release, 1 s ahead) on top of `others` filled in bulk, then
   * the alarm called until nothing is due (each call wakes one batch), all in this one call.
   */
  async releaseWakeBench(n: number, others: number): Promise<{ n: number; others: number; wakeMs: number; batches: number; released: number; active: number }> {
    this.fill(others);
    const hold = buildIntent(inventory, (s) => {
      const r = s.reserve({ locationId: "main", quantity: 1, ttlSeconds: 1 });
      s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
    });
    let last = 0;
    for (const intent of sent(hold, n)) {
      const seal = this.sedimentation(intent);
      if (!seal.success) throw new Error(`bench hold refused: ${seal.reason.message}`);
      last = (seal.outputs[0] as { expiresAt: number }).expiresAt;
    }
    while (Date.now() <= last) {
      // Spin, not await: the real alarm must not take entries before they are timed.
    }
    const count = (where: string) => Number(this.query(`SELECT COUNT(*) AS n FROM reservations WHERE ${where}`)[0]!.n);
    const due = () => {
      const next = this.frozen({ limit: 1 })[0];
      return next !== undefined && next.wakeAt <= Date.now();
    };
    let batches = 0;
    const start = performance.now();
    while (due() && batches <= n) {
      await this.alarm();
      batches++;
    }
    const wakeMs = performance.now() - start;
    return { n, others, wakeMs, batches, released: count("status = 'released'"), active: count("status = 'active'") };
  }

  /** Freezes releases of reservations `${prefix}-${from}` … to keep pending, each with its key, wake times spread over 30 days. */
  fillPending(prefix: string, from: number, count: number): number {
    const now = Date.now();
    const start = performance.now();
    for (let i = from; i < from + count; i++) {
      const key = `${prefix}-${i}`;
      const r = this.freeze(releaseIntent(key), { at: spreadWakeAt(now, i), key });
      if (!r.ok || r.existing) throw new Error(`bench pending freeze ${key} failed: ${JSON.stringify(r)}`);
    }
    return performance.now() - start;
  }

  /**
   * The cost of freezing one more at the current number of pending entries: k freezes from code
   * (Intents built beforehand) and k reservations with a `$freeze` step, each timed as a batch.
   */
  probeFreeze(prefix: string, k: number): { freezeMs: number; stepMs: number } {
    const now = Date.now();
    const intents = Array.from({ length: k }, (_, i) => releaseIntent(`${prefix}-${i}`));
    const freezeStart = performance.now();
    intents.forEach((intent, i) => {
      const r = this.freeze(intent, { at: spreadWakeAt(now, i), key: `${prefix}-${i}` });
      if (!r.ok || r.existing) throw new Error(`bench probe freeze failed: ${JSON.stringify(r)}`);
    });
    const freezeMs = performance.now() - freezeStart;
    const steps = sent(reserveAndFreeze, k);
    const stepStart = performance.now();
    for (let i = 0; i < k; i++) {
      const seal = this.sedimentation(steps[i]!);
      if (!seal.success) throw new Error(`bench reserve + $freeze refused: ${seal.reason.message}`);
    }
    return { freezeMs, stepMs: performance.now() - stepStart };
  }

  // ---- Verification and bytes (issue 8 §3, §4 row size) ----

  /** Bytes on disk (SQLite pages). */
  size(): number {
    return this.ctx.storage.sql.databaseSize;
  }

  /**
   * Appends n copies of this Attractor's last sediment's Intent and outputs to the log, each
   * chained and hashed as a commit does, through the log's own append in transactions of
   * `batch`: a long log built in seconds. Restart the object afterwards (`restart()`) so it
   * reads the new head. Returns the bytes on disk per appended entry.
   */
  bulkLog(n: number, batch = 10_000): number {
    const log = new SedimentLog({ exec: (text, params) => this.query(text, ...params) });
    let head = log.head();
    const last = log.page(head.sedimentId - 1, 1).sediments[0]!;
    const intent = canonicalJson(last.intent);
    const outputs = canonicalJson(last.outputs);
    const wh = sha256Hex(canonicalJson(last.world));
    const before = this.size();
    for (let done = 0; done < n; ) {
      const k = Math.min(batch, n - done);
      this.ctx.storage.transactionSync(() => {
        for (let i = 0; i < k; i++) {
          const entry = { sedimentId: head.sedimentId + 1, prevHash: head.hash, timestamp: Date.now(), intent, outputs, origin: null, worldHash: wh };
          const hash = hashCanonicalSediment(entry);
          log.append({ ...entry, hash, idempotencyKey: null });
          head = { sedimentId: entry.sedimentId, hash };
        }
      });
      done += k;
    }
    return (this.size() - before) / n;
  }

  /** Resets the object (this call throws): the next call wakes a new instance that reads the head from storage. */
  restart(): void {
    this.ctx.abort("bench: restart to read the bulk-built log");
  }

  /** The whole chain in one synchronous pass, as `verify()` ran before it was sliced; `noble` uses the pure-JS hash, as before. */
  verifyBlocking(noble: boolean): { ms: number; length: number; ok: boolean } {
    // Rows read as the Attractor reads them (arrays): only the hash and the slicing differ from verify().
    const sql = this.ctx.storage.sql;
    const log = new SedimentLog({ exec: (text, params) => this.query(text, ...params), raw: (text, params) => [...sql.exec(text, ...params).raw()] as (string | number | null)[][] });
    if (noble) useSha256(undefined);
    try {
      const start = performance.now();
      const v = log.verify();
      return { ms: performance.now() - start, length: v.ok ? v.length : v.length, ok: v.ok };
    } finally {
      if (noble) useSha256(nodeSha256());
    }
  }

  /** n reservations, each with a `$freeze` of its release (what the inventory API sends): bytes on disk per active reservation. */
  activeReservations(n: number): number {
    const intents = sent(reserveAndFreeze, n);
    const before = this.size();
    for (const intent of intents) {
      const seal = this.sedimentation(intent);
      if (!seal.success) throw new Error(`bench reserve + $freeze refused: ${seal.reason.message}`);
    }
    return (this.size() - before) / n;
  }

  /** n plain reservations: bytes on disk per reservation (its row and its sediment). */
  reservations(n: number): number {
    const before = this.size();
    this.loop(n);
    return (this.size() - before) / n;
  }

  /** Storage as SQLite counts it, pending entries, and the bytes of their stored columns (nine integers at 8 bytes each, the Sieve and World by id). */
  storage(): { databaseSize: number; pending: number; rowBytes: number } {
    const r = this.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(COALESCE(length(intent), 0) + COALESCE(length(freeze_key), 0) + COALESCE(length(last_error), 0) + 8 * 9), 0) AS bytes FROM _noema_cryostasis`,
    )[0]!;
    return { databaseSize: this.ctx.storage.sql.databaseSize, pending: Number(r.n), rowBytes: Number(r.bytes) };
  }
}

export interface WakeBench {
  n: number;
  /** Time to freeze the n entries from code, one transaction each. */
  freezeMs: number;
  wakeMs: number;
  batches: number;
  sealed: number;
  refused: number;
  left: number;
  plainN: number;
  plainMs: number;
}

class RollBack extends Error {}

// ---------------------------------------------------------------------------------------
// Archival to R2 (issue 8 §4): entries/s sealed into segments, against plain R2 writes of the same bytes.
// ---------------------------------------------------------------------------------------

export interface ArchiveBenchResult {
  n: number;
  segmentEntries: number;
  segments: number;
  bytes: number;
  /** Archival as the chore does it: read rows, encode, put, read back and hash, record and delete in one transaction. */
  archiveMs: number;
  /** Baseline: one plain put per segment of the same text. */
  putMs: number;
  /** Baseline: a put and a get of the same text, the least a confirmed write costs. */
  putGetMs: number;
}

/** A Noema DO that fills its log and archives it with the same Archive the chore runs, timed in one call. */
export class ArchiveBench extends NoemaReservations {
  // The bench Worker's own binding: the inventory Attractor it extends declares no archive.
  private readonly bucket = (this.env as unknown as Env).NOEMA_ARCHIVE;

  /** The Archive the chore would run, over this object's storage and the bench bucket. */
  private archiveOf(segmentEntries: number, prefix: string): Archive {
    const sql = this.ctx.storage.sql;
    const host: SedimentHost = {
      db: { exec: (text, params) => sql.exec<Row>(text, ...params).toArray() },
      transaction: (fn) => this.ctx.storage.transactionSync(fn),
      now: () => Date.now(),
    };
    return new Archive(host, new SedimentLog(host.db), r2Store(this.bucket), { prefix, segmentEntries, segmentAgeMs: 30 * 24 * HOUR, precedentRetentionMs: 30 * 24 * HOUR });
  }

  /** n setStock sediments: a log to archive. */
  fillLog(n: number): void {
    for (let i = 0; i < n; i++) {
      const seal = this.sedimentation(setStockV2);
      if (!seal.success) throw new Error(`bench setStock refused: ${seal.reason.message}`);
    }
  }

  /** One archival slice (one full segment), as the alarm runs it. */
  async archiveSegment(segmentEntries: number): Promise<number> {
    const archive = this.archiveOf(segmentEntries, `bench/${this.ctx.id.toString()}`);
    await archive.run(Date.now());
    return archive.segments().length;
  }

  async archiveBench(n: number, segmentEntries: number): Promise<ArchiveBenchResult> {
    this.fillLog(n);
    const bucket = this.bucket;
    const prefix = `bench/${crypto.randomUUID()}`;
    const archive = this.archiveOf(segmentEntries, prefix);
    const segments = Math.floor(n / segmentEntries);
    const start = performance.now();
    while (archive.segments().length < segments) await archive.run(Date.now());
    const archiveMs = performance.now() - start;
    const texts: string[] = [];
    for (const s of archive.segments()) texts.push(await (await bucket.get(s.key))!.text());
    const putStart = performance.now();
    for (const [i, text] of texts.entries()) await bucket.put(`${prefix}/plain/${i}`, text);
    const putMs = performance.now() - putStart;
    const putGetStart = performance.now();
    for (const [i, text] of texts.entries()) {
      await bucket.put(`${prefix}/plain-get/${i}`, text);
      await (await bucket.get(`${prefix}/plain-get/${i}`))!.text();
    }
    const putGetMs = performance.now() - putGetStart;
    const bytes = archive.segments().reduce((sum, s) => sum + s.bytes, 0);
    return { n: segments * segmentEntries, segmentEntries, segments, bytes, archiveMs, putMs, putGetMs };
  }
}

// ---------------------------------------------------------------------------------------
// Worker: endpoints the runner drives.
// ---------------------------------------------------------------------------------------

/** `noema-prebuilt` (RPC only, diagnostic): one Intent built per measurement, so the Worker-side build is left out. */
export type Target = "hand-plain" | "hand-chain" | "noema" | "noema-prebuilt";
const TARGETS: readonly Target[] = ["hand-plain", "hand-chain", "noema", "noema-prebuilt"];
const LOCATION = "main";

const hand = (env: Env, name: string) => env.HAND.get(env.HAND.idFromName(name));
const noema = (env: Env, name: string) => env.INVENTORY_ATTRACTOR.getByName(name);
/** A Noema DO with stock to reserve from, as `/setup` leaves it. */
async function freshNoema(env: Env, name: string): Promise<DurableObjectStub<NoemaReservations>> {
  const stub = noema(env, name);
  const seal = await stub.setup(LOCATION, 1_000_000_000);
  if (!seal.success) throw new Error(seal.reason.message);
  return stub;
}
const isNoema = (t: Target) => t === "noema" || t === "noema-prebuilt";
const modeOf = (t: Target): LogMode => (t === "hand-plain" ? "plain" : "chain");

/** Runs `k` calls of `fn` with at most `c` in flight. */
async function pool(k: number, c: number, fn: () => Promise<void>): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < k) {
      started++;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(c, k)) }, lane));
}

/** One RPC reservation as each side's client makes it. */
function rpcReserver(env: Env, target: Target, name: string): () => Promise<void> {
  const args: ReserveArgs = { locationId: LOCATION, quantity: 1 };
  if (isNoema(target)) {
    // As the inventory API does: build (validate) on the Worker, sediment over RPC.
    const w = noema(env, name);
    const prebuilt = target === "noema-prebuilt" ? reserveIntent(args) : null;
    return async () => {
      const seal = await w.sedimentation(prebuilt ?? reserveIntent(args));
      if (!seal.success) throw new Error(seal.reason.message);
    };
  }
  const stub = hand(env, name);
  const mode = modeOf(target);
  return async () => {
    await stub.reserve(args, mode);
  };
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

function target(value: string | null | undefined): Target {
  if (!TARGETS.includes(value as Target)) throw new BadRequest(`target must be one of ${TARGETS.join(", ")}`);
  return value as Target;
}

function int(url: URL, key: string, fallback?: number): number {
  const raw = url.searchParams.get(key);
  const n = raw === null ? fallback : Number(raw);
  if (n === undefined || !Number.isInteger(n) || n < 0) throw new BadRequest(`${key} must be a non-negative integer`);
  return n;
}

function nameOf(url: URL): string {
  const name = url.searchParams.get("name") ?? "";
  if (!ID.test(name)) throw new BadRequest("name must be a valid id");
  return name;
}

class BadRequest extends Error {}

/** One reservation per HTTP request: JSON in, JSON out, as small as a hand-written Worker gets. */
async function httpReserve(request: Request, env: Env, t: Target, name: string): Promise<Response> {
  let body: ReserveArgs;
  try {
    body = (await request.json()) as ReserveArgs;
  } catch {
    return json({ error: { code: "invalid_input", message: "body must be valid JSON" } }, 400);
  }
  if (isNoema(t)) {
    let intent: Intent;
    try {
      intent = reserveIntent(body);
    } catch (e) {
      return json({ error: { code: "invalid_input", message: String(e) } }, 400);
    }
    const seal = await noema(env, name).sedimentation(intent);
    if (!seal.success) return json({ error: { code: "refused", message: seal.reason.message }, seal }, 409);
    return json({ reservation: seal.outputs[0], seal }, 201);
  }
  const problem = checkReserveArgs(body);
  if (problem) return json({ error: { code: "invalid_input", message: problem } }, 400);
  try {
    return json({ reservation: await hand(env, name).reserve(body, modeOf(t)) }, 201);
  } catch (e) {
    return json({ error: { code: "refused", message: String(e) } }, 409);
  }
}

async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === "/health") return json({ ok: true });
  if (path.startsWith("/api/")) return app.fetch(request, env, ctx);
  const http = /^\/http\/([a-z-]+)\/([A-Za-z0-9._:-]{1,128})$/.exec(path);
  if (http && request.method === "POST") return httpReserve(request, env, target(http[1]), http[2]!);
  if (request.method !== "POST") return json({ error: { code: "not_found", message: `no route for ${request.method} ${path}` } }, 404);

  switch (path) {
    case "/setup": {
      // Enough stock for any run: every reservation holds one unit.
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const quantity = int(url, "quantity", 1_000_000_000);
      if (isNoema(t)) {
        const seal = await noema(env, name).setup(LOCATION, quantity);
        if (!seal.success) throw new Error(seal.reason.message);
        return json({ ok: true });
      }
      const stub = hand(env, name);
      await stub.setStock(LOCATION, quantity);
      return json({ ok: true, schemaMatches: await stub.schemaMatches() });
    }
    case "/loop": {
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const n = int(url, "n");
      const start = Date.now();
      const insideMs = isNoema(t) ? await noema(env, name).loop(n) : await hand(env, name).loop(n, modeOf(t));
      // Outside time includes one RPC round trip and the output-gate commit shared by all n.
      return json({ n, insideMs, outsideMs: Date.now() - start });
    }
    case "/rpc": {
      const t = target(url.searchParams.get("target"));
      const reserve = rpcReserver(env, t, nameOf(url));
      const k = int(url, "k");
      const c = int(url, "c", 1);
      const start = Date.now();
      await pool(k, c, reserve);
      return json({ k, c, ms: Date.now() - start });
    }
    case "/profile": {
      // `reps` rounds, each on fresh DOs, every part in turn; the fastest round per part is kept,
      // which is the figure least disturbed by whatever else runs on the machine.
      const n = int(url, "n");
      const reps = int(url, "reps", 3);
      const name = nameOf(url);
      const best: Record<string, number> = {};
      const keep = (part: string, ms: number) => {
        best[part] = Math.min(best[part] ?? Infinity, ms);
      };
      for (let r = 0; r < reps; r++) {
        for (const mode of ["plain", "chain"] as const) {
          const stub = hand(env, `${name}-${r}-${mode}`);
          await stub.setStock(LOCATION, 1_000_000_000);
          keep(`hand-${mode} reserve`, await stub.loop(n, mode));
        }
        const stub = noema(env, `${name}-${r}`);
        const seal = await stub.setup(LOCATION, 1_000_000_000);
        if (!seal.success) throw new Error(seal.reason.message);
        for (const part of PROFILE_PARTS) keep(part, (await stub.profile(part, iterations(part, n))).ms);
        const fresh = [...FREEZE_PARTS, ...COMMITTED_PARTS];
        for (const part of r % 2 ? fresh.reverse() : fresh) {
          const own = await freshNoema(env, `${name}-${r}-${part}`);
          keep(part, (await own.profile(part, n)).ms);
        }
      }
      const parts = Object.entries(best).map(([part, ms]) => {
        const count = part in PURE_PARTS ? iterations(part as ProfilePart, n) : n;
        return [part, { n: count, ms, microsPerOp: count > 0 ? (ms * 1000) / count : 0 }];
      });
      return json(Object.fromEntries(parts));
    }
    case "/rpc-freeze": {
      // One reservation Intent, built once: frozen from code for an hour, or sedimented, k times.
      const mode = url.searchParams.get("mode");
      if (mode !== "freeze" && mode !== "sediment") throw new BadRequest("mode must be freeze or sediment");
      const stub = await freshNoema(env, nameOf(url));
      const intent = reserveIntent({ locationId: LOCATION, quantity: 1 });
      const k = int(url, "k");
      const c = int(url, "c", 1);
      const start = Date.now();
      await pool(k, c, async () => {
        if (mode === "freeze") {
          const r = await stub.freeze(intent, { delaySeconds: 3600 });
          if (!r.ok) throw new Error(`freeze refused: ${JSON.stringify(r.issues)}`);
        } else {
          const seal = await stub.sedimentation(intent);
          if (!seal.success) throw new Error(seal.reason.message);
        }
      });
      return json({ mode, k, c, ms: Date.now() - start });
    }
    case "/growth": {
      // Write cost at n active reservations: a fresh DO per side and n, filled in bulk, then probed.
      const name = nameOf(url);
      const n = int(url, "n");
      const k = int(url, "k", 200);
      const rounds = Math.max(1, int(url, "rounds", 3));
      const mine = await freshNoema(env, `${name}-noema`);
      await mine.fill(n);
      const theirs = hand(env, `${name}-hand`);
      await theirs.setStock(LOCATION, 1_000_000_000);
      await theirs.fill(n);
      return json({ n, noema: await mine.growthProbe(k, rounds), hand: await theirs.growthProbe(k, rounds) });
    }
    case "/release-wake": {
      const stub = await freshNoema(env, nameOf(url));
      return json(await stub.releaseWakeBench(int(url, "n"), int(url, "others", 0)));
    }
    case "/wake": {
      const stub = await freshNoema(env, nameOf(url));
      return json(await stub.wakeBench(int(url, "n"), int(url, "plain", 0)));
    }
    case "/archive": {
      const stub = env.ARCHIVE_BENCH.getByName(nameOf(url));
      return json(await stub.archiveBench(int(url, "n"), int(url, "segment", DEFAULT_SEGMENT_ENTRIES)));
    }
    case "/archive-stall": {
      // Writes over RPC, one at a time: alone, then while one segment is being archived.
      const segment = int(url, "segment", DEFAULT_SEGMENT_ENTRIES);
      const stub = env.ARCHIVE_BENCH.getByName(nameOf(url));
      await stub.fillLog(segment);
      const write = async () => {
        const t = Date.now();
        const seal = await stub.sedimentation(setStockV2);
        if (!seal.success) throw new Error(seal.reason.message);
        return Date.now() - t;
      };
      const alone: number[] = [];
      for (let i = 0; i < int(url, "k", 200); i++) alone.push(await write());
      let done = false;
      const start = Date.now();
      const archived = stub.archiveSegment(segment).then((n) => ((done = true), n));
      const during: number[] = [];
      while (!done) during.push(await write());
      const segments = await archived;
      return json({ segment, segments, archiveMs: Date.now() - start, alone, during });
    }
    case "/messages": {
      const stub = env.MESSAGE_SENDER.getByName(nameOf(url));
      return json(await stub.messagesBench(nameOf(url), int(url, "n"), Math.max(1, int(url, "receivers", 1)), int(url, "first", 0) === 1 ? "plain" : "messages"));
    }
    case "/orders": {
      const mode = url.searchParams.get("mode") ?? "";
      if (mode !== "orders" && mode !== "direct") throw new BadRequest("mode must be orders or direct");
      return json(await ordersBench(env, nameOf(url), mode, int(url, "n"), int(url, "c", 1)));
    }
    case "/pending": {
      // `empty` keeps (almost) nothing pending, `full` keeps n; both get the same probes, alternating.
      const name = nameOf(url);
      const n = int(url, "n");
      const k = int(url, "probe", 500);
      const rounds = Math.max(1, int(url, "rounds", 3));
      const chunk = 10_000;
      const [empty, full] = [await freshNoema(env, `${name}-empty`), await freshNoema(env, `${name}-full`)];
      const before = await full.storage();
      let fillMs = 0;
      for (let from = 0; from < n; from += chunk) fillMs += await full.fillPending("pending", from, Math.min(chunk, n - from));
      const after = await full.storage();
      const best = { empty: { freezeMs: Infinity, stepMs: Infinity }, full: { freezeMs: Infinity, stepMs: Infinity } };
      for (let r = 0; r < rounds; r++) {
        const order = [["empty", empty], ["full", full]] as const;
        for (const [which, stub] of r % 2 ? [...order].reverse() : order) {
          const p = await stub.probeFreeze(`probe-${r}`, k);
          best[which] = { freezeMs: Math.min(best[which].freezeMs, p.freezeMs), stepMs: Math.min(best[which].stepMs, p.stepMs) };
        }
      }
      return json({ n, probe: k, rounds, fillMs, before, after, best, emptyPending: (await empty.storage()).pending });
    }
    case "/verify": {
      // A log of n sediments; writes issued every `every` ms while it is verified, their latency
      // timed from here; then the blocking pass as it was (pure-JS hash), with one write issued into it.
      const name = nameOf(url);
      const n = int(url, "n");
      const every = int(url, "every", 50);
      const builder = await freshNoema(env, name);
      const one = await builder.reserve({ locationId: LOCATION, quantity: 1 });
      if (!one.success) throw new Error(one.reason.message);
      const chunk = 50_000;
      let bytesPerSediment = 0;
      for (let done = 2; done < n; done += chunk) bytesPerSediment = await builder.bulkLog(Math.min(chunk, n - done));
      await builder.restart().catch(() => undefined);
      // A stub whose object was reset stays broken: a new one reaches the new instance.
      const stub = noema(env, name);
      const writes = async (running: () => boolean) => {
        const latencies: number[] = [];
        // The first right behind the verification's call, the rest every `every` ms while it runs.
        for (let i = 0; running(); i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, every));
          if (!running()) break;
          const t = Date.now();
          const seal = await stub.reserve({ locationId: LOCATION, quantity: 1 });
          if (!seal.success) throw new Error(seal.reason.message);
          latencies.push(Date.now() - t);
        }
        return latencies;
      };
      const timed = async <T>(fn: () => Promise<T>, withWrites = true) => {
        let done = false;
        const t0 = Date.now();
        const pending = fn();
        const during = withWrites ? writes(() => !done) : Promise.resolve([]);
        const result = await pending;
        const ms = Date.now() - t0;
        done = true;
        return { result, ms, latencies: await during };
      };
      // Untimed first pass: the restart left SQLite's page cache cold, and every timed pass should find it warm.
      await stub.verifyBlocking(false);
      // One untimed write too: the first Intent after a restart derives its Sieve (the SQL parser's lazy start), whether or not a verification runs.
      const warm = await stub.reserve({ locationId: LOCATION, quantity: 1 });
      if (!warm.success) throw new Error(warm.reason.message);
      const sliced = await timed(async (): Promise<Verification> => (await stub.verify()) as Verification);
      if (!sliced.result.ok) throw new Error(`bench log does not verify: broken at ${sliced.result.brokenAt}`);
      const alone = await timed(async (): Promise<Verification> => (await stub.verify()) as Verification, false);
      const native = await timed(() => stub.verifyBlocking(false));
      const before = await timed(() => stub.verifyBlocking(true));
      return json({
        n: sliced.result.length,
        bytesPerSediment,
        sliced: { ms: sliced.ms, writeMs: sliced.latencies },
        slicedAlone: { ms: alone.ms, writeMs: [] },
        nativeBlocking: { ms: native.result.ms, writeMs: native.latencies },
        blocking: { ms: before.result.ms, writeMs: before.latencies },
      });
    }
    case "/bytes": {
      // Bytes on disk per entry, each on its own fresh object: log rows alone, and whole reservations.
      const name = nameOf(url);
      const n = int(url, "n");
      const logNoema = await freshNoema(env, `${name}-log`);
      const first = await logNoema.reserve({ locationId: LOCATION, quantity: 1 });
      if (!first.success) throw new Error(first.reason.message);
      const hands = [`${name}-hand-log`, `${name}-hand-chain`, `${name}-hand-plain`].map((n) => hand(env, n));
      for (const h of hands) await h.setStock(LOCATION, 1_000_000_000);
      const [handLog, handChain, handPlain] = hands as [DurableObjectStub<HandWrittenReservations>, DurableObjectStub<HandWrittenReservations>, DurableObjectStub<HandWrittenReservations>];
      const measure = async (h: DurableObjectStub<HandWrittenReservations>, mode: LogMode) => {
        const before = await h.size();
        await h.loop(n, mode);
        return ((await h.size()) - before) / n;
      };
      return json({
        n,
        sediment: await logNoema.bulkLog(n),
        handLogRow: await handLog.logRows(n),
        reservation: await (await freshNoema(env, `${name}-reserve`)).reservations(n),
        activeReservation: await (await freshNoema(env, `${name}-active`)).activeReservations(n),
        handChainReservation: await measure(handChain, "chain"),
        handPlainReservation: await measure(handPlain, "plain"),
      });
    }
  }
  return json({ error: { code: "not_found", message: `no route for POST ${path}` } }, 404);
}

// ---------------------------------------------------------------------------------------
// Orders: an OrderAttractor coordinating three product Attractors by messages, against the same
// three reservations and commits sent directly from the Worker (no coordinator, no all-or-nothing).
// ---------------------------------------------------------------------------------------

export { OrderAttractor } from "../../apps/inventory/src/orders/attractor.js";

/** Waits for the order's status without polling (`waitFor` answers once a receipt moves it there). */
async function untilStatus(stub: DurableObjectStub<OrderAttractor>, status: "reserved" | "committed"): Promise<void> {
  for (;;) {
    const order = await stub.waitFor([status], 30_000);
    if (order?.status === status) return;
    if (order && (order.status === "failed" || order.status === "released")) throw new Error(`bench order ${order.id} ${order.status}: ${JSON.stringify(order.lines)}`);
  }
}

const reserveWithRelease = (quantity: number) =>
  buildIntent(inventory, (s) => {
    const r = s.reserve({ locationId: LOCATION, quantity });
    s.$freeze({ at: r.expiresAt, key: r.reservationId }, (frozen) => frozen.release({ reservationId: r.reservationId }));
    return r;
  });
const commitWithCancel = (reservationId: string) =>
  buildIntent(inventory, (s) => {
    s.commit({ reservationId });
    s.$cancel({ key: reservationId });
  });

/** n orders of three lines each over three products, c in flight: created, reserved, committed. */
async function ordersBench(env: Env, name: string, mode: string, n: number, c: number) {
  const products = [0, 1, 2].map((i) => `${name}-p${i}`);
  for (const p of products) await freshNoema(env, p);
  const toReserved: number[] = [];
  let next = 0;
  const start = Date.now();
  await pool(n, c, async () => {
    const k = next++;
    const t0 = performance.now();
    if (mode === "orders") {
      const orderId = `${name}-o${k}`;
      const stub = env.ORDER_ATTRACTOR.getByName(orderId);
      const created = await stub.create({ orderId, lines: products.map((productId) => ({ productId, locationId: LOCATION, quantity: 1 })), ttlSeconds: 900 });
      if (!created.ok) throw new Error(created.message);
      await untilStatus(stub, "reserved");
      toReserved.push(performance.now() - t0);
      const committed = await stub.commit();
      if (!committed.ok) throw new Error(committed.message);
      await untilStatus(stub, "committed");
    } else {
      const seals = await Promise.all(products.map((p) => noema(env, p).sedimentation(reserveWithRelease(1))));
      toReserved.push(performance.now() - t0);
      await Promise.all(
        seals.map(async (seal, i) => {
          if (!seal.success) throw new Error(seal.reason.message);
          const { reservationId } = seal.outputs[0] as { reservationId: string };
          const done = await noema(env, products[i]!).sedimentation(commitWithCancel(reservationId));
          if (!done.success) throw new Error(done.reason.message);
        }),
      );
    }
  });
  const ms = Date.now() - start;
  toReserved.sort((a, b) => a - b);
  const at = (q: number) => toReserved[Math.min(toReserved.length - 1, Math.floor(q * toReserved.length))] ?? 0;
  return { mode, n, c, ms, toReserved: { p50: at(0.5), p95: at(0.95), mean: toReserved.reduce((a, b) => a + b, 0) / Math.max(1, toReserved.length) } };
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    try {
      return await route(request, env, ctx);
    } catch (e) {
      if (e instanceof BadRequest) return json({ error: { code: "invalid_input", message: e.message } }, 400);
      return json({ error: { code: "internal", message: e instanceof Error ? e.message : String(e) } }, 500);
    }
  },
} satisfies ExportedHandler<Env>;

export { CatalogAttractor } from "../../apps/inventory/src/catalog/attractor.js";

// ---------------------------------------------------------------------------------------
// Messages: one sender to many receivers (the "messages" chore), against plain DO-to-DO RPC
// of the same Intents with as many calls in flight as the chore allows.
// ---------------------------------------------------------------------------------------

/** The receivers' Intent, i-th of a run: one setStock each. */
const messageIntent = (i: number) => buildIntent(inventory, (s) => void s.setStock({ locationId: LOCATION, quantity: i }));
/** `$send` steps per sending Intent (within DEFAULT_LIMITS). */
const SENDS_PER_INTENT = 32;
/** Deliveries in flight at once, the chore's and the baseline's alike. */
const MESSAGE_IN_FLIGHT = 8;

/** Sends n messages to `receivers` inventory Attractors, then delivers them by running its alarm until the outbox is empty. */
export class MessageSender extends Attractor<Env, typeof catalog> {
  static law = catalog;
  static sends = { INVENTORY_ATTRACTOR: inventoryLaw };
  static delivery = { concurrency: MESSAGE_IN_FLIGHT };

  async messagesBench(prefix: string, n: number, receivers: number, first: "messages" | "plain") {
    const deliver = async () => {
      for (let from = 0; from < n; from += SENDS_PER_INTENT) {
        const seal = this.sedimentation(
          buildIntent(catalog, (s) => {
            for (let i = from; i < Math.min(n, from + SENDS_PER_INTENT); i++) s.$send({ to: { attractor: "INVENTORY_ATTRACTOR", name: `${prefix}-m-${i % receivers}` } }, messageIntent(i));
          }),
        );
        if (!seal.success) throw new Error(seal.reason.message);
      }
      const start = Date.now();
      let runs = 0;
      while (this.outbox({ limit: 1 }).messages.length > 0) {
        await this.alarm();
        if (++runs > n + 10) throw new Error("messages bench: the outbox does not empty");
      }
      const ms = Date.now() - start;
      const sealed = Number(this.query("SELECT COUNT(*) AS n FROM _noema_receipt WHERE outcome = 'sealed'")[0]!.n);
      return { ms, runs, sealed };
    };
    const plain = async () => {
      let i = 0;
      const start = Date.now();
      await pool(n, MESSAGE_IN_FLIGHT, async () => {
        const k = i++;
        const seal = await this.env.INVENTORY_ATTRACTOR.getByName(`${prefix}-p-${k % receivers}`).sedimentation(messageIntent(k));
        if (!seal.success) throw new Error(seal.reason.message);
      });
      return { ms: Date.now() - start };
    };
    const out: { messages?: Awaited<ReturnType<typeof deliver>>; plain?: Awaited<ReturnType<typeof plain>> } = {};
    if (first === "plain") out.plain = await plain();
    out.messages = await deliver();
    if (first !== "plain") out.plain = await plain();
    return { n, receivers, inFlight: MESSAGE_IN_FLIGHT, ...out };
  }
}
