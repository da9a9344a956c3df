// What leaves a product's Attractor to its sync subscribers. A module of its own, free of the
// Worker's code: the storefront page bundles it too, to know which tables are scoped to its cart.
import { definePublication } from "@noema/core";
import { inventoryNomosV3 } from "./nomos.js";

/**
 * What a product's sync subscribers see: its stock per location, whole (so a storefront can run
 * the statements that change it), and only their own reservations, without the order, channel
 * or timestamps but their expiry: those whose `order_id` is the subscriber's subject (a
 * storefront reserves with `orderId` set to its customer's cart, which its client's `subject`
 * says, so that reserve is applied at once). Every column named here exists since v1: an
 * Attractor still at an older law captures them too.
 */
export const inventoryPublication = definePublication(inventoryNomosV3, {
  stock: { columns: ["location_id", "quantity", "reserved", "updated_at"] },
  reservations: { columns: ["id", "location_id", "quantity", "status", "expires_at"], scope: "order_id" },
});
