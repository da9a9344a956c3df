import type { StepBuilder } from "@noema/core";
import { type ActionArgs, type ActionSpec, defineCheck, type LivenessProperty, type SafetyProperty } from "@noema/core/check";
import { inventoryLaw } from "./law.js";
import type { InventoryVocabulary } from "./vocabulary.js";

/** What `noema check` explores and proves of the inventory law (`noema check --law apps/inventory/src/check.ts`). */

type Ops = InventoryVocabulary["operations"];
type Step = StepBuilder<Ops>;

const LOCATIONS = ["A", "B"];
/**
 * The location setStock is sent for (its domain below): a count sets a quantity without a
 * movement, so only the other locations must hold the sum of their movements. Stated by the domain
 * rather than by reading the log: a property that reads the log makes every state hold it too
 * (docs/check.md), which explores about half as many states again for the same depth.
 */
const COUNTED = "A";

/** Every reservation in the state, and one that never existed. */
const RESERVATIONS = { sql: "SELECT id FROM reservations ORDER BY id", also: ["r-missing"] };

const reserveArgs = (a: ActionArgs) => a as { locationId: string; quantity: number; ttlSeconds: number; channel?: "web" };
const reservationId = (a: ActionArgs) => String(a.reservationId);

/** The reservation route: a reserve and the `$freeze` of its own release at expiry, keyed by the reservation. */
export function reserveWithRelease(s: Step, a: ActionArgs): void {
  const r = s.reserve(reserveArgs(a));
  s.$freeze({ at: r.expiresAt, key: r.reservationId }, (frozen) => frozen.release({ reservationId: r.reservationId }));
}

/** An order's line hold (v3): a reserve under the order's own reservation id, with its release frozen. */
export function reserveForOrder(s: Step, a: ActionArgs): void {
  reserveWithRelease(s, a);
}

/** An order's compensation (v3): cancelHold and the cancel of the hold's frozen release, in one Intent. */
export function cancelHold(s: Step, a: ActionArgs): void {
  s.cancelHold(a as { reservationId: string; locationId: string; quantity: number });
  s.$cancel({ key: reservationId(a) });
}

/** The close routes: release or commit, and the cancel of the frozen release, in one Intent. */
export const closeReservation =
  (op: "release" | "commit") =>
  (s: Step, a: ActionArgs): void => {
    s[op]({ reservationId: reservationId(a) });
    s.$cancel({ key: reservationId(a) });
  };

/** The Intents the app sends (apps/inventory/src/api.ts), with small domains. */
export const inventoryActions = {
  setStock: { op: "setStock", args: { locationId: [COUNTED], quantity: [0, 2] } },
  adjust: { op: "adjust", args: { locationId: LOCATIONS, delta: [2, -1], reason: ["purchase"], referenceId: [undefined] } },
  reserve: {
    op: "reserve",
    args: { locationId: LOCATIONS, quantity: [1], ttlSeconds: [60], orderId: [undefined], channel: ["web"], reservationId: [undefined] },
    build: reserveWithRelease,
    // Only "not enough stock" may refuse a reservation: never a CHECK or an invariant.
    guarded: true,
  },
  // An order's hold and its compensation, in either order (a late reserve after its cancelHold is refused).
  reserveForOrder: {
    op: "reserve",
    args: { locationId: ["A"], quantity: [1], ttlSeconds: [60], orderId: ["o"], channel: ["web"], reservationId: ["o.0"] },
    build: reserveForOrder,
    versions: [3],
  },
  cancelHold: { op: "cancelHold", args: { reservationId: ["o.0"], locationId: ["A"], quantity: [1] }, build: cancelHold, versions: [3] },
  release: { op: "release", args: { reservationId: RESERVATIONS }, build: closeReservation("release") },
  commit: { op: "commit", args: { reservationId: RESERVATIONS }, build: closeReservation("commit") },
} satisfies Record<string, ActionSpec<Ops>>;

export const inventoryProperties: SafetyProperty[] = [
  {
    name: "quantity_is_sum_of_movements",
    description: "a location setStock never counts holds exactly the sum of its movements (setStock sets a count without a movement)",
    sql: `SELECT s.location_id, s.quantity, (SELECT COALESCE(SUM(m.delta), 0) FROM movements m WHERE m.location_id = s.location_id) AS movements
      FROM stock s WHERE s.location_id != '${COUNTED}' AND s.quantity != (SELECT COALESCE(SUM(m.delta), 0) FROM movements m WHERE m.location_id = s.location_id)`,
  },
  {
    name: "active_reservation_has_frozen_release",
    description: "every active reservation has a pending frozen release of itself",
    sql: `SELECT r.id FROM reservations r WHERE r.status = 'active' AND NOT EXISTS (
      SELECT 1 FROM _noema_cryostasis c WHERE c.freeze_key = r.id
        AND json_extract(c.intent, '$.steps[0].op') = 'release' AND json_extract(c.intent, '$.steps[0].args.reservationId') = r.id)`,
  },
  {
    name: "closed_reservation_has_no_frozen_release",
    description: "a released or committed reservation leaves no frozen release behind",
    sql: `SELECT r.id, r.status FROM reservations r JOIN _noema_cryostasis c ON c.freeze_key = r.id WHERE r.status != 'active'`,
  },
  {
    name: "committed_reservation_has_one_sale",
    description: "a reservation is committed exactly when it has its one sale movement (a release takes nothing out of stock)",
    sql: `SELECT r.id, r.status, (SELECT count(*) FROM movements m WHERE m.reason = 'sale' AND m.reference_id = r.id) AS sales
      FROM reservations r WHERE (SELECT count(*) FROM movements m WHERE m.reason = 'sale' AND m.reference_id = r.id) != (r.status = 'committed')`,
  },
];

export const inventoryLiveness: LivenessProperty[] = [
  {
    name: "reservations_resolve",
    description: "once the clock passes every wake time, no reservation is active and nothing is reserved",
    sql: `SELECT 'reservation' AS what, id FROM reservations WHERE status = 'active'
      UNION ALL SELECT 'stock', location_id FROM stock WHERE reserved != 0`,
  },
];

export const check = defineCheck({
  law: inventoryLaw,
  actions: inventoryActions,
  properties: inventoryProperties,
  liveness: inventoryLiveness,
});
