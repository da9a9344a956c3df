import { env, evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { buildIntent, type Intent, type RefusalSeal, type Seal, type SuccessSeal } from "@noema/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type LedgerAttractor, MAX_STEPS } from "./ledger/attractor.js";
import { ledgerNomos } from "./ledger/nomos.js";
import { ledger } from "./ledger/vocabulary.js";

/** A ledger name no other test uses, so tests never share an Attractor. */
const freshName = () => `ledger-${crypto.randomUUID()}`;

function committed(seal: Seal): SuccessSeal {
  if (!seal.success) throw new Error(`expected a commit, got a refusal: ${seal.reason.message}`);
  return seal;
}

function refused(seal: Seal): RefusalSeal {
  if (seal.success) throw new Error(`expected a refusal, got sediment ${seal.sedimentId}`);
  return seal;
}

/** A fresh ledger with one account per opening balance, opened and funded in one Intent. */
async function ledgerWith(...openingBalances: number[]) {
  const name = freshName();
  const stub = env.LEDGER_ATTRACTOR.getByName(name);
  const seal = committed(
    await stub.sedimentation(
      buildIntent(ledger, (s) => {
        const accounts = openingBalances.map((_, i) => s.open({ holder: `holder ${i}` }));
        openingBalances.forEach((amount, i) => {
          if (amount > 0) s.deposit({ accountId: accounts[i]!.accountId, amount });
        });
      }),
    ),
  );
  const ids = seal.outputs.slice(0, openingBalances.length).map((o) => (o as { accountId: string }).accountId);
  return { name, stub, ids, seal };
}

const balances = async (stub: DurableObjectStub<LedgerAttractor>) => Object.fromEntries((await stub.accounts()).map((a) => [a.accountId, a.balance]));

describe("a ledger built from the public API", () => {
  it("opens, deposits and transfers through a native stub; each Seal names the LedgerAttractor and the name used", async () => {
    const name = freshName();
    const stub = env.LEDGER_ATTRACTOR.getByName(name);
    const opened = committed(await stub.sedimentation(buildIntent(ledger, (s) => void [s.open({ holder: "alice" }), s.open({ holder: "bob" })])));
    expect(opened.outputs).toEqual([{ accountId: "acct-1-0" }, { accountId: "acct-1-1" }]);

    const deposited = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: 100 }))));
    const moved = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.transfer({ from: "acct-1-0", to: "acct-1-1", amount: 30 }))));

    expect(deposited.outputs).toEqual([{ accountId: "acct-1-0", balance: 100 }]);
    expect(moved.outputs).toEqual([{ transferId: "t-3-0", fromBalance: 70, toBalance: 30 }]);
    expect([opened, deposited, moved].map((s) => s.sedimentId)).toEqual([1, 2, 3]);
    expect(deposited.prevHash).toBe(opened.hash);
    expect(moved.prevHash).toBe(deposited.hash);
    for (const seal of [opened, deposited, moved]) {
      expect(seal.world).toEqual({ attractor: "LedgerAttractor", name, nomosVersion: 1, nomosHash: ledgerNomos.hash });
    }
    expect(await env.LEDGER_ATTRACTOR.getByName(name).accounts()).toEqual([
      { accountId: "acct-1-0", holder: "alice", balance: 70 },
      { accountId: "acct-1-1", holder: "bob", balance: 30 },
    ]);
  });

  it("lets a later step use an earlier step's output, and stores the Intent exactly as sent", async () => {
    const { stub, ids } = await ledgerWith(100);
    const intent = buildIntent(ledger, (s) => {
      const carol = s.open({ holder: "carol" });
      s.deposit({ accountId: carol.accountId, amount: 70 });
      s.transfer({ from: carol.accountId, to: ids[0]!, amount: 20 });
    });
    expect(intent.steps[1]!.args.accountId).toEqual({ $ref: { step: 0, output: "accountId" } });

    const seal = committed(await stub.sedimentation(intent));
    expect(seal.outputs).toEqual([
      { accountId: "acct-2-0" },
      { accountId: "acct-2-0", balance: 70 },
      { transferId: "t-2-2", fromBalance: 50, toBalance: 120 },
    ]);
    const { sediments } = await stub.sediments(1);
    expect(sediments).toHaveLength(1);
    expect(sediments[0]!.intent).toEqual(intent);
    expect(sediments[0]!.outputs).toEqual(seal.outputs);
  });

  it("reads rows typed from the Nomos as SQLite returns them: INTEGER as number, TEXT as string, NULL where nullable", async () => {
    const { stub, ids } = await ledgerWith(100, 0);
    committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.transfer({ from: ids[0]!, to: ids[1]!, amount: 40 }))));
    const movements = await stub.movements();
    expect(movements.map((m) => [m.account_id, m.amount, m.transfer_id])).toEqual([
      [ids[0], 100, null],
      [ids[0], -40, "t-2-0"],
      [ids[1], 40, "t-2-0"],
    ]);
    // Every column the Nomos declares, in its order, each value of the type it says.
    expect(Object.keys(movements[0]!)).toEqual(Object.keys(ledgerNomos.tables.movements.columns));
    for (const m of movements) expect([typeof m.id, typeof m.account_id, typeof m.amount, typeof m.at]).toEqual(["number", "string", "number", "number"]);
    expect(await stub.movementCount()).toBe(3);
  });

  it("refuses an overdraft atomically: the earlier deposit in the same Intent does not survive, and the refusal is a Precedent", async () => {
    const { name, stub, ids } = await ledgerWith(100, 0);
    const [alice, bob] = ids as [string, string];
    const intent = buildIntent(ledger, (s) => {
      s.deposit({ accountId: alice, amount: 50 });
      s.transfer({ from: alice, to: bob, amount: 1000 });
    });

    const seal = refused(await stub.sedimentation(intent));
    expect(seal.reason).toEqual({
      kind: "constraint",
      message: "an account's balance cannot go below zero",
      rule: "accounts_balance_check",
      step: 1,
      op: "transfer",
    });
    expect(seal.world).toMatchObject({ attractor: "LedgerAttractor", name });
    expect(await balances(stub)).toEqual({ [alice]: 100, [bob]: 0 });
    expect(await stub.verify()).toMatchObject({ ok: true, length: 1 });

    const { precedents, next: more } = await stub.precedents({ kind: "constraint" });
    expect(more).toBeUndefined();
    expect(precedents).toEqual([
      { precedentId: seal.precedentId, intent, reason: seal.reason, nomosVersion: 1, nomosHash: ledgerNomos.hash, timestamp: seal.timestamp },
    ]);
    // A refusal takes no place in the chain: the next commit follows the last one without a gap.
    const next = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.transfer({ from: alice, to: bob, amount: 100 }))));
    expect(next.sedimentId).toBe(2);
    expect(await balances(stub)).toEqual({ [alice]: 0, [bob]: 100 });
  });

  it("refuses, by invariant, a commit every CHECK allows: an unbalanced hand-written transfer", async () => {
    const { stub, ids } = await ledgerWith(100, 0);
    const [alice, bob] = ids as [string, string];

    const oneLeg = refused(await stub.sedimentation(buildIntent(ledger, (s) => void s.post({ transferId: "fee-1", accountId: alice, amount: -5 }))));
    expect(oneLeg.reason).toMatchObject({ kind: "invariant", rule: "transfers_net_zero" });
    expect(oneLeg.reason.message).toMatch(/^the legs of a transfer must net to zero/);
    expect(await balances(stub)).toEqual({ [alice]: 100, [bob]: 0 });
    expect((await stub.precedents({ kind: "invariant" })).precedents).toHaveLength(1);

    // Between the two legs the invariant does not hold; it is checked once, before commit.
    const split = buildIntent(ledger, (s) => {
      s.post({ transferId: "split-1", accountId: alice, amount: -30 });
      s.post({ transferId: "split-1", accountId: bob, amount: 30 });
    });
    committed(await stub.sedimentation(split));
    expect(await balances(stub)).toEqual({ [alice]: 70, [bob]: 30 });
  });

  it("applies the Nomos on first wake and records its version and hash", async () => {
    const stub = env.LEDGER_ATTRACTOR.getByName(freshName());
    const { held, history } = await stub.nomos();
    expect(held).toMatchObject({ name: "ledger", version: 1, hash: ledgerNomos.hash });
    expect(history).toEqual([held]);

    const tables = await runInDurableObject(stub, (_instance, state) =>
      Object.fromEntries(state.storage.sql.exec<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table'").toArray().map((r) => [r.name, r.sql])),
    );
    expect(Object.keys(tables)).toEqual(expect.arrayContaining(["_noema_nomos", "_noema_sediment", "_noema_precedent"]));
    // The tables are exactly what the Nomos declares.
    expect([tables.accounts, tables.movements]).toEqual(ledgerNomos.ddl.filter((d) => d.startsWith("CREATE TABLE")));
  });

  it("verifies the chain and reports the first broken link", async () => {
    const { stub, ids } = await ledgerWith(10, 0);
    committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.transfer({ from: ids[0]!, to: ids[1]!, amount: 4 }))));
    const last = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.deposit({ accountId: ids[1]!, amount: 1 }))));
    expect(await stub.verify()).toEqual({ ok: true, length: 3, head: last.hash, verifiedThrough: 3, checkpoint: null });

    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE _noema_sediment SET outputs = ? WHERE sediment_id = 2", JSON.stringify([{ transferId: "t-2-0", fromBalance: 6, toBalance: 400 }]));
    });
    expect(await stub.verify()).toEqual({ ok: false, brokenAt: 2, length: 1 });
  });

  it("continues the chain from the stored head after the Attractor is evicted", async () => {
    const { stub, ids, seal: first } = await ledgerWith(10);
    const second = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.deposit({ accountId: ids[0]!, amount: 5 }))));
    const applied = (await stub.nomos()).held;
    await runInDurableObject(stub, (instance) => void Object.assign(instance, { beforeEviction: true }));

    await evictDurableObject(stub);

    // A new instance, not the old one: the in-memory head is gone and must be read back from storage.
    expect(await runInDurableObject(stub, (instance) => "beforeEviction" in instance)).toBe(false);
    const third = committed(await stub.sedimentation(buildIntent(ledger, (s) => void s.deposit({ accountId: ids[0]!, amount: 1 }))));
    expect(third.sedimentId).toBe(second.sedimentId + 1);
    expect(third.prevHash).toBe(second.hash);
    expect(second.prevHash).toBe(first.hash);
    expect(await stub.verify()).toEqual({ ok: true, length: 3, head: third.hash, verifiedThrough: 3, checkpoint: null });
    // Waking again does not apply the Nomos again.
    expect(await stub.nomos()).toEqual({ held: applied, latest: { name: "ledger", version: 1, hash: ledgerNomos.hash }, history: [applied] });
  });

  it("explains over RPC the SQL an Intent would run next, with the next sedimentId, running nothing", async () => {
    const { stub, ids } = await ledgerWith(100);
    const intent = buildIntent(ledger, (s) => {
      const dave = s.open({ holder: "dave" });
      s.transfer({ from: ids[0]!, to: dave.accountId, amount: 25 });
    });

    const result = await stub.explain(intent);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const { explanation } = result;
    expect(explanation.context.sedimentId).toBe(2);
    expect(explanation.steps.map((s) => s.op)).toEqual(["open", "transfer"]);
    expect(explanation.steps[0]!.statements[0]!.params).toEqual(["acct-2-0", "dave", explanation.context.now]);
    expect(explanation.steps[1]!.statements[1]).toEqual({
      sql: "UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING id, balance",
      params: [25, { $ref: { step: 0, output: "accountId" } }],
    });
    expect(explanation.invariants.map((i) => i.name)).toEqual(["balances_match_movements", "transfers_net_zero"]);

    expect(await stub.verify()).toMatchObject({ ok: true, length: 1 });
    expect(await balances(stub)).toEqual({ [ids[0]!]: 100 });
    expect(committed(await stub.sedimentation(intent)).sedimentId).toBe(explanation.context.sedimentId);
  });

  it("trusts nothing sent straight to the Attractor: malformed Intents are refused as validation Precedents", async () => {
    const { stub, ids } = await ledgerWith(100);
    const malformed: unknown[] = [
      { v: 1, steps: [{ op: "withdraw", args: { accountId: ids[0], amount: 5 } }] },
      { v: 1, steps: [{ op: "deposit", args: { accountId: ids[0], amount: -5 } }] },
      { v: 1, steps: [{ op: "deposit", args: { accountId: { $ref: { step: 1, output: "accountId" } }, amount: 5 } }, { op: "open", args: { holder: "x" } }] },
      { v: 2, steps: [{ op: "open", args: { holder: "x" } }] },
      // Within the client's default limits, beyond this Attractor's own.
      buildIntent(ledger, (s) => Array.from({ length: MAX_STEPS + 1 }, () => s.deposit({ accountId: ids[0]!, amount: 1 }))),
    ];
    for (const input of malformed) {
      expect(refused(await stub.sedimentation(input)).reason.kind).toBe("validation");
    }
    expect((await stub.precedents({ kind: "validation" })).precedents).toHaveLength(malformed.length);
    expect(await stub.verify()).toMatchObject({ ok: true, length: 1 });
    expect(await balances(stub)).toEqual({ [ids[0]!]: 100 });
    // explain accepts exactly what sedimentation would.
    expect(await stub.explain(malformed.at(-1))).toMatchObject({ ok: false, issues: [{ code: "too_big", path: ["steps"] }] });
  });

  it("serves Intents over HTTP from the example Worker entry", async () => {
    const name = freshName();
    const post = (body: string) => SELF.fetch(`https://ledger.test/${name}`, { method: "POST", body });
    const intent: Intent = buildIntent(ledger, (s) => void s.open({ holder: "erin" }));

    const ok = await post(JSON.stringify(intent));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ success: true, sedimentId: 1, world: { attractor: "LedgerAttractor", name } });
    const refusal = await post(JSON.stringify(buildIntent(ledger, (s) => void s.deposit({ accountId: "nobody", amount: 1 }))));
    expect(refusal.status).toBe(409);
    expect(await refusal.json()).toMatchObject({ success: false, reason: { kind: "not_found", message: "account nobody does not exist" } });
    expect((await post("{not json")).status).toBe(400);
  });
});

