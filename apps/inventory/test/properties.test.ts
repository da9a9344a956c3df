import { runInDurableObject } from "cloudflare:test";
import { buildIntent, type Intent, type Ref, type Seal } from "@noema/core";
import { GENESIS_HASH } from "@noema/core/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ProductSnapshot } from "../src/attractor.js";
import { type Channel, CHANNELS } from "../src/nomos.js";
import { inventory } from "../src/vocabulary.js";
import { attractor, freshProduct, observe } from "./helpers.js";

// ---- Commands: what a client might send, valid or not ----

/** Which reservation a release or commit names: one seen before, one never created, or one made earlier in the same Intent. */
type Target = { from: "known"; index: number } | { from: "bogus" } | { from: "ref" };
type Step =
  | { op: "setStock"; locationId: string; quantity: number }
  | { op: "adjust"; locationId: string; delta: number; reason: "sale" | "purchase" | "adjust" | "return" | "transfer" }
  /** Without a channel the reservation is a direct one. */
  | { op: "reserve"; locationId: string; quantity: number; ttlSeconds: number; channel?: Channel }
  | { op: "release" | "commit"; target: Target }
  /** A step whose arguments the Attractor must reject, whatever the state. */
  | { op: "malformed"; wire: { op: string; args: Record<string, unknown> } };

const location = fc.constantFrom("a", "b");
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 50 }).map((index) => ({ from: "known" as const, index })) },
  { weight: 1, arbitrary: fc.constant({ from: "bogus" as const }) },
  { weight: 3, arbitrary: fc.constant({ from: "ref" as const }) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("setStock" as const), locationId: location, quantity: fc.integer({ min: 0, max: 30 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("adjust" as const),
      locationId: location,
      delta: fc.integer({ min: -25, max: 15 }).filter((d) => d !== 0),
      reason: fc.constantFrom("sale", "purchase", "adjust", "return", "transfer"),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        op: fc.constant("reserve" as const),
        locationId: location,
        quantity: fc.integer({ min: 1, max: 5 }),
        ttlSeconds: fc.constantFrom(1, 900, 86_400),
        channel: fc.constantFrom(...CHANNELS),
      },
      { requiredKeys: ["op", "locationId", "quantity", "ttlSeconds"] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("release" as const), target }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("commit" as const), target }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("malformed" as const),
      wire: fc.constantFrom(
        { op: "setStock", args: { locationId: "a", quantity: -1 } },
        { op: "adjust", args: { locationId: "a", delta: 0, reason: "sale" } },
        { op: "reserve", args: { locationId: "a", quantity: 1.5 } },
        { op: "reserve", args: { locationId: "a", quantity: 1, channel: "fax" } },
        { op: "release", args: { reservationId: "r 1" } },
        { op: "commit", args: {} },
      ),
    }),
  },
);
/**
 * Mostly single-step Intents; some of two or three steps, so atomicity and data references are exercised too.
 * Location "a" starts stocked so that most runs get past the first reservation; "b" starts missing.
 */
const intents = fc
  .tuple(
    fc.integer({ min: 0, max: 30 }),
    fc.array(
      fc.oneof({ weight: 5, arbitrary: fc.tuple(step) }, { weight: 2, arbitrary: fc.array(step, { minLength: 2, maxLength: 3 }) }),
      { minLength: 1, maxLength: 14 },
    ),
  )
  .map(([quantity, rest]): Step[][] => [[{ op: "setStock", locationId: "a", quantity }], ...rest]);

// ---- The model: what the state must be, computed without SQL ----

interface Model {
  locations: Map<string, { quantity: number; reserved: number }>;
  reservations: Map<string, { locationId: string; quantity: number; expiresAt: number; channel: Channel; status: "active" | "released" | "committed" }>;
  /** Every reservation id ever created, in order: release and commit targets are drawn from it. */
  created: string[];
  movements: { location_id: string; delta: number; reason: string; reference_id: string | null }[];
}

const cloneModel = (m: Model): Model => ({
  locations: new Map([...m.locations].map(([k, v]) => [k, { ...v }])),
  reservations: new Map([...m.reservations].map(([k, v]) => [k, { ...v }])),
  created: [...m.created],
  movements: [...m.movements],
});

type Outcome = { ok: true; outputs: unknown[] } | { ok: false; kind: string; step?: number };

const stockOf = (m: Model, locationId: string) => {
  const s = m.locations.get(locationId)!;
  return { locationId, quantity: s.quantity, reserved: s.reserved, available: s.quantity - s.reserved };
};

