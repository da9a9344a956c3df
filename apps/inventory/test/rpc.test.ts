import { runInDurableObject } from "cloudflare:test";
import { buildIntent, type Intent, type Seal } from "@noema/core";
import { GENESIS_HASH, sedimentHash } from "@noema/core/runtime";
import { canonicalJson } from "@noema/core/internal";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { api, attractor, freshProduct, observe, refusal, success } from "./helpers.js";

const world = (name: string) => ({ attractor: "InventoryAttractor", name, nomosVersion: inventory.nomos.version, nomosHash: inventory.nomos.hash });

const setStock = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId, quantity }));
const reserve = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.reserve({ locationId, quantity }));


describe("sedimentation over RPC", () => {
  it("reserves and commits the reservation it just created in one Intent, through a data reference", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("shelf", 10)));

    const intent = buildIntent(inventory, (s) => {
      const r = s.reserve({ locationId: "shelf", quantity: 3, orderId: "order-1" });
      s.commit({ reservationId: r.reservationId });
    });
    expect(intent.steps[1]).toEqual({ op: "commit", args: { reservationId: { $ref: { step: 0, output: "reservationId" } } } });

    const seal = success(await stub.sedimentation(intent));
    expect(seal.sedimentId).toBe(2);
    const [reserved, committed] = seal.outputs as [Record<string, unknown>, Record<string, unknown>];
    expect(reserved).toEqual({
      reservationId: expect.any(String),
      locationId: "shelf",
      quantity: 3,
      expiresAt: seal.timestamp + 900 * 1000,
      orderId: "order-1",
      channel: "direct",
    });
    expect(committed).toEqual({ locationId: "shelf", quantity: 7, reserved: 0, available: 7 });

    const snapshot = await stub.snapshot();
    expect(snapshot?.locations).toEqual([{ locationId: "shelf", quantity: 7, reserved: 0, available: 7 }]);
    expect(snapshot?.reservations).toEqual([]);
    // The commit recorded the sale against the reservation the first step created.
    const movements = await runInDurableObject(attractor(p), (_, state) =>
      state.storage.sql.exec("SELECT location_id, delta, reason, reference_id FROM movements ORDER BY id").toArray(),
    );
    expect(movements).toEqual([{ location_id: "shelf", delta: -3, reason: "sale", reference_id: reserved.reservationId }]);
  });

  it("seals successes with strictly increasing ids, no gaps, linked hashes and the World", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    const sent: Intent[] = [
      setStock("a", 5),
      reserve("a", 9), // refused: not enough stock
      reserve("a", 2),
      setStock("a", 1), // refused: below what is reserved
      buildIntent(inventory, (s) => void s.adjust({ locationId: "b", delta: 4, reason: "purchase", referenceId: "po-7" })),
      buildIntent(inventory, (s) => void s.release({ reservationId: "r-404-0" })), // refused: no such reservation
      setStock("a", 2),
    ];
    const seals: Seal[] = [];
    for (const intent of sent) seals.push(await stub.sedimentation(intent));

    expect(seals.map((s) => s.success)).toEqual([true, false, true, false, true, false, true]);
    const successes = seals.filter((s) => s.success);
    expect(successes.map((s) => s.sedimentId)).toEqual([1, 2, 3, 4]);
    expect(successes[0]!.prevHash).toBe(GENESIS_HASH);
    successes.forEach((s, i) => {
      expect(s.hash).toMatch(/^[0-9a-f]{64}$/);
      if (i > 0) expect(s.prevHash).toBe(successes[i - 1]!.hash);
      expect(s.world).toEqual(world(p));
    });
    for (const s of seals) expect(s.world).toEqual(world(p));

    expect(successes.map((s) => s.outputs)).toEqual([
      [{ locationId: "a", quantity: 5, reserved: 0, available: 5 }],
      [{ reservationId: expect.any(String), locationId: "a", quantity: 2, expiresAt: successes[1]!.timestamp + 900_000, orderId: null, channel: "direct" }],
      [{ locationId: "b", quantity: 4, reserved: 0, available: 4 }],
      [{ locationId: "a", quantity: 2, reserved: 2, available: 0 }],
    ]);

    // The log holds exactly the successes, each hash covering its place, predecessor, Intent, outputs and World.
    const { sediments, verify } = await observe(p);
    expect(sediments.map(({ sedimentId, hash, prevHash, timestamp, outputs, world }) => ({ success: true, sedimentId, hash, prevHash, timestamp, outputs, world }))).toEqual(successes);
    expect(sediments.map((s) => s.intent)).toEqual(sent.filter((_, i) => seals[i]!.success));
    for (const { hash, ...entry } of sediments) expect(sedimentHash(entry)).toBe(hash);
    expect(verify).toEqual({ ok: true, length: 4, head: successes[3]!.hash, verifiedThrough: 4, checkpoint: null });
  });

  it("refuses without changing state, records the Precedent and says why", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("a", 5)));
    const held = success(await stub.sedimentation(reserve("a", 3)));
    const reservationId = (held.outputs[0] as { reservationId: string }).reservationId;
    success(await stub.sedimentation(buildIntent(inventory, (s) => void s.release({ reservationId }))));

    // A v2 stamp whose hash is not the v2 this code declares, and a law this code does not know yet.
    const otherLaw = { ...setStock("a", 1), nomos: { name: "inventory", version: inventory.nomos.version, hash: "f".repeat(64) } };
    const laterLaw = { ...setStock("a", 1), nomos: { name: "inventory", version: inventory.nomos.version + 1, hash: "e".repeat(64) } };
    const cases: { intent: unknown; kind: string; message: RegExp }[] = [
      { intent: reserve("a", 6), kind: "expectation", message: /not enough available stock at a to reserve 6/ },
      { intent: reserve("nowhere", 1), kind: "not_found", message: /^location nowhere has no stock of this product; set or add stock there first$/ },
      { intent: buildIntent(inventory, (s) => void s.adjust({ locationId: "a", delta: -6, reason: "sale" })), kind: "constraint", message: /below zero/ },
      { intent: buildIntent(inventory, (s) => void s.release({ reservationId })), kind: "expectation", message: /not active/ },
      { intent: buildIntent(inventory, (s) => void s.commit({ reservationId: "r-999-0" })), kind: "not_found", message: /r-999-0 does not exist/ },
      { intent: { v: 1, steps: [{ op: "setStock", args: { locationId: "a", quantity: -1 } }] }, kind: "validation", message: /quantity/ },
      { intent: otherLaw, kind: "nomos", message: new RegExp(`inventory v${inventory.nomos.version} with hash ffffffffffff…, but v${inventory.nomos.version} here is `) },
      { intent: laterLaw, kind: "nomos", message: new RegExp(`built against inventory v${inventory.nomos.version + 1}, but this Attractor holds v${inventory.nomos.version}`) },
      // Step 0 alone would commit; step 1 fails, so step 0 must leave nothing behind either.
      {
        intent: buildIntent(inventory, (s) => {
          s.adjust({ locationId: "a", delta: 100, reason: "purchase" });
          s.setStock({ locationId: "b", quantity: 1 });
          s.reserve({ locationId: "b", quantity: 2 });
        }),
        kind: "expectation",
        message: /at b to reserve 2/,
      },
    ];

    for (const { intent, kind, message } of cases) {
      const before = await observe(p);
      const seal = refusal(await stub.sedimentation(intent));
      expect(seal.reason.kind).toBe(kind);
      expect(seal.reason.message).toMatch(message);
      expect(seal.world).toEqual(world(p));
      expect(seal).not.toHaveProperty("sedimentId");

      const after = await observe(p);
      expect(after.snapshot).toEqual(before.snapshot);
      expect(after.sediments).toEqual(before.sediments);
      expect(after.verify).toEqual(before.verify);
      expect(after.precedents.slice(0, -1)).toEqual(before.precedents);
      expect(after.precedents.at(-1)).toEqual({
        precedentId: seal.precedentId,
        intent,
        reason: seal.reason,
        nomosVersion: inventory.nomos.version,
        nomosHash: inventory.nomos.hash,
        timestamp: seal.timestamp,
      });
    }
    const { precedents } = await stub.precedents();
    expect(precedents.map((x) => x.precedentId)).toEqual(cases.map((_, i) => i + 1));
    expect((await stub.precedents({ kind: "not_found" })).precedents.map((x) => x.reason.message)).toEqual([
      "location nowhere has no stock of this product; set or add stock there first",
      "reservation r-999-0 does not exist",
    ]);
    // The multi-step refusal left no movement from its successful first step.
    const movements = await runInDurableObject(attractor(p), (_, state) => state.storage.sql.exec("SELECT count(*) AS n FROM movements").one());
    expect(movements.n).toBe(0);
  });

  it("names the location when a negative adjustment targets a location without stock", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("a", 5)));
    // An INSERT … ON CONFLICT upsert would trip quantity >= 0 on the inserted row before seeing the conflict.
    const taken = success(await stub.sedimentation(buildIntent(inventory, (s) => void s.adjust({ locationId: "a", delta: -3, reason: "sale" }))));
    expect(taken.outputs).toEqual([{ locationId: "a", quantity: 2, reserved: 0, available: 2 }]);
    const toZero = success(await stub.sedimentation(buildIntent(inventory, (s) => void s.adjust({ locationId: "a", delta: -2, reason: "adjust" }))));
    expect(toZero.outputs).toEqual([{ locationId: "a", quantity: 0, reserved: 0, available: 0 }]);

    const before = await observe(p);
    const missing = refusal(await stub.sedimentation(buildIntent(inventory, (s) => void s.adjust({ locationId: "b", delta: -3, reason: "sale" }))));
    expect(missing.reason).toMatchObject({ kind: "expectation", step: 0, op: "adjust" });
    expect(missing.reason.message).toBe("location b has no stock to take 3 from; set or add stock there first");
    const after = await observe(p);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);

    // A positive delta creates the location.
    const created = success(await stub.sedimentation(buildIntent(inventory, (s) => void s.adjust({ locationId: "b", delta: 3, reason: "return" }))));
    expect(created.outputs).toEqual([{ locationId: "b", quantity: 3, reserved: 0, available: 3 }]);
  });

  it("keeps an oversized refused input as size and hash only, so the refusal itself never fails", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    const huge = { v: 1, steps: [{ op: "setStock", args: { locationId: "x".repeat(3_000_000), quantity: 1 } }] };
    const seal = refusal(await stub.sedimentation(huge));
    expect(seal.reason.kind).toBe("validation");
    const [precedent] = (await stub.precedents({})).precedents;
    expect(precedent?.intent).toEqual({ $omitted: { bytes: canonicalJson(huge).length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  it("refuses to commit a reservation that has expired, even before its frozen release has run", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("shelf", 5)));
    const reserved = success(await stub.sedimentation(reserve("shelf", 2)));
    const { reservationId } = reserved.outputs[0] as { reservationId: string };
    // Expire it in storage, as the clock would.
    await runInDurableObject(attractor(p), (_, state) => void state.storage.sql.exec("UPDATE reservations SET expires_at = 1"));
    const seal = refusal(await stub.sedimentation(buildIntent(inventory, (s) => void s.commit({ reservationId }))));
    expect(seal.reason).toMatchObject({ kind: "expectation", message: `reservation ${reservationId} is not active (already released or committed) or has expired` });
    // Release stays possible: it gives the stock back.
    success(await stub.sedimentation(buildIntent(inventory, (s) => void s.release({ reservationId }))));
    expect((await stub.snapshot())?.locations).toEqual([{ locationId: "shelf", quantity: 5, reserved: 0, available: 5 }]);
  });

  it("applies an idempotent Intent once and returns the original Seal on resubmission", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("a", 10)));
    const intent = buildIntent(inventory, (s) => void s.reserve({ locationId: "a", quantity: 4, orderId: "o-42" }), { idempotencyKey: "order-42" });
    const first = success(await stub.sedimentation(intent));
    const state = await observe(p);

    expect(await stub.sedimentation(intent)).toEqual(first);
    // The same Intent in its wire form without the defaulted ttlSeconds is the same Intent.
    const wire = { v: 1, idempotencyKey: "order-42", nomos: intent.nomos, steps: [{ op: "reserve", args: { locationId: "a", quantity: 4, orderId: "o-42" } }] };
    expect(await stub.sedimentation(wire)).toEqual(first);
    expect(await observe(p)).toEqual(state);
    expect(state.snapshot?.locations[0]).toMatchObject({ reserved: 4 });

    const different = buildIntent(inventory, (s) => void s.reserve({ locationId: "a", quantity: 5 }), { idempotencyKey: "order-42" });
    const refused = refusal(await stub.sedimentation(different));
    expect(refused.reason.kind).toBe("idempotency");
    expect(refused.reason.message).toContain(`sediment ${first.sedimentId}`);
    const after = await observe(p);
    expect(after.snapshot).toEqual(state.snapshot);
    expect(after.sediments).toEqual(state.sediments);
    expect(after.precedents.at(-1)?.intent).toEqual(different);
  });

  it("keeps an idempotency key free when its Intent was refused", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    const intent = buildIntent(inventory, (s) => void s.reserve({ locationId: "a", quantity: 2 }), { idempotencyKey: "k-1" });
    refusal(await stub.sedimentation(intent));
    success(await stub.sedimentation(setStock("a", 2)));
    const seal = success(await stub.sedimentation(intent));
    expect(seal.sedimentId).toBe(2);
    expect(await stub.sedimentation(intent)).toEqual(seal);
    expect((await stub.snapshot())?.locations).toEqual([{ locationId: "a", quantity: 2, reserved: 2, available: 0 }]);
  });

  it("round-trips an Intent unchanged through RPC, the stored log and the HTTP log", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    const intent = buildIntent(
      inventory,
      (s) => {
        const stock = s.setStock({ locationId: "dock:1", quantity: 1_000_000_000 });
        s.adjust({ locationId: stock.locationId, delta: -999_999_999, reason: "transfer", referenceId: "t.9_x-Y:1" });
        const r = s.reserve({ locationId: "dock:1", quantity: 1, ttlSeconds: 86_400, orderId: "o" });
        s.release({ reservationId: r.reservationId });
      },
      { idempotencyKey: "round-trip" },
    );
    const copy = structuredClone(intent);
    success(await stub.sedimentation(intent));
    expect(intent).toEqual(copy);

    const { sediments } = await stub.sediments(0, 10);
    expect(sediments).toHaveLength(1);
    expect(sediments[0]!.intent).toEqual(intent);
    expect(canonicalJson(sediments[0]!.intent)).toBe(canonicalJson(intent));
    const http = await api("GET", `/api/products/${p}/sediments`);
    expect(http.body.sediments[0].intent).toEqual(intent);
  });

  it("explains the exact statements it will run next, running nothing", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    success(await stub.sedimentation(setStock("a", 3)));
    const intent = buildIntent(inventory, (s) => {
      const r = s.reserve({ locationId: "a", quantity: 2, ttlSeconds: 60 });
      s.commit({ reservationId: r.reservationId });
    });
    const before = await observe(p);
    const explained = await stub.explain(intent);
    if (!explained.ok) throw new Error(JSON.stringify(explained.issues));
    expect(await observe(p)).toEqual(before);

    const { explanation } = explained;
    const now = explanation.context.now;
    expect(explanation.context.sedimentId).toBe(2);
    expect(explanation.steps.map((s) => s.op)).toEqual(["reserve", "commit"]);
    expect(explanation.steps[0]!.statements.map((s) => s.sql)).toEqual(Object.values(inventory.operations.reserve.statements).map((s) => s.sql));
    expect(explanation.steps[0]!.statements[1]!.params).toEqual(["r-2-0", "a", 2, null, now, now, 60, "direct"]);
    const ref = { $ref: { step: 0, output: "reservationId" } };
    expect(explanation.steps[1]!.statements[0]!.params).toEqual([ref]);
    expect(explanation.invariants.map((i) => i.name)).toEqual(["reserved_matches_active_reservations"]);

    // What explain predicted is what sedimentation produces.
    const seal = success(await stub.sedimentation(intent));
    expect(seal.sedimentId).toBe(2);
    expect((seal.outputs[0] as { reservationId: string }).reservationId).toBe("r-2-0");

    const invalid = await stub.explain({ v: 1, steps: [{ op: "teleport", args: {} }] });
    const issues = [{ code: "unknown_operation", path: ["steps", 0, "op"], message: expect.stringContaining('unknown operation "teleport"') }];
    expect(invalid).toEqual({ ok: false, issues, reason: { kind: "validation", message: expect.stringContaining("invalid Intent"), issues } });
  });

  it("reports the Nomos applied on first wake: the current law directly, no migration", async () => {
    const stub = attractor(freshProduct());
    const report = await stub.nomos();
    const stamp = { name: "inventory", version: inventory.nomos.version, hash: inventory.nomos.hash };
    expect(report).toEqual({ held: { ...stamp, appliedAt: expect.any(Number) }, latest: stamp, history: [report.held] });
  });
});

