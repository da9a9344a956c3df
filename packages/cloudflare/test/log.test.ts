import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { buildIntent, type Intent, type Seal, type SuccessSeal } from "@noema/core";
import { SedimentLog, type SqlExecutor } from "@noema/core/runtime";
import { canonicalJson, CryostasisStore, FORMAT_VERSION, hashCanonicalSediment, VERIFY_SLICE, worldHash } from "@noema/core/internal";
import { describe, expect, it } from "vitest";
import type { LedgerAttractor } from "./ledger/attractor.js";
import { ledger } from "./ledger/vocabulary.js";

type Stub = DurableObjectStub<LedgerAttractor>;

function committed(seal: Seal): SuccessSeal {
  if (!seal.success) throw new Error(`expected a commit, got a refusal: ${seal.reason.message}`);
  return seal;
}

const executor = (state: DurableObjectState): SqlExecutor => ({ exec: (text, params) => state.storage.sql.exec(text, ...params).toArray() as ReturnType<SqlExecutor["exec"]> });

const deposit = (accountId: string, amount: number): Intent => buildIntent(ledger, (s) => void s.deposit({ accountId, amount }));
/** A deposit that freezes its own reversal-by-deposit an hour later, the frozen step naming the account through a Ref. */
const depositAndFreeze = (holder: string): Intent =>
  buildIntent(ledger, (s) => {
    const account = s.open({ holder });
    s.deposit({ accountId: account.accountId, amount: 10 });
    s.$freeze({ at: Date.now() + 3_600_000, key: `later-${holder}` }, (f) => f.deposit({ accountId: account.accountId, amount: 1 }));
  });

async function ledgerWithAccount(): Promise<{ stub: Stub; account: string }> {
  const stub = env.LEDGER_ATTRACTOR.getByName(`log-${crypto.randomUUID()}`);
  const seal = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.open({ holder: "alice" }))));
  return { stub, account: (seal.outputs[0] as { accountId: string }).accountId };
}

/**
 * `n` deposits appended to the log directly, in one transaction, then the object restarted so
 * it reads the new head: a long log built without paying the ledger's invariants n times.
 */
async function fill(stub: Stub, account: string, n: number): Promise<void> {
  const [first] = (await stub.sediments(0, 1)).sediments;
  const intent = canonicalJson(deposit(account, 1));
  await runInDurableObject(stub, (_, state) => {
    const log = new SedimentLog(executor(state));
    let head = log.head();
    state.storage.transactionSync(() => {
      for (let i = 0; i < n; i++) {
        const entry = { sedimentId: head.sedimentId + 1, prevHash: head.hash, timestamp: Date.now(), intent, outputs: "[]", origin: null, worldHash: worldHash(first!.world) };
        const hash = hashCanonicalSediment(entry);
        log.append({ ...entry, hash, idempotencyKey: null });
        head = { sedimentId: entry.sedimentId, hash };
      }
    });
  });
  await evictDurableObject(stub);
}

/** Two legs of one transfer on one account: refused by the invariant (checked after the log row is written) unless they net to zero. */
const legs = (transferId: string, accountId: string, first: number, second: number): Intent =>
  buildIntent(ledger, (s) => {
    s.post({ transferId, accountId, amount: first });
    s.post({ transferId, accountId, amount: second });
  });

