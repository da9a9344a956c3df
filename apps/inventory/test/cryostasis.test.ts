import { abortAllDurableObjects, env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { testWorld } from "@noema/cloudflare/testing";
import { buildIntent, formatPath, type FreezeResult, type NomosStamp, type Seal, type Sediment, type Vocabulary } from "@noema/core";
import { backoffMs, MAX_WAKE_ATTEMPTS } from "@noema/core/internal";
import { describe, expect, it, vi } from "vitest";
import { inventory, inventoryV1, inventoryV2 } from "../src/vocabulary.js";
import { api, attractor, expectError, freshProduct, type InventoryNamespace, observe, refusal, success } from "./helpers.js";
import { CRITICAL_REASON, DAY, flakyV3, OFFLINE, OFFLINE_ERROR } from "./laws.js";

/*
 * How entries are made due: they are frozen at least minutes ahead, and then the Attractor's
 * clock is moved past them (`advance` of the testing kit), which delivers the alarm until nothing
 * is due. Freezing them a moment ahead and waiting would race the runtime's own alarm, which fires
 * at that moment too, and every listing taken before the wake would depend on how fast the test
 * runs. Tests of single deliveries (duplicates, failures, one entry of several) instead move
 * entries a day back with SQL inside the Durable Object (`makeDue`), keeping their order, and
 * deliver the alarm themselves. One test lets real time pass, to show that nothing but the clock
 * is needed.
 */

const HOUR = 60 * 60 * 1000;
const HASH = expect.stringMatching(/^[0-9a-f]{64}$/);

const stamp = (v: Vocabulary): NomosStamp => ({ name: v.nomos.name, version: v.nomos.version, hash: v.nomos.hash });
const V1 = stamp(inventoryV1);
const V2 = stamp(inventoryV2);
/** The shipped law today. */
const LATEST = stamp(inventory);

const setStock = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId, quantity }));
const adjust = (locationId: string, delta: number, referenceId?: string) =>
  buildIntent(inventory, (s) => void s.adjust({ locationId, delta, reason: "purchase", ...(referenceId ? { referenceId } : {}) }));
const reserve = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.reserve({ locationId, quantity }));
const release = (reservationId: string) => buildIntent(inventory, (s) => void s.release({ reservationId }));
const commit = (reservationId: string) => buildIntent(inventory, (s) => void s.commit({ reservationId }));
const restock = (locationId: string) => buildIntent(flakyV3, (s) => void s.restock({ locationId }));