type Op = { op: "deposit"; account: number; amount: number } | { op: "transfer"; from: number; to: number; amount: number };

/** The plain model of a ledger: false when the step would overdraw. */
function applyToModel(balances: number[], s: Op): boolean {
  if (s.op === "deposit") {
    balances[s.account]! += s.amount;
    return true;
  }
  if (balances[s.from]! < s.amount) return false;
  balances[s.from]! -= s.amount;
  balances[s.to]! += s.amount;
  return true;
}

describe("ledger properties", () => {
  it("every Intent applies all its steps or none; balances match a plain model, never go negative, and the chain verifies", async () => {
    const ACCOUNTS = 3;
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("deposit" as const), account: fc.nat(ACCOUNTS - 1), amount: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ op: fc.constant("transfer" as const), from: fc.nat(ACCOUNTS - 1), to: fc.nat(ACCOUNTS - 1), amount: fc.integer({ min: 1, max: 80 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), async (intents) => {
        const { stub, ids } = await ledgerWith(...Array<number>(ACCOUNTS).fill(0));
        const model = Array<number>(ACCOUNTS).fill(0);
        let deposited = 0;
        let commits = 1;
        for (const steps of intents) {
          // The model applies the Intent to a copy and keeps it only if no step overdraws.
          const next = [...model];
          const ok = steps.every((s) => applyToModel(next, s));
          const seal = await stub.sedimentation(
            buildIntent(ledger, (b) => {
              for (const s of steps) {
                if (s.op === "deposit") b.deposit({ accountId: ids[s.account]!, amount: s.amount });
                else b.transfer({ from: ids[s.from]!, to: ids[s.to]!, amount: s.amount });
              }
            }),
          );
          expect(seal.success).toBe(ok);
          if (ok) {
            model.splice(0, ACCOUNTS, ...next);
            deposited += steps.reduce((sum, s) => sum + (s.op === "deposit" ? s.amount : 0), 0);
            commits++;
          }
        }
        const actual = (await stub.accounts()).map((a) => a.balance);
        expect(actual).toEqual(model);
        expect(actual.reduce((a, b) => a + b, 0)).toBe(deposited);
        expect(await stub.verify()).toMatchObject({ ok: true, length: commits });
      }),
      { numRuns: 20 },
    );
  });
});
