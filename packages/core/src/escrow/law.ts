// First: the footprints of this law's SQL, so that a Worker derives Sieves without the SQL parser.
import "./law.footprints.js";
import * as z from "zod";
import { lineage } from "../connection/lineage.js";
import { columnsOf, defineVocabulary, operation, sql } from "../intent/vocabulary.js";
import { integer, text } from "../nomos/column.js";
import { defineNomos } from "../nomos/define.js";
import { splittable } from "./splittable.js";

/** The status of a move of share: sent (it belongs to nobody until it lands), landed, or returned to its sender (the receiver refused it). */
export type MoveStatus = "in_flight" | "landed" | "returned";
/** The status of a hold on a shard. */
export type HoldStatus = "held" | "released" | "sold";

/**
 * The law of a sharded quantity. Every World of a hot product runs it: the coordinator (the
 * product) uses `quantity` for its total and the share no shard holds, `shards` for the shares it
 * gave, and `moves` for share it sent; each shard uses `quantity` for its share and what is held
 * of it, `holds` for its reservations, `landed` for the share it received. A move leaves one
 * World's `available` in the Intent that sends it and lands in the other's in the Intent the
 * message delivers, exactly once.
 */
export const escrowNomos = defineNomos({
  name: "escrow",
  version: 1,
  tables: {
    quantity: {
      columns: {
        id: integer().primaryKey().check("id = 1", "a World holds one quantity"),
        /** The coordinator's stock: what all the Worlds together hold. Zero on a shard. */
        total: integer().notNull(),
        /** Units this World may hand out: the coordinator's unassigned share, or a shard's share not held. */
        available: integer().notNull(),
        /** Units held by reservations here. */
        held: integer().notNull(),
        /** Units sold here: held, then committed. They leave the share for good. */
        sold: integer().notNull(),
        updated_at: integer().notNull(),
      },
    },
    shards: {
      columns: {
        shard: integer().primaryKey(),
        name: text().notNull().unique(),
        /** The share moved to this shard and landed, less what it gave back and landed here. */
        granted: integer().notNull(),
        /** 1 while requests are routed to it; a merge sets it to 0 and takes its share back. */
        active: integer().notNull(),
      },
    },
    moves: {
      columns: {
        move_id: text().primaryKey(),
        to_world: text().notNull(),
        amount: integer().notNull().check("amount > 0", "a move moves at least one unit"),
        /** Why: split, borrow, rebalance or merge. */
        why: text().notNull(),
        status: text().notNull().$type<MoveStatus>(),
        sent_at: integer().notNull(),
        landed_at: integer(),
      },
    },
    landed: {
      columns: {
        move_id: text().primaryKey(),
        from_world: text().notNull(),
        amount: integer().notNull(),
        landed_at: integer().notNull(),
      },
    },
    holds: {
      columns: {
        reservation_id: text().primaryKey(),
        quantity: integer().notNull().check("quantity > 0", "a reservation holds at least one unit"),
        status: text().notNull().$type<HoldStatus>(),
        held_at: integer().notNull(),
        released_at: integer(),
      },
    },
  },
  invariants: {
    never_below_zero: {
      violations: "SELECT id FROM quantity WHERE available < 0 OR held < 0 OR sold < 0",
      message: "a share never goes below zero: no World hands out units it does not hold",
    },
    held_is_the_holds: {
      violations: "SELECT id FROM quantity WHERE held != (SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE status = 'held')",
      message: "what a World holds is the sum of its held reservations",
    },
  },
});

/** The escrow law's splittable quantity: each World's `available`, kept from below zero. */
export const escrowQuantity = splittable(escrowNomos, { table: "quantity", column: "available", invariant: "never_below_zero" });

/** Ids of reservations, moves and Worlds. */
const Id = z.string().min(1).max(256);
const Units = z.number().int().min(1).max(1_000_000_000);

/** Most shards one product may be split into. */
export const MAX_SHARDS = 64;

const QUANTITY = columnsOf(escrowNomos, "quantity", "total", "available", "held", "sold");

/** The refusal of a shard that found no share left, after asking for more. */
export const NO_STOCK = "no stock left in any shard";

/**
 * The operations on a sharded quantity. `grant` and `landShare` are the two halves of a move (the
 * EscrowAttractor sends the second as a message in the Intent of the first); `reserve`,
 * `release` and `sell` are a shard's; `stock` and `split` the coordinator's; `moveLanded` and `moveReturned` record a move's receipt on its sender.
 */