describe("the log's stored form by shape (format 3)", () => {
  it("stores an Intent's and its outputs' values apart from their shape, shared by Intents of one kind, and reads them back exactly", async () => {
    const { stub, account } = await ledgerWithAccount();
    const seals = [committed(await stub.sedimentation(deposit(account, 3))), committed(await stub.sedimentation(deposit(account, 40)))];
    const stored = await runInDurableObject(stub, (_, state) => ({
      shapes: state.storage.sql.exec("SELECT COUNT(*) AS n FROM _noema_shape").one().n,
      rows: state.storage.sql.exec("SELECT shape_id, intent, outputs FROM _noema_sediment WHERE sediment_id > 1 ORDER BY sediment_id").toArray(),
    }));
    // The account's opening and the two deposits: two kinds.
    expect(stored.shapes).toBe(2);
    expect(stored.rows[0]!.shape_id).toBe(stored.rows[1]!.shape_id);
    expect(stored.rows.map((r) => r.intent)).toEqual([`"${account}",3`, `"${account}",40`]);
    const read = (await stub.sediments(1, 10)).sediments;
    expect(read.map((s) => ({ intent: s.intent, outputs: s.outputs }))).toEqual([
      { intent: deposit(account, 3), outputs: seals[0]!.outputs },
      { intent: deposit(account, 40), outputs: seals[1]!.outputs },
    ]);
    expect(await stub.verify()).toMatchObject({ ok: true, length: 3 });
  });

  it("a shape first stored by an Intent the invariants refused is stored again by the next Intent of that kind", async () => {
    const { stub, account } = await ledgerWithAccount();
    expect((await stub.sedimentation(legs("t-1", account, 5, -4))).success).toBe(false);
    const seal = committed(await stub.sedimentation(legs("t-2", account, 5, -5)));
    await evictDurableObject(stub);
    expect(await stub.verify()).toMatchObject({ ok: true, length: 2, head: seal.hash });
    expect((await stub.sediments(1, 1)).sediments[0]).toMatchObject({ intent: legs("t-2", account, 5, -5), outputs: seal.outputs });
  });

  it("verify reports the first entry of a shape that was rewritten", async () => {
    const { stub, account } = await ledgerWithAccount();
    await stub.sedimentation(deposit(account, 3));
    await stub.sedimentation(deposit(account, 4));
    await runInDurableObject(stub, (_, state) => void state.storage.sql.exec(`UPDATE _noema_shape SET intent = replace(intent, '"deposit"', '"withdraw"')`));
    expect(await stub.verify()).toEqual({ ok: false, brokenAt: 2, length: 1 });
  });
});

describe("the log's stored form (format 2)", () => {
  it("stores hashes as 32-byte BLOBs, no prev_hash, and a stamped Intent without its stamp, yet reads back the Intent as sent", async () => {
    const { stub, account } = await ledgerWithAccount();
    const keyed = { ...deposit(account, 5), idempotencyKey: "k-1" };
    const seal = committed(await stub.sedimentation(keyed));
    const row = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT typeof(hash) AS t, length(hash) AS n, intent, nomos_version FROM _noema_sediment WHERE sediment_id = 2").one());
    expect(row).toMatchObject({ t: "blob", n: 32, nomos_version: 1 });
    expect(String(row.intent)).not.toContain("nomos");
    expect(String(row.intent)).not.toContain("k-1");
    const columns = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT name FROM pragma_table_info('_noema_sediment')").toArray().map((c) => c.name));
    expect(columns).not.toContain("prev_hash");
    const { sediments } = await stub.sediments(1, 10);
    expect(sediments[0]).toMatchObject({ sedimentId: 2, hash: seal.hash, prevHash: seal.prevHash, intent: keyed });
    // The same key and Intent again is the same Seal: the key is found in its own column.
    expect(await stub.sedimentation(keyed)).toEqual(seal);
  });

  it("stores a $freeze step's frozen Intent once, as a reference to that step, and derives it exactly", async () => {
    const { stub } = await ledgerWithAccount();
    const seal = committed(await stub.sedimentation(depositAndFreeze("bob")));
    const row = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT intent, sediment_id, step FROM _noema_cryostasis").one());
    expect(row).toEqual({ intent: null, sediment_id: seal.sedimentId, step: 2 });
    const [entry] = await stub.frozen();
    const accountId = (seal.outputs[0] as { accountId: string }).accountId;
    expect(entry!.intent).toEqual({ ...deposit(accountId, 1), nomos: depositAndFreeze("x").nomos });
  });
});

