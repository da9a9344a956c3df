import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { ALARM_RETRY_MS, AttractorDefinitionError } from "@noema/cloudflare";
import { buildIntent } from "@noema/core";
import { describe, expect, it, vi } from "vitest";
import { attractorName } from "../src/attractor.js";
import { ChoreAttractor, LawlessAttractor, REPEAT_MS, RogueAlarmAttractor, START_CHORE_MS } from "./alarm/attractors.js";
import { ledger } from "./ledger/vocabulary.js";

const HOUR = 60 * 60 * 1000;
const freshName = () => `chores-${crypto.randomUUID()}`;
const chores = (name: string) => env.CHORE_ATTRACTOR.getByName(name);
const alarmAt = (name: string) => runInDurableObject(chores(name), (_, state) => state.storage.getAlarm());

/** Polls until `done` holds, on the real alarm's time. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A ledger with one account and a deposit frozen an hour ahead. */
async function withFrozenDeposit(name: string) {
  const stub = chores(name);
  const opened = await stub.sedimentation(buildIntent(ledger, (s) => void s.open({ holder: "alice" })));
  if (!opened.success) throw new Error(opened.reason.message);
  const frozen = await stub.freeze(buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: 5 })), { at: Date.now() + HOUR });
  if (!frozen.ok) throw new Error(JSON.stringify(frozen.issues));
  return frozen;
}

