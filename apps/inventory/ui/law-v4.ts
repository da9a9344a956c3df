// A test-only v4 of the inventory law: what the reference app's next release could be. The
// resilience test runs `wrangler dev` on it (server-v4.ts) over the state a v3 server left, and
// builds a storefront bundle on it, to see what becomes of Intents queued under v3.
import { defineNomos, defineVocabulary, type Intent, operation } from "@noema/core";
import * as z from "zod";
import { inventoryLaw } from "../src/law.js";
import { inventoryNomosV3 } from "../src/nomos.js";
import { inventoryV3 } from "../src/vocabulary.js";

/** What v4 lets one reservation hold. */
export const V4_MAX_RESERVE = 3;

/** The same tables and invariants: only `reserve` changes, so the other operations are Flat across v3 → v4. */
export const inventoryNomosV4 = defineNomos({ name: "inventory", version: 4, tables: inventoryNomosV3.tables, invariants: inventoryNomosV3.invariants });

const reserveV3 = inventoryV3.operations.reserve;

/** v4: a reservation holds at most V4_MAX_RESERVE units (its arguments changed: Curved for a v3 reserve). */
export const inventoryV4 = defineVocabulary(inventoryNomosV4, {
  ...inventoryV3.operations,
  reserve: operation({
    description: `Holds at most ${V4_MAX_RESERVE} units at a location for a sales channel until expiry, commit or release.`,
    args: reserveV3.args.extend({ quantity: z.number().int().min(1).max(V4_MAX_RESERVE) }),
    output: reserveV3.output,
    statements: reserveV3.statements,
    result: reserveV3.result,
  }),
});

/** Why v4 stops every v3 `commit` (a Critical mark on that one operation): the other operations keep their Connection. */
export const COMMIT_CRITICAL = "v4 sells through orders: a reservation queued for commit under v3 must be committed again by its order";

/** Why v4 refuses a v3 reserve it cannot carry. */
const tooMany = (quantity: number) => `v4 holds at most ${V4_MAX_RESERVE} units per reservation; this one asked for ${quantity}`;

/**
 * v3 → v4: a v3 commit is Critical; a v3 reserve is Curved. Its reforge carries one of up to V4_MAX_RESERVE units over
 * on the `web` channel (so the Seal shows it was reforged), and refuses a bigger one with the reason.
 */
export const inventoryLawV4 = inventoryLaw.evolve(inventoryV4, {
  migration: [],
  critical: { reason: COMMIT_CRITICAL, operations: ["commit"] },
  reforge: (intent: Intent): Intent => ({
    ...intent,
    steps: intent.steps.map((step) => {
      if (step.op !== "reserve") return step;
      const quantity = Number((step.args as { quantity: number }).quantity);
      if (quantity > V4_MAX_RESERVE) throw new Error(tooMany(quantity));
      return { ...step, args: { ...step.args, channel: "web" } };
    }),
  }),
});