describe("verify", () => {
  async function threeSediments() {
    const p = freshProduct();
    const stub = attractor(p);
    for (const intent of [setStock("a", 5), reserve("a", 1), setStock("a", 7)]) success(await stub.sedimentation(intent));
    const v = await stub.verify();
    expect(v).toMatchObject({ ok: true, length: 3 });
    return { p, stub };
  }

  const tampering: { what: string; sql: string; brokenAt: number; length: number }[] = [
    // Rows are stored by shape: intent and outputs hold the values only (the reservation's quantity, the stock's "a",5).
    { what: "outputs", sql: `UPDATE _noema_sediment SET outputs = replace(outputs, ',null,1,', ',null,2,') WHERE sediment_id = 2`, brokenAt: 2, length: 1 },
    { what: "intent", sql: `UPDATE _noema_sediment SET intent = replace(intent, '"a",5', '"a",500') WHERE sediment_id = 1`, brokenAt: 1, length: 0 },
    { what: "the shape an entry names", sql: `UPDATE _noema_shape SET intent = replace(intent, '"reserve"', '"release"') WHERE intent LIKE '%"reserve"%'`, brokenAt: 2, length: 1 },
    { what: "timestamp", sql: `UPDATE _noema_sediment SET timestamp = timestamp + 1 WHERE sediment_id = 3`, brokenAt: 3, length: 2 },
    { what: "the World an entry names", sql: `UPDATE _noema_sediment SET world_id = world_id + 1 WHERE sediment_id = 2`, brokenAt: 2, length: 1 },
    { what: "the stored World", sql: `UPDATE _noema_world SET world = replace(world, 'InventoryAttractor', 'OtherAttractor')`, brokenAt: 1, length: 0 },
    { what: "hash", sql: `UPDATE _noema_sediment SET hash = unhex('${"a".repeat(64)}') WHERE sediment_id = 2`, brokenAt: 2, length: 1 },
    { what: "the law an entry's stamp is stored by", sql: `UPDATE _noema_sediment SET nomos_version = NULL WHERE sediment_id = 3`, brokenAt: 3, length: 2 },
    { what: "a deleted row", sql: `DELETE FROM _noema_sediment WHERE sediment_id = 2`, brokenAt: 3, length: 1 },
  ];

  for (const { what, sql, brokenAt, length } of tampering) {
    it(`finds the first broken link when ${what} is tampered with`, async () => {
      const { p, stub } = await threeSediments();
      const changed = await runInDurableObject(attractor(p), (_, state) => state.storage.sql.exec(sql).rowsWritten);
      expect(changed).toBe(1);
      expect(await stub.verify()).toEqual({ ok: false, brokenAt, length });
      const http = await api("GET", `/api/products/${p}/verify`);
      expect(http.status).toBe(200);
      expect(http.body).toEqual({ ok: false, brokenAt });
    });
  }
});
