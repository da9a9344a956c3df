import { defineNomos, integer, text, type RowOf } from "@noema/core";

/** The law of one product's stock: declared once, DDL and hashes derived from it. */
export const inventoryNomosV1 = defineNomos({
  name: "inventory",
  version: 1,
  tables: {
    stock: {
      columns: {
        location_id: text().primaryKey(),
        quantity: integer().notNull().check("quantity >= 0", "stock quantity cannot go below zero"),
        reserved: integer().notNull().default(0).check("reserved >= 0", "reserved stock cannot go below zero"),
        updated_at: integer().notNull(),
      },
      checks: {
        stock_reserved_within_quantity: {
          sql: "reserved <= quantity",
          message: "quantity cannot drop below what is reserved; release or commit reservations first",
        },
      },
    },
    reservations: {
      columns: {
        id: text().primaryKey(),
        location_id: text().notNull(),
        quantity: integer().notNull().check("quantity > 0", "a reservation holds at least one unit"),
        status: text()
          .notNull()
          .$type<"active" | "released" | "committed">()
          .check("status IN ('active', 'released', 'committed')", "status must be active, released or committed"),
        order_id: text(),
        created_at: integer().notNull(),
        expires_at: integer().notNull(),
        closed_at: integer(),
      },
      // Covers the invariant's per-location sum, so it reads the index alone.
      indexes: { reservations_by_location_status: { columns: ["location_id", "status", "quantity"] } },
    },
    movements: {
      columns: {
        id: integer().primaryKey(),
        location_id: text().notNull(),
        delta: integer().notNull(),
        reason: text()
          .notNull()
          .$type<"sale" | "purchase" | "adjust" | "return" | "transfer">()
          .check(
            "reason IN ('sale', 'purchase', 'adjust', 'return', 'transfer')",
            "reason must be sale, purchase, adjust, return or transfer",
          ),
        reference_id: text(),
        at: integer().notNull(),
      },
    },
  },
  invariants: {
    reserved_matches_active_reservations: {
      violations: `SELECT location_id, reserved, active FROM (
        SELECT s.location_id, s.reserved,
          (SELECT COALESCE(SUM(r.quantity), 0) FROM reservations r WHERE r.location_id = s.location_id AND r.status = 'active') AS active
        FROM stock s) WHERE reserved != active`,
      message: "reserved stock must equal the sum of the location's active reservations",
    },
  },
});

export const CHANNELS = ["direct", "web", "marketplace", "store"] as const;
export type Channel = (typeof CHANNELS)[number];
const channelCheck = `channel IN (${CHANNELS.map((c) => `'${c}'`).join(", ")})`;

const v1 = inventoryNomosV1.tables;

/**
 * v2: sales channels. Every reservation now names the channel it came through (a new
 * required column: Curved for reserve Intents), and each channel's sync position is
 * tracked in a new table (Flat: no v1 Intent touches it).
 */
export const inventoryNomosV2 = defineNomos({
  name: "inventory",
  version: 2,
  tables: {
    ...v1,
    reservations: {
      ...v1.reservations,
      columns: {
        ...v1.reservations.columns,
        channel: text().notNull().$type<Channel>().check(channelCheck, `channel must be one of ${CHANNELS.join(", ")}`),
      },
    },
    channel_sync: {
      columns: {
        channel: text().primaryKey().$type<Channel>().check(channelCheck, `channel must be one of ${CHANNELS.join(", ")}`),
        last_sediment_id: integer().notNull().check("last_sediment_id >= 0", "a sync position cannot be negative"),
        synced_at: integer().notNull(),
      },
    },
  },
  invariants: inventoryNomosV1.invariants,
});

const v2 = inventoryNomosV2.tables;

/**
 * v3: invariants checked where an Intent wrote, and reads that do not grow with history.
 * The invariant asserts what it did; its scope says it is about one location at a time, so
 * an Intent is checked only at the locations its statements wrote. A new index serves the
 * active reservations in the order the snapshot pages them, so closed ones are never read.
 */
export const inventoryNomosV3 = defineNomos({
  name: "inventory",
  version: 3,
  tables: {
    ...v2,
    reservations: {
      ...v2.reservations,
      indexes: {
        ...v2.reservations.indexes,
        // status first: the active reservations are one range of it, in (created_at, id) order.
        reservations_by_status_created: { columns: ["status", "created_at", "id"] },
      },
    },
  },
  invariants: {
    reserved_matches_active_reservations: {
      ...inventoryNomosV2.invariants.reserved_matches_active_reservations!,
      scope: { key: ["location_id"], tables: { stock: ["location_id"], reservations: ["location_id"] } },
    },
  },
});

export type StockRow = RowOf<typeof inventoryNomosV3.tables.stock>;
export type ReservationRow = RowOf<typeof inventoryNomosV3.tables.reservations>;