describe("archival hooks", () => {
  it("archiveThrough removes the live rows up to an id, records the anchor, and the chain still verifies from it", async () => {
    const { stub, account } = await ledgerWithAccount();
    const frozenBy = committed(await stub.sedimentation(depositAndFreeze("carol")));
    const seals = [];
    for (let i = 0; i < 3; i++) seals.push(committed(await stub.sedimentation(deposit(account, 1))));
    const before = await stub.frozen();
    const anchor = await runInDurableObject(stub, (_, state) => {
      const log = new SedimentLog(executor(state));
      expect(log.anchor()).toEqual({ sedimentId: 0, hash: "0".repeat(64) });
      return state.storage.transactionSync(() => log.archiveThrough(frozenBy.sedimentId));
    });
    expect(anchor).toEqual({ sedimentId: frozenBy.sedimentId, hash: frozenBy.hash });
    // The frozen Intent no longer depends on the archived sediment: it was copied in first.
    const row = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT sediment_id, intent IS NOT NULL AS whole FROM _noema_cryostasis").one());
    expect(row).toEqual({ sediment_id: null, whole: 1 });
    expect(await stub.frozen()).toEqual(before);
    // Read from the live log itself: without `static archive` the Attractor's sediments() refuses to page over archived history.
    const { sediments } = await runInDurableObject(stub, (_, state) => new SedimentLog(executor(state)).page(0, 10));
    expect(sediments.map((s) => s.sedimentId)).toEqual(seals.map((s) => s.sedimentId));
    expect(sediments[0]!.prevHash).toBe(frozenBy.hash);
    expect(await stub.verify()).toEqual({ ok: true, length: 5, head: seals[2]!.hash, verifiedThrough: 5, checkpoint: null });
    // The chain goes on after a restart, from the head the live rows hold.
    await evictDurableObject(stub);
    const next = committed(await stub.sedimentation(deposit(account, 1)));
    expect(next).toMatchObject({ sedimentId: 6, prevHash: seals[2]!.hash });
    expect(await stub.verify()).toMatchObject({ ok: true, length: 6 });
  });

  it("archiving everything leaves the anchor as the head the next sediment chains to", async () => {
    const { stub, account } = await ledgerWithAccount();
    const last = committed(await stub.sedimentation(deposit(account, 1)));
    await runInDurableObject(stub, (_, state) => state.storage.transactionSync(() => new SedimentLog(executor(state)).archiveThrough(2)));
    await evictDurableObject(stub);
    expect(await stub.verify()).toEqual({ ok: true, length: 2, head: last.hash, verifiedThrough: 2, checkpoint: null });
    expect(committed(await stub.sedimentation(deposit(account, 1)))).toMatchObject({ sedimentId: 3, prevHash: last.hash });
  });
});