export const escrow = defineVocabulary(escrowNomos, {
  stock: operation({
    description: "Adds units to the product's total, unassigned until a split or a borrow moves them to a shard.",
    args: z.object({ quantity: Units }),
    output: z.object({ total: z.number(), available: z.number() }),
    statements: ({ arg, ctx }) => ({
      stock: sql`INSERT INTO quantity (id, total, available, held, sold, updated_at) VALUES (1, ${arg.quantity}, ${arg.quantity}, 0, 0, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET total = total + excluded.total, available = available + excluded.available, updated_at = excluded.updated_at RETURNING ${QUANTITY}`,
    }),
    result: (rows) => ({ total: rows.stock[0]!.total, available: rows.stock[0]!.available }),
  }),

  split: operation({
    description: "Routes requests to exactly these shards, in order (growing, shrinking or merging to one); their shares are moved by the grants in the same Intent.",
    args: z.object({ names: z.array(Id).min(1).max(MAX_SHARDS) }),
    output: z.object({ shards: z.number() }),
    statements: ({ arg }) => ({
      retire: sql`UPDATE shards SET active = 0`,
      activate: sql`INSERT INTO shards (shard, name, granted, active) SELECT key, value, 0, 1 FROM json_each(${arg.names}) WHERE true ON CONFLICT (shard) DO UPDATE SET active = 1`,
    }),
    result: (_rows, a) => ({ shards: a.names.length }),
  }),

  grant: operation({
    description: "Sends `amount` of this World's available share to another World: it belongs to nobody until it lands there.",
    args: z.object({ moveId: Id, to: Id, amount: Units, why: z.enum(["split", "borrow", "rebalance", "merge"]) }),
    output: z.object({ moveId: z.string(), available: z.number() }),
    statements: ({ arg, ctx }) => ({
      take: sql`UPDATE quantity SET available = available - ${arg.amount}, updated_at = ${ctx.now} WHERE id = 1 RETURNING ${QUANTITY}`.expect({
        rows: 1,
        kind: "not_found",
        refusal: () => "nothing is stocked here",
      }),
      move: sql`INSERT INTO moves (move_id, to_world, amount, why, status, sent_at) VALUES (${arg.moveId}, ${arg.to}, ${arg.amount}, ${arg.why}, 'in_flight', ${ctx.now})`,
    }),
    result: (rows, a) => ({ moveId: a.moveId, available: rows.take[0]!.available }),
  }),

  landShare: operation({
    description: "Receives a move of share (delivered as a message, once): it adds to this World's available share.",
    args: z.object({ moveId: Id, from: Id, amount: Units }),
    output: z.object({ available: z.number() }),
    statements: ({ arg, ctx }) => ({
      land: sql`INSERT INTO landed (move_id, from_world, amount, landed_at) VALUES (${arg.moveId}, ${arg.from}, ${arg.amount}, ${ctx.now})`,
      add: sql`INSERT INTO quantity (id, total, available, held, sold, updated_at) VALUES (1, 0, ${arg.amount}, 0, 0, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET available = available + excluded.available, updated_at = excluded.updated_at RETURNING ${QUANTITY}`,
      // On the coordinator: a shard's share came back.
      back: sql`UPDATE shards SET granted = granted - ${arg.amount} WHERE name = ${arg.from}`,
    }),
    result: (rows) => ({ available: rows.add[0]!.available }),
  }),

  moveLanded: operation({
    description: "Records that a move this World sent has landed (its receipt); on the coordinator the shard's granted share grows by it.",
    args: z.object({ moveId: Id }),
    output: z.object({ moveId: z.string() }),
    statements: ({ arg, ctx }) => ({
      granted: sql`UPDATE shards SET granted = granted + (SELECT amount FROM moves WHERE move_id = ${arg.moveId} AND status = 'in_flight') WHERE name = (SELECT to_world FROM moves WHERE move_id = ${arg.moveId} AND status = 'in_flight')`,
      move: sql`UPDATE moves SET status = 'landed', landed_at = ${ctx.now} WHERE move_id = ${arg.moveId} AND status = 'in_flight' RETURNING move_id`.expect({
        rows: 1,
        refusal: (a) => `move ${a.moveId} is not in flight`,
      }),
    }),
    result: (_rows, a) => ({ moveId: a.moveId }),
  }),

  moveReturned: operation({
    description: "Takes back a move this World sent that the receiver refused (its receipt): a refused message never applied, so the share is still this World's.",
    args: z.object({ moveId: Id }),
    output: z.object({ moveId: z.string(), available: z.number() }),
    statements: ({ arg, ctx }) => ({
      give: sql`UPDATE quantity SET available = available + (SELECT amount FROM moves WHERE move_id = ${arg.moveId} AND status = 'in_flight'), updated_at = ${ctx.now} WHERE id = 1 AND EXISTS (SELECT 1 FROM moves WHERE move_id = ${arg.moveId} AND status = 'in_flight') RETURNING ${QUANTITY}`.expect({
        rows: 1,
        refusal: (a) => `move ${a.moveId} is not in flight`,
      }),
      move: sql`UPDATE moves SET status = 'returned', landed_at = ${ctx.now} WHERE move_id = ${arg.moveId} AND status = 'in_flight'`,
    }),
    result: (rows, a) => ({ moveId: a.moveId, available: rows.give[0]!.available }),
  }),

  reserve: operation({
    description: "Holds `quantity` units of this shard's share for a reservation; refused when the share has fewer.",
    args: z.object({ reservationId: Id, quantity: Units }),
    output: z.object({ reservationId: z.string(), available: z.number() }),
    statements: ({ arg, ctx }) => ({
      take: sql`UPDATE quantity SET available = available - ${arg.quantity}, held = held + ${arg.quantity}, updated_at = ${ctx.now} WHERE id = 1 AND available >= ${arg.quantity} RETURNING ${QUANTITY}`.expect({
        rows: 1,
        refusal: (a) => `${NO_STOCK}: ${a.quantity} unit(s) asked`,
      }),
      hold: sql`INSERT INTO holds (reservation_id, quantity, status, held_at) VALUES (${arg.reservationId}, ${arg.quantity}, 'held', ${ctx.now})`,
    }),
    result: (rows, a) => ({ reservationId: a.reservationId, available: rows.take[0]!.available }),
  }),

  release: operation({
    description: "Releases a held reservation: its units return to this shard's share.",
    args: z.object({ reservationId: Id }),
    output: z.object({ reservationId: z.string(), available: z.number() }),
    statements: ({ arg, ctx }) => ({
      give: sql`UPDATE quantity SET available = available + (SELECT quantity FROM holds WHERE reservation_id = ${arg.reservationId} AND status = 'held'), held = held - (SELECT quantity FROM holds WHERE reservation_id = ${arg.reservationId} AND status = 'held'), updated_at = ${ctx.now} WHERE id = 1 AND EXISTS (SELECT 1 FROM holds WHERE reservation_id = ${arg.reservationId} AND status = 'held') RETURNING ${QUANTITY}`.expect({
        rows: 1,
        kind: "not_found",
        refusal: (a) => `no reservation ${a.reservationId} is held here`,
      }),
      close: sql`UPDATE holds SET status = 'released', released_at = ${ctx.now} WHERE reservation_id = ${arg.reservationId} AND status = 'held'`,
    }),
    result: (rows, a) => ({ reservationId: a.reservationId, available: rows.give[0]!.available }),
  }),

  sell: operation({
    description: "Commits a held reservation: its units are sold, and leave this shard's share for good.",
    args: z.object({ reservationId: Id }),
    output: z.object({ reservationId: z.string(), sold: z.number() }),
    statements: ({ arg, ctx }) => ({
      take: sql`UPDATE quantity SET held = held - (SELECT quantity FROM holds WHERE reservation_id = ${arg.reservationId} AND status = 'held'), sold = sold + (SELECT quantity FROM holds WHERE reservation_id = ${arg.reservationId} AND status = 'held'), updated_at = ${ctx.now} WHERE id = 1 AND EXISTS (SELECT 1 FROM holds WHERE reservation_id = ${arg.reservationId} AND status = 'held') RETURNING ${QUANTITY}`.expect({
        rows: 1,
        kind: "not_found",
        refusal: (a) => `no reservation ${a.reservationId} is held here`,
      }),
      close: sql`UPDATE holds SET status = 'sold', released_at = ${ctx.now} WHERE reservation_id = ${arg.reservationId} AND status = 'held'`,
    }),
    result: (rows, a) => ({ reservationId: a.reservationId, sold: rows.take[0]!.sold }),
  }),
});

