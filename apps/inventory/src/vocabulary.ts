// First: what `noema build` derived from these laws' SQL, so that the Worker needs no SQL parser.
import "./law.footprints.js";
import { columnsOf, defineVocabulary, type Hole, operation, sql, type StatementTools } from "@noema/core";
import * as z from "zod";
import { CHANNELS, inventoryNomosV1, inventoryNomosV2, inventoryNomosV3 } from "./nomos.js";

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

/** What every stock statement reads back, typed from the Nomos. */
const STOCK_COLUMNS = columnsOf(inventoryNomosV1, "stock", "location_id", "quantity", "reserved");
type StockColumns = NonNullable<typeof STOCK_COLUMNS.row>;

function stock(row: StockColumns | undefined): Stock {
  if (!row) throw new Error("stock statement returned no row");
  return { locationId: row.location_id, quantity: row.quantity, reserved: row.reserved, available: row.quantity - row.reserved };
}

type LocationArgs = { locationId: string };
type ReservationArgs = { reservationId: string };

const stockAt = ({ arg }: StatementTools<LocationArgs>) => sql`SELECT ${STOCK_COLUMNS} FROM stock WHERE location_id = ${arg.locationId}`;

/** Upsert as update-then-insert: an ON CONFLICT upsert would trip the CHECK before the conflict for negative deltas. */
const insertStockIfMissing = <Q extends Hole<never>>({ arg, ctx }: StatementTools<LocationArgs>, quantity: Q) =>
  sql`INSERT INTO stock (location_id, quantity, reserved, updated_at) SELECT ${arg.locationId}, ${quantity}, 0, ${ctx.now} WHERE NOT EXISTS (SELECT 1 FROM stock WHERE location_id = ${arg.locationId})`;

const reservationExists = ({ arg }: StatementTools<ReservationArgs>) =>
  sql`SELECT id FROM reservations WHERE id = ${arg.reservationId}`.expect({ rows: 1, kind: "not_found", refusal: (a) => `reservation ${a.reservationId} does not exist` });

const releaseReservation = ({ arg, ctx }: StatementTools<ReservationArgs>) =>
  sql`UPDATE reservations SET status = 'released', closed_at = ${ctx.now} WHERE id = ${arg.reservationId} AND status = 'active' RETURNING id`.expect({
    rows: 1,
    refusal: (a) => `reservation ${a.reservationId} is not active (already released or committed)`,
  });

// An expired reservation cannot become a sale, even while its frozen release has not run yet (a late or retried alarm).
const commitReservation = ({ arg, ctx }: StatementTools<ReservationArgs>) =>
  sql`UPDATE reservations SET status = 'committed', closed_at = ${ctx.now} WHERE id = ${arg.reservationId} AND status = 'active' AND expires_at > ${ctx.now} RETURNING id`.expect({
    rows: 1,
    refusal: (a) => `reservation ${a.reservationId} is not active (already released or committed) or has expired`,
  });

/** Why a stock update found no row: no stock row there (or none at all: a product never stocked) is not "not enough stock". */
const locatedAt = ({ arg }: StatementTools<LocationArgs>) =>
  sql`SELECT location_id FROM stock WHERE location_id = ${arg.locationId}`.expect({
    rows: 1,
    kind: "not_found",
    refusal: (a) => `location ${a.locationId} has no stock of this product; set or add stock there first`,
  });

/**
 * reserve's stock check and update, shared by v1 and v2. The location is looked up only when the
 * update finds no row (its cause), so a reservation that succeeds runs no extra statement.
 */
const holdStock = (tools: StatementTools<{ locationId: string; quantity: number }>) => ({
  stock: sql`UPDATE stock SET reserved = reserved + ${tools.arg.quantity}, updated_at = ${tools.ctx.now} WHERE location_id = ${tools.arg.locationId} AND quantity - reserved >= ${tools.arg.quantity} RETURNING ${STOCK_COLUMNS}`.expect({
    rows: 1,
    refusal: (a) => `not enough available stock at ${a.locationId} to reserve ${a.quantity}`,
    cause: locatedAt(tools),
  }),
});

/** `r-<sedimentId>-<step>`: unique within the Attractor, and the same whenever the Intent is explained or replayed. */
const reservationId = ({ computed }: StatementTools<unknown>) => computed((_a, c) => `r-${c.sedimentId}-${c.step}`);

