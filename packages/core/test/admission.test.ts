import { describe, expect, it } from "vitest";
import { inventoryLaw, inventoryV1, inventoryV2 } from "./fixtures/inventory.js";
import { buildIntent, connectionFor, DEFAULT_LIMITS, explainOutside, parseClaimed, parseIntent, type Vocabulary } from "../src/index.js";
import { parseClaimedOnce } from "../src/runtime.js";
import { admit, carry } from "../src/admission/admit.js";
import { sieveOf } from "../src/sieve/index.js";

const stamp = (v: Vocabulary) => ({ name: v.nomos.name, version: v.nomos.version, hash: v.nomos.hash });
const T0 = 1_800_000_000_000;
const release = buildIntent(inventoryV1, (s) => void s.release({ reservationId: "r-1-0" }));

describe("admit", () => {
  it("admits an Intent of the held law as sent", () => {
    const sent = buildIntent(inventoryV2, (s) => void s.release({ reservationId: "r-1-0" }));
    expect(admit(inventoryLaw, sent, { now: T0 })).toStrictEqual({ ok: true, sent, intent: sent });
  });

  it("carries an Intent of an earlier law and says where it came from", () => {
    const admitted = admit(inventoryLaw, release, { now: T0, appliedAt: () => T0 });
    expect(admitted).toStrictEqual({
      ok: true,
      sent: release,
      intent: { ...release, nomos: stamp(inventoryV2) },
      origin: { nomos: stamp(inventoryV1), reforged: false, steps: [{ from: 1, to: 2, connection: "Flat", phase: "grace", reforged: false }] },
    });
  });

  it("refuses a newer law than the held one, a stamp with another hash, and invalid input, each with its reason", () => {
    const newer = admit(inventoryLaw, { ...release, nomos: stamp(inventoryV2) }, { now: T0, held: 1 });
    expect(newer).toMatchObject({ ok: false, reason: { kind: "nomos", message: "Intent was built against inventory v2, but this Attractor holds v1" } });
    const edited = admit(inventoryLaw, { ...release, nomos: { ...stamp(inventoryV1), hash: "0".repeat(64) } }, { now: T0 });
    expect(edited).toMatchObject({ ok: false, reason: { kind: "nomos", message: expect.stringMatching(/^Intent was built against a inventory v1 with hash 000000000000…/) as string } });
    const invalid = admit(inventoryLaw, { v: 1, steps: [] }, { now: T0 });
    expect(invalid).toMatchObject({ ok: false, reason: { kind: "validation", message: "invalid Intent: steps: an Intent needs at least one step", issues: [{ path: ["steps"] }] } });
    expect(admit(inventoryLaw, release, { now: T0, unavailable: "stored law unknown" })).toMatchObject({ ok: false, reason: { kind: "nomos", message: "stored law unknown" } });
  });

  it("decides the Connection by a frozen Intent's stored Sieve, not one derived again", () => {
    // release alone is Flat from v1 to v2; a Sieve that also holds reserve's elements is Curved.
    expect(carry(inventoryLaw, release, 1, 2, T0, () => T0).steps[0]!.connection).toBe("Flat");
    const stored = sieveOf(inventoryV1, ["release", "reserve"]);
    const carried = carry(inventoryLaw, release, 1, 2, T0, () => T0, stored);
    expect(carried.steps[0]!.connection).toBe("Curved");
    const admitted = admit(inventoryLaw, release, { now: T0, appliedAt: () => T0, sieve: stored });
    expect(admitted.ok && admitted.origin?.steps[0]!.connection).toBe("Curved");
  });
});

describe("parseClaimedOnce", () => {
  it("parses a received Intent once: admitting what it returned parses nothing again, under limits as wide", () => {
    const received: unknown = JSON.parse(JSON.stringify({ ...release, nomos: stamp(inventoryV2) }));
    const parsed = parseClaimedOnce(inventoryLaw, received);
    if (!parsed.ok) throw new Error("a built Intent must parse");
    expect(parsed.value).toStrictEqual(received);
    expect(Object.isFrozen(parsed.value.steps[0]!.args)).toBe(true);
    // Admitted as it is, not a copy parsed afresh; narrower limits parse it again.
    const admitted = admit(inventoryLaw, parsed.value, { now: T0 });
    expect(admitted.ok && admitted.sent).toBe(parsed.value);
    expect(parseIntent(inventoryV2, parsed.value)).toStrictEqual({ ok: true, value: parsed.value });
    const narrower = parseIntent(inventoryV2, parsed.value, { ...DEFAULT_LIMITS, maxSteps: 4 });
    expect(narrower.ok && narrower.value).not.toBe(parsed.value);
    // Issues are returned as parseClaimed returns them.
    const bad = { ...release, nomos: stamp(inventoryV2), steps: [{ op: "release", args: { reservationId: 5 } }] };
    expect(parseClaimedOnce(inventoryLaw, bad)).toStrictEqual(parseClaimed(inventoryLaw, bad));
  });
});

describe("outside an Attractor", () => {
  it("explainOutside explains as a freshly upgraded Attractor would run it", () => {
    const explained = explainOutside(inventoryLaw, release, { now: T0 });
    expect(explained).toMatchObject({ ok: true, origin: { nomos: stamp(inventoryV1), reforged: false } });
    expect(explained.ok && explained.explanation.context).toStrictEqual({ now: T0, sedimentId: 0 });
    expect(explainOutside(inventoryLaw, { v: 2 }, { now: T0 })).toMatchObject({
      ok: false,
      reason: { kind: "validation" },
      issues: expect.arrayContaining([expect.objectContaining({ path: ["v"], message: "wire format version must be 1" })]) as unknown,
    });
  });

  it("connectionFor classifies the diff, under an Intent's Sieve when given, and says what is wrong", () => {
    const whole = connectionFor(inventoryLaw, { from: 1 });
    expect(whole).toMatchObject({ ok: true, report: { type: "Curved", from: 1, to: 2 } });
    const { nomos: _stamp, ...unstamped } = release;
    expect(connectionFor(inventoryLaw, { from: 1, intent: unstamped })).toMatchObject({ ok: true, report: { type: "Flat" } });
    expect(connectionFor(inventoryLaw, { from: 2, to: 1 })).toStrictEqual({
      ok: false,
      issues: [{ code: "invalid_value", path: ["to"], message: "must not be before from (v2); a Connection runs forward" }],
    });
    expect(connectionFor(inventoryLaw, { from: 3 })).toMatchObject({ ok: false, issues: [{ path: ["from"] }] });
    expect(connectionFor(inventoryLaw, { from: 1, intent: { v: 1, steps: [{ op: "teleport", args: {} }] } })).toMatchObject({
      ok: false,
      issues: [{ code: "unknown_operation", path: ["intent", "steps", 0, "op"] }],
    });
  });
});