/** The reservation id a release/commit step names, given the steps before it in the same Intent. */
function targetId(m: Model, steps: readonly Step[], index: number, t: Target, sedimentId: number): string {
  if (t.from === "ref") {
    for (let i = index - 1; i >= 0; i--) if (steps[i]!.op === "reserve") return `r-${sedimentId}-${i}`;
  }
  // r-0-0 can never exist: sedimentIds start at 1.
  if (t.from === "bogus" || m.created.length === 0) return "r-0-0";
  return m.created[(t as { index: number }).index % m.created.length] ?? "r-0-0";
}

/** Predicts one Intent against the model; on success `m` is replaced by the new state. */
function predict(m: Model, steps: readonly Step[], sedimentId: number, now: number): { outcome: Outcome; next: Model } {
  if (steps.some((s) => s.op === "malformed")) return { outcome: { ok: false, kind: "validation" }, next: m };
  const n = cloneModel(m);
  const outputs: unknown[] = [];
  for (const [i, s] of steps.entries()) {
    const refuse = (kind: string) => ({ outcome: { ok: false as const, kind, step: i }, next: m });
    switch (s.op) {
      case "setStock": {
        const cur = n.locations.get(s.locationId);
        if (cur && s.quantity < cur.reserved) return refuse("constraint");
        n.locations.set(s.locationId, { quantity: s.quantity, reserved: cur?.reserved ?? 0 });
        outputs.push(stockOf(n, s.locationId));
        break;
      }
      case "adjust": {
        const cur = n.locations.get(s.locationId);
        if (!cur && s.delta < 0) return refuse("expectation");
        const quantity = (cur?.quantity ?? 0) + s.delta;
        if (quantity < 0 || quantity < (cur?.reserved ?? 0)) return refuse("constraint");
        n.locations.set(s.locationId, { quantity, reserved: cur?.reserved ?? 0 });
        n.movements.push({ location_id: s.locationId, delta: s.delta, reason: s.reason, reference_id: null });
        outputs.push(stockOf(n, s.locationId));
        break;
      }
      case "reserve": {
        const cur = n.locations.get(s.locationId);
        if (!cur) return refuse("not_found");
        if (cur.quantity - cur.reserved < s.quantity) return refuse("expectation");
        cur.reserved += s.quantity;
        const id = `r-${sedimentId}-${i}`;
        const expiresAt = now + s.ttlSeconds * 1000;
        const channel = s.channel ?? "direct";
        n.reservations.set(id, { locationId: s.locationId, quantity: s.quantity, expiresAt, channel, status: "active" });
        n.created.push(id);
        outputs.push({ reservationId: id, locationId: s.locationId, quantity: s.quantity, expiresAt, orderId: null, channel });
        break;
      }
      case "release":
      case "commit": {
        // Targets are chosen from the reservations known before the Intent, as the client chose them.
        const id = targetId(m, steps, i, s.target, sedimentId);
        const r = n.reservations.get(id);
        if (!r) return refuse("not_found");
        if (r.status !== "active") return refuse("expectation");
        const loc = n.locations.get(r.locationId)!;
        loc.reserved -= r.quantity;
        if (s.op === "commit") {
          loc.quantity -= r.quantity;
          n.movements.push({ location_id: r.locationId, delta: -r.quantity, reason: "sale", reference_id: id });
        }
        r.status = s.op === "commit" ? "committed" : "released";
        outputs.push(stockOf(n, r.locationId));
        break;
      }
    }
  }
  return { outcome: { ok: true, outputs }, next: n };
}

function expectedSnapshot(m: Model): Pick<ProductSnapshot, "locations" | "reservations"> | null {
  if (m.locations.size === 0) return null;
  return {
    locations: [...m.locations.keys()].sort().map((k) => stockOf(m, k)),
    reservations: [...m.reservations]
      .filter(([, r]) => r.status === "active")
      .map(([id, r]) => ({ id, locationId: r.locationId, quantity: r.quantity, expiresAt: r.expiresAt, channel: r.channel }))
      .sort((x, y) => x.id.localeCompare(y.id)),
  };
}

// ---- Turning commands into what is sent ----

/** A well-formed Intent through the typed builder, or the raw wire form when a step is malformed on purpose. */
function toIntent(m: Model, steps: readonly Step[], sedimentId: number): unknown {
  if (steps.some((s) => s.op === "malformed")) {
    return {
      v: 1,
      steps: steps.map((s) => (s.op === "malformed" ? s.wire : { op: s.op, args: plainArgs(m, steps, s, sedimentId) })),
    };
  }
  return buildIntent(inventory, (b) => {
    const refs: Record<string, Ref>[] = [];
    steps.forEach((s, i) => {
      switch (s.op) {
        case "setStock":
          refs.push(b.setStock({ locationId: s.locationId, quantity: s.quantity }));
          break;
        case "adjust":
          refs.push(b.adjust({ locationId: s.locationId, delta: s.delta, reason: s.reason }));
          break;
        case "reserve":
          refs.push(b.reserve({ locationId: s.locationId, quantity: s.quantity, ttlSeconds: s.ttlSeconds, ...(s.channel ? { channel: s.channel } : {}) }));
          break;
        case "release":
        case "commit": {
          const earlier = s.target.from === "ref" ? steps.slice(0, i).map((x) => x.op).lastIndexOf("reserve") : -1;
          const reservationId = earlier >= 0 ? refs[earlier]!.reservationId! : targetId(m, steps, i, s.target, sedimentId);
          refs.push(s.op === "release" ? b.release({ reservationId }) : b.commit({ reservationId }));
          break;
        }
      }
    });
  });
}