const reservationArgs = z.object({ reservationId: Id });
/** What reserve reads back of the reservation it inserted. */
const RESERVATION_COLUMNS = columnsOf(inventoryNomosV1, "reservations", "id", "expires_at");

const v1Operations = {
  setStock: operation({
    description: "Sets the counted quantity at a location, creating the location if needed.",
    args: z.object({ locationId: Id, quantity: Quantity }),
    output: stockOutput,
    statements: (t) => ({
      update: sql`UPDATE stock SET quantity = ${t.arg.quantity}, updated_at = ${t.ctx.now} WHERE location_id = ${t.arg.locationId}`,
      insert: insertStockIfMissing(t, t.arg.quantity),
      stock: stockAt(t),
    }),
    result: (rows) => stock(rows.stock[0]),
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
    statements: (t) => ({
      // Without this the insert below would trip the quantity CHECK with a message that does not name the location.
      guard: sql`SELECT 1 AS ok WHERE ${t.arg.delta} > 0 OR EXISTS (SELECT 1 FROM stock WHERE location_id = ${t.arg.locationId})`.expect({
        rows: 1,
        refusal: (a) => `location ${a.locationId} has no stock to take ${-a.delta} from; set or add stock there first`,
      }),
      update: sql`UPDATE stock SET quantity = quantity + ${t.arg.delta}, updated_at = ${t.ctx.now} WHERE location_id = ${t.arg.locationId}`,
      insert: insertStockIfMissing(t, t.arg.delta),
      movement: sql`INSERT INTO movements (location_id, delta, reason, reference_id, at) VALUES (${t.arg.locationId}, ${t.arg.delta}, ${t.arg.reason}, ${t.arg.referenceId}, ${t.ctx.now})`,
      stock: stockAt(t),
    }),
    result: (rows) => stock(rows.stock[0]),
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
    statements: (t) => ({
      ...holdStock(t),
      // expires_at is computed in SQL so that explain shows a ttlSeconds taken from an earlier step as its Ref.
      // The id is deterministic: sedimentIds never repeat within an Attractor, so neither do these.
      reservation: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at) VALUES (${reservationId(t)}, ${t.arg.locationId}, ${t.arg.quantity}, 'active', ${t.arg.orderId}, ${t.ctx.now}, ${t.ctx.now} + ${t.arg.ttlSeconds} * 1000) RETURNING ${RESERVATION_COLUMNS}`,
    }),
    result: (rows, a) => {
      const row = rows.reservation[0];
      if (!row) throw new Error("reservation insert returned no row");
      return { reservationId: row.id, locationId: a.locationId, quantity: a.quantity, expiresAt: row.expires_at, orderId: a.orderId ?? null };
    },
  }),

  release: operation({
    description: "Gives a reservation's units back to available stock.",
    args: reservationArgs,
    output: stockOutput,
    statements: (t) => ({
      exists: reservationExists(t),
      release: releaseReservation(t),
      stock: sql`UPDATE stock SET reserved = reserved - (SELECT quantity FROM reservations WHERE id = ${t.arg.reservationId}), updated_at = ${t.ctx.now} WHERE location_id = (SELECT location_id FROM reservations WHERE id = ${t.arg.reservationId}) RETURNING ${STOCK_COLUMNS}`,
    }),
    result: (rows) => stock(rows.stock[0]),
  }),

  commit: operation({
    description: "Turns a reservation into a sale: the units leave stock.",
    args: reservationArgs,
    output: stockOutput,
    statements: (t) => ({
      exists: reservationExists(t),
      commit: commitReservation(t),
      stock: sql`UPDATE stock SET quantity = quantity - (SELECT quantity FROM reservations WHERE id = ${t.arg.reservationId}), reserved = reserved - (SELECT quantity FROM reservations WHERE id = ${t.arg.reservationId}), updated_at = ${t.ctx.now} WHERE location_id = (SELECT location_id FROM reservations WHERE id = ${t.arg.reservationId}) RETURNING ${STOCK_COLUMNS}`,
      movement: sql`INSERT INTO movements (location_id, delta, reason, reference_id, at) SELECT location_id, -quantity, 'sale', id, ${t.ctx.now} FROM reservations WHERE id = ${t.arg.reservationId}`,
    }),
    result: (rows) => stock(rows.stock[0]),
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
    statements: (t) => ({
      ...holdStock(t),
      reservation: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (${reservationId(t)}, ${t.arg.locationId}, ${t.arg.quantity}, 'active', ${t.arg.orderId}, ${t.ctx.now}, ${t.ctx.now} + ${t.arg.ttlSeconds} * 1000, ${t.arg.channel}) RETURNING ${RESERVATION_COLUMNS}`,
    }),
    result: (rows, a, c) => ({ ...reserveV1.result(rows, a, c), channel: a.channel }),
  }),

  recordChannelSync: operation({
    description: "Records how far a sales channel has synced this product's log.",
    args: z.object({ channel: Channel, lastSedimentId: z.number().int().min(0) }),
    output: z.object({ channel: Channel, lastSedimentId: z.number() }),
    statements: ({ arg, ctx }) => ({
      sync: sql`INSERT INTO channel_sync (channel, last_sediment_id, synced_at) VALUES (${arg.channel}, ${arg.lastSedimentId}, ${ctx.now}) ON CONFLICT (channel) DO UPDATE SET last_sediment_id = excluded.last_sediment_id, synced_at = excluded.synced_at`,
    }),
    result: (_rows, a) => ({ channel: a.channel, lastSedimentId: a.lastSedimentId }),
  }),
});

