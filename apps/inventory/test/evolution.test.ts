import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { testWorld } from "@noema/cloudflare/testing";
import { buildIntent, type Intent, type NomosStamp, type Seal, type Vocabulary } from "@noema/core";
import { operationHash, sedimentHash } from "@noema/core/runtime";
import { describe, expect, it, vi } from "vitest";
import { inventory, inventoryV1, inventoryV2 } from "../src/vocabulary.js";
import { api, attractor, expectError, freshProduct, type InventoryNamespace, observe, refusal, success } from "./helpers.js";
import { CAPACITY, CRITICAL_REASON, DAY, inventoryV3 } from "./laws.js";

const stamp = (v: Vocabulary): NomosStamp => ({ name: v.nomos.name, version: v.nomos.version, hash: v.nomos.hash });
const V1 = stamp(inventoryV1);
const V2 = stamp(inventoryV2);
const V3 = stamp(inventoryV3);
/** The shipped law today (v3); V3 above is the test-only capacity law of laws.ts. */
const LATEST = stamp(inventory);

/** Intents as a client built them against v1, the law before sales channels. */
const v1 = {
  setStock: (locationId: string, quantity: number) => buildIntent(inventoryV1, (s) => void s.setStock({ locationId, quantity })),
  adjust: (locationId: string, delta: number) => buildIntent(inventoryV1, (s) => void s.adjust({ locationId, delta, reason: "purchase" })),
  reserve: (locationId: string, quantity: number, options: { orderId?: string; idempotencyKey?: string } = {}) =>
    buildIntent(inventoryV1, (s) => void s.reserve({ locationId, quantity, ...(options.orderId ? { orderId: options.orderId } : {}) }), options),
  release: (reservationId: string) => buildIntent(inventoryV1, (s) => void s.release({ reservationId })),
  commit: (reservationId: string) => buildIntent(inventoryV1, (s) => void s.commit({ reservationId })),
};

const v2 = {
  setStock: (locationId: string, quantity: number) => buildIntent(inventoryV2, (s) => void s.setStock({ locationId, quantity })),
  reserve: (locationId: string, quantity: number, channel: "direct" | "web" | "marketplace" | "store" = "web") =>
    buildIntent(inventoryV2, (s) => void s.reserve({ locationId, quantity, channel })),
  release: (reservationId: string) => buildIntent(inventoryV2, (s) => void s.release({ reservationId })),
};


const reservationIdOf = (seal: Seal) => (success(seal).outputs[0] as { reservationId: string }).reservationId;

/** A product whose Attractor starts on `version` of its law (set up before anything touches it). */
const startOn = (namespace: InventoryNamespace, productId: string, version: number) => testWorld(namespace, productId, { version });

/**
 * The deployment that ships `version`: the Attractor restarts, and the next request constructs a
 * new instance, as the first request after a deployment would, which migrates on that wake.
 */
const wakeOn = (namespace: InventoryNamespace, productId: string, version: number) => testWorld(namespace, productId).upgrade(version);

/** Sends the next request after an eviction, so the Attractor wakes again without a new pin. */
const evict = (namespace: InventoryNamespace, productId: string) => evictDurableObject(attractor(productId, namespace));

const sql = (namespace: InventoryNamespace, productId: string, query: string) => testWorld(namespace, productId).query(query);

/** A product on v1 with stock at "a" and two active reservations, one of them with an order. */
async function seededOnV1(namespace: InventoryNamespace, label: string) {
  const p = freshProduct(label);
  startOn(namespace, p, 1);
  const stub = attractor(p, namespace);
  success(await stub.sedimentation(v1.setStock("a", 10)));
  const held = reservationIdOf(await stub.sedimentation(v1.reserve("a", 3, { orderId: "o-1" })));
  const other = reservationIdOf(await stub.sedimentation(v1.reserve("a", 2)));
  expect((await stub.nomos()).held).toMatchObject(V1);
  return { p, held, other };
}