describe("the alarm belongs to the Attractor", () => {
  // Constructed by hand on a real object's state: as a bound class, the runtime would report the throw as unhandled.
  it("a subclass that overrides alarm() fails when it starts, naming the hooks to use instead", async () => {
    await runInDurableObject(chores(freshName()), (_, state) => {
      expect(() => new RogueAlarmAttractor(state, env)).toThrow(AttractorDefinitionError);
      expect(() => new RogueAlarmAttractor(state, env)).toThrow(/RogueAlarmAttractor overrides alarm\(\).*onAlarm\(\).*schedule\(\).*onWake\(\)/);
      // Also further down: a subclass of a subclass that overrides it.
      expect(() => new (class extends RogueAlarmAttractor {})(state, env)).toThrow(/overrides alarm\(\)/);
    });
  });

  it("a subclass without a law fails when it starts, saying how to declare one", async () => {
    await runInDurableObject(chores(freshName()), (_, state) => {
      expect(() => new LawlessAttractor(state, env)).toThrow(/LawlessAttractor declares no law: add `static law = /);
    });
  });

  it("a declared static attractor names the Worlds, whatever the class's name", async () => {
    await runInDurableObject(chores(freshName()), async (_, state) => {
      const named = new (class MinifiedAway extends ChoreAttractor {
        static attractor = "Ledger";
      })(state, env);
      await state.blockConcurrencyWhile(async () => {}); // after the constructor's own start
      const seal = await named.sedimentation(buildIntent(ledger, (s) => void s.open({ holder: "alice" })));
      expect(seal.world.attractor).toBe("Ledger");
    });
  });

  it("without names kept by the bundler, an Attractor must declare its own; a declared one must be an identifier", () => {
    expect(attractorName({ name: "CounterAttractor" }, true)).toBe("CounterAttractor");
    expect(attractorName({ name: "t", attractor: "Counter" }, false)).toBe("Counter");
    expect(() => attractorName({ name: "t", law: ledger }, false)).toThrow(/the Attractor of law "ledger" \(class t once minified\) must declare its name: .*static attractor = /);
    expect(() => attractorName({ name: "C", attractor: "" }, true)).toThrow(/static attractor must be an identifier of 1 to 64 characters, got ""/);
    expect(() => attractorName({ name: "C", attractor: "a/b" }, true)).toThrow(/static attractor must be an identifier/);
  });

  it("a schedule() in a brand-new World's constructor sets the alarm, although the World has no chore work yet", async () => {
    const before = Date.now();
    const at = await runInDurableObject(env.START_CHORE_ATTRACTOR.getByName(freshName()), (_, state) => state.storage.getAlarm());
    expect(at).toBeGreaterThanOrEqual(before + START_CHORE_MS);
    expect(at).toBeLessThanOrEqual(Date.now() + START_CHORE_MS);
  });

  it("one alarm serves both: it points at the earlier of schedule() and the next frozen Intent", async () => {
    const name = freshName();
    const frozen = await withFrozenDeposit(name);
    expect(await alarmAt(name)).toBe(frozen.wakeAt);
    const stub = chores(name);

    const later = frozen.wakeAt + HOUR;
    await stub.remind(later);
    expect(await stub.reminder()).toBe(later);
    expect(await alarmAt(name)).toBe(frozen.wakeAt);

    const sooner = frozen.wakeAt - HOUR / 2;
    await stub.remind(sooner);
    expect(await alarmAt(name)).toBe(sooner);

    await stub.remind(null);
    expect(await stub.reminder()).toBeUndefined();
    expect(await alarmAt(name)).toBe(frozen.wakeAt);
    expect(await stub.frozen()).toHaveLength(1);
  });

  it("stays at the earliest frozen Intent: one frozen later leaves it, one frozen sooner moves it, cancelling leaves it early", async () => {
    const name = freshName();
    const frozen = await withFrozenDeposit(name);
    const stub = chores(name);
    const deposit = buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: 1 }));
    const freeze = async (at: number) => {
      const r = await stub.freeze(deposit, { at });
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r;
    };
    await freeze(frozen.wakeAt + HOUR);
    expect(await alarmAt(name)).toBe(frozen.wakeAt);
    const sooner = await freeze(frozen.wakeAt - HOUR / 2);
    expect(await alarmAt(name)).toBe(sooner.wakeAt);
    // Again later than the alarm now rings: it stays.
    await freeze(frozen.wakeAt + 2 * HOUR);
    expect(await alarmAt(name)).toBe(sooner.wakeAt);
    // Cancelled work does not move the alarm (a durable write): ringing early only finds nothing due.
    expect(await stub.cancelFrozen(sooner.cryoId)).toBe(true);
    expect(await alarmAt(name)).toBe(sooner.wakeAt);
  });

  it("a cancel writes no alarm; the early ring serves nothing and points the alarm at what is left, or clears it", async () => {
    const name = freshName();
    const frozen = await withFrozenDeposit(name);
    const stub = chores(name);
    const sooner = await stub.freeze(buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: 1 })), { at: frozen.wakeAt - HOUR / 2 });
    if (!sooner.ok) throw new Error(JSON.stringify(sooner.issues));
    expect(await alarmAt(name)).toBe(sooner.wakeAt);
    await runInDurableObject(stub, async (instance, state) => {
      const set = vi.spyOn(state.storage, "setAlarm");
      const cleared = vi.spyOn(state.storage, "deleteAlarm");
      try {
        expect(await instance.cancelFrozen(sooner.cryoId)).toBe(true);
        expect(set).not.toHaveBeenCalled();
        expect(cleared).not.toHaveBeenCalled();
      } finally {
        set.mockRestore();
        cleared.mockRestore();
      }
    });
    // Rung early (the test delivers it now): nothing is due, nothing runs, and the alarm moves on.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.chores()).toEqual({ ran: [], woken: [] });
    expect(await stub.frozen()).toMatchObject([{ cryoId: frozen.cryoId, wakeAt: frozen.wakeAt }]);
    expect(await alarmAt(name)).toBe(frozen.wakeAt);
    // The last one cancelled: the alarm stays until it rings once, and that run leaves none.
    expect(await stub.cancelFrozen(frozen.cryoId)).toBe(true);
    expect(await alarmAt(name)).toBe(frozen.wakeAt);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.chores()).toEqual({ ran: [], woken: [] });
    expect(await alarmAt(name)).toBeNull();
  });

  it("onAlarm() runs when its time comes and can schedule itself again; frozen Intents keep their time", async () => {
    const name = freshName();
    const frozen = await withFrozenDeposit(name);
    const stub = chores(name);
    const start = Date.now();
    await stub.remind(start + REPEAT_MS, 3);
    await until(async () => (await stub.chores()).ran.length === 3, "three chores");

    const { ran, woken } = await stub.chores();
    for (const [i, t] of ran.entries()) expect(t).toBeGreaterThanOrEqual(start + REPEAT_MS * (i + 1));
    expect(woken).toEqual([]);
    expect(await stub.reminder()).toBeUndefined();
    expect(await alarmAt(name)).toBe(frozen.wakeAt);
    expect(await stub.frozen()).toMatchObject([{ cryoId: frozen.cryoId, wakeAt: frozen.wakeAt }]);
  });

  it("onWake() gets what became of the woken Intents; onAlarm() does not run before its time", async () => {
    const name = freshName();
    const frozen = await withFrozenDeposit(name);
    const stub = chores(name);
    await stub.remind(frozen.wakeAt + HOUR);
    // Due now, as if an hour had passed; the DO alarm itself is delivered by the test.
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec("UPDATE _noema_cryostasis SET wake_at = ?", Date.now() - 1));
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const { ran, woken } = await stub.chores();
    expect(ran).toEqual([]);
    expect(woken).toEqual([[{ cryoId: frozen.cryoId, outcome: "sealed", seal: expect.objectContaining({ success: true, outputs: [{ accountId: "acct-1-0", balance: 5 }] }) }]]);
    expect(await stub.frozen()).toEqual([]);
    expect(await alarmAt(name)).toBe(frozen.wakeAt + HOUR);
  });

  it("a failing onAlarm() is logged and runs again ALARM_RETRY_MS later, and does not hold up frozen Intents", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const name = freshName();
      const frozen = await withFrozenDeposit(name);
      const stub = chores(name);
      const failedBy = Date.now();
      await stub.remind(failedBy, 1, { fail: true });
      await until(async () => ((await stub.reminder()) ?? 0) > failedBy, "the failed chore to be rescheduled");

      expect(await stub.reminder()).toBeGreaterThanOrEqual(failedBy + ALARM_RETRY_MS);
      expect(await stub.reminder()).toBeLessThanOrEqual(Date.now() + ALARM_RETRY_MS);
      expect(await alarmAt(name)).toBe(await stub.reminder());
      expect(await stub.frozen()).toMatchObject([{ cryoId: frozen.cryoId }]);
      expect(error).toHaveBeenCalledWith(expect.stringMatching(/ChoreAttractor onAlarm\(\) failed, retrying in/), expect.any(Error));

      // Its retry runs it, and the alarm goes back to the frozen Intent.
      await runInDurableObject(stub, (_, state) => state.storage.kv.put("noema:alarm", Date.now() - 1));
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect((await stub.chores()).ran).toHaveLength(1);
      expect(await stub.reminder()).toBeUndefined();
      expect(await alarmAt(name)).toBe(frozen.wakeAt);
    } finally {
      error.mockRestore();
    }
  });
});