describe("verification that never blocks", () => {
  it("serves a write issued while a long log is being verified before the verification ends", async () => {
    const { stub, account } = await ledgerWithAccount();
    await fill(stub, account, 5 * VERIFY_SLICE);
    const order: string[] = [];
    const verifying = stub.verify().then((v) => (order.push("verify"), v));
    const writing = stub.sedimentation(deposit(account, 1)).then((s) => (order.push("write"), s));
    const [v, write] = await Promise.all([verifying, writing]);
    expect(order).toEqual(["write", "verify"]);
    // It verified the head it started with; the write came after.
    expect(v).toMatchObject({ ok: true, length: 5 * VERIFY_SLICE + 1, verifiedThrough: 5 * VERIFY_SLICE + 1 });
    expect(committed(write).sedimentId).toBe(5 * VERIFY_SLICE + 2);
  });

  /** Runs the background pass to its end, one slice per alarm run. */
  async function backgroundPass(stub: Stub): Promise<number> {
    await stub.reverify();
    let runs = 0;
    while (await runDurableObjectAlarm(stub)) runs++;
    return runs;
  }

  it("a background pass verifies slice by slice from the alarm and records its head as the checkpoint the next verify starts from", async () => {
    const { stub, account } = await ledgerWithAccount();
    await fill(stub, account, 2 * VERIFY_SLICE + 10);
    const head = (await stub.sediments(2 * VERIFY_SLICE + 10, 1)).sediments[0]!;
    expect(await backgroundPass(stub)).toBe(3);
    const after = committed(await stub.sedimentation(deposit(account, 1)));
    const v = await stub.verify();
    expect(v).toEqual({
      ok: true,
      length: after.sedimentId,
      head: after.hash,
      verifiedThrough: after.sedimentId,
      checkpoint: { sedimentId: head.sedimentId, hash: head.hash, verifiedAt: expect.any(Number) },
    });
    // The pass is done: nothing keeps the alarm.
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
  });

  const tampering = [
    { what: "a modified row", sql: "UPDATE _noema_sediment SET outputs = '[1]' WHERE sediment_id = 3", brokenAt: 3, length: 2 },
    { what: "rows removed from the middle", sql: "DELETE FROM _noema_sediment WHERE sediment_id IN (3, 4)", brokenAt: 5, length: 2 },
  ];
  for (const { what, sql, brokenAt, length } of tampering) {
    it(`the background pass catches ${what} below the checkpoint, and verify reports that first broken link`, async () => {
      const { stub, account } = await ledgerWithAccount();
      await fill(stub, account, 10);
      await backgroundPass(stub);
      expect(await stub.verify()).toMatchObject({ ok: true, checkpoint: { sedimentId: 11 } });
      await runInDurableObject(stub, (_, state) => void state.storage.sql.exec(sql));
      await backgroundPass(stub);
      expect(await stub.verify()).toEqual({ ok: false, brokenAt, length });
    });
  }

  it("verify catches the checkpoint's own row rewritten, without a background pass", async () => {
    const { stub, account } = await ledgerWithAccount();
    await fill(stub, account, 4);
    await backgroundPass(stub);
    await runInDurableObject(stub, (_, state) => void state.storage.sql.exec("UPDATE _noema_sediment SET hash = randomblob(32) WHERE sediment_id = 5"));
    expect(await stub.verify()).toEqual({ ok: false, brokenAt: 5, length: 4 });
  });
});

describe("reads that do not scan history", () => {
  it("filtered Precedents, sediment pages, idempotency lookups and due or earliest frozen Intents are read off an index", async () => {
    const { stub } = await ledgerWithAccount();
    await stub.sedimentation(depositAndFreeze("dave"));
    await stub.sedimentation(deposit("nobody", 1));
    const plans = await runInDurableObject(stub, (_, state) => {
      const real = executor(state);
      const seen: { sql: string; params: readonly (string | number | null)[] }[] = [];
      const db: SqlExecutor = { exec: (text, params) => (seen.push({ sql: text, params }), real.exec(text, params)) };
      const log = new SedimentLog(db);
      const cryostasis = new CryostasisStore(db, (id) => log.source(id));
      log.precedents({ kind: "not_found", limit: 10 });
      log.precedents({ nomosVersion: 1, limit: 10 });
      log.precedents({ kind: "not_found", nomosVersion: 1, after: 1, limit: 10 });
      log.page(1, 10);
      log.byIdempotencyKey("k");
      cryostasis.due(Date.now(), 10);
      cryostasis.earliest();
      cryostasis.list(10);
      return seen.map(({ sql, params }) => ({ sql, plan: real.exec(`EXPLAIN QUERY PLAN ${sql}`, params).map((r) => String(r.detail)) }));
    });
    expect(plans.length).toBeGreaterThanOrEqual(8);
    // The shapes are read whole once per instance: at most MAX_SHAPES rows, not history.
    for (const { sql, plan } of plans.filter((p) => !p.sql.endsWith("FROM _noema_shape"))) {
      // A bare SCAN reads the whole table; a temporary B-tree sorts it.
      const bad = plan.filter((d) => /^SCAN \S+$/.test(d) || d.includes("TEMP B-TREE"));
      expect({ sql, bad }).toEqual({ sql, bad: [] });
    }
  });
});

