import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { type EscrowAttractor, shardName } from "@noema/cloudflare/escrow";
import { expect } from "vitest";
import type { HotProduct } from "@noema/cloudflare/escrow";
import { freshProduct } from "./helpers.js";

export const hot = (name: string) => env.HOT_ATTRACTOR.getByName(name);
export const freshHotProduct = () => freshProduct("hot");

/** Every World of a product: its coordinator and `shards` shard names. */
export const worldsOf = (product: string, shards: number) => [product, ...Array.from({ length: shards }, (_, i) => shardName(product, i))];

/** The Worlds of hot products: the app's class, or a test-only one (on another law). */
type HotNamespace = DurableObjectNamespace<EscrowAttractor>;

/** Pending messages of a World made due now (as time passing would, and leases ignored: a redelivery), counted. */
export const makeDue = (name: string, namespace: HotNamespace = env.HOT_ATTRACTOR) =>
  runInDurableObject(namespace.getByName(name), (_, state) => {
    const n = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM _noema_outbox").one().n;
    state.storage.sql.exec("UPDATE _noema_outbox SET next_attempt_at = MIN(next_attempt_at, ?)", Date.now());
    return n;
  });

/** Runs every World's alarm until no message is left to deliver: every move has landed and its receipt is recorded. */
export async function settle(worlds: readonly string[], namespace: HotNamespace = env.HOT_ATTRACTOR): Promise<void> {
  for (let round = 0; round < 50; round++) {
    let pending = 0;
    for (const name of worlds) {
      const n = await makeDue(name, namespace);
      pending += n;
      if (n > 0) await runDurableObjectAlarm(namespace.getByName(name));
    }
    if (pending === 0) return;
  }
  throw new Error("moves still in flight after 50 rounds of alarms");
}

/** Conservation, read from every World: the total is the unassigned share, plus every shard's share (available, held and sold), plus what is in flight. */
export function expectConserved(p: HotProduct, total: number): void {
  const shares = p.shards.reduce((n, s) => n + s.available + s.held + s.sold, 0);
  expect(p.total, JSON.stringify(p)).toBe(total);
  expect(p.unassigned + shares + p.inFlight, JSON.stringify(p)).toBe(total);
  expect(p.held + p.sold, JSON.stringify(p)).toBeLessThanOrEqual(total);
  for (const s of p.shards) {
    expect(s.available, JSON.stringify(s)).toBeGreaterThanOrEqual(0);
    expect(s.held, JSON.stringify(s)).toBeGreaterThanOrEqual(0);
  }
}
