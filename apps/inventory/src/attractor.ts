import { Attractor, type SyncGrant } from "@noema/cloudflare";
import { columnsOf } from "@noema/core";
import * as z from "zod";
import type { Env } from "./env.js";
import { catalog } from "./catalog/vocabulary.js";
import { inventoryLaw } from "./law.js";
import { type Channel, inventoryNomosV1 } from "./nomos.js";
import type { Stock } from "./vocabulary.js";
import { inventoryPublication } from "./publication.js";
import { authorizeSync } from "./sync.js";

export interface ActiveReservation {
  id: string;
  locationId: string;
  quantity: number;
  expiresAt: number;
  orderId?: string;
  channel?: Channel;
}

export interface ProductSnapshot {
  locations: Stock[];
  /** One page of the active reservations, oldest first. */
  reservations: ActiveReservation[];
  /** The cursor of the next page (`after`), when there may be one. */
  next?: string;
  nomos: { version: number; hash: string };
}

/** Active reservations per snapshot page unless asked otherwise, and at most. */
export const RESERVATION_PAGE = { default: 100, max: 1000 } as const;

/**
 * A snapshot page's cursor: `<createdAt>:<reservationId>` of the last reservation seen, as
 * `next` returns it. Reservations are ordered by (created_at, id), which the v3 index serves.
 */
export const ReservationCursor = z
  .string()
  .regex(/^\d{1,16}:[A-Za-z0-9._:-]{1,128}$/, "must be <createdAt>:<reservationId>, as returned in next")
  .transform((v) => {
    const at = v.indexOf(":");
    return { createdAt: Number(v.slice(0, at)), id: v.slice(at + 1) };
  });

const STOCK = columnsOf(inventoryNomosV1, "stock", "location_id", "quantity", "reserved");
/** A snapshot's reservation row; `channel` is NULL under v1, which has none. */
type ReservationRead = { id: string; location_id: string; quantity: number; created_at: number; expires_at: number; order_id: string | null; channel: Channel | null };

/** One product's stock across locations: one Attractor per product id. */
export class InventoryAttractor extends Attractor.of(inventoryLaw)<Env> {
  /** A product's first stocking lists it in the catalog (see api.ts). */
  static sends = { CATALOG_ATTRACTOR: catalog };
  /** Stock levels to every subscriber; reservations only to the cart that holds them (see sync.ts). */
  static publication = inventoryPublication;

  protected override authorize(token: string): Promise<SyncGrant | undefined> {
    return authorizeSync(this.env, token);
  }

  /** The product's current state with a page of its active reservations, or null when it was never stocked. */
  snapshot(page: { after?: string | undefined; limit?: number | undefined } = {}): ProductSnapshot | null {
    const locations = this.query(STOCK, "FROM stock ORDER BY location_id").map((r) => ({
      locationId: r.location_id,
      quantity: r.quantity,
      reserved: r.reserved,
      available: r.quantity - r.reserved,
    }));
    if (locations.length === 0) return null;
    const after = page.after === undefined ? undefined : ReservationCursor.parse(page.after);
    const limit = Math.min(Math.max(1, Math.trunc(page.limit ?? RESERVATION_PAGE.default)), RESERVATION_PAGE.max);
    // Under v1 (an Attractor not yet upgraded) reservations have no channel.
    const channel = this.world.nomosVersion >= 2 ? "channel" : "NULL AS channel";
    const rows = this.query<ReservationRead>(
      `SELECT id, location_id, quantity, created_at, expires_at, order_id, ${channel} FROM reservations
        WHERE status = 'active'${after ? " AND (created_at, id) > (?, ?)" : ""} ORDER BY created_at, id LIMIT ?`,
      ...(after ? [after.createdAt, after.id] : []),
      limit,
    );
    const reservations = rows.map((r) => ({
      id: r.id,
      locationId: r.location_id,
      quantity: r.quantity,
      expiresAt: r.expires_at,
      ...(r.order_id === null ? {} : { orderId: r.order_id }),
      ...(r.channel === null ? {} : { channel: r.channel }),
    }));
    const last = rows.length === limit ? rows.at(-1) : undefined;
    return {
      locations,
      reservations,
      ...(last ? { next: `${last.created_at}:${last.id}` } : {}),
      nomos: { version: this.world.nomosVersion, hash: this.world.nomosHash },
    };
  }
}
