import { defineNomos, defineVocabulary, type Intent, integer, type Lineage, operation, type Provisions, rebuildTableSql, sql } from "@noema/core";
import { z } from "zod";
import { inventoryLaw } from "../src/law.js";
import { inventoryNomosV2, inventoryNomosV3 as shippedNomosV3 } from "../src/nomos.js";
import { Id, inventoryV2, inventoryV3 as shippedV3 } from "../src/vocabulary.js";

/**
 * Lineages that only tests run: the shipped v1 → v2 evolution with other provisions, a
 * critical mark or no reforge, and a v3 whose migration can fail on real data.
 */

export const DAY = 24 * 60 * 60 * 1000;

const v1 = inventoryLaw.upTo(1);
const shipped = inventoryLaw.evolutionFrom(1)!;

export const CRITICAL_REASON = "reservations without a channel bypassed the marketplace's fraud checks";

/** v2 as shipped, marked critical: no Intent of v1 may run any more, whatever it touches. */
export const criticalLaw = v1.evolve(inventoryV2, { ...shipped, critical: { reason: CRITICAL_REASON } });

/** v2 with the shipped migration but no reforge: Curved Intents of v1 cannot be carried. */
export const noReforgeLaw = v1.evolve(inventoryV2, { migration: shipped.migration });

/**
 * The clock the grace-period lineages are placed around, fixed on first use. It is read inside
 * a request (at global scope a Worker's clock does not run), and every margin is a day wide,
 * so no test depends on how long anything takes.
 */
let anchor: number | undefined;
export const anchorTime = (): number => (anchor ??= Date.now());

const withProvisions = (provisions: Provisions): Lineage => v1.evolve(inventoryV2, { ...shipped, provisions });

/** Grace periods around the anchor: not yet in force, in its grace period, past it (two policies). */
export const graceLaws = {
  before: () => withProvisions({ effectiveFrom: anchorTime() + DAY, gracePeriod: DAY, afterGrace: "refuse-curved" }),
  during: () => withProvisions({ effectiveFrom: anchorTime() - DAY, gracePeriod: 2 * DAY, afterGrace: "refuse-curved" }),
  after: () => withProvisions({ effectiveFrom: anchorTime() - 2 * DAY, gracePeriod: DAY, afterGrace: "refuse-curved" }),
  afterRefuseAll: () => withProvisions({ effectiveFrom: anchorTime() - 2 * DAY, gracePeriod: DAY, afterGrace: "refuse-all" }),
};

export const CAPACITY = 1000;

/** v3: a location holds at most 1000 units. Stock above that makes the migration fail. */
export const inventoryNomosV3 = defineNomos({
  name: "inventory",
  version: 3,
  tables: {
    ...inventoryNomosV2.tables,
    stock: {
      ...inventoryNomosV2.tables.stock,
      columns: {
        ...inventoryNomosV2.tables.stock.columns,
        quantity: integer()
          .notNull()
          .check(`quantity >= 0 AND quantity <= ${CAPACITY}`, `a location holds between 0 and ${CAPACITY} units`),
      },
    },
  },
  invariants: inventoryNomosV2.invariants,
});

export const inventoryV3 = defineVocabulary(inventoryNomosV3, inventoryV2.operations);

/** The shipped lineage up to v2, plus a test-only v3; v2 Intents are carried as they are and the new CHECK judges them. */
export const capacityLaw = inventoryLaw.upTo(2).evolve(inventoryV3, {
  migration: rebuildTableSql(inventoryNomosV3, "stock"),
  reforge: (intent: Intent) => intent,
});

/** The location whose sensor is down: `restock` there fails with an unexpected error, not a refusal. */
export const OFFLINE = "offline";
export const OFFLINE_ERROR = `scale at ${OFFLINE} did not answer`;

/**
 * The shipped law (v3) plus `restock`, which adds one unit at a location. Computing its parameters throws for
 * the offline location: a bug or an outage, which Cryostasis retries, unlike a Nomos refusal.
 */
export const flakyV3 = defineVocabulary(shippedNomosV3, {
  ...shippedV3.operations,
  restock: operation({
    description: "Adds one unit counted by the location's scale.",
    args: z.object({ locationId: Id }),
    output: z.object({ locationId: z.string(), quantity: z.number() }),
    statements: ({ ctx, computed }) => ({
      count: sql`UPDATE stock SET quantity = quantity + 1, updated_at = ${ctx.now} WHERE location_id = ${computed((a) => {
        if (a.locationId === OFFLINE) throw new Error(OFFLINE_ERROR);
        return a.locationId;
      })} RETURNING location_id, quantity`.expect({ rows: 1, refusal: (a) => `location ${a.locationId} has no stock` }),
    }),
    result: ({ count: [row] }) => ({ locationId: String(row?.location_id), quantity: Number(row?.quantity) }),
  }),
});

/** The shipped lineage with `restock` added to v3. */
export const flakyLaw = inventoryLaw.upTo(2).evolve(flakyV3, inventoryLaw.evolutionFrom(2)!);
