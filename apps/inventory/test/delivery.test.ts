import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { testWorld } from "@noema/cloudflare/testing";
import fc from "fast-check";
import { buildIntent, type Intent, type Seal } from "@noema/core";
import { scaledBackoffMs } from "@noema/core/internal";
import { describe, expect, it } from "vitest";
import { catalog } from "../src/catalog/vocabulary.js";
import { inventory, inventoryV1, inventoryV2 } from "../src/vocabulary.js";
import { attractor, freshProduct, type InventoryNamespace, observe, refusal, success } from "./helpers.js";

const sender = (name: string) => env.SENDER_ATTRACTOR.getByName(name);
type Binding = "INVENTORY_ATTRACTOR" | "CRITICAL_ATTRACTOR";

/** Makes every pending message due now (as the cryostasis tests make entries due), instead of waiting out a backoff. */
const makeDue = (name: string) => runInDurableObject(sender(name), (_, state) => void state.storage.sql.exec("UPDATE _noema_outbox SET next_attempt_at = 0"));

/** One sender Intent that sends each message (in one transaction). */
const sending = (messages: { to: { attractor: Binding | string; name: string }; key?: string; intent: Intent }[]) =>
  buildIntent(catalog, (s) => {
    for (const m of messages) s.$send({ to: m.to, ...(m.key ? { key: m.key } : {}) }, m.intent);
  });

const setStock = (locationId: string, quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId, quantity }));
const v1 = {
  setStock: (locationId: string, quantity: number) => buildIntent(inventoryV1, (s) => void s.setStock({ locationId, quantity })),
  reserve: (locationId: string, quantity: number) => buildIntent(inventoryV1, (s) => void s.reserve({ locationId, quantity })),
};

/** Runs the sender's alarm until its outbox is empty (bounded: a test that loops forever fails). */
async function settle(name: string, rounds = 10) {
  for (let i = 0; i < rounds && (await sender(name).outbox()).messages.length > 0; i++) {
    await makeDue(name);
    await runDurableObjectAlarm(sender(name));
  }
  expect((await sender(name).outbox()).messages).toEqual([]);
}

const receiptsOf = async (name: string) => (await sender(name).receipts({ limit: 1000 })).receipts;

/** The receiver's sediments that arrived as messages. */
const delivered = async (p: string, ns?: InventoryNamespace) => (await observe(p, ns)).sediments.filter((s) => s.origin?.message);