describe("waking a v1 Attractor under v2", () => {
  it("migrates once, keeps the log and its Worlds, and carries v1 Intents: Flat as they are, Curved reforged", async () => {
    const ns = env.INVENTORY_ATTRACTOR;
    const p = freshProduct("upgrade");
    startOn(ns, p, 1);
    const stub = () => attractor(p, ns);

    // ---- Under v1 ----
    success(await stub().sedimentation(v1.setStock("a", 10)));
    const held = reservationIdOf(await stub().sedimentation(v1.reserve("a", 3, { orderId: "o-1" })));
    const toCommit = reservationIdOf(await stub().sedimentation(v1.reserve("a", 2)));
    const keyed = v1.reserve("a", 1, { idempotencyKey: "checkout-v1" });
    const keyedSeal = success(await stub().sedimentation(keyed));
    // Code that knows only v1 cannot run a v2 Intent.
    const early = refusal(await stub().sedimentation(v2.reserve("a", 1)));
    expect(early.reason).toMatchObject({ kind: "nomos", message: "Intent was built against inventory v2, but this Attractor holds v1" });

    const onV1 = await stub().nomos();
    expect(onV1).toEqual({ held: { ...V1, appliedAt: expect.any(Number) }, latest: V1, history: [onV1.held] });
    expect((await sql(ns, p, "PRAGMA table_info(reservations)")).map((c) => c.name)).not.toContain("channel");
    const before = await observe(p, ns);
    expect(before.sediments.map((s) => s.world)).toEqual(Array(4).fill({ attractor: "InventoryAttractor", name: p, nomosVersion: 1, nomosHash: V1.hash }));
    expect(before.snapshot?.reservations.map((r) => r.channel)).toEqual([undefined, undefined, undefined]);
    // Frozen under v1, sent after the upgrade.
    const frozen = { release: v1.release(held), commit: v1.commit(toCommit), reserve: v1.reserve("a", 4), setStock: v1.setStock("b", 6) };

    // ---- The deployment that ships v2 ----
    await wakeOn(ns, p, 2);
    const onV2 = await stub().nomos();
    expect(onV2).toEqual({ held: { ...V2, appliedAt: expect.any(Number) }, latest: V2, history: [onV1.held, onV2.held] });
    expect(onV2.held.appliedAt).toBeGreaterThanOrEqual(onV1.held.appliedAt);

    // Existing reservations were filled in as direct; the new table is there, empty.
    expect(await sql(ns, p, "SELECT id, quantity, status, order_id, channel FROM reservations ORDER BY created_at, id")).toEqual([
      { id: held, quantity: 3, status: "active", order_id: "o-1", channel: "direct" },
      { id: toCommit, quantity: 2, status: "active", order_id: null, channel: "direct" },
      { id: reservationIdOf(keyedSeal), quantity: 1, status: "active", order_id: null, channel: "direct" },
    ]);
    expect(await sql(ns, p, "SELECT * FROM channel_sync")).toEqual([]);
    const upgraded = await observe(p, ns);
    expect(upgraded.snapshot).toEqual({
      ...before.snapshot,
      reservations: before.snapshot!.reservations.map((r) => ({ ...r, channel: "direct" })),
      nomos: { version: 2, hash: V2.hash },
    });
    // The log is untouched: every entry keeps the World it was sealed under.
    expect(upgraded.sediments).toEqual(before.sediments);
    expect(upgraded.verify).toEqual(before.verify);
    expect(upgraded.precedents).toEqual(before.precedents);

    // ---- v1 Intents after the upgrade ----
    const worldV2 = { attractor: "InventoryAttractor", name: p, nomosVersion: 2, nomosHash: V2.hash };
    const flatStep = { from: 1, to: 2, connection: "Flat", phase: "grace", reforged: false };
    for (const [op, intent] of [["release", frozen.release], ["commit", frozen.commit], ["setStock", frozen.setStock]] as const) {
      const seal = success(await stub().sedimentation(intent));
      expect(seal.world, op).toEqual(worldV2);
      // Flat: the Intent ran as it was sent; only its stamp says v2 now, so the origin need not repeat it.
      expect(seal.origin, op).toEqual({ nomos: V1, reforged: false, steps: [flatStep] });
      const [entry] = (await stub().sediments(seal.sedimentId - 1, 1)).sediments;
      expect(entry!.intent, op).toEqual({ ...intent, nomos: V2 });
    }
    const reforged = success(await stub().sedimentation(frozen.reserve));
    expect(reforged.world).toEqual(worldV2);
    expect(reforged.origin).toEqual({ nomos: V1, intent: frozen.reserve, reforged: true, steps: [{ ...flatStep, connection: "Curved", reforged: true }] });
    expect(reforged.outputs[0]).toMatchObject({ locationId: "a", quantity: 4, channel: "direct" });

    // The log stores the Intent that ran (v2, with its channel) and where it came from.
    const { sediments } = await stub().sediments(before.sediments.length, 100);
    const stored = sediments.at(-1)!;
    expect(stored.intent).toEqual({ ...frozen.reserve, nomos: V2, steps: [{ op: "reserve", args: { ...frozen.reserve.steps[0]!.args, channel: "direct" } }] });
    expect(stored.origin).toEqual(reforged.origin);
    // A v1 Intent sealed before the upgrade still answers its idempotency key with its original Seal,
    // and so do v1 Intents carried after it, Flat or reforged.
    expect(await stub().sedimentation(keyed)).toEqual(keyedSeal);
    const keyedFlat = buildIntent(inventoryV1, (s) => void s.adjust({ locationId: "c", delta: 1, reason: "return" }), { idempotencyKey: "return-v1" });
    const keyedCurved = v1.reserve("c", 1, { idempotencyKey: "checkout-after" });
    const carriedSeals = [success(await stub().sedimentation(keyedFlat)), success(await stub().sedimentation(keyedCurved))];
    expect(carriedSeals.map((x) => x.origin?.reforged)).toEqual([false, true]);
    expect([await stub().sedimentation(keyedFlat), await stub().sedimentation(keyedCurved)]).toEqual(carriedSeals);

    // v2 Intents run without an origin.
    const native = success(await stub().sedimentation(v2.reserve("b", 1, "marketplace")));
    expect(native).not.toHaveProperty("origin");
    expect(native.outputs[0]).toMatchObject({ channel: "marketplace" });

    // ---- The chain verifies across versions ----
    const after = await observe(p, ns);
    expect(after.sediments.map((s) => s.world.nomosVersion)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]);
    expect(after.sediments.map((s) => s.sedimentId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    after.sediments.forEach((s, i) => {
      const { hash, ...entry } = s;
      expect(sedimentHash(entry)).toBe(hash);
      if (i > 0) expect(s.prevHash).toBe(after.sediments[i - 1]!.hash);
    });
    expect(after.verify).toEqual({ ok: true, length: 11, head: native.hash, verifiedThrough: 11, checkpoint: null });
    expect(after.snapshot?.locations).toEqual([
      { locationId: "a", quantity: 8, reserved: 5, available: 3 },
      { locationId: "b", quantity: 6, reserved: 1, available: 5 },
      { locationId: "c", quantity: 1, reserved: 1, available: 0 },
    ]);

    // ---- Waking again: the migration does not run twice ----
    await evict(ns, p);
    expect(await stub().nomos()).toEqual(onV2);
    expect(await observe(p, ns)).toEqual(after);
  });
});

describe("a Critical evolution", () => {
  it("refuses every v1 Intent, Flat ones too, with a Precedent carrying the Connection report", async () => {
    const ns = env.CRITICAL_ATTRACTOR;
    const { p, held } = await seededOnV1(ns, "critical");
    const frozen = [v1.setStock("a", 4), v1.release(held), v1.reserve("a", 1)];
    await wakeOn(ns, p, 2);
    const stub = attractor(p, ns);
    expect((await stub.nomos()).held).toMatchObject(V2);
    const before = await observe(p, ns);

    const seals: Extract<Seal, { success: false }>[] = [];
    for (const intent of frozen) {
      const seal = refusal(await stub.sedimentation(intent));
      expect(seal.world.nomosVersion).toBe(2);
      expect(seal.reason.kind).toBe("connection");
      expect(seal.reason.message).toBe(`inventory v2 stops Intents of v1 at once: ${CRITICAL_REASON}`);
      expect(seal.reason.connection).toMatchObject({ type: "Critical", from: V1, to: V2 });
      expect(seal.reason.connection!.changes).toContainEqual({ element: "nomos", kind: "critical", detail: CRITICAL_REASON, effect: "Critical", affects: [], relevant: true });
      seals.push(seal);
    }
    const after = await observe(p, ns);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);

    const { precedents: recorded } = await stub.precedents({ kind: "connection", nomosVersion: 2 });
    expect(recorded).toEqual(
      frozen.map((intent, i) => ({ precedentId: seals[i]!.precedentId, intent, reason: seals[i]!.reason, nomosVersion: 2, nomosHash: V2.hash, timestamp: seals[i]!.timestamp })),
    );
    expect(await stub.precedents({ kind: "connection", nomosVersion: 1 })).toEqual({ precedents: [] });
    expect(await stub.precedents({ kind: "nomos" })).toEqual({ precedents: [] });

    // Intents of the new law run.
    expect(success(await stub.sedimentation(v2.release(held))).outputs).toEqual([{ locationId: "a", quantity: 10, reserved: 2, available: 8 }]);
  });
});

