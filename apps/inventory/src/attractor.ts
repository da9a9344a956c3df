import { Attractor } from "@noema/cloudflare";
import type { Env } from "./env.js";
import { catalog } from "./catalog/vocabulary.js";
import { inventoryLaw } from "./law.js";
import type { InventoryVocabulary, Stock } from "./vocabulary.js";

export interface ActiveReservation {
  id: string;
  locationId: string;
  quantity: number;
  expiresAt: number;
  orderId?: string;
  channel?: string;
}

export interface ProductSnapshot {
  locations: Stock[];
  reservations: ActiveReservation[];
  nomos: { version: number; hash: string };
}

/** One product's stock across locations: one Attractor per product id. */
export class InventoryAttractor extends Attractor<Env, InventoryVocabulary> {
  static law = inventoryLaw;
  /** A product's first stocking lists it in the catalog (see api.ts). */
  static sends = { CATALOG_ATTRACTOR: catalog };

  /** The product's current state, or null when it was never stocked. */
  snapshot(): ProductSnapshot | null {
    const locations = this.query("SELECT location_id, quantity, reserved FROM stock ORDER BY location_id").map((r) => ({
      locationId: String(r.location_id),
      quantity: Number(r.quantity),
      reserved: Number(r.reserved),
      available: Number(r.quantity) - Number(r.reserved),
    }));
    if (locations.length === 0) return null;
    // Under v1 (an Attractor not yet upgraded) reservations have no channel.
    const channel = this.world.nomosVersion >= 2 ? "channel" : "NULL AS channel";
    const reservations = this.query(
      `SELECT id, location_id, quantity, expires_at, order_id, ${channel} FROM reservations WHERE status = 'active' ORDER BY created_at, id`,
    ).map((r) => ({
      id: String(r.id),
      locationId: String(r.location_id),
      quantity: Number(r.quantity),
      expiresAt: Number(r.expires_at),
      ...(r.order_id === null ? {} : { orderId: String(r.order_id) }),
      ...(r.channel === null ? {} : { channel: String(r.channel) }),
    }));
    return { locations, reservations, nomos: { version: this.world.nomosVersion, hash: this.world.nomosHash } };
  }
}
