import { defineVocabulary, operation, type Row } from "@noema/core";
import { z } from "zod";
import { CHANNELS, inventoryNomosV1, inventoryNomosV2 } from "./nomos.js";

/** Ids in paths and bodies: no SQL, no unicode surprises, bounded. */
export const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1–128 characters of A–Z, a–z, 0–9, '.', '_', ':' or '-'");
const Quantity = z.number().int("must be a whole number").min(0).max(1_000_000_000);
export const MovementReason = z.enum(["sale", "purchase", "adjust", "return", "transfer"]);

const stockOutput = z.object({
  locationId: z.string(),
  quantity: z.number(),
  reserved: z.number(),
  available: z.number(),
});
export type Stock = z.infer<typeof stockOutput>;

function stock(row: Row | undefined): Stock {
  if (!row) throw new Error("stock statement returned no row");
  const quantity = Number(row.quantity);
  const reserved = Number(row.reserved);
  return { locationId: String(row.location_id), quantity, reserved, available: quantity - reserved };
}

const STOCK_RETURNING = "RETURNING location_id, quantity, reserved";

/** Upsert as update-then-insert: an ON CONFLICT upsert would trip the CHECK before the conflict for negative deltas. */
const insertStockIfMissing = "INSERT INTO stock (location_id, quantity, reserved, updated_at) SELECT ?, ?, 0, ? WHERE NOT EXISTS (SELECT 1 FROM stock WHERE location_id = ?)";

type ReservationArgs = { reservationId: string };

const releaseReservation = {
  sql: "UPDATE reservations SET status = 'released', closed_at = ? WHERE id = ? AND status = 'active' RETURNING id",
  params: (a: ReservationArgs, ctx: { now: number }) => [ctx.now, a.reservationId],
  expect: { rows: 1, refusal: (a: ReservationArgs) => `reservation ${a.reservationId} is not active (already released or committed)` },
};

// An expired reservation cannot become a sale, even while its frozen release has not run yet (a late or retried alarm).
const commitReservation = {
  sql: "UPDATE reservations SET status = 'committed', closed_at = ? WHERE id = ? AND status = 'active' AND expires_at > ? RETURNING id",
  params: (a: ReservationArgs, ctx: { now: number }) => [ctx.now, a.reservationId, ctx.now],
  expect: { rows: 1, refusal: (a: ReservationArgs) => `reservation ${a.reservationId} is not active (already released or committed) or has expired` },
};

const reservationExists = {
  sql: "SELECT id FROM reservations WHERE id = ?",
  params: (a: { reservationId: string }) => [a.reservationId],
  expect: { rows: 1, kind: "not_found" as const, refusal: (a: { reservationId: string }) => `reservation ${a.reservationId} does not exist` },
};

const reservationArgs = z.object({ reservationId: Id });