describe("an evolution without a reforge", () => {
  it("refuses Curved v1 Intents with the Connection report, and runs Flat ones", async () => {
    const ns = env.NO_REFORGE_ATTRACTOR;
    const { p, held } = await seededOnV1(ns, "noreforge");
    await wakeOn(ns, p, 2);
    const stub = attractor(p, ns);
    const before = await observe(p, ns);

    const reserve = v1.reserve("a", 1);
    const refused = refusal(await stub.sedimentation(reserve));
    expect(refused.reason.kind).toBe("connection");
    expect(refused.reason.message).toBe("inventory v2 changed what this Intent touches and registers no reforge for v1");
    expect(refused.reason.connection?.type).toBe("Curved");
    // The changes that made it Curved are the ones its Sieve holds; the new table is beside it.
    expect(refused.reason.connection!.changes.filter((c) => c.relevant).map((c) => c.element)).toEqual(["column:reservations.channel", "op:reserve"]);
    expect(refused.reason.connection!.changes.find((c) => c.element === "table:channel_sync")).toMatchObject({ effect: "Flat", relevant: false });
    const after = await observe(p, ns);
    expect(after.snapshot).toEqual(before.snapshot);
    expect(after.sediments).toEqual(before.sediments);
    expect((await stub.precedents({ kind: "connection", nomosVersion: 2 })).precedents).toEqual([expect.objectContaining({ precedentId: refused.precedentId, intent: reserve, reason: refused.reason })]);

    const released = success(await stub.sedimentation(v1.release(held)));
    expect(released.origin).toMatchObject({ nomos: V1, reforged: false, steps: [{ connection: "Flat" }] });
  });
});

