// Kept until the testing kit (@noema/cloudflare/testing) is merged: today's `noema check --emit-test` writes
// the same counterexample as packages/cli/test/fixtures/emitted/reservations-resolve.test.ts.txt, which replaces
// this file then (with its import pointed at ../src/check.js, the shipped law).
// Written by `noema check --emit-test` from packages/cli/test/fixtures/release-keeps-reserved.ts: the shortest counterexample to
// liveness:reservations_resolve (v2), replayed against the real Attractor in workerd. It fails while
// the law has the fault; once the fault is fixed it passes and guards against its return.
// The checker found: after the clock passes every wake time, reservations_resolve is violated by {"id":"r-2-0","what":"reservation"}
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect, test } from "vitest";

/** once the clock passes every wake time, no reservation is active and nothing is reserved: the rows that break it. */
const PROPERTY = `SELECT 'reservation' AS what, id FROM reservations WHERE status = 'active'
      UNION ALL SELECT 'stock', location_id FROM stock WHERE reserved != 0`;
/** Alarms delivered at most per clock step: a wake that keeps failing is retried later, not forever. */
const MAX_ALARMS = 100;

test("liveness:reservations_resolve (v2) holds after the counterexample noema check found", async () => {
  const stub = env.INVENTORY_ATTRACTOR.getByName(`noema-check-${crypto.randomUUID()}`);
  const sql = <T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]) =>
    runInDurableObject(stub, (_, state) => state.storage.sql.exec<T>(query, ...params).toArray());
  const send = async (intent: unknown, sealed: boolean) => {
    const seal = await stub.sedimentation(intent);
    expect(seal.success, JSON.stringify(seal)).toBe(sealed);
  };
  // The checker's clock step: every pending wake time moves ms closer, then the due entries wake.
  const advance = async (ms: number) => {
    await sql("UPDATE _noema_cryostasis SET wake_at = wake_at - ?", ms);
    for (let alarms = 0; (await sql("SELECT 1 FROM _noema_cryostasis WHERE wake_at <= ?", Date.now())).length > 0; alarms++) {
      if (alarms === MAX_ALARMS) throw new Error(`frozen Intents still due after ${MAX_ALARMS} alarms`);
      await runDurableObjectAlarm(stub);
    }
  };
  // The clock passes every wake time: to the next one, again and again, until nothing is frozen.
  const settle = async () => {
    for (let steps = 0; steps < MAX_ALARMS; steps++) {
      const [next] = await sql<{ at: number | null }>("SELECT MIN(wake_at) AS at FROM _noema_cryostasis");
      if (next?.at === null || next?.at === undefined) return;
      await advance(Math.max(0, next.at - Date.now()));
    }
    throw new Error(`frozen Intents still pending after ${MAX_ALARMS} clock steps`);
  };

  // 1. setStock {"locationId":"A","quantity":2} → sealed #1
  await send({"v":1,"nomos":{"name":"inventory","version":2,"hash":"805d244516ef74957e1f495a70ab6245f062048afa1525bf1d7788141f33bb99"},"steps":[{"op":"setStock","args":{"locationId":"A","quantity":2}}]}, true);
  // 2. reserve {"channel":"web","locationId":"A","quantity":1,"ttlSeconds":60} → sealed #2
  await send({"v":1,"nomos":{"name":"inventory","version":2,"hash":"805d244516ef74957e1f495a70ab6245f062048afa1525bf1d7788141f33bb99"},"steps":[{"op":"reserve","args":{"locationId":"A","quantity":1,"ttlSeconds":60,"channel":"web"}},{"op":"$freeze","args":{"at":{"$ref":{"step":0,"output":"expiresAt"}},"key":{"$ref":{"step":0,"output":"reservationId"}},"intent":{"steps":[{"op":"release","args":{"reservationId":{"$ref":{"step":0,"output":"reservationId"}}}}]}}}]}, true);
  // 3. advance the clock past every wake time → frozen 1 refused (invariant reserved_matches_active_reservations): reserved stock must equal the sum of the location's active reservations (violated by {"location_id":"A","reserved":1,"active":0})
  await settle();

  expect(await sql(PROPERTY)).toEqual([]);
});