const reserveV2 = inventoryV2.operations.reserve;

/** `reservationId` when the caller names it (an order's line), else `r-<sedimentId>-<step>`. */
const chosenReservationId = ({ computed }: StatementTools<{ reservationId?: string }>) =>
  computed((a, c) => a.reservationId ?? `r-${c.sedimentId}-${c.step}`);

type HoldArgs = { reservationId: string; locationId: string; quantity: number };

/**
 * v3: the same operations under scoped invariants, `reserve` may name its reservation, and
 * `cancelHold` lets an order compensate a hold whether or not its reserve has arrived.
 */
export const inventoryV3 = defineVocabulary(inventoryNomosV3, {
  ...inventoryV2.operations,
  reserve: operation({
    description: "Holds units at a location for a sales channel until expiry, commit or release; the caller may name the reservation.",
    args: reserveV2.args.extend({ reservationId: Id.optional() }),
    output: reserveV2.output,
    statements: (t) => ({
      ...holdStock(t),
      // A reservationId used before (even by a cancelHold tombstone) fails the PRIMARY KEY: the Intent is refused.
      reservation: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (${chosenReservationId(t)}, ${t.arg.locationId}, ${t.arg.quantity}, 'active', ${t.arg.orderId}, ${t.ctx.now}, ${t.ctx.now} + ${t.arg.ttlSeconds} * 1000, ${t.arg.channel}) RETURNING ${RESERVATION_COLUMNS}`,
    }),
    result: reserveV2.result,
  }),

  cancelHold: operation({
    description:
      "Cancels a hold for order compensation: an active reservation is released; one that never arrived is recorded as released, so a late reserve with its id is refused; a released one is left as it is; a committed one is refused.",
    args: z.object({ reservationId: Id, locationId: Id, quantity: Quantity.min(1) }),
    output: z.object({ reservationId: z.string(), status: z.literal("released") }),
    statements: ({ arg, ctx }: StatementTools<HoldArgs>) => ({
      notCommitted: sql`SELECT 1 AS ok WHERE NOT EXISTS (SELECT 1 FROM reservations WHERE id = ${arg.reservationId} AND status = 'committed')`.expect({
        rows: 1,
        refusal: (a) => `reservation ${a.reservationId} is committed (a sale); it cannot be cancelled`,
      }),
      // Stock first: it reads the reservation while it is still active.
      stock: sql`UPDATE stock SET reserved = reserved - (SELECT quantity FROM reservations WHERE id = ${arg.reservationId} AND status = 'active'), updated_at = ${ctx.now} WHERE location_id = (SELECT location_id FROM reservations WHERE id = ${arg.reservationId} AND status = 'active')`,
      release: sql`UPDATE reservations SET status = 'released', closed_at = ${ctx.now} WHERE id = ${arg.reservationId} AND status = 'active'`,
      tombstone: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, closed_at, channel) SELECT ${arg.reservationId}, ${arg.locationId}, ${arg.quantity}, 'released', NULL, ${ctx.now}, ${ctx.now}, ${ctx.now}, 'direct' WHERE NOT EXISTS (SELECT 1 FROM reservations WHERE id = ${arg.reservationId})`,
    }),
    result: (_rows, a) => ({ reservationId: a.reservationId, status: "released" as const }),
  }),
});

/** The vocabulary of the current law: what new Intents are built with. */
export const inventory = inventoryV3;
export type InventoryVocabulary = typeof inventory;
