import { env, runInDurableObject } from "cloudflare:test";
import { testWorld } from "@noema/cloudflare/testing";
import { buildIntent } from "@noema/core";
import { describe, expect, expectTypeOf, it } from "vitest";
import { kitV1, kitV2 } from "./testing/law.js";

const HOUR = 60 * 60 * 1000;
const fresh = () => `kit-${crypto.randomUUID()}`;

describe("testWorld: an older law, then the upgrade", () => {
  it("starts on v1, builds against the law held, and upgrade() migrates to the latest", async () => {
    const world = testWorld(env.KIT_ATTRACTOR, fresh(), { version: 1 });
    await world.expectSealed(buildIntent(kitV1, (s) => void s.add({ id: "a", amount: 3 })));
    // A build function is built against the law held: its Intent is stamped v1.
    const took = await world.expectSealed((s) => s.take({ id: "a", amount: 1 }));
    expect(took.world.nomosVersion).toBe(1);
    expect(took).not.toHaveProperty("origin");
    expect((await world.stub.nomos()).held.version).toBe(1);
    expect(await world.rows("counters")).toEqual([{ id: "a", value: 2 }]);
    // A v2 Intent waits for code that knows v2.
    await world.expectRefused(buildIntent(kitV2, (s) => void s.add({ id: "a", amount: 1, label: "x" })), "nomos");

    await world.upgrade();
    const report = await world.stub.nomos();
    expect(report.held.version).toBe(2);
    expect(report.history.map((h) => h.version)).toEqual([1, 2]);
    // The migration ran, once; the build function now builds against v2.
    expect(await world.rows("counters")).toEqual([{ id: "a", value: 2, label: "unlabelled" }]);
    await world.expectSealed((s) => s.add({ id: "b", amount: 1, label: "new" }));
    // A v1 Intent is carried: reforged with the label.
    await world.expectSealed(buildIntent(kitV1, (s) => void s.add({ id: "c", amount: 1 })));
    expect(await world.query("SELECT id, label FROM counters ORDER BY id")).toEqual([
      { id: "a", label: "unlabelled" },
      { id: "b", label: "new" },
      { id: "c", label: "unlabelled" },
    ]);
  });

  it("upgrade(v) moves to that version; without a version option the World starts on the latest", async () => {
    const older = testWorld(env.KIT_ATTRACTOR, fresh(), { version: 1 });
    await older.upgrade(1);
    expect((await older.stub.nomos()).held.version).toBe(1);
    await older.upgrade(2);
    expect((await older.stub.nomos()).held.version).toBe(2);
    const latest = testWorld(env.KIT_ATTRACTOR, fresh());
    expect((await latest.stub.nomos()).held.version).toBe(2);
  });

  it("refuses a World that started before testWorld() was called for it", async () => {
    const name = fresh();
    await env.KIT_ATTRACTOR.getByName(name).nomos();
    await expect(testWorld(env.KIT_ATTRACTOR, name).rows("counters")).rejects.toThrow(`${name} started before testWorld() was called for it`);
  });
});