function plainArgs(m: Model, steps: readonly Step[], s: Exclude<Step, { op: "malformed" }>, sedimentId: number): Record<string, unknown> {
  switch (s.op) {
    case "setStock":
      return { locationId: s.locationId, quantity: s.quantity };
    case "adjust":
      return { locationId: s.locationId, delta: s.delta, reason: s.reason };
    case "reserve":
      return { locationId: s.locationId, quantity: s.quantity, ttlSeconds: s.ttlSeconds, ...(s.channel ? { channel: s.channel } : {}) };
    default:
      return { reservationId: targetId(m, steps, steps.indexOf(s), s.target, sedimentId) };
  }
}

function expectInvariants(snapshot: ProductSnapshot | null): void {
  for (const l of snapshot?.locations ?? []) {
    expect(l.quantity).toBeGreaterThanOrEqual(0);
    expect(l.reserved).toBeGreaterThanOrEqual(0);
    expect(l.reserved).toBeLessThanOrEqual(l.quantity);
    expect(l.available).toBe(l.quantity - l.reserved);
    const active = (snapshot?.reservations ?? []).filter((r) => r.locationId === l.locationId).reduce((sum, r) => sum + r.quantity, 0);
    expect(l.reserved).toBe(active);
  }
}

describe("random sequences of Intents", () => {
  it("never break an invariant, log every success, keep the chain valid and match the model", async () => {
    await fc.assert(
      fc.asyncProperty(intents, async (sequence) => {
        const p = freshProduct("prop");
        const stub = attractor(p);
        let model: Model = { locations: new Map(), reservations: new Map(), created: [], movements: [] };
        const sent: unknown[] = [];
        let successes = 0;
        let refusals = 0;
        let head = GENESIS_HASH;

        for (const steps of sequence) {
          const sedimentId = successes + 1;
          const intent = toIntent(model, steps, sedimentId);
          const seal: Seal = await stub.sedimentation(intent);
          const { outcome, next } = predict(model, steps, sedimentId, seal.timestamp);

          if (outcome.ok) {
            expect(seal, JSON.stringify(steps)).toMatchObject({ success: true, sedimentId, prevHash: head });
            if (!seal.success) throw new Error("unreachable");
            expect(seal.outputs).toEqual(outcome.outputs);
            head = seal.hash;
            successes++;
            sent.push(intent);
          } else {
            expect(seal, JSON.stringify(steps)).toMatchObject({ success: false, reason: { kind: outcome.kind } });
            if (seal.success) throw new Error("unreachable");
            if (outcome.step !== undefined) expect(seal.reason.step).toBe(outcome.step);
            refusals++;
          }
          model = next;

          const snapshot = await stub.snapshot();
          expectInvariants(snapshot);
          const expected = expectedSnapshot(model);
          expect(snapshot && { locations: snapshot.locations, reservations: [...snapshot.reservations].sort((x, y) => x.id.localeCompare(y.id)) }).toEqual(expected);
        }

        const { sediments, precedents, verify } = await observe(p);
        expect(sediments.map((s) => s.sedimentId)).toEqual(Array.from({ length: successes }, (_, i) => i + 1));
        expect(sediments.map((s) => s.intent)).toEqual(sent as Intent[]);
        expect(precedents).toHaveLength(refusals);
        expect(verify).toEqual({ ok: true, length: successes, head, verifiedThrough: successes, checkpoint: null });

        // Rows the snapshot does not show: closed reservations and the movement history.
        const rows = await runInDurableObject(attractor(p), (_, state) => ({
          reservations: state.storage.sql.exec("SELECT id, status, channel FROM reservations ORDER BY id").toArray(),
          movements: state.storage.sql.exec("SELECT location_id, delta, reason, reference_id FROM movements ORDER BY id").toArray(),
        }));
        expect(rows.reservations).toEqual(
          [...model.reservations].map(([id, r]) => ({ id, status: r.status, channel: r.channel })).sort((x, y) => x.id.localeCompare(y.id)),
        );
        expect(rows.movements).toEqual(model.movements);
      }),
      { numRuns: 25 },
    );
  });
});
