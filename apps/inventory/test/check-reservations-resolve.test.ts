// Written by `noema check --emit-test` from packages/cli/test/fixtures/release-keeps-reserved.ts: the shortest counterexample to
// liveness:reservations_resolve (v2), as a regression test of the law under test. Its Intents are built
// by the check definition's actions against that law, in workerd with the testing kit: it fails
// while the law has the fault, and passes once the fault is fixed.
// The checker found: after the clock passes every wake time, reservations_resolve is violated by {"id":"r-2-0","what":"reservation"}
import { env } from "cloudflare:test";
import { testWorld } from "@noema/cloudflare/testing";
import { type OperationSpec, type StepBuilder } from "@noema/core";
import type { ActionArgs } from "@noema/core/check";
import { expect, test } from "vitest";
import { check as definition } from "../src/check.js";

/** once the clock passes every wake time, no reservation is active and nothing is reserved: the rows that break it. */
const PROPERTY = `SELECT 'reservation' AS what, id FROM reservations WHERE status = 'active'
      UNION ALL SELECT 'stock', location_id FROM stock WHERE reserved != 0`;
/** Clock steps at most while the frozen Intents settle: one that keeps waking others would never end. */
const MAX_CLOCK_STEPS = 64;

type Step = StepBuilder<Record<string, OperationSpec>>;
type Action = { op: string; build?: (s: Step, args: ActionArgs) => void };
const actions = (definition.actions ?? {}) as unknown as Readonly<Record<string, Action>>;
/**
 * An action of the check definition with the checker's arguments: a build function against the World's law.
 * Generic in the builder: it takes the type of whichever law version the World holds, which only the run knows.
 */
const act = <S>(name: string, args: ActionArgs) => (builder: S) => {
  const s = builder as unknown as Step;
  const action = actions[name] ?? { op: name };
  if (action.build) action.build(s, args);
  else s[action.op]!(args);
};

test("liveness:reservations_resolve (v2) holds after the counterexample noema check found", async () => {
  const world = testWorld(env.INVENTORY_ATTRACTOR, `noema-check-${crypto.randomUUID()}`, { version: 2 });
  // The Attractor's clock: the test's, plus what the test advanced it by.
  let advanced = 0;
  const now = () => Date.now() + advanced;
  const advance = async (ms: number) => {
    advanced += ms;
    await world.advance(ms);
  };
  // The clock passes every wake time: to the next one, again and again, until nothing is frozen.
  const settle = async () => {
    for (let steps = 0; steps < MAX_CLOCK_STEPS; steps++) {
      const [next] = await world.query("SELECT MIN(wake_at) AS at FROM _noema_cryostasis");
      if (next?.at === null || next?.at === undefined) return;
      await advance(Math.max(1, Number(next.at) - now()));
    }
    throw new Error(`frozen Intents still pending after ${MAX_CLOCK_STEPS} clock steps`);
  };
  const query = (sql: string) => world.query(sql);

  // 1. setStock {"locationId":"A","quantity":2} → sealed #1
  await world.sedimentation(act("setStock", {"locationId":"A","quantity":2}));
  // 2. reserve {"channel":"web","locationId":"A","quantity":1,"ttlSeconds":60} → sealed #2
  await world.sedimentation(act("reserve", {"locationId":"A","quantity":1,"ttlSeconds":60,"channel":"web"}));
  // 3. advance the clock past every wake time → frozen 1 refused (invariant reserved_matches_active_reservations): reserved stock must equal the sum of the location's active reservations (violated by {"location_id":"A","reserved":1,"active":0})
  await settle();
  expect(await query(PROPERTY)).toEqual([]);
});