describe("testWorld: Seals and refusals", () => {
  it("expectSealed returns the Seal and fails naming a refusal's reason; expectRefused checks the kind", async () => {
    const world = testWorld(env.KIT_ATTRACTOR, fresh());
    const sealed = await world.expectSealed((s) => s.add({ id: "a", amount: 1, label: "l" }));
    expect(sealed).toMatchObject({ success: true, sedimentId: 1, outputs: [{ value: 1 }] });
    await expect(world.expectSealed((s) => s.take({ id: "a", amount: 5 }))).rejects.toThrow("expected a Seal, got a refusal (constraint): a counter cannot go below zero");
    const refused = await world.expectRefused((s) => s.take({ id: "nobody", amount: 1 }), "not_found");
    expect(refused.reason).toMatchObject({ kind: "not_found", message: "no counter nobody" });
    await expect(world.expectRefused((s) => s.take({ id: "nobody", amount: 1 }), "constraint")).rejects.toThrow("expected a refusal (constraint), got one (not_found): no counter nobody");
    await expect(world.expectRefused((s) => s.add({ id: "b", amount: 1, label: "l" }))).rejects.toThrow("expected a refusal, got sediment 2");
  });

  it("rows are typed from the Nomos; query runs reads only; an unknown table is named", async () => {
    const world = testWorld(env.KIT_ATTRACTOR, fresh());
    await world.expectSealed((s) => s.add({ id: "a", amount: 3, label: "l" }));
    const rows = await world.rows("counters");
    expectTypeOf(rows[0]!).toHaveProperty("id").toEqualTypeOf<string>();
    expectTypeOf(rows[0]!).toHaveProperty("value").toEqualTypeOf<number>();
    expectTypeOf(rows[0]!).toHaveProperty("label").toEqualTypeOf<string>();
    expect(rows).toEqual([{ id: "a", value: 3, label: "l" }]);
    expect(await world.query<{ n: number }>("SELECT count(*) AS n FROM counters WHERE value > ?", 1)).toEqual([{ n: 1 }]);
    await expect(world.query("DELETE FROM counters")).rejects.toThrow("query runs reads only");
    // @ts-expect-error: not a table of the law
    await expect(world.rows("nope")).rejects.toThrow("nope is not a table of kit v2");
    expect(await world.rows("counters")).toHaveLength(1);
  });
});

describe("testWorld: the clock", () => {
  it("advance() wakes what is due, as the alarm would, and leaves what is not", async () => {
    const world = testWorld(env.KIT_ATTRACTOR, fresh());
    await world.expectSealed((s) => s.add({ id: "a", amount: 1, label: "l" }));
    const inAnHour = buildIntent(kitV2, (s) => void s.add({ id: "a", amount: 10, label: "l" }));
    const inADay = buildIntent(kitV2, (s) => void s.add({ id: "a", amount: 100, label: "l" }));
    expect((await world.stub.freeze(inAnHour, { delaySeconds: HOUR / 1000 })).ok).toBe(true);
    expect((await world.stub.freeze(inADay, { delaySeconds: (24 * HOUR) / 1000 })).ok).toBe(true);

    await world.advance(HOUR - 60_000);
    expect(await world.rows("counters")).toEqual([{ id: "a", value: 1, label: "l" }]);
    await world.advance(60_000);
    expect(await world.rows("counters")).toEqual([{ id: "a", value: 11, label: "l" }]);
    expect(await world.stub.frozen({})).toHaveLength(1);
    // The alarm left is set in real time, a day minus the hour moved ahead of the clock.
    const alarm = await runInDurableObject(world.stub, (_, state) => state.storage.getAlarm());
    expect(alarm! - Date.now()).toBeGreaterThan(22 * HOUR);
    await world.advance(23 * HOUR);
    expect(await world.rows("counters")).toEqual([{ id: "a", value: 111, label: "l" }]);
    expect(await world.stub.frozen({})).toEqual([]);
    expect(await runInDurableObject(world.stub, (_, state) => state.storage.getAlarm())).toBeNull();
  });

  it("Seals carry the moved clock, which survives an upgrade; other Worlds keep real time", async () => {
    const world = testWorld(env.KIT_ATTRACTOR, fresh(), { version: 1 });
    await world.advance(5 * HOUR);
    const before = Date.now();
    const seal = await world.expectSealed(buildIntent(kitV1, (s) => void s.add({ id: "a", amount: 1 })));
    expect(seal.timestamp).toBeGreaterThanOrEqual(before + 5 * HOUR);
    expect(world.now()).toBeGreaterThanOrEqual(seal.timestamp);
    await world.upgrade();
    expect((await world.stub.nomos()).held.appliedAt).toBeGreaterThanOrEqual(before + 5 * HOUR);
    const other = await env.KIT_ATTRACTOR.getByName(fresh()).sedimentation(buildIntent(kitV2, (s) => void s.add({ id: "a", amount: 1, label: "l" })));
    expect(other.timestamp).toBeLessThan(before + HOUR);
  });
});
