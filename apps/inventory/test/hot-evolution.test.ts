// The test laws are read with the SQL parser (the shipped escrow law carries its footprints).
import "@noema/core/sql";
import { env } from "cloudflare:test";
import { type EscrowAttractor, shardName } from "@noema/cloudflare/escrow";
import { testWorld } from "@noema/cloudflare/testing";
import type { Sediment } from "@noema/core";
import { describe, expect, it } from "vitest";
import { api, freshProduct } from "./helpers.js";
import { expectConserved, settle, worldsOf } from "./hot-helpers.js";
import { RELEASE_NOTE, STOPPED_REASON } from "./hot-laws.js";

/** Long enough for every hold of the test to expire. */
const TTL_SECONDS = 60;
const LATER = 2 * TTL_SECONDS * 1000;

const cases = [
  { label: "flat", connection: "Flat", latest: 2, ns: () => env.HOT_ATTRACTOR },
  { label: "curved", connection: "Curved", latest: 3, ns: () => env.CURVED_HOT_ATTRACTOR },
  { label: "critical", connection: "Critical", latest: 3, ns: () => env.CRITICAL_HOT_ATTRACTOR },
] as const;

const wokenOf = (sediments: Sediment[]) => sediments.filter((s) => s.origin?.cryostasis);

describe("hot products across a law change: every World migrates, frozen releases included", () => {
  it.each(cases)("$label: v1 holds wake under v$latest with their Connection ($connection), and conservation holds", async ({ label, connection, latest, ns }) => {
    const namespace = ns() as DurableObjectNamespace<EscrowAttractor>;
    const product = freshProduct(`evolve-${label}`);
    const worlds = worldsOf(product, 2);
    // The Worker runs v1: every World of the product starts on it.
    const tw = worlds.map((w) => testWorld(namespace, w, { version: 1 }));
    const coordinator = namespace.getByName(product);
    expect((await coordinator.stock(6)).success).toBe(true);
    await coordinator.split(2);
    await settle(worlds, namespace);
    // Two holds on each shard, each with its release frozen for later.
    for (const i of [0, 1]) for (const n of [0, 1]) expect((await namespace.getByName(shardName(product, i)).reserve({ reservationId: `${i}.${n}`, quantity: 1, ttlSeconds: TTL_SECONDS })).seal.success).toBe(true);
    expect((await coordinator.laws()).map((l) => l.held)).toEqual([1, 1, 1]);
    if (label === "flat") expect((await api("GET", `/api/hot/${product}/laws`)).body.laws.map((l: { held: number }) => l.held)).toEqual([1, 1, 1]);

    // The Worker is updated: each World runs the new code from its next wake.
    for (const t of tw) await t.upgrade();

    // Shard 0 is not touched by any request: its alarm wakes it, it migrates, then its frozen releases run.
    await tw[1]!.advance(LATER);
    const shard0 = namespace.getByName(shardName(product, 0));
    expect((await shard0.nomos()).held.version).toBe(latest);
    // Shard 1 migrates when the coordinator asks every World for its law.
    expect(await coordinator.laws()).toEqual(worlds.map((world) => ({ world, held: latest, latest })));
    await tw[2]!.advance(LATER);

    for (const i of [0, 1]) {
      const shard = namespace.getByName(shardName(product, i));
      const holds = await testWorld(namespace, shardName(product, i)).query<{ status: string; note?: string | null }>("SELECT * FROM holds ORDER BY reservation_id");
      expect(await shard.frozen()).toEqual([]);
      if (connection === "Critical") {
        // Refused with a Precedent naming the law that stopped them; the holds stay held, for a request to release.
        const precedents = (await shard.precedents()).precedents;
        expect(precedents.map((p) => p.reason.kind)).toEqual(["connection", "connection"]);
        expect(precedents[0]!.reason.message).toContain(STOPPED_REASON);
        expect(holds.map((h) => h.status)).toEqual(["held", "held"]);
        expect((await shard.release(`${i}.0`)).success).toBe(true);
      } else {
        const woken = wokenOf((await shard.sediments()).sediments);
        expect(woken).toHaveLength(2);
        for (const s of woken) {
          expect(s.world.nomosVersion).toBe(latest);
          expect(s.origin!.nomos.version).toBe(1);
          expect(s.origin!.steps.at(-1)!.connection).toBe(connection);
          expect(s.origin!.cryostasis!.mode).toBe(connection === "Curved" ? "reforged" : "resumed");
        }
        expect(holds.map((h) => h.status)).toEqual(["released", "released"]);
        // Curved: the release that ran is v3's, which writes its note.
        if (connection === "Curved") expect(holds.map((h) => h.note)).toEqual([RELEASE_NOTE, RELEASE_NOTE]);
      }
    }

    // Share still moves under the new law: one shard reserves more than its share, borrowing from its sibling.
    const read = await coordinator.read();
    expect(read.shards.map((s) => s.nomosVersion)).toEqual([latest, latest]);
    expectConserved(read, 6);
    const big = await namespace.getByName(shardName(product, 0)).reserve({ reservationId: "0.big", quantity: read.available });
    expect(big.seal.success, JSON.stringify(big.seal)).toBe(true);
    await settle(worlds, namespace);
    const after = await coordinator.read();
    expect(after.available).toBe(0);
    expectConserved(after, 6);
    for (const w of worlds) expect((await namespace.getByName(w).verify()).ok).toBe(true);
  });
});