function frozenOk(result: FreezeResult): Extract<FreezeResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a freeze, got ${JSON.stringify(result.issues)}`);
  return result;
}

const reservationIdOf = (seal: Seal) => (success(seal).outputs[0] as { reservationId: string }).reservationId;

const inventoryNs = (): InventoryNamespace => env.INVENTORY_ATTRACTOR;

/** A product with `quantity` units at "main" on the given class; its clock is the testing kit's (`clock(p)`). */
async function stocked(quantity: number, ns: InventoryNamespace = inventoryNs(), label = "cryo") {
  const p = freshProduct(label);
  await testWorld(ns, p).expectSealed(setStock("main", quantity));
  return p;
}

/** The product's World in the testing kit: `advance` moves its clock and wakes what is due. */
const clock = (p: string, ns: InventoryNamespace = inventoryNs()) => testWorld(ns, p);

/** Moves pending entries (all, or those given) a day back, keeping their order: due now. */
const makeDue = (p: string, ns: InventoryNamespace = inventoryNs(), cryoIds?: number[]) =>
  runInDurableObject(attractor(p, ns), (_, state) => {
    const where = cryoIds ? `WHERE cryo_id IN (${cryoIds.map((id) => Math.trunc(id)).join(", ")})` : "";
    state.storage.sql.exec(`UPDATE _noema_cryostasis SET wake_at = wake_at - ${DAY} ${where}`);
  });

const alarmAt = (p: string, ns: InventoryNamespace = inventoryNs()) => runInDurableObject(attractor(p, ns), (_, state) => state.storage.getAlarm());

const pending = (p: string, ns?: InventoryNamespace) => attractor(p, ns).frozen({ limit: 1000 });

/** Delivers the alarm until nothing is pending; every entry must already be due. */
async function wakeAll(p: string, ns: InventoryNamespace = inventoryNs()): Promise<void> {
  for (let run = 0; run < 100; run++) {
    if ((await attractor(p, ns).frozen({ limit: 1 })).length === 0) return;
    await runDurableObjectAlarm(attractor(p, ns));
  }
  throw new Error("frozen Intents still pending after 100 alarms");
}

const wokenOf = (sediments: Sediment[]) => sediments.filter((s) => s.origin?.cryostasis);

const stock = (locationId: string, quantity: number, reserved: number) => ({ locationId, quantity, reserved, available: quantity - reserved });

describe("reservation expiry", () => {
  it("a reservation freezes its own release at expiresAt; the alarm releases it, resumed, and the stock is available again", async () => {
    const p = await stocked(5);
    const res = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 2, ttlSeconds: 600 });
    expect(res.status).toBe(201);
    const { reservation, seal } = res.body;
    expect(reservation.expiresAt).toBe(seal.timestamp + 600_000);
    // The Seal says where the release went: the $freeze step's outputs.
    expect(seal.outputs[1]).toEqual({ cryoId: expect.any(Number), wakeAt: reservation.expiresAt });
    const cryoId = seal.outputs[1].cryoId as number;

    const listed = await api("GET", `/api/products/${p}/cryostasis`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      pending: [
        { cryoId, wakeAt: reservation.expiresAt, key: reservation.id, attempts: 0, lastError: null, frozenAt: expect.any(Number), nomosVersion: LATEST.version, sieveHash: HASH, intent: release(reservation.id) },
      ],
    });
    const { frozenAt } = listed.body.pending[0];
    expect(await alarmAt(p)).toBe(reservation.expiresAt);
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stock("main", 5, 2)]);

    // Ten minutes on, the alarm rings.
    await clock(p).advance(600_000);

    const product = (await api("GET", `/api/products/${p}`)).body;
    expect(product.locations).toEqual([stock("main", 5, 0)]);
    expect(product.reservations).toEqual([]);
    expect((await api("GET", `/api/products/${p}/cryostasis`)).body).toEqual({ pending: [] });
    expect(await alarmAt(p)).toBeNull();

    const { sediments, precedents, verify } = await observe(p);
    expect(sediments).toHaveLength(3);
    const woken = sediments[2]!;
    expect(woken.intent).toEqual(release(reservation.id));
    expect(woken.outputs).toEqual([stock("main", 5, 0)]);
    expect(woken.world).toEqual({ attractor: "InventoryAttractor", name: p, nomosVersion: LATEST.version, nomosHash: LATEST.hash });
    expect(woken.origin).toEqual({
      nomos: LATEST,
      reforged: false,
      steps: [],
      cryostasis: { cryoId, frozenAt, wakeAt: reservation.expiresAt, wokeAt: woken.timestamp, mode: "resumed" },
    });
    expect(woken.timestamp).toBeGreaterThanOrEqual(reservation.expiresAt);
    expect(precedents).toEqual([]);
    expect(verify).toEqual({ ok: true, length: 3, head: woken.hash, verifiedThrough: 3, checkpoint: null });
    // The log says the same over HTTP.
    expect((await api("GET", `/api/products/${p}/sediments?after=2`)).body.sediments[0].origin.cryostasis).toMatchObject({ cryoId, mode: "resumed" });
  });

  it("with a one-second ttl, the release wakes once the clock has passed expiresAt, at exactly that wake time", async () => {
    const p = await stocked(3);
    const res = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 3, ttlSeconds: 1 });
    expect(res.status).toBe(201);
    const { expiresAt, id } = res.body.reservation;
    // Real time passes; the loop is bounded so a broken clock fails instead of hanging.
    for (let i = 0; Date.now() <= expiresAt; i++) {
      if (i > 200) throw new Error("the clock did not pass expiresAt");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // The runtime may have delivered the alarm already; if not, this delivers it.
    await runDurableObjectAlarm(attractor(p));

    const { snapshot, sediments } = await observe(p);
    expect(snapshot?.locations).toEqual([stock("main", 3, 0)]);
    expect(snapshot?.reservations).toEqual([]);
    const [woken, ...more] = wokenOf(sediments);
    expect(more).toEqual([]);
    expect(woken!.intent).toEqual(release(id));
    expect(woken!.origin!.cryostasis).toMatchObject({ wakeAt: expiresAt, mode: "resumed" });
    expect(woken!.origin!.cryostasis!.wokeAt).toBeGreaterThanOrEqual(expiresAt);
    expect(await pending(p)).toEqual([]);
  });

  it("commit before expiry cancels the release: the alarm rings early, moves to the next entry, and later alarms do nothing to the sale", async () => {
    const p = await stocked(5);
    const a = (await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 2, ttlSeconds: 600 })).body.reservation;
    const b = (await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1, ttlSeconds: 1200 })).body.reservation;
    expect(await alarmAt(p)).toBe(a.expiresAt);

    const committed = await api("POST", `/api/products/${p}/reservations/${a.id}/commit`);
    expect(committed.status).toBe(200);
    expect(committed.body.seal.outputs).toEqual([stock("main", 3, 1), { cancelled: true }]);
    expect((await pending(p)).map((e) => e.key)).toEqual([b.id]);
    // A cancel does not move the alarm (a durable write per commit): it rings early, finds nothing due, and moves on to b.
    expect(await alarmAt(p)).toBe(a.expiresAt);
    const early = await observe(p);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    expect(await observe(p)).toEqual(early);
    expect(await alarmAt(p)).toBe(b.expiresAt);

    // Twenty minutes on, everything pending is due: only b's release wakes.
    await clock(p).advance(1_200_000);
    const after = await observe(p);
    expect(after.snapshot?.locations).toEqual([stock("main", 3, 0)]);
    expect(after.snapshot?.reservations).toEqual([]);
    expect(wokenOf(after.sediments).map((s) => s.intent)).toEqual([release(b.id)]);
    expect(after.precedents).toEqual([]);
    expect(await alarmAt(p)).toBeNull();

    // No alarm is armed; a stray delivery anyway finds nothing to apply.
    expect(await runDurableObjectAlarm(attractor(p))).toBe(false);
    await runInDurableObject(attractor(p), (instance) => instance.alarm());
    expect(await observe(p)).toEqual(after);
  });

  it("an explicit release cancels the frozen release: nothing is pending, the alarm rings once for nothing and is cleared, a stray alarm changes nothing", async () => {
    const p = await stocked(4);
    const r = (await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 4, ttlSeconds: 600 })).body.reservation;
    const released = await api("DELETE", `/api/products/${p}/reservations/${r.id}`);
    expect(released.status).toBe(200);
    expect(released.body.seal.outputs).toEqual([stock("main", 4, 0), { cancelled: true }]);
    expect((await api("GET", `/api/products/${p}/cryostasis`)).body).toEqual({ pending: [] });
    // Left where it was: ringing early is harmless, and that run leaves no alarm.
    expect(await alarmAt(p)).toBe(r.expiresAt);
    const before = await observe(p);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    expect(await observe(p)).toEqual(before);
    expect(await alarmAt(p)).toBeNull();

    await runInDurableObject(attractor(p), (instance) => instance.alarm());
    expect(await observe(p)).toEqual(before);
    expect(before.precedents).toEqual([]);
  });
});

describe("the alarm", () => {
  it("never rings late: at the earliest entry after freezes and a wake; after cancels early, until that ring moves it on", async () => {
    const p = await stocked(10);
    const stub = attractor(p);
    const t0 = Date.now();
    expect(await alarmAt(p)).toBeNull();

    const late = frozenOk(await stub.freeze(adjust("main", 3), { at: t0 + 3 * HOUR }));
    expect(late).toEqual({ ok: true, cryoId: expect.any(Number), wakeAt: t0 + 3 * HOUR, existing: false });
    expect(await alarmAt(p)).toBe(t0 + 3 * HOUR);
    const early = frozenOk(await stub.freeze(adjust("main", 1), { at: t0 + HOUR }));
    expect(await alarmAt(p)).toBe(t0 + HOUR);
    const middle = frozenOk(await stub.freeze(adjust("main", 2), { at: t0 + 2 * HOUR }));
    expect(await alarmAt(p)).toBe(t0 + HOUR);

    // Freezing as a step of an Intent re-arms too.
    const viaStep = success(
      await stub.sedimentation(buildIntent(inventory, (s) => void s.$freeze({ delaySeconds: 60, key: "soon" }, (f) => f.adjust({ locationId: "main", delta: 9, reason: "purchase" })))),
    );
    const soon = viaStep.outputs[0] as { cryoId: number; wakeAt: number };
    expect(soon.wakeAt).toBe(viaStep.timestamp + 60_000);
    expect(await alarmAt(p)).toBe(soon.wakeAt);
    const cancelled = success(await stub.sedimentation(buildIntent(inventory, (s) => void s.$cancel({ key: "soon" }))));
    expect(cancelled.outputs).toEqual([{ cancelled: true }]);
    // Cancelling does not move it: ringing early wakes nothing, and that run points it at the next entry.
    expect(await alarmAt(p)).toBe(soon.wakeAt);
    // Cancelling a key that is not frozen is not an error; it says so.
    expect(success(await stub.sedimentation(buildIntent(inventory, (s) => void s.$cancel({ key: "soon" })))).outputs).toEqual([{ cancelled: false }]);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    expect(await pending(p)).toHaveLength(3);
    expect(await alarmAt(p)).toBe(t0 + HOUR);

    expect(await stub.cancelFrozen(early.cryoId)).toBe(true);
    expect(await alarmAt(p)).toBe(t0 + HOUR);
    expect(await stub.cancelFrozen(early.cryoId)).toBe(false);
    expect(await alarmAt(p)).toBe(t0 + HOUR);

    await makeDue(p, inventoryNs(), [middle.cryoId]);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    expect(await alarmAt(p)).toBe(t0 + 3 * HOUR);
    expect((await pending(p)).map((e) => e.cryoId)).toEqual([late.cryoId]);

    expect(await stub.cancelFrozen(late.cryoId)).toBe(true);
    expect(await alarmAt(p)).toBe(t0 + 3 * HOUR);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    expect(await alarmAt(p)).toBeNull();
    // Only the middle entry ever ran: 10 + 2.
    expect((await stub.snapshot())?.locations).toEqual([stock("main", 12, 0)]);
  });

  it("restart safety: after a lost alarm, an eviction and an abort, construction re-arms it and every entry still wakes", async () => {
    const p = await stocked(0);
    const t0 = Date.now();
    const ids: number[] = [];
    for (const [delta, at] of [[1, t0 + 2 * HOUR], [10, t0 + HOUR], [100, t0 + 3 * HOUR]] as const) {
      ids.push(frozenOk(await attractor(p).freeze(adjust("main", delta), { at })).cryoId);
    }
    expect(await alarmAt(p)).toBe(t0 + HOUR);

    // The alarm is lost (as a reset by a code update may lose it), then the object is evicted.
    await runInDurableObject(attractor(p), (_, state) => state.storage.deleteAlarm());
    expect(await alarmAt(p)).toBeNull();
    await evictDurableObject(attractor(p));
    expect(await alarmAt(p)).toBe(t0 + HOUR);

    // Lost again, and this time every object is aborted.
    await runInDurableObject(attractor(p), (_, state) => state.storage.deleteAlarm());
    await abortAllDurableObjects();
    expect(await alarmAt(p)).toBe(t0 + HOUR);
    expect((await pending(p)).map((e) => e.cryoId).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));

    await clock(p).advance(3 * HOUR);
    const { snapshot, sediments, precedents } = await observe(p);
    // In wake-time order: 10 (1 h), 1 (2 h), 100 (3 h).
    expect(wokenOf(sediments).map((s) => (s.outputs[0] as { quantity: number }).quantity)).toEqual([10, 11, 111]);
    expect(wokenOf(sediments).map((s) => s.origin!.cryostasis!.cryoId)).toEqual([ids[1], ids[0], ids[2]]);
    expect(snapshot?.locations).toEqual([stock("main", 111, 0)]);
    expect(precedents).toEqual([]);
    expect(await alarmAt(p)).toBeNull();
  });

  it("a duplicate alarm delivery applies nothing twice, sequential or concurrent", async () => {
    const p = await stocked(0);
    const stub = attractor(p);
    const t0 = Date.now();
    for (let i = 1; i <= 3; i++) frozenOk(await stub.freeze(adjust("main", i, `first-${i}`), { at: t0 + i * HOUR }));
    await makeDue(p);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    // The first run left nothing armed; delivering the handler again anyway applies nothing.
    expect(await runDurableObjectAlarm(attractor(p))).toBe(false);
    await runInDurableObject(attractor(p), (instance) => instance.alarm());

    for (let i = 1; i <= 3; i++) frozenOk(await stub.freeze(adjust("main", 10 * i, `second-${i}`), { at: t0 + i * HOUR }));
    await makeDue(p);
    // Two deliveries at once, as an at-least-once runtime may make.
    await runInDurableObject(attractor(p), (instance) => Promise.all([instance.alarm(), instance.alarm()]));
    await runInDurableObject(attractor(p), (instance) => instance.alarm());

    const { snapshot, sediments, precedents, verify } = await observe(p);
    const woken = wokenOf(sediments);
    const refs = woken.map((s) => (s.intent.steps[0]!.args as { referenceId: string }).referenceId);
    expect(refs).toEqual(["first-1", "first-2", "first-3", "second-1", "second-2", "second-3"]);
    expect(new Set(woken.map((s) => s.origin!.cryostasis!.cryoId)).size).toBe(6);
    expect(snapshot?.locations).toEqual([stock("main", 66, 0)]);
    expect(precedents).toEqual([]);
    expect(verify).toMatchObject({ ok: true, length: 7 });
    expect(await pending(p)).toEqual([]);
  });

  it("a woken Intent whose idempotency key was applied meanwhile is done with: removed, applied once", async () => {
    const p = await stocked(0);
    const stub = attractor(p);
    const intent = buildIntent(inventory, (s) => void s.adjust({ locationId: "main", delta: 7, reason: "purchase" }), { idempotencyKey: "delivery-42" });
    frozenOk(await stub.freeze(intent, { at: Date.now() + HOUR }));
    // The client did not wait for the frozen copy.
    const direct = success(await stub.sedimentation(intent));
    await makeDue(p);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);

    const { snapshot, sediments, precedents } = await observe(p);
    expect(sediments.map((s) => s.sedimentId)).toEqual([1, direct.sedimentId]);
    expect(snapshot?.locations).toEqual([stock("main", 7, 0)]);
    expect(precedents).toEqual([]);
    expect(await pending(p)).toEqual([]);
    expect(await alarmAt(p)).toBeNull();
  });
});

describe("failures while waking", () => {
  /**
   * Makes every entry due and delivers the alarm, as runDurableObjectAlarm does, inside the object
   * with the clock read around it; returns the listing and the alarm it left. A retry is re-armed
   * a second or two ahead, where the runtime would deliver it on its own: the alarm is then moved
   * a day later, so that only the test delivers and each delivery is exactly one attempt.
   */
  const deliver = (p: string, ns: InventoryNamespace) =>
    runInDurableObject(attractor(p, ns), async (instance, state) => {
      state.storage.sql.exec(`UPDATE _noema_cryostasis SET wake_at = wake_at - ${DAY}`);
      const before = Date.now();
      await state.storage.deleteAlarm();
      await instance.alarm();
      const after = Date.now();
      const alarm = await state.storage.getAlarm();
      if (alarm !== null) await state.storage.setAlarm(alarm + DAY);
      return { before, after, frozen: instance.frozen(), alarm };
    });

  it("an unexpected error is retried with backoff on that entry alone, then given up as a Precedent of kind cryostasis", async () => {
    const ns = env.FLAKY_ATTRACTOR;
    const p = await stocked(10, ns, "flaky");
    const stub = attractor(p, ns);
    const t0 = Date.now();
    // The failing entry is due first; the good ones after it must not wait for it.
    const bad = frozenOk(await stub.freeze(restock(OFFLINE), { at: t0 + HOUR }));
    const good = [frozenOk(await stub.freeze(restock("main"), { at: t0 + HOUR + 1 })), frozenOk(await stub.freeze(adjust("main", 5), { at: t0 + HOUR + 2 }))];

    const first = await deliver(p, ns);
    const afterFirst = await observe(p, ns);
    expect(wokenOf(afterFirst.sediments).map((s) => s.origin!.cryostasis!.cryoId)).toEqual(good.map((g) => g.cryoId));
    expect(afterFirst.snapshot?.locations).toEqual([stock("main", 16, 0)]);
    expect(afterFirst.precedents).toEqual([]);
    expect(first.frozen).toEqual([
      { cryoId: bad.cryoId, wakeAt: expect.any(Number), key: null, attempts: 1, lastError: OFFLINE_ERROR, frozenAt: expect.any(Number), nomosVersion: LATEST.version, sieveHash: HASH, intent: restock(OFFLINE) },
    ]);
    // Postponed by the first backoff step from the time it failed, and the alarm follows it.
    const retryAt = first.frozen[0]!.wakeAt;
    expect(retryAt - backoffMs(1)).toBeGreaterThanOrEqual(first.before);
    expect(retryAt - backoffMs(1)).toBeLessThanOrEqual(first.after);
    expect(first.alarm).toBe(retryAt);

    // A good entry frozen while the bad one waits for its retry is not held up by it.
    const later = await runInDurableObject(attractor(p, ns), (instance) => frozenOk(instance.freeze(adjust("main", 100), { at: Date.now() + HOUR })));
    const attempts: number[] = [1];
    for (let n = 2; n <= MAX_WAKE_ATTEMPTS; n++) {
      const run = await deliver(p, ns);
      const entry = run.frozen.find((e) => e.cryoId === bad.cryoId);
      if (n < MAX_WAKE_ATTEMPTS) {
        expect(entry).toMatchObject({ attempts: n, lastError: OFFLINE_ERROR });
        // Exponential: each retry waits twice as long as the one before.
        expect(entry!.wakeAt - backoffMs(n)).toBeGreaterThanOrEqual(run.before);
        expect(entry!.wakeAt - backoffMs(n)).toBeLessThanOrEqual(run.after);
        attempts.push(entry!.attempts);
      } else {
        expect(entry).toBeUndefined();
        expect(run.frozen).toEqual([]);
        expect(run.alarm).toBeNull();
      }
    }
    expect(attempts).toEqual(Array.from({ length: MAX_WAKE_ATTEMPTS - 1 }, (_, i) => i + 1));
    expect(backoffMs(2)).toBe(2 * backoffMs(1));

    const { snapshot, sediments, precedents, verify } = await observe(p, ns);
    expect(precedents).toEqual([
      {
        precedentId: expect.any(Number),
        intent: restock(OFFLINE),
        reason: { kind: "cryostasis", message: `gave up after ${MAX_WAKE_ATTEMPTS} attempts: ${OFFLINE_ERROR}` },
        nomosVersion: LATEST.version,
        nomosHash: LATEST.hash,
        timestamp: expect.any(Number),
      },
    ]);
    expect(await stub.precedents({ kind: "cryostasis" })).toEqual({ precedents });
    expect(wokenOf(sediments).map((s) => s.origin!.cryostasis!.cryoId)).toEqual([...good.map((g) => g.cryoId), later.cryoId]);
    expect(snapshot?.locations).toEqual([stock("main", 116, 0)]);
    expect(verify).toMatchObject({ ok: true, length: 4 });
  });

  it("an entry that failed unexpectedly runs once the cause is gone, keeping its place and its count", async () => {
    const p = await stocked(1);
    const stub = attractor(p);
    const entry = frozenOk(await stub.freeze(adjust("main", 2, "late-delivery"), { at: Date.now() + HOUR }));
    // An outage of the movements table: not a refusal by the law, an error nobody planned for.
    const sql = (query: string) => runInDurableObject(attractor(p), (_, state) => void state.storage.sql.exec(query));
    await sql("ALTER TABLE movements RENAME TO movements_away");
    const failed = await deliver(p, inventoryNs());
    expect(failed.frozen).toEqual([expect.objectContaining({ cryoId: entry.cryoId, attempts: 1, lastError: expect.stringContaining("no such table: movements") })]);
    expect((await observe(p)).sediments).toHaveLength(1);

    await sql("ALTER TABLE movements_away RENAME TO movements");
    expect((await deliver(p, inventoryNs())).frozen).toEqual([]);
    const { snapshot, sediments, precedents } = await observe(p);
    expect(wokenOf(sediments)).toEqual([expect.objectContaining({ intent: adjust("main", 2, "late-delivery") })]);
    expect(sediments[1]!.origin!.cryostasis).toMatchObject({ cryoId: entry.cryoId, mode: "resumed" });
    expect(snapshot?.locations).toEqual([stock("main", 3, 0)]);
    expect(precedents).toEqual([]);
    expect(await pending(p)).toEqual([]);
  });

  it("a refusal by the Nomos on wake is final: a Precedent at once, no retry", async () => {
    const p = await stocked(5);
    const stub = attractor(p);
    const rid = reservationIdOf(await stub.sedimentation(reserve("main", 2)));
    // Frozen without a key, so the commit below cannot cancel it.
    const entry = frozenOk(await stub.freeze(release(rid), { at: Date.now() + HOUR }));
    success(await stub.sedimentation(commit(rid)));
    expect((await pending(p)).map((e) => e.cryoId)).toEqual([entry.cryoId]);
    const before = await observe(p);

    await makeDue(p);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    const after = await observe(p);
    expect(after.sediments).toEqual(before.sediments);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.precedents).toEqual([
      {
        precedentId: expect.any(Number),
        intent: release(rid),
        reason: { kind: "expectation", message: `reservation ${rid} is not active (already released or committed)`, step: 0, op: "release" },
        nomosVersion: LATEST.version,
        nomosHash: LATEST.hash,
        timestamp: expect.any(Number),
      },
    ]);
    expect(await pending(p)).toEqual([]);
    expect(await alarmAt(p)).toBeNull();
  });
});

describe("scale", () => {
  it("10,000 frozen Intents in one Attractor all wake, in wake-time order, each exactly once", async () => {
    const N = 10_000;
    const p = await stocked(0);
    const t0 = Date.now();
    // Distinct wake times, frozen in a shuffled order (a fixed LCG, so a failure can be replayed).
    const order = Array.from({ length: N }, (_, i) => i);
    let seed = 20_240_601;
    for (let i = N - 1; i > 0; i--) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const entries = order.map((rank) => ({ at: t0 + HOUR + rank * 10, intent: adjust("main", 1, `w-${rank}`) }));
    const frozen = await runInDurableObject(attractor(p), (instance) => entries.map((e) => instance.freeze(e.intent, { at: e.at }).ok));
    expect(frozen.filter(Boolean)).toHaveLength(N);
    expect(await alarmAt(p)).toBe(t0 + HOUR);

    await makeDue(p);
    await wakeAll(p);

    const { snapshot, sediments, precedents, verify } = await observe(p);
    const woken = wokenOf(sediments);
    expect(woken).toHaveLength(N);
    expect(sediments).toHaveLength(N + 1);
    const wakeTimes = woken.map((s) => s.origin!.cryostasis!.wakeAt);
    expect(wakeTimes.every((t, i) => i === 0 || t > wakeTimes[i - 1]!)).toBe(true);
    expect(woken.map((s) => (s.intent.steps[0]!.args as { referenceId: string }).referenceId)).toEqual(order.map((_, rank) => `w-${rank}`));
    expect(new Set(woken.map((s) => s.origin!.cryostasis!.cryoId)).size).toBe(N);
    expect(snapshot?.locations).toEqual([stock("main", N, 0)]);
    expect(precedents).toEqual([]);
    expect(verify).toMatchObject({ ok: true, length: N + 1 });
    expect(await pending(p)).toEqual([]);
    expect(await alarmAt(p)).toBeNull();
  });
});

describe("across a Nomos upgrade", () => {
  const v1 = {
    setStock: (locationId: string, quantity: number) => buildIntent(inventoryV1, (s) => void s.setStock({ locationId, quantity })),
    reserve: (locationId: string, quantity: number) => buildIntent(inventoryV1, (s) => void s.reserve({ locationId, quantity })),
    release: (reservationId: string) => buildIntent(inventoryV1, (s) => void s.release({ reservationId })),
    /** As the reservation route did under v1: reserve and freeze the release at expiry, in one Intent. */
    reserveUntilExpiry: (locationId: string, quantity: number) =>
      buildIntent(inventoryV1, (s) => {
        const r = s.reserve({ locationId, quantity });
        s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
      }),
  };

  /** A v1 Attractor with a reservation whose release is frozen (Flat) and a frozen reserve (Curved), then woken on v2. */
  async function frozenOnV1(ns: InventoryNamespace, label: string) {
    const p = freshProduct(label);
    const world = testWorld(ns, p, { version: 1 });
    const stub = attractor(p, ns);
    success(await stub.sedimentation(v1.setStock("a", 10)));
    const reserved = success(await stub.sedimentation(v1.reserveUntilExpiry("a", 3)));
    const held = reservationIdOf(reserved);
    const curved = frozenOk(await stub.freeze(v1.reserve("a", 4), { at: Date.now() + HOUR }));
    const listed = await stub.frozen();
    expect(listed.map((e) => [e.nomosVersion, e.intent])).toEqual([
      [1, v1.release(held)],
      [1, v1.reserve("a", 4)],
    ]);
    await world.upgrade(2);
    expect((await stub.nomos()).held).toMatchObject(V2);
    // The upgrade keeps them as they were frozen, and the alarm still points at the earliest.
    expect(await stub.frozen()).toEqual(listed);
    expect(await alarmAt(p, ns)).toBe(listed[0]!.wakeAt);
    return { p, world, held, release: (reserved.outputs[1] as { cryoId: number }).cryoId, reserve: curved.cryoId };
  }

  it("after a rollback to code that does not know the stored law, frozen entries wait untouched instead of being refused", async () => {
    const ns = env.INVENTORY_ATTRACTOR;
    const { p, world } = await frozenOnV1(ns, "cryo-rollback");
    const listed = await attractor(p, ns).frozen();
    // Roll the code back to v1 while storage holds v2: the Attractor cannot run its law.
    await world.upgrade(1);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await attractor(p, ns).nomos()).migrationError).toBeDefined();
    // Said where an operator sees it.
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/^noema: InventoryAttractor inventory v1: this Attractor holds v2, which this code does not declare/));
    logged.mockRestore();
    // A day later every entry is due, and the alarm rings.
    expect(await alarmAt(p, ns)).not.toBeNull();
    await world.advance(DAY);
    const after = await observe(p, ns);
    expect(after.precedents).toEqual([]);
    expect((await attractor(p, ns).frozen()).map((e) => e.cryoId)).toEqual(listed.map((e) => e.cryoId));
    // Forward again: they wake as usual.
    await world.upgrade(2);
    await wakeAll(p, ns);
    expect(await attractor(p, ns).frozen()).toEqual([]);
    expect(wokenOf((await observe(p, ns)).sediments)).toHaveLength(listed.length);
  });

  it("v1 entries woken under v2: the Flat release resumes, the Curved reserve is reforged", async () => {
    const ns = env.INVENTORY_ATTRACTOR;
    const { p, world, held, release: releaseId, reserve: reserveId } = await frozenOnV1(ns, "cryo-upgrade");
    const before = await observe(p, ns);
    expect(await alarmAt(p, ns)).not.toBeNull();
    await world.advance(DAY);

    const { snapshot, sediments, precedents, verify } = await observe(p, ns);
    expect(precedents).toEqual([]);
    const [resumed, reforged, ...rest] = sediments.slice(before.sediments.length);
    expect(rest).toEqual([]);
    const wokenIn = { attractor: "InventoryAttractor", name: p, nomosVersion: 2, nomosHash: V2.hash };
    const step = { from: 1, to: 2, phase: "grace" };

    expect(resumed!.world).toEqual(wokenIn);
    expect(resumed!.intent).toEqual({ ...v1.release(held), nomos: V2 });
    expect(resumed!.origin).toEqual({
      nomos: V1,
      reforged: false,
      steps: [{ ...step, connection: "Flat", reforged: false }],
      cryostasis: { cryoId: releaseId, frozenAt: expect.any(Number), wakeAt: expect.any(Number), wokeAt: resumed!.timestamp, mode: "resumed" },
    });

    expect(reforged!.world).toEqual(wokenIn);
    expect(reforged!.outputs[0]).toMatchObject({ locationId: "a", quantity: 4, channel: "direct" });
    expect(reforged!.origin).toEqual({
      nomos: V1,
      intent: v1.reserve("a", 4),
      reforged: true,
      steps: [{ ...step, connection: "Curved", reforged: true }],
      cryostasis: { cryoId: reserveId, frozenAt: expect.any(Number), wakeAt: expect.any(Number), wokeAt: reforged!.timestamp, mode: "reforged" },
    });
    expect(snapshot?.reservations).toEqual([expect.objectContaining({ quantity: 4, channel: "direct" })]);
    expect(snapshot?.locations).toEqual([stock("a", 10, 4)]);
    expect(verify).toMatchObject({ ok: true });
    expect(await pending(p, ns)).toEqual([]);
  });

  it("under a Critical evolution they become Precedents of kind connection, and nothing is applied", async () => {
    const ns = env.CRITICAL_ATTRACTOR;
    const { p, world, held } = await frozenOnV1(ns, "cryo-critical");
    const before = await observe(p, ns);
    expect(await alarmAt(p, ns)).not.toBeNull();
    await world.advance(DAY);

    const after = await observe(p, ns);
    expect(after.sediments).toEqual(before.sediments);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.precedents).toHaveLength(2);
    expect(after.precedents.map((x) => x.intent)).toEqual([v1.release(held), v1.reserve("a", 4)]);
    for (const precedent of after.precedents) {
      expect(precedent.nomosVersion).toBe(2);
      expect(precedent.reason).toMatchObject({
        kind: "connection",
        message: `inventory v2 stops Intents of v1 at once: ${CRITICAL_REASON}`,
        connection: { type: "Critical", from: V1, to: V2 },
      });
    }
    expect(await pending(p, ns)).toEqual([]);
    expect(await alarmAt(p, ns)).toBeNull();
  });

  it("explain refuses like sedimentation: a v1 Intent is refused under the Critical law, and explained as carried under the shipped one", async () => {
    const critical = await frozenOnV1(env.CRITICAL_ATTRACTOR, "explain-critical");
    const refused = await attractor(critical.p, env.CRITICAL_ATTRACTOR).explain(v1.reserve("a", 1));
    expect(refused).toEqual({
      ok: false,
      reason: expect.objectContaining({ kind: "connection", message: `inventory v2 stops Intents of v1 at once: ${CRITICAL_REASON}` }),
      issues: [{ code: "connection", path: [], message: `inventory v2 stops Intents of v1 at once: ${CRITICAL_REASON}` }],
    });

    const shipped = await frozenOnV1(env.INVENTORY_ATTRACTOR, "explain-shipped");
    const carried = await attractor(shipped.p, env.INVENTORY_ATTRACTOR).explain(v1.reserve("a", 1));
    if (!carried.ok) throw new Error(`expected an explanation, got ${JSON.stringify(carried.reason)}`);
    expect(carried.origin).toEqual({ nomos: V1, intent: v1.reserve("a", 1), reforged: true, steps: [{ from: 1, to: 2, phase: "grace", connection: "Curved", reforged: true }] });
    // The explanation is of the reforged Intent: the reservation insert carries the channel.
    expect(carried.explanation.steps[0]!.statements[1]!.params.at(-1)).toBe("direct");
    const flat = await attractor(shipped.p, env.INVENTORY_ATTRACTOR).explain(v1.release(shipped.held));
    expect(flat).toMatchObject({ ok: true, origin: { nomos: V1, reforged: false } });
    // Nothing ran.
    expect((await observe(shipped.p, env.INVENTORY_ATTRACTOR)).snapshot?.locations).toEqual([stock("a", 10, 3)]);
  });
});

describe("freezing with bad input", () => {
  it("RPC freeze refuses past, too distant, ambiguous or unknown input with the reason, and stores nothing", async () => {
    const p = await stocked(5);
    const stub = attractor(p);
    const before = await observe(p);
    const now = Date.now();
    const ok = adjust("main", 1);
    const nested = buildIntent(inventory, (s) => void s.$freeze({ delaySeconds: 60 }, (f) => f.adjust({ locationId: "main", delta: 1, reason: "purchase" })));
    const cases: [string, unknown, { at?: number; delaySeconds?: number; key?: string }, { path: string; message: string | RegExp }][] = [
      ["in the past", ok, { at: now - 1000 }, { path: "at", message: /^wake time .* is not in the future$/ }],
      ["now-ish", ok, { delaySeconds: 0 }, { path: "delaySeconds", message: /at least 1/ }],
      ["a fraction of a second", ok, { delaySeconds: 1.5 }, { path: "delaySeconds", message: /whole number/ }],
      ["over a year ahead", ok, { at: now + 367 * DAY }, { path: "at", message: "wake time is more than 366 days ahead" }],
      ["over a year of delay", ok, { delaySeconds: (367 * DAY) / 1000 }, { path: "delaySeconds", message: "wake time is more than 366 days ahead" }],
      ["both times", ok, { at: now + HOUR, delaySeconds: 60 }, { path: "", message: "give exactly one of at or delaySeconds" }],
      ["no time", ok, {}, { path: "", message: "give exactly one of at or delaySeconds" }],
      ["a fraction of a millisecond", ok, { at: now + HOUR + 0.5 }, { path: "at", message: "must be whole milliseconds" }],
      ["an empty key", ok, { at: now + HOUR, key: "" }, { path: "key", message: "must be a string of 1–128 characters" }],
      ["an unknown op", { v: 1, steps: [{ op: "teleport", args: {} }] }, { at: now + HOUR }, { path: "intent.steps.0.op", message: /^unknown operation "teleport"/ }],
      ["bad arguments", { v: 1, steps: [{ op: "adjust", args: { locationId: "main", delta: 0, reason: "purchase" } }] }, { at: now + HOUR }, { path: "intent.steps.0.args.delta", message: "must not be zero" }],
      ["a nested $freeze", nested, { at: now + HOUR }, { path: "intent.steps", message: "a frozen Intent cannot itself freeze, cancel or send" }],
      ["a future law", { ...ok, nomos: { ...LATEST, version: LATEST.version + 1 } }, { at: now + HOUR }, { path: "intent", message: `Intent was built against inventory v${LATEST.version + 1}, but this Attractor holds v${LATEST.version}` }],
    ];
    for (const [label, intent, when, issue] of cases) {
      const result = await stub.freeze(intent, when);
      expect(result.ok, label).toBe(false);
      if (result.ok) continue;
      expect(result.issues.map((i) => ({ path: formatPath(i.path), message: i.message })), label).toContainEqual({ path: issue.path, message: typeof issue.message === "string" ? issue.message : expect.stringMatching(issue.message) });
    }
    expect(await pending(p)).toEqual([]);
    expect(await alarmAt(p)).toBeNull();
    expect(await observe(p)).toEqual(before);
  });

  it("an Intent whose $freeze resolves to a past time is refused whole: its reservation does not survive", async () => {
    const p = await stocked(5);
    const stub = attractor(p);
    const before = await observe(p);
    const intent = buildIntent(inventory, (s) => {
      const r = s.reserve({ locationId: "main", quantity: 2 });
      s.$freeze({ at: 1, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
    });
    const seal = refusal(await stub.sedimentation(intent));
    expect(seal.reason).toEqual({
      kind: "validation",
      message: "step 1 ($freeze): wake time 1970-01-01T00:00:00.001Z is not in the future",
      step: 1,
      op: "$freeze",
      issues: [{ code: "invalid_value", path: ["steps", 1, "args", "at"], message: "wake time 1970-01-01T00:00:00.001Z is not in the future" }],
    });
    // A Ref to an output that is not a time is refused the same way, when it resolves.
    const notATime = refusal(
      await stub.sedimentation({
        v: 1,
        steps: [
          { op: "reserve", args: { locationId: "main", quantity: 1 } },
          { op: "$freeze", args: { at: { $ref: { step: 0, output: "reservationId" } }, intent: { steps: [{ op: "release", args: { reservationId: "x" } }] } } },
        ],
      }),
    );
    expect(notATime.reason).toMatchObject({ kind: "validation", step: 1, issues: [{ code: "invalid_value", path: ["steps", 1, "args", "at"], message: "must resolve to whole milliseconds" }] });

    const after = await observe(p);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);
    expect(after.precedents.map((x) => x.precedentId)).toEqual([seal.precedentId, notATime.precedentId]);
    expect(await pending(p)).toEqual([]);
    expect(await alarmAt(p)).toBeNull();
  });

  it("a second freeze of the same Intent with the same key returns the existing entry; another Intent under that key is refused", async () => {
    const p = await stocked(5);
    const stub = attractor(p);
    const at = Date.now() + HOUR;
    const first = frozenOk(await stub.freeze(adjust("main", 1), { at, key: "restock-1" }));
    expect(first.existing).toBe(false);
    const again = await stub.freeze(adjust("main", 1), { at: at + HOUR, key: "restock-1" });
    expect(again).toEqual({ ok: true, cryoId: first.cryoId, wakeAt: at, existing: true });
    // A key names one frozen Intent: a different one under it is a conflict, not a silent no-op.
    const other = await stub.freeze(adjust("main", 2), { at: at + HOUR, key: "restock-1" });
    expect(other).toEqual({ ok: false, issues: [{ code: "invalid_value", path: ["key"], message: expect.stringContaining(`already names pending entry ${first.cryoId}`) }] });
    // As a step of an Intent: the same Intent gives the same id; another one refuses the whole Intent.
    const viaStep = success(
      await stub.sedimentation(buildIntent(inventory, (s) => void s.$freeze({ delaySeconds: 60, key: "restock-1" }, (f) => f.adjust({ locationId: "main", delta: 1, reason: "purchase" })))),
    );
    expect(viaStep.outputs).toEqual([expect.objectContaining({ cryoId: first.cryoId })]);
    const conflicting = await stub.sedimentation(
      buildIntent(inventory, (s) => {
        s.adjust({ locationId: "main", delta: 7, reason: "purchase" });
        s.$freeze({ delaySeconds: 60, key: "restock-1" }, (f) => f.adjust({ locationId: "main", delta: 3, reason: "purchase" }));
      }),
    );
    expect(conflicting).toMatchObject({ success: false, reason: { kind: "idempotency", message: expect.stringContaining("restock-1") } });
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stock("main", 5, 0)]);
    const listed = await pending(p);
    expect(listed).toEqual([expect.objectContaining({ cryoId: first.cryoId, wakeAt: at, key: "restock-1", intent: adjust("main", 1) })]);
    expect(await alarmAt(p)).toBe(at);
  });
});

describe("what a $freeze step records", () => {
  // The clock may move during a sedimentation: the entry must still carry the Intent's own time.
  it("its entry is frozen at the Seal's timestamp, so wakeAt - frozenAt is the delay asked for", async () => {
    const p = await stocked(5);
    const seal = success(
      await attractor(p).sedimentation(buildIntent(inventory, (s) => void s.$freeze({ delaySeconds: 90 }, (f) => f.adjust({ locationId: "main", delta: 1, reason: "purchase" })))),
    );
    expect(seal.outputs).toEqual([{ cryoId: expect.any(Number), wakeAt: seal.timestamp + 90_000 }]);
    expect(await pending(p)).toEqual([expect.objectContaining({ wakeAt: seal.timestamp + 90_000, frozenAt: seal.timestamp })]);
  });

  it("with a key already frozen, its outputs name the existing entry: its id and its wake time", async () => {
    const p = await stocked(5);
    const stub = attractor(p);
    const at = Date.now() + HOUR;
    const first = frozenOk(await stub.freeze(adjust("main", 1), { at, key: "restock-1" }));
    const viaStep = success(
      await stub.sedimentation(buildIntent(inventory, (s) => void s.$freeze({ delaySeconds: 60, key: "restock-1" }, (f) => f.adjust({ locationId: "main", delta: 1, reason: "purchase" })))),
    );
    expect(viaStep.outputs).toEqual([{ cryoId: first.cryoId, wakeAt: at }]);
    expect(await pending(p)).toEqual([expect.objectContaining({ cryoId: first.cryoId, wakeAt: at, intent: adjust("main", 1) })]);
  });

  it("an Intent refused after its freeze leaves nothing behind: later freezes of the same Intent are stored and wake", async () => {
    const p = await stocked(5);
    const stub = attractor(p);
    const restock = (f: { adjust(a: { locationId: string; delta: number; reason: "purchase" }): unknown }) => void f.adjust({ locationId: "main", delta: 1, reason: "purchase" });
    // The object's first freeze of this Intent, rolled back with the reservation that follows it.
    const refused = await stub.sedimentation(
      buildIntent(inventory, (s) => {
        s.$freeze({ delaySeconds: 60 }, restock);
        s.reserve({ locationId: "main", quantity: 6 });
      }),
    );
    expect(refusal(refused).reason).toMatchObject({ kind: "expectation", step: 1 });
    expect(await pending(p)).toEqual([]);
    const viaStep = success(await stub.sedimentation(buildIntent(inventory, (s) => void s.$freeze({ delaySeconds: 60 }, restock))));
    const fromCode = frozenOk(await stub.freeze(adjust("main", 1), { delaySeconds: 60 }));
    expect((await pending(p)).map((e) => e.cryoId)).toEqual([(viaStep.outputs[0] as { cryoId: number }).cryoId, fromCode.cryoId]);
    await clock(p).advance(120_000);
    expect(await pending(p)).toEqual([]);
    expect((await api("GET", `/api/products/${p}`)).body.locations).toEqual([stock("main", 7, 0)]);
  });
});

describe("HTTP", () => {
  it("GET /api/products/:id/cryostasis lists pending entries in wake order, with a validated limit", async () => {
    const p = await stocked(5);
    const later = (await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1, ttlSeconds: 1200 })).body.reservation;
    const sooner = (await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1, ttlSeconds: 600 })).body.reservation;
    const all = await api("GET", `/api/products/${p}/cryostasis`);
    expect(all.status).toBe(200);
    expect(all.body.pending.map((e: { key: string; wakeAt: number }) => [e.key, e.wakeAt])).toEqual([
      [sooner.id, sooner.expiresAt],
      [later.id, later.expiresAt],
    ]);
    for (const entry of all.body.pending) {
      expect(Object.keys(entry).sort()).toEqual(["attempts", "cryoId", "frozenAt", "intent", "key", "lastError", "nomosVersion", "sieveHash", "wakeAt"]);
    }
    // Paging: a full page carries the cursor of its last entry; following it reaches every entry once.
    const first = (await api("GET", `/api/products/${p}/cryostasis?limit=1`)).body;
    expect(first).toEqual({ pending: [all.body.pending[0]], next: `${sooner.expiresAt}-${all.body.pending[0].cryoId}` });
    const second = (await api("GET", `/api/products/${p}/cryostasis?limit=1&after=${first.next}`)).body;
    expect(second.pending).toEqual([all.body.pending[1]]);
    expect((await api("GET", `/api/products/${p}/cryostasis?limit=1&after=${second.next}`)).body).toEqual({ pending: [] });
    expect((await api("GET", `/api/products/${p}/cryostasis?limit=1000`)).body).toEqual(all.body);
    for (const [query, path] of [["limit=0", "limit"], ["limit=1001", "limit"], ["limit=abc", "limit"], ["limit=1.5", "limit"], ["after=3", "after"], ["after=1-x", "after"]]) {
      const res = await api("GET", `/api/products/${p}/cryostasis?${query}`);
      expectError(res, 400, "invalid_input");
      expect(res.body.error.issues.map((i: { path: string }) => i.path), query).toContain(path);
    }
    expectError(await api("GET", `/api/products/${p}/cryostasis`, undefined, { Authorization: "Bearer nope" }), 401, "unauthorized");
    expectError(await api("GET", `/api/products/bad%20id/cryostasis`), 400, "invalid_input");
    expect((await api("GET", `/api/products/${freshProduct()}/cryostasis`)).body).toEqual({ pending: [] });
  });

  it("the reservation route's Intent in the log reserves and freezes the release in one step list", async () => {
    const p = await stocked(5);
    const res = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 2, orderId: "o-7" });
    expect(res.status).toBe(201);
    const { sediments } = (await api("GET", `/api/products/${p}/sediments?after=1`)).body;
    expect(sediments[0].intent).toEqual(
      buildIntent(inventory, (s) => {
        const r = s.reserve({ locationId: "main", quantity: 2, orderId: "o-7" });
        s.$freeze({ at: r.expiresAt, key: r.reservationId }, (f) => f.release({ reservationId: r.reservationId }));
      }),
    );
    expect(sediments[0].intent.steps[1]).toEqual({
      op: "$freeze",
      args: { at: { $ref: { step: 0, output: "expiresAt" } }, key: { $ref: { step: 0, output: "reservationId" } }, intent: { steps: [{ op: "release", args: { reservationId: { $ref: { step: 0, output: "reservationId" } } } }] } },
    });
    expect(sediments[0].outputs[1]).toEqual({ cryoId: expect.any(Number), wakeAt: res.body.reservation.expiresAt });
  });

  it("GET precedents?kind=cryostasis lists the frozen Intents that were given up", async () => {
    const p = await stocked(1);
    frozenOk(await attractor(p).freeze(adjust("main", 2), { at: Date.now() + HOUR }));
    // The movements table is gone for good: every attempt fails unexpectedly.
    await runInDurableObject(attractor(p), (_, state) => void state.storage.sql.exec("ALTER TABLE movements RENAME TO movements_away"));
    for (let run = 0; (await pending(p)).length > 0; run++) {
      if (run > 2 * MAX_WAKE_ATTEMPTS) throw new Error("the entry was never given up");
      await makeDue(p);
      await runDurableObjectAlarm(attractor(p));
    }
    const res = await api("GET", `/api/products/${p}/precedents?kind=cryostasis`);
    expect(res.status).toBe(200);
    expect(res.body.precedents).toEqual([
      expect.objectContaining({
        intent: adjust("main", 2),
        reason: { kind: "cryostasis", message: expect.stringMatching(new RegExp(`^gave up after ${MAX_WAKE_ATTEMPTS} attempts: .*no such table: movements`)) },
      }),
    ]);
    expect((await api("GET", `/api/products/${p}/precedents?kind=expectation`)).body).toEqual({ precedents: [] });
  });
});