describe("supplementary provisions: v1 Intents before, during and after the grace period", () => {
  type Outcome = "runs" | "reforged" | { refused: string };
  const cases: { when: string; namespace: () => InventoryNamespace; phase: string; curved: Outcome; flat: Outcome }[] = [
    { when: "before v2 takes effect", namespace: () => env.BEFORE_GRACE_ATTRACTOR, phase: "before", curved: "reforged", flat: "runs" },
    { when: "during the grace period", namespace: () => env.DURING_GRACE_ATTRACTOR, phase: "grace", curved: "reforged", flat: "runs" },
    {
      when: "after the grace period (refuse-curved)",
      namespace: () => env.AFTER_GRACE_ATTRACTOR,
      phase: "after",
      curved: { refused: "inventory v2 changed what this Intent touches and no longer reforges Intents of v1 (after its grace period)" },
      flat: "runs",
    },
    {
      when: "after the grace period (refuse-all)",
      namespace: () => env.REFUSE_ALL_ATTRACTOR,
      phase: "after",
      curved: { refused: "inventory v2 no longer accepts Intents of v1 (after its grace period)" },
      flat: { refused: "inventory v2 no longer accepts Intents of v1 (after its grace period)" },
    },
  ];

  for (const c of cases) {
    it(`${c.when}: a Curved reserve is ${typeof c.curved === "string" ? c.curved : "refused"}, a Flat release ${typeof c.flat === "string" ? c.flat : "is refused"}`, async () => {
      const ns = c.namespace();
      const { p, held } = await seededOnV1(ns, "grace");
      await wakeOn(ns, p, 2);
      const stub = attractor(p, ns);

      const expectOutcome = async (intent: Intent, outcome: Outcome, connection: "Flat" | "Curved") => {
        const before = await observe(p, ns);
        const seal = await stub.sedimentation(intent);
        if (typeof outcome === "string") {
          const ran = success(seal);
          const reforged = outcome === "reforged";
          expect(ran.origin).toEqual({
            nomos: V1,
            reforged,
            steps: [{ from: 1, to: 2, connection, phase: c.phase, reforged }],
            ...(reforged ? { intent } : {}),
          });
          return ran;
        }
        const refused = refusal(seal);
        expect(refused.reason).toMatchObject({ kind: "connection", message: outcome.refused, connection: { type: connection } });
        const after = await observe(p, ns);
        expect(after.snapshot).toEqual(before.snapshot);
        expect(after.sediments).toEqual(before.sediments);
        expect(after.precedents.at(-1)).toMatchObject({ precedentId: refused.precedentId, intent, nomosVersion: 2 });
        return undefined;
      };

      const reserved = await expectOutcome(v1.reserve("a", 4), c.curved, "Curved");
      // Sealed, with v2's default channel, exactly when the phase runs Curved Intents.
      expect(reserved?.outputs[0]).toEqual(typeof c.curved === "string" ? expect.objectContaining({ quantity: 4, channel: "direct" }) : undefined);
      await expectOutcome(v1.release(held), c.flat, "Flat");
      // Whatever the provisions say about v1, Intents of v2 run.
      success(await stub.sedimentation(v2.reserve("a", 1)));
      expect((await observe(p, ns)).verify).toMatchObject({ ok: true });
    });
  }

  it("the shipped law refuses v1 reserves 30 days after an Attractor's upgrade; GET precedents filters them by kind and version", async () => {
    const p = freshProduct("month");
    const world = testWorld(env.INVENTORY_ATTRACTOR, p);
    // Nothing stocked yet: reforged, then refused by the operation itself.
    const unstocked = await api("POST", `/api/products/${p}/intents`, v1.reserve("main", 1));
    expectError(unstocked, 404, "not_found");
    expect(unstocked.body.seal.reason.kind).toBe("not_found");
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 5 })).status).toBe(200);
    const inGrace = await api("POST", `/api/products/${p}/intents`, v1.reserve("main", 1));
    expect(inGrace.status).toBe(200);
    expect(inGrace.body.origin).toMatchObject({ reforged: true, steps: [{ phase: "grace" }, { phase: "grace" }] });

    // 31 days pass (each Attractor's grace period counts from its own upgrade).
    await world.advance(31 * DAY);
    const late = await api("POST", `/api/products/${p}/intents`, v1.reserve("main", 1));
    expectError(late, 409, "refused");
    expect(late.body.seal.reason).toMatchObject({ kind: "connection", connection: { type: "Curved" } });
    expect(late.body.error.message).toBe("inventory v2 changed what this Intent touches and no longer reforges Intents of v1 (after its grace period)");
    const flat = await api("POST", `/api/products/${p}/intents`, v1.setStock("main", 6));
    expect(flat.status).toBe(200);
    // v3 sets no grace period: its step stays in grace.
    expect(flat.body.origin).toMatchObject({ reforged: false, steps: [{ connection: "Flat", phase: "after" }, { connection: "Flat", phase: "grace" }] });

    const connection = await api("GET", `/api/products/${p}/precedents?kind=connection&nomosVersion=${LATEST.version}`);
    expect(connection.status).toBe(200);
    expect(connection.body.precedents).toEqual([
      { precedentId: late.body.seal.precedentId, intent: v1.reserve("main", 1), reason: late.body.seal.reason, nomosVersion: LATEST.version, nomosHash: LATEST.hash, timestamp: late.body.seal.timestamp },
    ]);
    expect((await api("GET", `/api/products/${p}/precedents?kind=connection&nomosVersion=1`)).body).toEqual({ precedents: [] });
    const all = (await api("GET", `/api/products/${p}/precedents`)).body.precedents;
    expect(all.map((x: { reason: { kind: string } }) => x.reason.kind)).toEqual(["not_found", "connection"]);
    expect((await api("GET", `/api/products/${p}/precedents?kind=not_found`)).body.precedents).toEqual([all[0]]);
  });
});