describe("messages between Attractors", () => {
  it("a refused Intent sends nothing; a message the target's law cannot parse is refused with the Intent sending it", async () => {
    const s = freshProduct("sender");
    const undeclared = refusal(await sender(s).sedimentation(sending([{ to: { attractor: "CATALOG_ATTRACTOR", name: "x" }, intent: setStock("main", 1) }])));
    expect(undeclared.reason).toMatchObject({ kind: "validation", op: "$send", step: 0 });
    expect(undeclared.reason.message).toContain("does not send to CATALOG_ATTRACTOR");
    const notInventory = buildIntent(catalog, (b) => void b.addProduct({ productId: "p", firstStockedAt: 1 }));
    const wrongLaw = refusal(await sender(s).sedimentation(sending([{ to: { attractor: "INVENTORY_ATTRACTOR", name: "x" }, intent: notInventory }])));
    expect(wrongLaw.reason.message).toContain("is not a law of INVENTORY_ATTRACTOR");
    const bad = { ...setStock("main", 1), steps: [{ op: "setStock", args: { locationId: "main", quantity: -1 } }] } as Intent;
    const invalid = refusal(await sender(s).sedimentation({ v: 1, nomos: catalog.nomos && sending([]).nomos, steps: [{ op: "$send", args: { to: { attractor: "INVENTORY_ATTRACTOR", name: "x" }, intent: bad } }] }));
    expect(invalid.reason.issues?.[0]?.path).toEqual(["steps", 0, "args", "intent", "steps", 0, "args", "quantity"]);
    // A refusal after the send rolls the message back with everything else.
    const later = buildIntent(catalog, (b) => {
      b.$send({ to: { attractor: "INVENTORY_ATTRACTOR", name: "x" } }, setStock("main", 1));
      b.addProduct({ productId: "dup", firstStockedAt: 1 });
      b.addProduct({ productId: "dup", firstStockedAt: 1 });
    });
    expect(refusal(await sender(s).sedimentation(later)).reason.kind).toBe("constraint");
    expect((await sender(s).outbox()).messages).toEqual([]);
  });

  it("the same key sent twice stores one message; without a key each send has its own", async () => {
    const s = freshProduct("sender");
    const p = freshProduct();
    const to = { attractor: "INVENTORY_ATTRACTOR", name: p };
    const first = success(await sender(s).sedimentation(sending([{ to, key: `k:${p}`, intent: setStock("main", 1) }])));
    const again = success(await sender(s).sedimentation(sending([{ to, key: `k:${p}`, intent: setStock("main", 2) }])));
    expect(again.outputs[0]).toEqual(first.outputs[0]);
    const derived = success(await sender(s).sedimentation(sending([{ to, intent: setStock("annex", 1) }, { to, intent: setStock("annex", 2) }])));
    expect(derived.outputs.map((o) => (o as { key: string }).key)).toEqual([`msg:SenderAttractor/${s}:${derived.sedimentId}.0`, `msg:SenderAttractor/${s}:${derived.sedimentId}.1`]);
    expect((await sender(s).outbox()).messages.map((m) => m.key)).toEqual([`k:${p}`, ...derived.outputs.map((o) => (o as { key: string }).key)]);
    await settle(s);
    // Settled, the key stays taken: sending it again sends nothing.
    success(await sender(s).sedimentation(sending([{ to, key: `k:${p}`, intent: setStock("main", 3) }])));
    expect((await sender(s).outbox()).messages).toEqual([]);
    expect((await attractor(p).snapshot())?.locations.find((l) => l.locationId === "main")?.quantity).toBe(1);
  });

  it("delivers once and records one receipt under duplicate alarms", async () => {
    const s = freshProduct("sender");
    const p = freshProduct();
    const sent = success(await sender(s).sedimentation(sending([{ to: { attractor: "INVENTORY_ATTRACTOR", name: p }, intent: setStock("main", 5) }])));
    await sender(s).slowDeliveriesTo(p, 200);
    await runInDurableObject(sender(s), async (instance) => {
      // The first run takes the message and waits for the receiver; its lease then runs out, and a
      // second run delivers the same message again while the first is still in flight.
      const first = instance.alarm();
      await new Promise((r) => setTimeout(r, 20));
      // Leases are kept in memory, by the outbox: this one ends now.
      const { leased } = (instance as unknown as { sedimenter: { outbox: { leased: Map<number, number> } } }).sedimenter.outbox;
      for (const id of leased.keys()) leased.set(id, 0);
      await Promise.all([first, instance.alarm()]);
    });
    await runDurableObjectAlarm(sender(s));
    expect(await sender(s).deliveriesTo(p)).toBe(2);
    await settle(s);
    const applied = await delivered(p);
    expect(applied).toHaveLength(1);
    expect(applied[0]!.origin!.message).toEqual({ from: expect.objectContaining({ attractor: "SenderAttractor", name: s }), sedimentId: sent.sedimentId, step: 0, messageId: 1 });
    const receipts = await receiptsOf(s);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ outcome: "sealed", sentIn: { sedimentId: sent.sedimentId, step: 0 }, seal: { success: true, sedimentId: applied[0]!.sedimentId } });
    // The receipt is a sediment of the sender's log, which still verifies.
    expect(await sender(s).verify()).toMatchObject({ ok: true, length: 2 });
  });

  it("a sender that dies between the receiver applying and the receipt being recorded still records exactly one receipt", async () => {
    const s = freshProduct("sender");
    const p = freshProduct();
    const key = `abort:${p}`;
    success(await sender(s).sedimentation(sending([{ to: { attractor: "INVENTORY_ATTRACTOR", name: p }, key, intent: setStock("main", 5) }])));
    await sender(s).abortOnReceipt(key);
    await expect(runDurableObjectAlarm(sender(s))).rejects.toThrow();
    // The receiver applied it; the sender's receipt died with its transaction, the message with it.
    expect(await delivered(p)).toHaveLength(1);
    expect(await receiptsOf(s)).toEqual([]);
    expect((await sender(s).outbox()).messages).toHaveLength(1);
    await settle(s);
    expect(await delivered(p)).toHaveLength(1);
    const receipts = await receiptsOf(s);
    expect(receipts).toHaveLength(1);
    // The attempt that died left no trace on the sender: this receipt is its first recorded attempt.
    expect(receipts[0]).toMatchObject({ key, outcome: "sealed", attempts: 1, seal: { sedimentId: (await delivered(p))[0]!.sedimentId } });
  });

  it("retries a failing target with backoff, on its own, then gives up as a Precedent and an undeliverable receipt", async () => {
    const s = freshProduct("sender");
    const [down, up] = [freshProduct("down"), freshProduct()];
    await sender(s).failDeliveriesTo(down, 3);
    success(
      await sender(s).sedimentation(
        sending([
          { to: { attractor: "INVENTORY_ATTRACTOR", name: down }, key: `down:${down}`, intent: setStock("main", 1) },
          { to: { attractor: "INVENTORY_ATTRACTOR", name: up }, key: `up:${up}`, intent: setStock("main", 1) },
        ]),
      ),
    );
    const attempt = async () => {
      await makeDue(s);
      const before = Date.now();
      await runDurableObjectAlarm(sender(s));
      return { before, after: Date.now(), outbox: (await sender(s).outbox()).messages };
    };
    for (const n of [1, 2]) {
      const run = await attempt();
      // The healthy target got its message at once; the failing one waits for its own backoff, doubling.
      expect(await receiptsOf(s)).toMatchObject([{ key: `up:${up}`, outcome: "sealed" }]);
      expect(run.outbox).toHaveLength(1);
      const [pending] = run.outbox;
      expect(pending).toMatchObject({ key: `down:${down}`, attempts: n, lastError: "Error: receiver down" });
      expect(pending!.nextAttemptAt - scaledBackoffMs(n, 1000)).toBeGreaterThanOrEqual(run.before);
      expect(pending!.nextAttemptAt - scaledBackoffMs(n, 1000)).toBeLessThanOrEqual(run.after);
    }
    expect((await attempt()).outbox).toEqual([]);
    expect(await observe(down)).toMatchObject({ snapshot: null, sediments: [] });
    const receipts = await receiptsOf(s);
    expect(receipts).toHaveLength(2);
    expect(receipts.find((r) => r.key === `down:${down}`)).toMatchObject({ outcome: "undeliverable", attempts: 3, error: "Error: receiver down" });
    expect(receipts.find((r) => r.key === `down:${down}`)).not.toHaveProperty("seal");
    const { precedents } = await sender(s).precedents({ kind: "message" });
    expect(precedents).toHaveLength(1);
    expect(precedents[0]!.reason.message).toContain(`down:${down}`);
    expect(precedents[0]!.reason.message).toContain("not delivered after 3 attempts");
  });

  it("a receiver on a newer law carries the message like any Intent, and the receipt says how: Flat, Curved, Critical", async () => {
    const s = freshProduct("sender");
    const [flat, curved, critical] = [freshProduct("flat"), freshProduct("curved"), freshProduct("critical")];
    // The receivers started on v1 and already hold v2; the messages are built against v1.
    const onV2 = (ns: InventoryNamespace, p: string) => testWorld(ns, p, { version: 1 }).upgrade(2);
    await onV2(env.INVENTORY_ATTRACTOR, flat);
    await onV2(env.INVENTORY_ATTRACTOR, curved);
    await onV2(env.CRITICAL_ATTRACTOR, critical);
    success(await attractor(curved, env.INVENTORY_ATTRACTOR).sedimentation(buildIntent(inventoryV2, (s) => void s.setStock({ locationId: "main", quantity: 5 }))));
    success(
      await sender(s).sedimentation(
        sending([
          { to: { attractor: "INVENTORY_ATTRACTOR", name: flat }, key: `flat:${flat}`, intent: v1.setStock("main", 3) },
          { to: { attractor: "INVENTORY_ATTRACTOR", name: curved }, key: `curved:${curved}`, intent: v1.reserve("main", 2) },
          { to: { attractor: "CRITICAL_ATTRACTOR", name: critical }, key: `critical:${critical}`, intent: v1.setStock("main", 3) },
        ]),
      ),
    );
    await settle(s);
    const byKey = Object.fromEntries((await receiptsOf(s)).map((r) => [r.key.split(":")[0], r]));
    expect(byKey.flat).toMatchObject({ outcome: "sealed", carried: "Flat", seal: { success: true, world: { nomosVersion: 2 }, origin: { nomos: { version: 1 }, reforged: false } } });
    expect(byKey.curved).toMatchObject({ outcome: "sealed", carried: "Curved", seal: { success: true, origin: { reforged: true } } });
    const reserved = byKey.curved!.seal as Extract<Seal, { success: true }>;
    expect(reserved.outputs[0]).toMatchObject({ channel: "direct" });
    expect(byKey.critical).toMatchObject({ outcome: "refused", carried: "Critical", seal: { success: false, reason: { kind: "connection" } } });
    expect((await attractor(critical, env.CRITICAL_ATTRACTOR).precedents({ kind: "connection" })).precedents).toHaveLength(1);
    expect(await attractor(critical, env.CRITICAL_ATTRACTOR).snapshot()).toBeNull();
  });

  it("the hook's Intent is applied with the receipt, and may send further; a refused reaction leaves the receipt on record", async () => {
    const s = freshProduct("sender");
    const p = freshProduct();
    const to = { attractor: "INVENTORY_ATTRACTOR", name: p };
    success(await sender(s).sedimentation(sending([{ to, key: `${p}:then-stock`, intent: setStock("main", 1) }, { to, key: `${p}:bad-reaction`, intent: setStock("annex", 1) }])));
    await settle(s);
    expect((await attractor(p).snapshot())?.locations.map((l) => l.locationId)).toEqual(["after-receipt", "annex", "main"]);
    const receipts = await receiptsOf(s);
    expect(receipts.map((r) => r.key).sort()).toEqual([`${p}:bad-reaction`, `${p}:then-stock`, `${p}:then-stock:next`]);
    const { sediments } = await sender(s).sediments(0, 100);
    const reaction = sediments.find((x) => x.origin?.receipt?.key === `${p}:then-stock`)!;
    expect(reaction.intent.steps.map((x) => x.op)).toEqual(["$send"]);
    const refusedReaction = sediments.find((x) => x.origin?.receipt?.key === `${p}:bad-reaction`)!;
    expect(refusedReaction.intent.steps).toEqual([]);
    expect((await sender(s).precedents({ kind: "validation" })).precedents).toHaveLength(1);
    expect(await sender(s).verify()).toMatchObject({ ok: true });
  });

  it("property: whatever is sent, failed and redelivered, each message takes effect at most once and has exactly one receipt", async () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant("send" as const), key: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }), to: fc.nat(1) }),
      fc.record({ kind: fc.constant("fail" as const), to: fc.nat(1), times: fc.integer({ min: 1, max: 2 }) }),
      fc.record({ kind: fc.constant("alarm" as const), twice: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
        const s = freshProduct("sender");
        const receivers = [freshProduct("r"), freshProduct("r")];
        const add = buildIntent(inventory, (b) => void b.adjust({ locationId: "main", delta: 1, reason: "purchase" }));
        const stored = new Set<number>();
        for (const c of commands) {
          if (c.kind === "send") {
            const seal = success(await sender(s).sedimentation(sending([{ to: { attractor: "INVENTORY_ATTRACTOR", name: receivers[c.to]! }, ...(c.key ? { key: `${s}:${c.key}` } : {}), intent: add }])));
            stored.add((seal.outputs[0] as { messageId: number }).messageId);
          } else if (c.kind === "fail") await sender(s).failDeliveriesTo(receivers[c.to]!, c.times);
          else {
            await makeDue(s);
            await runInDurableObject(sender(s), async (instance) => {
              await Promise.all(c.twice ? [instance.alarm(), instance.alarm()] : [instance.alarm()]);
            });
          }
        }
        for (const r of receivers) await sender(s).failDeliveriesTo(r, 0);
        await settle(s);
        const receipts = await receiptsOf(s);
        // One receipt per message stored, none for a key sent again.
        expect(receipts.map((r) => r.messageId).sort((a, b) => a - b)).toEqual([...stored].sort((a, b) => a - b));
        for (const name of receivers) {
          const sealed = receipts.filter((r) => r.to.name === name && r.outcome === "sealed");
          const applied = await delivered(name);
          // Each sealed receipt names its own sediment, and nothing else arrived: the effect happened once per message.
          expect(applied.map((x) => x.sedimentId).sort()).toEqual(sealed.map((r) => (r.seal as Extract<Seal, { success: true }>).sedimentId).sort());
          const quantity = (await attractor(name).snapshot())?.locations[0]?.quantity ?? 0;
          expect(quantity).toBe(sealed.length);
        }
      }),
      { numRuns: 15 },
    );
  });
});