describe("frozen Intents' ids", () => {
  /** Freezes a deposit ten minutes ahead from code: its cryoId. */
  const freezeDeposit = async (stub: Stub, account: string) => {
    const r = await stub.freeze(deposit(account, 1), { delaySeconds: 600 });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.cryoId;
  };

  // Sediments' origins name woken entries by id, and a stale cancelFrozen(id) must not hit another entry.
  it("an id is never handed out again: not after the newest entry left and the object restarted", async () => {
    const { stub, account } = await ledgerWithAccount();
    const first = await freezeDeposit(stub, account);
    const newest = await freezeDeposit(stub, account);
    expect(newest).toBeGreaterThan(first);
    expect(await stub.cancelFrozen(newest)).toBe(true);
    await evictDurableObject(stub);
    const next = await freezeDeposit(stub, account);
    expect(next).toBeGreaterThan(newest);
    expect(await stub.cancelFrozen(newest)).toBe(false);
    expect((await stub.frozen()).map((e) => e.cryoId)).toEqual([first, next]);
  });

  it("an object whose table was made with AUTOINCREMENT (before the ids were given) goes on past its sequence", async () => {
    const { stub, account } = await ledgerWithAccount();
    const first = await freezeDeposit(stub, account);
    const newest = await freezeDeposit(stub, account);
    // The table as it was made before: AUTOINCREMENT, no trigger and no table of the last id.
    await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      const ddl = String(sql.exec("SELECT sql FROM sqlite_master WHERE name = '_noema_cryostasis'").one().sql);
      sql.exec("DROP TRIGGER _noema_cryostasis_last_id");
      sql.exec("DROP TABLE _noema_cryostasis_last");
      sql.exec("ALTER TABLE _noema_cryostasis RENAME TO _noema_cryostasis_new");
      sql.exec(ddl.replace("cryo_id INTEGER PRIMARY KEY", "cryo_id INTEGER PRIMARY KEY AUTOINCREMENT"));
      sql.exec("INSERT INTO _noema_cryostasis SELECT * FROM _noema_cryostasis_new");
      sql.exec("DROP TABLE _noema_cryostasis_new");
    });
    await evictDurableObject(stub);
    expect(await stub.cancelFrozen(newest)).toBe(true);
    await evictDurableObject(stub);
    const next = await freezeDeposit(stub, account);
    expect(next).toBeGreaterThan(newest);
    expect((await stub.frozen()).map((e) => e.cryoId)).toEqual([first, next]);
  });
});

describe("frozen Intents' indexes", () => {
  const indexes = (stub: Stub) =>
    runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '_noema_cryostasis' AND sql IS NOT NULL ORDER BY name").toArray().map((r) => r.name));

  it("an object made with the index on sediment_id or the wake order's on (wake_at, cryo_id) (before they were dropped) loses them with its next freeze, gets the wake index on (wake_at) instead, and its entries keep their Intents and wake order", async () => {
    const { stub } = await ledgerWithAccount();
    const first = committed(await stub.sedimentation(depositAndFreeze("erin")));
    expect(await indexes(stub)).toEqual(["_noema_cryostasis_key", "_noema_cryostasis_wake"]);
    // The indexes as objects made before have them, without the wake index that replaced theirs.
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("CREATE INDEX _noema_cryostasis_source ON _noema_cryostasis (sediment_id) WHERE sediment_id IS NOT NULL");
      state.storage.sql.exec("DROP INDEX _noema_cryostasis_wake");
      state.storage.sql.exec("CREATE INDEX _noema_cryostasis_due ON _noema_cryostasis (wake_at, cryo_id)");
    });
    await evictDurableObject(stub);
    const second = committed(await stub.sedimentation(depositAndFreeze("frank")));
    expect(await indexes(stub)).toEqual(["_noema_cryostasis_key", "_noema_cryostasis_wake"]);
    const frozen = await stub.frozen();
    expect(frozen.map((e) => e.intent.steps[0]!.args.accountId)).toEqual([first, second].map((s) => (s.outputs[0] as { accountId: string }).accountId));
  });

  it("entries due at the same time are listed and taken in the order they were frozen: the wake index ends with the rowid, cryo_id", async () => {
    const { stub, account } = await ledgerWithAccount();
    const at = Date.now() + 3_600_000;
    const freezeAt = async (amount: number, when: number) => {
      const r = await stub.freeze(deposit(account, amount), { at: when });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r.cryoId;
    };
    const tied = [await freezeAt(1, at), await freezeAt(2, at), await freezeAt(3, at)];
    const sooner = await freezeAt(4, at - 1);
    expect((await stub.frozen()).map((e) => e.cryoId)).toEqual([sooner, ...tied]);
    const due = await runInDurableObject(stub, (_, state) => {
      const db = executor(state);
      const log = new SedimentLog(db);
      return new CryostasisStore(db, (id) => log.source(id)).due(at, 10).map((e) => e.cryoId);
    });
    expect(due).toEqual([sooner, ...tied]);
  });
});