describe("a failing migration", () => {
  it("leaves v2 fully intact and reports the error; the next wake after a fix retries and succeeds, once", async () => {
    const ns = env.CAPACITY_ATTRACTOR;
    const p = freshProduct("capacity");
    startOn(ns, p, 2);
    const stub = () => attractor(p, ns);
    // Starts on v2; one location holds more than v3 will allow.
    success(await stub().sedimentation(v2.setStock("a", CAPACITY + 500)));
    success(await stub().sedimentation(v2.setStock("b", 10)));
    const held = reservationIdOf(await stub().sedimentation(v2.reserve("b", 2)));
    const onV2 = await stub().nomos();
    expect(onV2).toEqual({ held: { ...V2, appliedAt: expect.any(Number) }, latest: V2, history: [onV2.held] });
    const schema = () => sql(ns, p, "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name");
    const schemaV2 = await schema();
    const before = await observe(p, ns);

    // The failure is logged where an operator sees it, on every wake that meets it.
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    await wakeOn(ns, p, 3);
    const failed = await stub().nomos();
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/^noema: CapacityAttractor inventory v3: CHECK constraint failed/));
    expect(failed).toEqual({
      held: onV2.held,
      latest: V3,
      history: onV2.history,
      migrationError: { version: 3, message: expect.stringMatching(/CHECK constraint failed/), at: expect.any(Number) },
    });
    // Rolled back whole: schema, data and log as they were.
    expect(await schema()).toEqual(schemaV2);
    expect(await observe(p, ns)).toEqual(before);

    // It keeps serving v2; v3 Intents wait for the migration, and say why.
    const v3SetStock = (quantity: number) => buildIntent(inventoryV3, (s) => void s.setStock({ locationId: "b", quantity }));
    const early = refusal(await stub().sedimentation(v3SetStock(20)));
    expect(early.reason.kind).toBe("nomos");
    expect(early.reason.message).toMatch(/^Intent was built against inventory v3, but this Attractor holds v2 \(migration to v3 failed: .*CHECK constraint failed/);
    const onOldLaw = success(await stub().sedimentation(v2.release(held)));
    expect(onOldLaw.world.nomosVersion).toBe(2);
    expect(onOldLaw).not.toHaveProperty("origin");

    // Another wake without a fix fails the same way and changes nothing.
    await evict(ns, p);
    expect(await stub().nomos()).toMatchObject({ held: onV2.held, history: onV2.history, migrationError: { version: 3 } });

    expect(logged).toHaveBeenCalledTimes(2);
    logged.mockRestore();

    // The operator brings the data within the new law; the next wake migrates.
    await runInDurableObject(attractor(p, ns), (_, state) => state.storage.sql.exec(`UPDATE stock SET quantity = ${CAPACITY} WHERE location_id = 'a'`));
    await evict(ns, p);
    const onV3 = await stub().nomos();
    expect(onV3).toEqual({ held: { ...V3, appliedAt: expect.any(Number) }, latest: V3, history: [onV2.held, onV3.held] });
    expect((await schema()).find((t) => t.name === "stock")?.sql).toContain(`quantity <= ${CAPACITY}`);

    // v3 Intents run and the new CHECK holds; v2 Intents are carried.
    const over = refusal(await stub().sedimentation(v3SetStock(CAPACITY + 1)));
    expect(over.reason).toMatchObject({ kind: "constraint", message: `a location holds between 0 and ${CAPACITY} units` });
    expect(success(await stub().sedimentation(v3SetStock(20))).world.nomosVersion).toBe(3);
    const carried = success(await stub().sedimentation(v2.setStock("b", 30)));
    expect(carried.origin).toMatchObject({ nomos: V2, steps: [{ from: 2, to: 3, connection: "Curved" }] });
    expect((await observe(p, ns)).verify).toMatchObject({ ok: true, length: 6 });

    // The migration never runs twice.
    await evict(ns, p);
    expect(await stub().nomos()).toEqual(onV3);
  });
});

