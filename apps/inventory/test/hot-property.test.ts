import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { shardName } from "@noema/cloudflare/escrow";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expectConserved, freshHotProduct, hot, makeDue, settle, worldsOf } from "./hot-helpers.js";

const MAX = 4;

type Action =
  | { t: "reserve"; shard: number; quantity: number }
  | { t: "release"; pick: number }
  | { t: "sell"; pick: number }
  | { t: "rebalance" }
  | { t: "split"; shards: number }
  | { t: "deliver"; world: number }
  | { t: "redeliver"; world: number }
  | { t: "abort"; shard: number; quantity: number };

const shard = fc.integer({ min: 0, max: MAX - 1 });
const quantity = fc.integer({ min: 1, max: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("reserve" as const), shard, quantity }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constantFrom("release" as const, "sell" as const), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.constant({ t: "rebalance" as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("split" as const), shards: fc.integer({ min: 1, max: MAX }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constantFrom("deliver" as const, "redeliver" as const), world: fc.integer({ min: 0, max: MAX }) }) },
  // A reservation (maybe borrowing) cut short by every object being torn down: its answer is lost.
  { weight: 1, arbitrary: fc.record({ t: fc.constant("abort" as const), shard, quantity }) },
);

describe("hot products: never oversold, and conservation, under random reservations, releases, sales, splits, rebalances, redeliveries and aborts", () => {
  it("at every step the total is the unassigned share plus every shard's share plus what is in flight; once settled, every unit can be reserved", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: MAX }), fc.array(action, { minLength: 1, maxLength: 14 }), async (total, initialShards, actions) => {
        const product = freshHotProduct();
        const worlds = worldsOf(product, MAX);
        if (total > 0) expect((await hot(product).stock(total)).success).toBe(true);
        await hot(product).split(initialShards);
        /** Reservations whose Seal said held, and those whose answer was lost (held or not). */
        const held = new Map<string, { shard: string; quantity: number }>();
        const unknown = new Map<string, { shard: string; quantity: number }>();
        let sold = 0;
        let next = 0;
        for (const a of actions) {
          if (a.t === "reserve" || a.t === "abort") {
            const name = shardName(product, a.shard);
            const reservationId = `r${next++}`;
            const reserving = hot(name).reserve({ reservationId, quantity: a.quantity });
            if (a.t === "abort") {
              unknown.set(reservationId, { shard: name, quantity: a.quantity });
              await abortAllDurableObjects();
              await reserving.catch(() => undefined);
            } else if ((await reserving).seal.success) held.set(reservationId, { shard: name, quantity: a.quantity });
          } else if (a.t === "release" || a.t === "sell") {
            const ids = [...held.keys()];
            const id = ids[a.pick % Math.max(ids.length, 1)];
            if (id === undefined) continue;
            const { shard: holder, quantity: q } = held.get(id)!;
            expect((await (a.t === "release" ? hot(holder).release(id) : hot(holder).sell(id))).success).toBe(true);
            if (a.t === "sell") sold += q;
            held.delete(id);
          } else if (a.t === "rebalance") await hot(product).rebalance();
          else if (a.t === "split") await hot(product).split(a.shards);
          else {
            // A redelivery repeats messages whose delivery may be under way (their lease ignored).
            if (a.t === "redeliver") await makeDue(worlds[a.world]!);
            await runDurableObjectAlarm(hot(worlds[a.world]!));
          }
          const read = await hot(product).read();
          expectConserved(read, total);
          const known = [...held.values()].reduce((n, r) => n + r.quantity, 0);
          expect(read.held).toBeGreaterThanOrEqual(known);
          expect(read.held).toBeLessThanOrEqual(known + [...unknown.values()].reduce((n, r) => n + r.quantity, 0));
          expect(read.sold).toBe(sold);
        }
        await settle(worlds);
        const settled = await hot(product).read();
        expectConserved(settled, total);
        expect(settled.inFlight).toBe(0);
        // Nothing is stranded: what is not held can all be reserved, one unit at a time, from one shard.
        for (let i = settled.held + settled.sold; i < total; i++) expect((await hot(shardName(product, 0)).reserve({ reservationId: `drain${i}`, quantity: 1 })).seal.success).toBe(true);
        expect((await hot(shardName(product, 0)).reserve({ reservationId: "one-too-many", quantity: 1 })).seal.success).toBe(false);
        await settle(worlds);
        const drained = await hot(product).read();
        expectConserved(drained, total);
        expect(drained.held + drained.sold).toBe(total);
        for (const w of worlds) expect((await hot(w).verify()).ok, w).toBe(true);
      }),
      { numRuns: 10 },
    );
  });
});