/** The internal tables as format 1 created them (before `_noema_format`), written by hand from a log read through the API. */
const V1_DDL = [
  `CREATE TABLE _noema_world (world_hash TEXT PRIMARY KEY, world TEXT NOT NULL) STRICT`,
  `CREATE TABLE _noema_sediment (sediment_id INTEGER PRIMARY KEY, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, timestamp INTEGER NOT NULL, intent TEXT NOT NULL, outputs TEXT NOT NULL, world_hash TEXT NOT NULL, origin TEXT, idempotency_key TEXT) STRICT`,
  `CREATE UNIQUE INDEX _noema_sediment_idempotency ON _noema_sediment (idempotency_key) WHERE idempotency_key IS NOT NULL`,
  `CREATE TABLE _noema_sieve (sieve_hash TEXT PRIMARY KEY, sieve TEXT NOT NULL) STRICT`,
  `CREATE TABLE _noema_cryostasis (cryo_id INTEGER PRIMARY KEY AUTOINCREMENT, wake_at INTEGER NOT NULL, intent TEXT NOT NULL, sieve_hash TEXT NOT NULL, nomos_version INTEGER NOT NULL, world_hash TEXT NOT NULL, freeze_key TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, frozen_at INTEGER NOT NULL) STRICT`,
  `CREATE INDEX _noema_cryostasis_due ON _noema_cryostasis (wake_at, cryo_id)`,
  `CREATE UNIQUE INDEX _noema_cryostasis_key ON _noema_cryostasis (freeze_key) WHERE freeze_key IS NOT NULL`,
];
const V2_ONLY = ["_noema_format", "_noema_anchor", "_noema_checkpoint", "_noema_verify_pass", "_noema_sediment", "_noema_world", "_noema_cryostasis", "_noema_sieve"];

