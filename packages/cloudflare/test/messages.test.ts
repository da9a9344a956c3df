import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { AttractorDefinitionError, type ReceiptEntry } from "@noema/cloudflare";
import { buildIntent, type StepBuilder } from "@noema/core";
import { describe, expect, it, vi } from "vitest";
import { ledger } from "./ledger/vocabulary.js";
import { MisdeclaredLedger, type SendingLedger } from "./messages/attractors.js";

const freshName = (label: string) => `${label}-${crypto.randomUUID()}`;
const open = (holder: string) => buildIntent(ledger, (s) => void s.open({ holder }));
/** An Intent sending `receiver` one message: open `holder`'s account, keyed by the receiver. */
const sendOpen = (receiver: string, holder: string) =>
  buildIntent(ledger, (s) => void s.$send({ to: { attractor: "LEDGER_ATTRACTOR", name: receiver }, key: `open:${receiver}` }, open(holder)));
/** The sender's messages feature and outbox, driven here as a delivery run drives them. */
type Delivery = {
  outbox: { earliest(): number | undefined };
  features: { messages: { takeDue(now: number, limit: number, until: number, recheck?: number): unknown[]; deliveryFailed(entry: unknown, error: string): { nextAttemptAt?: number } } };
};
const delivery = (instance: SendingLedger) => (instance as unknown as { sedimenter: Delivery }).sedimenter;
/** A fresh sender whose sealed Intent has sent a fresh receiver `holder`'s account opening, not yet delivered. */
async function sentOne(holder: string) {
  const [sender, receiver] = [freshName("sender"), freshName("receiver")];
  const stub = env.SENDING_LEDGER.getByName(sender);
  expect(await stub.sedimentation(sendOpen(receiver, holder))).toMatchObject({ success: true });
  return { sender, receiver, stub };
}

async function get(path: string) {
  const res = await SELF.fetch(`https://ledger.test${path}`);
  return { status: res.status, body: (await res.json()) as any };
}