const v1Operations = {
  setStock: operation({
    description: "Sets the counted quantity at a location, creating the location if needed.",
    args: z.object({ locationId: Id, quantity: Quantity }),
    output: stockOutput,
    statements: [
      { sql: "UPDATE stock SET quantity = ?, updated_at = ? WHERE location_id = ?", params: (a, c) => [a.quantity, c.now, a.locationId] },
      { sql: insertStockIfMissing, params: (a, c) => [a.locationId, a.quantity, c.now, a.locationId] },
      { sql: "SELECT location_id, quantity, reserved FROM stock WHERE location_id = ?", params: (a) => [a.locationId] },
    ],
    result: (rows) => stock(rows[2]![0]),
  }),

  adjust: operation({
    description: "Adds a signed delta to a location's quantity, recording why.",
    args: z.object({
      locationId: Id,
      delta: z.number().int("must be a whole number").min(-1_000_000_000).max(1_000_000_000).refine((d) => d !== 0, "must not be zero"),
      reason: MovementReason,
      referenceId: Id.optional(),
    }),
    output: stockOutput,
    statements: [
      {
        // Without this the insert below would trip the quantity CHECK with a message that does not name the location.
        sql: "SELECT 1 AS ok WHERE ? > 0 OR EXISTS (SELECT 1 FROM stock WHERE location_id = ?)",
        params: (a) => [a.delta, a.locationId],
        expect: { rows: 1, refusal: (a) => `location ${a.locationId} has no stock to take ${-a.delta} from; set or add stock there first` },
      },
      { sql: "UPDATE stock SET quantity = quantity + ?, updated_at = ? WHERE location_id = ?", params: (a, c) => [a.delta, c.now, a.locationId] },
      { sql: insertStockIfMissing, params: (a, c) => [a.locationId, a.delta, c.now, a.locationId] },
      {
        sql: "INSERT INTO movements (location_id, delta, reason, reference_id, at) VALUES (?, ?, ?, ?, ?)",
        params: (a, c) => [a.locationId, a.delta, a.reason, a.referenceId ?? null, c.now],
      },
      { sql: "SELECT location_id, quantity, reserved FROM stock WHERE location_id = ?", params: (a) => [a.locationId] },
    ],
    result: (rows) => stock(rows[4]![0]),
  }),

  reserve: operation({
    description: "Holds units at a location until expiry, commit or release.",
    args: z.object({
      locationId: Id,
      quantity: Quantity.min(1),
      ttlSeconds: z.number().int("must be a whole number").min(1).max(86_400).default(900),
      orderId: Id.optional(),
    }),
    output: z.object({
      reservationId: z.string(),
      locationId: z.string(),
      quantity: z.number(),
      expiresAt: z.number(),
      orderId: z.string().nullable(),
    }),
    statements: [
      {
        sql: `UPDATE stock SET reserved = reserved + ?, updated_at = ? WHERE location_id = ? AND quantity - reserved >= ? ${STOCK_RETURNING}`,
        params: (a, c) => [a.quantity, c.now, a.locationId, a.quantity],
        expect: { rows: 1, refusal: (a) => `not enough available stock at ${a.locationId} to reserve ${a.quantity}` },
      },
      {
        // expires_at is computed in SQL so that explain shows a ttlSeconds taken from an earlier step as its Ref.
        sql: "INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at) VALUES (?, ?, ?, 'active', ?, ?, ? + ? * 1000) RETURNING id, expires_at",
        // Deterministic: sedimentIds never repeat within an Attractor, so neither do these.
        params: (a, c) => [`r-${c.sedimentId}-${c.step}`, a.locationId, a.quantity, a.orderId ?? null, c.now, c.now, a.ttlSeconds],
      },
    ],
    result: (rows, a) => ({
      reservationId: String(rows[1]![0]!.id),
      locationId: a.locationId,
      quantity: a.quantity,
      expiresAt: Number(rows[1]![0]!.expires_at),
      orderId: a.orderId ?? null,
    }),
  }),

  release: operation({
    description: "Gives a reservation's units back to available stock.",
    args: reservationArgs,
    output: stockOutput,
    statements: [
      reservationExists,
      releaseReservation,
      {
        sql: `UPDATE stock SET reserved = reserved - (SELECT quantity FROM reservations WHERE id = ?), updated_at = ? WHERE location_id = (SELECT location_id FROM reservations WHERE id = ?) ${STOCK_RETURNING}`,
        params: (a, c) => [a.reservationId, c.now, a.reservationId],
      },
    ],
    result: (rows) => stock(rows[2]![0]),
  }),

  commit: operation({
    description: "Turns a reservation into a sale: the units leave stock.",
    args: reservationArgs,
    output: stockOutput,
    statements: [
      reservationExists,
      commitReservation,
      {
        sql: `UPDATE stock SET quantity = quantity - (SELECT quantity FROM reservations WHERE id = ?), reserved = reserved - (SELECT quantity FROM reservations WHERE id = ?), updated_at = ? WHERE location_id = (SELECT location_id FROM reservations WHERE id = ?) ${STOCK_RETURNING}`,
        params: (a, c) => [a.reservationId, a.reservationId, c.now, a.reservationId],
      },
      {
        sql: "INSERT INTO movements (location_id, delta, reason, reference_id, at) SELECT location_id, -quantity, 'sale', id, ? FROM reservations WHERE id = ?",
        params: (a, c) => [c.now, a.reservationId],
      },
    ],
    result: (rows) => stock(rows[2]![0]),
  }),
};

export const inventoryV1 = defineVocabulary(inventoryNomosV1, v1Operations);

export const Channel = z.enum(CHANNELS);

const reserveV1 = v1Operations.reserve;

export const inventoryV2 = defineVocabulary(inventoryNomosV2, {
  ...v1Operations,
  reserve: operation({
    description: "Holds units at a location for a sales channel until expiry, commit or release.",
    args: reserveV1.args.extend({ channel: Channel.default("direct") }),
    output: reserveV1.output.extend({ channel: Channel }),
    statements: [
      reserveV1.statements[0]!,
      {
        sql: "INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (?, ?, ?, 'active', ?, ?, ? + ? * 1000, ?) RETURNING id, expires_at",
        params: (a, c) => [`r-${c.sedimentId}-${c.step}`, a.locationId, a.quantity, a.orderId ?? null, c.now, c.now, a.ttlSeconds, a.channel],
      },
    ],
    result: (rows, a, c) => ({ ...reserveV1.result(rows, a, c), channel: a.channel }),
  }),

  recordChannelSync: operation({
    description: "Records how far a sales channel has synced this product's log.",
    args: z.object({ channel: Channel, lastSedimentId: z.number().int().min(0) }),
    output: z.object({ channel: Channel, lastSedimentId: z.number() }),
    statements: [
      {
        sql: "INSERT INTO channel_sync (channel, last_sediment_id, synced_at) VALUES (?, ?, ?) ON CONFLICT (channel) DO UPDATE SET last_sediment_id = excluded.last_sediment_id, synced_at = excluded.synced_at",
        params: (a, c) => [a.channel, a.lastSedimentId, c.now],
      },
    ],
    result: (_rows, a) => ({ channel: a.channel, lastSedimentId: a.lastSedimentId }),
  }),
});

/** The vocabulary of the current law: what new Intents are built with. */
export const inventory = inventoryV2;
export type InventoryVocabulary = typeof inventory;