/**
 * v2: the same tables and rules, plus `voidLanding`, the receiver's half of settling a move whose
 * message was never delivered (a Flat evolution: every v1 Intent runs as it is).
 */
export const escrowNomosV2 = defineNomos({ name: "escrow", version: 2, tables: escrowNomos.tables, invariants: escrowNomos.invariants });

export const escrowV2 = defineVocabulary(escrowNomosV2, {
  ...escrow.operations,
  voidLanding: operation({
    description: "Settles, on its receiver, a move whose message was never delivered: records it as landed with nothing, unless it landed already, so a late delivery can never add it. Answers the units that landed (0: voided).",
    args: z.object({ moveId: Id, from: Id }),
    output: z.object({ landed: z.number() }),
    statements: ({ arg, ctx }) => ({
      // A landing already there stays as it is (the no-op update only returns it).
      void: sql`INSERT INTO landed (move_id, from_world, amount, landed_at) VALUES (${arg.moveId}, ${arg.from}, 0, ${ctx.now}) ON CONFLICT (move_id) DO UPDATE SET amount = amount RETURNING amount`,
    }),
    result: (rows) => ({ landed: Number(rows.void[0]!.amount) }),
  }),
});

/** The escrow law as EscrowAttractor runs it: v1, then v2 (settling undeliverable moves). A subclass evolves it further with `escrowLaw.evolve(…)`. */
export const escrowLaw = lineage(escrow).evolve(escrowV2, { migration: [] });

/** The escrow vocabulary's type: what an EscrowAttractor runs (the newest shipped version). */
export type EscrowVocabulary = typeof escrowV2;
