// Noema: the real InventoryAttractor with bench entry points: loops, the per-op breakdown of the
// sedimentation path, Cryostasis (wake, pending, growth), verification and bytes on disk.
import {
  buildIntent,
  connection,
  DEFAULT_LIMITS,
  defineNomos,
  integer,
  type Intent,
  parseIntent,
  type Row,
  type Seal,
  type SqlValue,
  type TableSpec,
  text,
} from "@noema/core";
import { canonicalJson, countPlaceholders, diffNomos, hashCanonicalSediment, sha256Hex } from "@noema/core/internal";
import { installScopes, intentSieve, interpret, type SedimentHost, sedimentHash, Sedimenter, SedimentLog, textHash, useSha256 } from "@noema/core/runtime";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { InventoryAttractor } from "../../apps/inventory/src/attractor.js";
import { inventoryLaw } from "../../apps/inventory/src/law.js";
import { inventory, inventoryV1 } from "../../apps/inventory/src/vocabulary.js";
import type { ReserveArgs } from "./env.js";
import { fillActive, type GrowthProbe, INSERT_RESERVATION, INVARIANT, RESERVE_STOCK } from "./hand.js";

export const reserveIntent = (a: ReserveArgs): Intent => buildIntent(inventory, (s) => void s.reserve(a));

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
 * Where freezing's extra cost lies, each on a fresh DO: the Sedimenter alone with reserve +
 * $freeze (against `sedimenterCommitted`), and the raw SQL of a reservation, its log row and its
 * frozen release's row (against `sqlSedimentRowCommitted`).
 */
export const FREEZE_SPLIT_PARTS = ["sedimenterFreezeCommitted", "sqlFreezeRowCommitted"] as const;
/**
 * Committed pieces of a reservation, each on its own fresh DO like `reserveOnly` and the
 * hand-written loops: tables grow alike (the invariant sums every active reservation), and no
 * part pays the throw and rollback that the rolled-back parts above do.
 */
export const COMMITTED_PARTS = ["sqlReserveCommitted", "sqlSedimentRowCommitted", "interpretCommitted", "sedimenterCommitted"] as const;
export type ProfilePart = (typeof PROFILE_PARTS)[number] | (typeof FREEZE_PARTS)[number] | (typeof FREEZE_SPLIT_PARTS)[number] | (typeof COMMITTED_PARTS)[number];