describe("messages over the generic routes", () => {
  it("GET outbox lists a pending message; once delivered, GET receipts shows the receiver's Seal", async () => {
    const [sender, receiver] = [freshName("sender"), freshName("receiver")];
    const intent = buildIntent(ledger, (s) => {
      s.open({ holder: "sender" });
      s.$send({ to: { attractor: "LEDGER_ATTRACTOR", name: receiver }, key: `open:${receiver}` }, open("bob"));
    });
    expect(await env.SENDING_LEDGER.getByName(sender).sedimentation(intent)).toMatchObject({ success: true, outputs: [{ accountId: "acct-1-0" }, { key: `open:${receiver}` }] });
    const outbox = await get(`/senders/${sender}/outbox`);
    expect(outbox.status).toBe(200);
    expect(outbox.body).toEqual({
      messages: [
        {
          messageId: 1,
          key: `open:${receiver}`,
          to: { attractor: "LEDGER_ATTRACTOR", name: receiver },
          intent: JSON.parse(JSON.stringify(open("bob"))),
          sentIn: { sedimentId: 1, step: 1 },
          attempts: 0,
          lastError: null,
          nextAttemptAt: expect.any(Number),
          createdAt: expect.any(Number),
        },
      ],
    });
    expect(await runDurableObjectAlarm(env.SENDING_LEDGER.getByName(sender))).toBe(true);
    expect((await get(`/senders/${sender}/outbox`)).body).toEqual({ messages: [] });
    const receipts = await get(`/senders/${sender}/receipts?limit=10`);
    expect(receipts.body.receipts).toMatchObject([
      { messageId: 1, outcome: "sealed", sedimentId: 2, seal: { success: true, outputs: [{ accountId: "acct-1-0" }], world: { attractor: "LedgerAttractor", name: receiver } } },
    ]);
    expect(await env.LEDGER_ATTRACTOR.getByName(receiver).accounts()).toEqual([{ accountId: "acct-1-0", holder: "bob", balance: 0 }]);
  });

  it("a message taken by a run that died is delivered as soon as the object starts again, not after its lease", async () => {
    const { sender, receiver, stub } = await sentOne("carol");
    // A delivery run takes it (its lease is a minute) and dies before the receiver answers.
    const leased = await runInDurableObject(stub, (instance: SendingLedger) => {
      const now = Date.now();
      const { messages } = delivery(instance).features;
      return messages.takeDue(now, 64, now + 60_000).length;
    });
    expect(leased).toBe(1);
    await abortAllDurableObjects();
    const [pending] = (await get(`/senders/${sender}/outbox`)).body.messages;
    expect(pending.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    // A stub made before the abort is broken for good: a fresh one reaches the new instance.
    expect(await runDurableObjectAlarm(env.SENDING_LEDGER.getByName(sender))).toBe(true);
    expect((await get(`/senders/${sender}/outbox`)).body).toEqual({ messages: [] });
    expect(await env.LEDGER_ATTRACTOR.getByName(receiver).accounts()).toEqual([{ accountId: "acct-1-0", holder: "carol", balance: 0 }]);
  });

  it("a lease an earlier version kept on disk is released when the object starts again: the message is due at once", async () => {
    const { sender, stub } = await sentOne("erin");
    // As an earlier version left it: the message postponed by its lease, the lease in _noema_lease.
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(`UPDATE _noema_outbox SET next_attempt_at = ?`, Date.now() + 60_000);
      state.storage.sql.exec(`INSERT INTO _noema_lease (message_id) SELECT message_id FROM _noema_outbox`);
    });
    await abortAllDurableObjects();
    const [pending] = (await get(`/senders/${sender}/outbox`)).body.messages;
    expect(pending.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    const fresh = env.SENDING_LEDGER.getByName(sender);
    expect(await runInDurableObject(fresh, (_, state) => state.storage.sql.exec(`SELECT COUNT(*) AS n FROM _noema_lease`).one().n)).toBe(0);
  });

  it("a message taken for delivery is not taken again by the same run until its lease ends, and taking it writes nothing", async () => {
    const { sender, stub } = await sentOne("dave");
    const [before] = (await get(`/senders/${sender}/outbox`)).body.messages;
    const taken = await runInDurableObject(stub, (instance: SendingLedger) => {
      const now = Date.now();
      const { features, outbox } = delivery(instance);
      const first = features.messages.takeDue(now, 64, now + 60_000).length;
      const again = features.messages.takeDue(now, 64, now + 60_000).length;
      // Its lease is when the alarm comes back for it, should this run not answer.
      const next = outbox.earliest();
      const afterLease = features.messages.takeDue(now + 60_001, 64, now + 120_000).length;
      return { first, again, next: next === now + 60_000, afterLease };
    });
    expect(taken).toEqual({ first: 1, again: 0, next: true, afterLease: 1 });
    expect((await get(`/senders/${sender}/outbox`)).body.messages).toEqual([before]);
  });

  it("a message taken right after its send has the alarm look again soon, in case the object dies; once that time has passed, it waits out its lease", async () => {
    const { stub } = await sentOne("erin");
    const times = await runInDurableObject(stub, (instance: SendingLedger) => {
      const now = Date.now();
      const { features, outbox } = delivery(instance);
      const taken = features.messages.takeDue(now, 64, now + 60_000, now + 2_000).length;
      const recheck = outbox.earliest();
      // The alarm's run at the recheck time finds it still taken, and leaves it to its lease.
      const retaken = features.messages.takeDue(now + 2_000, 64, now + 62_000).length;
      return { taken, recheck: recheck === now + 2_000, retaken, lease: outbox.earliest() === now + 60_000 };
    });
    expect(times).toEqual({ taken: 1, recheck: true, retaken: 0, lease: true });
  });

  it("a failed delivery has the alarm come back at its retry, even when the alarm was set for later", async () => {
    const { stub } = await sentOne("gina");
    const { retryAt, alarm } = await runInDurableObject(stub, async (instance: SendingLedger, state) => {
      const now = Date.now();
      const { features } = delivery(instance);
      const [entry] = features.messages.takeDue(now, 64, now + 60_000);
      // The alarm now points at the lease's end, as after a run that spent its recheck.
      (instance as unknown as { sharedAlarm: { rearm(): void } }).sharedAlarm.rearm();
      const failed = features.messages.deliveryFailed(entry, "target down");
      return { retryAt: "nextAttemptAt" in failed ? failed.nextAttemptAt : undefined, alarm: await state.storage.getAlarm() };
    });
    expect(retryAt).toBeDefined();
    expect(alarm).toBe(retryAt);
  });

  it("with delivery.immediate, a message is delivered right after the transaction that sent it commits, the alarm only kept as a fallback", async () => {
    const [sender, receiver] = [freshName("sender"), freshName("receiver")];
    const stub = env.IMMEDIATE_LEDGER.getByName(sender);
    const intent = sendOpen(receiver, "frank");
    const sent = Date.now();
    expect(await stub.sedimentation(intent)).toMatchObject({ success: true });
    // Taken at once: the alarm is not due now (alarm-only delivery would have it due at the send).
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm === null || alarm >= sent + 1_000).toBe(true);
    let receipts: unknown[] = [];
    for (let i = 0; i < 200 && receipts.length === 0; i++) {
      receipts = (await stub.receipts()).receipts;
      if (receipts.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(receipts).toMatchObject([{ key: `open:${receiver}`, outcome: "sealed", attempts: 1 }]);
    expect(await env.LEDGER_ATTRACTOR.getByName(receiver).accounts()).toEqual([{ accountId: "acct-1-0", holder: "frank", balance: 0 }]);
    // The fallback is left set (moving it back would be a durable write per send): it rings, finds nothing, and clears.
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    expect((await stub.receipts()).receipts).toHaveLength(1);
  });

  /** A fresh ImmediateLedger's Intent sending one receiver each of `keys` an account opening, and the receipts once all are recorded. */
  async function deliveredTogether(keys: string[]) {
    const stub = env.IMMEDIATE_LEDGER.getByName(freshName("sender"));
    const receivers = keys.map(() => freshName("receiver"));
    const intent = buildIntent(ledger, (s) => keys.forEach((key, i) => void s.$send({ to: { attractor: "LEDGER_ATTRACTOR", name: receivers[i]! }, key }, open(`holder ${i}`))));
    expect(await stub.sedimentation(intent)).toMatchObject({ success: true, sedimentId: 1 });
    let receipts: ReceiptEntry[] = [];
    for (let i = 0; i < 300 && receipts.length < keys.length; i++) {
      receipts = (await stub.receipts()).receipts;
      if (receipts.length < keys.length) await new Promise((r) => setTimeout(r, 10));
    }
    return { stub, receivers, receipts };
  }

  it("with onReceipts, the receipts of one delivery are one sediment with their reaction; each is still listed on its own, and the chain verifies", async () => {
    const { stub, receivers, receipts } = await deliveredTogether(["a", "b", "c"]);
    expect(receipts.map((r) => [r.key, r.outcome, r.sedimentId])).toEqual([["a", "sealed", 2], ["b", "sealed", 2], ["c", "sealed", 2]]);
    for (const [i, receiver] of receivers.entries()) expect(await env.LEDGER_ATTRACTOR.getByName(receiver).accounts()).toMatchObject([{ holder: `holder ${i}` }]);
    const { sediments } = await stub.sediments();
    expect(sediments).toHaveLength(2);
    const recorded = sediments[1]!;
    expect(recorded.origin?.receipt).toBeUndefined();
    expect(recorded.origin?.receipts?.map((r) => r.key)).toEqual(["a", "b", "c"]);
    expect(recorded.origin?.receipts).toEqual(receipts.map(({ sedimentId: _, ...r }) => r));
    // The reaction to all three, applied in the same sediment.
    expect(recorded.intent.steps.map((s) => s.args)).toEqual(receipts.map((r) => ({ holder: `receipt ${r.messageId}` })));
    expect(await stub.accounts()).toHaveLength(3);
    expect(await stub.verify()).toMatchObject({ ok: true, length: 2 });
    // Nothing is delivered or recorded again: the fallback alarm finds nothing.
    await runDurableObjectAlarm(stub);
    expect((await stub.receipts()).receipts).toHaveLength(3);
    expect((await stub.outbox()).messages).toEqual([]);
  });

  it("with onReceipts, a refused reaction to one delivery records each receipt on its own, reacted to alone: only the refused one is a Precedent", async () => {
    const { stub, receipts } = await deliveredTogether(["a", "b:refuse-reaction", "c"]);
    expect(receipts.map((r) => [r.key, r.outcome])).toEqual([["a", "sealed"], ["b:refuse-reaction", "sealed"], ["c", "sealed"]]);
    expect(new Set(receipts.map((r) => r.sedimentId)).size).toBe(3);
    const { sediments } = await stub.sediments();
    expect(sediments.slice(1).map((s) => [s.origin?.receipt?.key, s.origin?.receipts, s.intent.steps.length])).toEqual([["a", undefined, 1], ["b:refuse-reaction", undefined, 0], ["c", undefined, 1]]);
    expect((await stub.accounts()).map((a) => a.holder).sort()).toEqual([`receipt ${receipts[0]!.messageId}`, `receipt ${receipts[2]!.messageId}`]);
    expect((await stub.precedents()).precedents).toMatchObject([{ reason: { kind: "not_found" } }]);
    expect(await stub.verify()).toMatchObject({ ok: true, length: 4 });
  });

  it("with onReceipts, a hook that throws for a batch has each receipt recorded on its own, reacted to alone, and the throw logged", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const { stub, receipts } = await deliveredTogether(["a", "b:throw-for-batch", "c"]);
      expect(new Set(receipts.map((r) => r.sedimentId)).size).toBe(3);
      const { sediments } = await stub.sediments();
      expect(sediments.slice(1).map((s) => [s.origin?.receipt?.key, s.origin?.receipts, s.intent.steps.length])).toEqual([["a", undefined, 1], ["b:throw-for-batch", undefined, 1], ["c", undefined, 1]]);
      expect(await stub.accounts()).toHaveLength(3);
      expect((await stub.precedents()).precedents).toEqual([]);
      expect(logged.mock.calls.some(([line]) => String(line).includes("onReceipts failed for 3 receipts"))).toBe(true);
    } finally {
      logged.mockRestore();
    }
  });

  it("an Intent refused after its $send leaves nothing behind: a later send of the same message is stored and delivered", async () => {
    const [sender, receiver] = [freshName("sender"), freshName("receiver")];
    const stub = env.SENDING_LEDGER.getByName(sender);
    const send = (s: StepBuilder<typeof ledger.operations>) => s.$send({ to: { attractor: "LEDGER_ATTRACTOR", name: receiver }, key: `open:${receiver}` }, open("bob"));
    // The object's first send of this message (and so of its Sieve), rolled back with the deposit that follows it.
    const refused = await stub.sedimentation(
      buildIntent(ledger, (s) => {
        send(s);
        s.deposit({ accountId: "no-such-account", amount: 1 });
      }),
    );
    expect(refused).toMatchObject({ success: false });
    expect((await get(`/senders/${sender}/outbox`)).body).toEqual({ messages: [] });
    expect(await stub.sedimentation(buildIntent(ledger, (s) => void send(s)))).toMatchObject({ success: true });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await get(`/senders/${sender}/outbox`)).body).toEqual({ messages: [] });
    expect(await env.LEDGER_ATTRACTOR.getByName(receiver).accounts()).toEqual([{ accountId: "acct-1-0", holder: "bob", balance: 0 }]);
  });

  it("bad paging input is a 400 naming the field", async () => {
    for (const query of ["limit=0", "limit=x", "after=-1"]) {
      const res = await get(`/senders/${freshName("s")}/outbox?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.issues[0].path).toBe(query.split("=")[0]);
    }
  });

  // Constructed by hand on a real object's state: as a bound class, the runtime would report the throw as unhandled.
  it("an Attractor whose sends name a binding the Worker does not have cannot start, and says which", async () => {
    await runInDurableObject(env.SENDING_LEDGER.getByName(freshName("s")), (_, state) => {
      expect(() => new MisdeclaredLedger(state, env)).toThrow(AttractorDefinitionError);
      expect(() => new MisdeclaredLedger(state, env)).toThrow("MisdeclaredLedger sends to NO_SUCH_ATTRACTOR, but the Worker has no Durable Object binding of that name");
    });
  });
});