describe("upgrading the internal tables", () => {
  it("an object holding format 2 is upgraded on wake: its rows stay whole and verify, new rows are stored by shape", async () => {
    const { stub, account } = await ledgerWithAccount();
    await stub.sedimentation({ ...deposit(account, 3), idempotencyKey: "once" });
    await stub.sedimentation(depositAndFreeze("erin"));
    await stub.sedimentation(deposit(account, 4));
    const log = (await stub.sediments(0, 100)).sediments;
    const frozen = await stub.frozen();
    const verified = await stub.verify();
    expect(verified.ok).toBe(true);

    // Format 2 as it was deployed: every row whole (stamp and key cut), no shape column or table.
    await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      const layout = new SedimentLog(executor(state));
      for (const s of log) {
        const stored = layout.storedIntent(canonicalJson(s.intent), s.intent.idempotencyKey ?? null);
        sql.exec("UPDATE _noema_sediment SET intent = ?, nomos_version = ?, outputs = ?, shape_id = NULL WHERE sediment_id = ?", stored.text, stored.nomosVersion, canonicalJson(s.outputs), s.sedimentId);
      }
      for (const table of ["_noema_sediment", "_noema_archived_key"]) sql.exec(`ALTER TABLE ${table} DROP COLUMN shape_id`);
      sql.exec("DROP TABLE _noema_shape");
      sql.exec("UPDATE _noema_format SET version = 2");
    });
    await evictDurableObject(stub);

    expect((await stub.sediments(0, 100)).sediments).toEqual(log);
    expect(await stub.frozen()).toEqual(frozen);
    expect(await stub.verify()).toEqual(verified);
    const next = committed(await stub.sedimentation(deposit(account, 1)));
    expect(next).toMatchObject({ sedimentId: log.length + 1, prevHash: log[log.length - 1]!.hash });
    const layout = await runInDurableObject(stub, (_, state) => ({
      format: state.storage.sql.exec("SELECT version FROM _noema_format").one().version,
      shaped: state.storage.sql.exec("SELECT sediment_id FROM _noema_sediment WHERE shape_id IS NOT NULL").toArray().map((r) => r.sediment_id),
    }));
    expect(layout).toEqual({ format: FORMAT_VERSION, shaped: [log.length + 1] });
    expect(await stub.verify()).toMatchObject({ ok: true, length: log.length + 1, head: next.hash });
    // Read back from its shape: the same Intent and outputs the Seal answered.
    expect((await stub.sediments(log.length, 1)).sediments[0]).toMatchObject({ sedimentId: next.sedimentId, hash: next.hash, outputs: next.outputs, intent: deposit(account, 1) });
    expect(await stub.sedimentation({ ...deposit(account, 3), idempotencyKey: "once" })).toMatchObject({ sedimentId: 2 });
  });


  it("an object holding format 1 is upgraded on wake: same log, same frozen Intents, the chain verifies and goes on", async () => {
    const { stub, account } = await ledgerWithAccount();
    await stub.sedimentation({ ...deposit(account, 3), idempotencyKey: "once" });
    await stub.sedimentation(depositAndFreeze("erin"));
    const fromCode = await stub.freeze(deposit(account, 2), { delaySeconds: 600 });
    expect(fromCode.ok).toBe(true);
    const log = (await stub.sediments(0, 100)).sediments;
    const frozen = await stub.frozen();
    const verified = await stub.verify();

    await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      const sieves = sql.exec("SELECT lower(hex(sieve_hash)) AS h, sieve FROM _noema_sieve").toArray();
      const world = canonicalJson(log[0]!.world);
      for (const table of V2_ONLY) sql.exec(`DROP TABLE ${table}`);
      for (const ddl of V1_DDL) sql.exec(ddl);
      sql.exec("INSERT INTO _noema_world VALUES (?, ?)", worldHash(log[0]!.world), world);
      for (const s of log) {
        sql.exec(
          "INSERT INTO _noema_sediment VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          s.sedimentId, s.hash, s.prevHash, s.timestamp, canonicalJson(s.intent), canonicalJson(s.outputs), worldHash(s.world), s.origin ? canonicalJson(s.origin) : null, s.intent.idempotencyKey ?? null,
        );
      }
      for (const v of sieves) sql.exec("INSERT INTO _noema_sieve VALUES (?, ?)", v.h, v.sieve);
      for (const f of frozen) {
        sql.exec("INSERT INTO _noema_cryostasis VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", f.cryoId, f.wakeAt, canonicalJson(f.intent), f.sieveHash, f.nomosVersion, worldHash(log[0]!.world), f.key, f.attempts, f.lastError, f.frozenAt);
      }
    });
    await evictDurableObject(stub);

    expect((await stub.sediments(0, 100)).sediments).toEqual(log);
    expect(await stub.frozen()).toEqual(frozen);
    expect(await stub.verify()).toEqual(verified);
    const format = await runInDurableObject(stub, (_, state) => state.storage.sql.exec("SELECT version FROM _noema_format").one().version);
    expect(format).toBe(FORMAT_VERSION);
    const next = committed(await stub.sedimentation(deposit(account, 1)));
    expect(next).toMatchObject({ sedimentId: log.length + 1, prevHash: log[log.length - 1]!.hash });
    expect(await stub.verify()).toMatchObject({ ok: true, length: log.length + 1, head: next.hash });
    // The idempotency key survived the upgrade.
    expect(await stub.sedimentation({ ...deposit(account, 3), idempotencyKey: "once" })).toMatchObject({ sedimentId: 2 });
  });
});