/** Parts that touch no storage run 10x as often: the DO clock only ticks in milliseconds. */
export const PURE_PARTS: Partial<Record<ProfilePart, true>> = {
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
export const iterations = (part: ProfilePart, n: number) => (PURE_PARTS[part] ? n * 10 : n);

export const setStockV2 = buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity: 1_000_000 }));
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
export const reserveAndFreeze = buildIntent(inventory, (s) => {
  const r = s.reserve({ locationId: "main", quantity: 1 });
  s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
});
/** The row a `$freeze` step stores (the core's FREEZE_SQL): its Sieve and World by the ids the store keeps. */
const FROZEN_ROW_SQL = `INSERT INTO _noema_cryostasis (cryo_id, wake_at, intent, sediment_id, step, sieve_id, nomos_version, world_id, freeze_key, frozen_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** What the Cryostasis benches freeze from code: a release to keep pending, a setStock to wake (it needs no reservation). */
const releaseIntent = (reservationId: string) => buildIntent(inventory, (s) => void s.release({ reservationId }));
export const HOUR = 3_600_000;
/** Entries one `alarm()` wakes (the Attractor's default `wakeBatch`): the wake bench times plain sedimentations between batches. */
const WAKE_BENCH_BATCH = 500;
/** A wake time spread over 1 h … 30 days ahead, fixed per i, so pending entries are not inserted in wake order. */
const spreadWakeAt = (now: number, i: number) => now + HOUR + ((i * 2_654_435_761) % (30 * 24 * HOUR));

/**
 * Intents as they reach a DO over RPC: structured clones, never the objects buildIntent returned in
 * this isolate (a core may trust those and skip parsing, which no client's Intent gets). Made before
 * the timed loop: one per sedimentation, as every RPC delivers a fresh object.
 */
export const sent = (intent: Intent, n: number): Intent[] => Array.from({ length: n }, () => structuredClone(intent));

const reserveArgsStrict = inventory.operations.reserve.args.strict();
const reserveStatements = Object.values(inventory.operations.reserve.statements);

/** The tag live inspector sockets are accepted under (the Attractor's `fetch`, see docs/guides/inspector.md). */
const LIVE_TAG = "noema-live";

/**
 * node:crypto's SHA-256 through the core's port, as `@noema/cloudflare` plugs it in for every
 * Attractor: what `verifyBlocking(true)` puts back after timing the pure-JS hash.
 */
function nodeSha256() {
  const crypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:crypto") as
    | { createHash(algorithm: "sha256"): { update(bytes: Uint8Array): { digest(): Uint8Array } } }
    | undefined;
  return crypto ? textHash((bytes) => crypto.createHash("sha256").update(bytes).digest()) : undefined;
}

export class NoemaReservations extends InventoryAttractor {
  /**
   * A Sedimenter of the bench's own for the breakdown's parts below the Attractor, built through
   * the public runtime as the Attractor builds its own: over this object's storage, World and
   * law, at the head storage holds now. Made before a part is timed; the Attractor's own one is
   * not used again on an object whose log this one wrote (each such part has a fresh object).
   */
  private ownSedimenter(): Sedimenter {
    const sql = this.ctx.storage.sql;
    const host: SedimentHost = {
      db: { exec: (text, params) => sql.exec<Row>(text, ...params).toArray(), raw: (text, params) => [...sql.exec(text, ...params).raw()] as SqlValue[][] },
      transaction: (fn) => this.ctx.storage.transactionSync(fn),
      now: () => Date.now(),
    };
    return new Sedimenter(this.lineage, host, this.world, { held: this.vocabulary.nomos.version, limits: DEFAULT_LIMITS });
  }

  setup(locationId: string, quantity: number): Seal {
    return this.sedimentation(buildIntent(inventory, (s) => void s.setStock({ locationId, quantity })));
  }

  /** n - 1 more stocked locations next to the one `setup` stocked, one setStock Intent each: a stock table of n rows. */
  stockLocations(n: number): void {
    for (let i = 1; i < n; i++) {
      const seal = this.setup(`loc-${String(i).padStart(4, "0")}`, 1000);
      if (!seal.success) throw new Error(seal.reason.message);
    }
  }

  /** The sync bench's write: `intent` sedimented (and so broadcast); returns when (ms since the epoch) the DO began it. */
  stampedSedimentation(intent: Intent): number {
    const at = Date.now();
    const seal = this.sedimentation(intent);
    if (!seal.success) throw new Error(seal.reason.message);
    return at;
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
    // The Sieve a frozen release names, stored as freezing stores it (sqlFreezeRowCommitted binds its hash).
    const frozenSieve = canonicalJson(intentSieve(inventory, releaseIntent("r-0")));
    const frozenIds = { sieve: 0, world: 0 };
    if (part === "sqlFreezeRowCommitted") {
      exec("INSERT OR IGNORE INTO _noema_sieve (sieve_hash, sieve) VALUES (unhex(?), ?)", [sha256Hex(frozenSieve), frozenSieve]);
      frozenIds.sieve = Number(exec("SELECT sieve_id FROM _noema_sieve WHERE sieve_hash = unhex(?)", [sha256Hex(frozenSieve)])[0]!.sieve_id);
      frozenIds.world = Number(exec("SELECT world_id FROM _noema_world WHERE world_hash = unhex(?)", [sha256Hex(canonicalJson(this.world))])[0]!.world_id);
    }
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
    /** The reservation's SQL plus a log row as the Sedimenter writes it (a made-up hash): the cost of the row alone. */
    const rawSediment = (i: number) => {
      rawReserve(i);
      exec(
        "INSERT INTO _noema_sediment (sediment_id, hash, timestamp, intent, nomos_version, outputs, world_id, origin, idempotency_key) VALUES (?, unhex(?), ?, ?, ?, ?, ?, ?, ?)",
        [1_000_000_000 + i, "f".repeat(64), now, ...sedimentRow, null, null],
      );
    };
    const arriving: Partial<Record<ProfilePart, Intent>> = {
      parseIntent: intent,
      sedimentation: intent,
      reserveOnly: intent,
      sedimenterCommitted: intent,
      sedimenterFreezeCommitted: reserveAndFreeze,
      admit: intent,
      setStockV2,
      setStockV1Flat: setStockV1,
      parseReserveAndFreeze: reserveAndFreeze,
      reserveAndFreeze,
    };
    const wire = arriving[part] ? sent(arriving[part], n) : [];
    const sedimenter = part === "admit" || part === "sedimenterCommitted" || part === "sedimenterFreezeCommitted" ? this.ownSedimenter() : undefined;
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
          rolledBack(rawSediment, i);
          break;
        case "invariantQuery":
          exec(INVARIANT, []);
          break;
        case "sqlReserveCommitted":
          this.ctx.storage.transactionSync(() => rawReserve(i));
          break;
        case "sqlSedimentRowCommitted":
          this.ctx.storage.transactionSync(() => rawSediment(i));
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
          sink += Number(sedimenter!.admit(wire[i]).ok);
          break;
        case "announce":
          sink += this.ctx.getWebSockets(LIVE_TAG).length;
          break;
        case "sedimenterCommitted":
        case "sedimenterFreezeCommitted":
          if (!sedimenter!.sedimentation(wire[i]).success) throw new Error(`bench ${part} refused`);
          break;
        case "sqlFreezeRowCommitted":
          this.ctx.storage.transactionSync(() => {
            rawSediment(i);
            exec(FROZEN_ROW_SQL, [i + 1, now + 900_000, null, 1_000_000_000 + i, 1, frozenIds.sieve, this.vocabulary.nomos.version, frozenIds.world, `p-${i}`, now]);
          });
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
   * of the same Intent are timed in slices between the batches: on a loaded machine, a wake phase and
   * a plain phase run one after the other met different loads, and their ratio swung 1.0-3.1x.
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
    // Clones, as a woken Intent is read back from storage: the builder's own object would skip the parse a wake pays.
    const plain = sent(setStockV2, plainN);
    const slice = Math.ceil(plainN / Math.max(1, Math.ceil(n / WAKE_BENCH_BATCH)));
    let [batches, wakeMs, plainMs, done] = [0, 0, 0, 0];
    const plainSlice = (k: number) => {
      const start = performance.now();
      for (const end = Math.min(plainN, done + k); done < end; done++) {
        const seal = this.sedimentation(plain[done]!);
        if (!seal.success) throw new Error(`bench setStock refused: ${seal.reason.message}`);
      }
      plainMs += performance.now() - start;
    };
    // Bounded: an entry that failed is postponed, so it is not due again within this loop.
    while (due() && batches <= n) {
      const start = performance.now();
      await this.alarm();
      wakeMs += performance.now() - start;
      batches++;
      plainSlice(slice);
    }
    plainSlice(plainN - done);
    return {
      n,
      freezeMs,
      wakeMs,
      batches,
      // The plain sedimentations add sediments too.
      sealed: count("_noema_sediment") - sediments - plainN,
      refused: count("_noema_precedent") - precedents,
      left: count("_noema_cryostasis"),
      plainN,
      plainMs,
    };
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