describe("upgrade under load", () => {
  it("50 Intents of v1 and v2 sent as the Attractor wakes on v2: all sealed, gapless, migrated once", async () => {
    const ns = env.INVENTORY_ATTRACTOR;
    const p = freshProduct("load");
    startOn(ns, p, 1);
    success(await attractor(p, ns).sedimentation(v1.setStock("a", 100)));
    const onV1 = await attractor(p, ns).nomos();
    await wakeOn(ns, p, 2);

    // Each kind a quarter: Flat and Curved v1 Intents, and native v2 ones, all within the stock.
    const kinds = [() => v1.adjust("a", 1), () => v1.reserve("a", 1), () => v2.reserve("a", 1, "web"), () => v2.setStock("b", 1)];
    const sent = Array.from({ length: 50 }, (_, i) => kinds[i % kinds.length]!());
    const seals = await Promise.all(sent.map((intent) => attractor(p, ns).sedimentation(intent)));

    const sealed = seals.map(success);
    expect(sealed.map((s) => s.sedimentId).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    // v1 adjusts ran as they were, v1 reserves were reforged, v2 Intents needed neither.
    const reforged = [false, true, undefined, undefined];
    for (const [i, seal] of sealed.entries()) {
      expect(seal.world.nomosVersion).toBe(2);
      expect(seal.origin?.reforged).toBe(reforged[i % 4]);
    }

    const report = await attractor(p, ns).nomos();
    expect(report.history.map((h) => h.version)).toEqual([1, 2]);
    expect(report.history[0]).toEqual(onV1.held);
    const { snapshot, sediments, precedents, verify } = await observe(p, ns);
    expect(precedents).toEqual([]);
    expect(verify).toEqual({ ok: true, length: 51, head: sediments[50]!.hash, verifiedThrough: 51, checkpoint: null });
    const adjusts = sent.filter((_, i) => i % 4 === 0).length;
    const reserves = sent.filter((_, i) => i % 4 === 1 || i % 4 === 2).length;
    expect(snapshot?.locations).toEqual([
      { locationId: "a", quantity: 100 + adjusts, reserved: reserves, available: 100 + adjusts - reserves },
      { locationId: "b", quantity: 1, reserved: 0, available: 1 },
    ]);
    const channels = snapshot!.reservations.map((r) => r.channel);
    expect(channels.filter((c) => c === "direct")).toHaveLength(sent.filter((_, i) => i % 4 === 1).length);
    expect(channels.filter((c) => c === "web")).toHaveLength(sent.filter((_, i) => i % 4 === 2).length);
  });
});

describe("HTTP: the law and its evolution", () => {
  it("GET /api/nomos: the current version, its hash, per-element and per-operation hashes, and every version", async () => {
    const res = await api("GET", "/api/nomos");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "inventory", version: LATEST.version, hash: LATEST.hash, elements: inventory.nomos.elements });
    expect(Object.keys(res.body.elements)).toEqual(expect.arrayContaining(["table:channel_sync", "column:reservations.channel", "invariant:reserved_matches_active_reservations"]));
    for (const hash of Object.values(res.body.elements)) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    // What v2 left alone hashes as it did in v1; what it changed does not.
    expect(res.body.elements["column:stock.quantity"]).toBe(inventoryV1.nomos.elements["column:stock.quantity"]);
    expect(res.body.elements["shape:reservations"]).not.toBe(inventoryV1.nomos.elements["shape:reservations"]);
    // v3 scoped the invariant: what it asserts, its element, is the same; the law's hash is not.
    expect(res.body.elements["invariant:reserved_matches_active_reservations"]).toBe(inventoryV2.nomos.elements["invariant:reserved_matches_active_reservations"]);
    expect(res.body.hash).not.toBe(V2.hash);
    expect(Object.keys(res.body.operations)).toEqual(Object.keys(inventory.operations));
    // Each operation says what it does and what it takes and gives, as JSON Schema.
    for (const [name, op] of Object.entries(inventory.operations)) {
      expect(res.body.operations[name], name).toEqual({ description: op.description, hash: operationHash(op), args: expect.any(Object), output: expect.any(Object) });
    }
    const { reserve } = res.body.operations;
    expect(reserve.description).toBe("Holds units at a location for a sales channel until expiry, commit or release; the caller may name the reservation.");
    expect(reserve.args).toMatchObject({ type: "object", properties: { locationId: { type: "string" }, quantity: { type: "integer" }, ttlSeconds: { default: 900, maximum: 86_400 } } });
    // As a client sends them: defaulted arguments may be left out.
    expect([...reserve.args.required].sort()).toEqual(["locationId", "quantity"]);
    expect(reserve.args.properties.channel.enum).toEqual(["direct", "web", "marketplace", "store"]);
    expect(reserve.output).toMatchObject({ type: "object", properties: { reservationId: { type: "string" }, expiresAt: { type: "number" } } });
    expect(res.body.versions).toEqual([
      { version: 1, hash: V1.hash },
      { version: 2, hash: V2.hash, migration: expect.arrayContaining([expect.stringContaining("channel_sync")]), reforge: true, provisions: { gracePeriod: 30 * DAY, afterGrace: "refuse-curved" } },
      { version: 3, hash: LATEST.hash, migration: [expect.stringContaining("reservations_by_status_created")], reforge: true, provisions: {} },
    ]);
  });

  it("POST /api/connection: Curved for the whole schema, with every change; per Intent, Flat for a release and Curved for a reserve", async () => {
    const whole = await api("POST", "/api/connection", { from: 1, to: 2 });
    expect(whole.status).toBe(200);
    expect(whole.body).toMatchObject({ type: "Curved", from: 1, to: 2, steps: [{ type: "Curved", from: V1, to: V2 }] });
    const kinds = whole.body.steps[0].changes.map((c: { element: string; kind: string; effect: string }) => `${c.element} ${c.kind} ${c.effect}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "column:reservations.channel column_added Curved",
        "table:channel_sync table_added Flat",
        "op:reserve operation_changed Curved",
        "op:recordChannelSync operation_added Flat",
      ]),
    );
    // `to` defaults to the current version.
    const toLatest = await api("POST", "/api/connection", { from: 2 });
    expect(toLatest.body).toEqual((await api("POST", "/api/connection", { from: 2, to: 3 })).body);
    expect((await api("POST", "/api/connection", { from: 2, to: 2 })).body).toEqual({ type: "Flat", from: 2, to: 2, steps: [] });
    // v2 → v3: only reserve changed (an optional argument); the invariant's new scope and the index are Flat.
    expect(toLatest.body).toMatchObject({ type: "Curved", from: 2, to: 3, steps: [{ type: "Curved", from: V2, to: LATEST }] });
    expect(toLatest.body.steps[0].changes.map((c: { element: string; kind: string; effect: string }) => `${c.element} ${c.kind} ${c.effect}`).sort()).toEqual([
      "invariant:reserved_matches_active_reservations invariant_scoped Flat",
      "op:cancelHold operation_added Flat",
      "op:reserve operation_changed Curved",
      "table:reservations index_added Flat",
    ]);
    const v2Release = await api("POST", "/api/connection", { from: 2, intent: v2.release("r-1-0") });
    expect(v2Release.body.type).toBe("Flat");

    const release = await api("POST", "/api/connection", { from: 1, intent: { v: 1, steps: [{ op: "release", args: { reservationId: "r-1-0" } }] } });
    expect(release.status).toBe(200);
    expect(release.body.type).toBe("Flat");
    expect(release.body.steps[0].changes.filter((c: { relevant: boolean }) => c.relevant)).toEqual([]);
    const reserve = await api("POST", "/api/connection", { from: 1, intent: v1.reserve("main", 1) });
    expect(reserve.body.type).toBe("Curved");
    expect(reserve.body.steps[0].changes.filter((c: { relevant: boolean }) => c.relevant).map((c: { element: string }) => c.element)).toEqual([
      "column:reservations.channel",
      "op:reserve",
    ]);
  });

  it("GET /api/products/:id/nomos: the law the product's Attractor holds and its history", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 1 })).status).toBe(200);
    const res = await api("GET", `/api/products/${p}/nomos`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ held: { ...LATEST, appliedAt: expect.any(Number) }, latest: LATEST, history: [res.body.held] });
  });

  it("POST /intents with a v1 Intent: 200 with the Seal's origin; POST /api/explain shows it carried", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 5 })).status).toBe(200);
    const intent = v1.reserve("main", 2, { orderId: "o-9" });
    const res = await api("POST", `/api/products/${p}/intents`, intent);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, world: { nomosVersion: LATEST.version }, outputs: [{ quantity: 2, orderId: "o-9", channel: "direct" }] });
    expect(res.body.origin).toEqual({
      nomos: V1,
      intent,
      reforged: true,
      steps: [
        { from: 1, to: 2, connection: "Curved", phase: "grace", reforged: true },
        { from: 2, to: 3, connection: "Curved", phase: "grace", reforged: true },
      ],
    });
    expect((await api("GET", `/api/products/${p}`)).body.reservations).toEqual([expect.objectContaining({ orderId: "o-9", channel: "direct" })]);

    const explained = await api("POST", "/api/explain", intent);
    expect(explained.status).toBe(200);
    expect(explained.body.carried).toEqual({ from: 1, reforged: true });
    expect(explained.body.steps[0].statements[1].params.at(-1)).toBe("direct");
    const flat = await api("POST", "/api/explain", v1.release("r-1-0"));
    expect(flat.body.carried).toEqual({ from: 1, reforged: false });
    expect((await api("POST", "/api/explain", v2.release("r-1-0"))).body.carried).toEqual({ from: 2, reforged: false });
    const current = buildIntent(inventory, (s) => void s.release({ reservationId: "r-1-0" }));
    expect((await api("POST", "/api/explain", current)).body).not.toHaveProperty("carried");
  });
});
