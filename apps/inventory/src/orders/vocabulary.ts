// First: what `noema build` derived from these laws' SQL, so that the Worker needs no SQL parser.
import "./vocabulary.footprints.js";
import { columnsOf, defineVocabulary, operation, sql } from "@noema/core";
import * as z from "zod";
import { Id, inventory } from "../vocabulary.js";
import { orderNomos } from "./nomos.js";
import { LINE_STATUSES, ORDER_STATUSES, sourcesOf } from "./status.js";

/** Lines per order. */
export const MAX_ORDER_LINES = 50;
/**
 * How long every product-side hold outlives the order's deadline, and the least time a hold must
 * still have when the order decides to commit: the commit messages' window to arrive. It covers a
 * message's whole delivery window (every retry and its backoff, about 18.5 minutes by default;
 * a test keeps the two in step), so a product down for less than that still commits in time.
 */
export const COMMIT_MARGIN_SECONDS = 20 * 60;
const COMMIT_MARGIN_MS = COMMIT_MARGIN_SECONDS * 1000;

/** An order id leaves room for `.<lineIndex>` in its reservation ids, which are ids too. */
export const OrderId = Id.max(100, "must be at most 100 characters (line reservation ids add .<line>)");
/** As for reservations: whole seconds, 1..86400, default 900. */
export const OrderTtl = inventory.operations.reserve.args.shape.ttlSeconds;
const Quantity = inventory.operations.reserve.args.shape.quantity;

export const OrderLine = z.strictObject({ productId: Id, locationId: Id, quantity: Quantity });
export type OrderLine = z.infer<typeof OrderLine>;

/** 1..MAX_ORDER_LINES lines, no product and location twice. */
export const OrderLines = z
  .array(OrderLine)
  .min(1, "an order has at least one line")
  .max(MAX_ORDER_LINES, `an order has at most ${MAX_ORDER_LINES} lines`)
  .superRefine((lines, ctx) => {
    const seen = new Map<string, number>();
    lines.forEach((line, i) => {
      const key = JSON.stringify([line.productId, line.locationId]);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else ctx.addIssue({ code: "custom", path: [i], message: `product ${line.productId} at ${line.locationId} is already line ${first}; put the whole quantity on one line` });
    });
  });

/** The reservation id of line `lineIndex` at its product: known before the hold exists, so compensation can name it. */
export const lineReservationId = (orderId: string, lineIndex: number): string => `${orderId}.${lineIndex}`;
/** The order and line a `lineReservationId` names (an order id may hold dots; the line index is after the last). */
export function parseLineReservationId(reservationId: string): { orderId: string; lineIndex: number } {
  const dot = reservationId.lastIndexOf(".");
  return { orderId: reservationId.slice(0, dot), lineIndex: Number(reservationId.slice(dot + 1)) };
}

const LineIndex = z.number().int().min(0).max(MAX_ORDER_LINES - 1);
/** Characters of a reason or note the order records; longer ones (a product's refusal, say) are cut to fit. */
export const MAX_NOTE = 1000;
const Note = z.string().min(1).max(MAX_NOTE);
const OrderStatus = z.enum(ORDER_STATUSES);

const lineArgs = z.object({ orderId: OrderId, lineIndex: LineIndex });
const lineWithReason = z.object({ orderId: OrderId, lineIndex: LineIndex, reason: Note });
const lineOutput = (status: (typeof LINE_STATUSES)[number]) => z.object({ lineIndex: z.number(), status: z.literal(status) });
const lineRefusal = (a: { lineIndex: number }, what: string) => `line ${a.lineIndex} is not ${what}`;

export const orders = defineVocabulary(orderNomos, {
  createOrder: operation({
    description: "Records a new order and its lines, every line pending, expiring ttlSeconds from now.",
    args: z.object({ orderId: OrderId, lines: OrderLines, ttlSeconds: OrderTtl }),
    output: z.object({ orderId: z.string(), expiresAt: z.number(), lines: z.number() }),
    statements: ({ arg, ctx }) => ({
      order: sql`INSERT INTO orders (id, status, ttl_seconds, created_at, expires_at, updated_at) VALUES (${arg.orderId}, 'pending', ${arg.ttlSeconds}, ${ctx.now}, ${ctx.now} + ${arg.ttlSeconds} * 1000, ${ctx.now}) RETURNING ${columnsOf(orderNomos, "orders", "expires_at")}`,
      // The lines, an array argument, are bound as one JSON text and unpacked by SQLite: fifty lines are still one statement with four parameters.
      lines: sql`INSERT INTO order_lines (order_id, line_index, product_id, location_id, quantity, reservation_id, status, updated_at) SELECT ${arg.orderId}, key, json_extract(value, '$.productId'), json_extract(value, '$.locationId'), json_extract(value, '$.quantity'), ${arg.orderId} || '.' || key, 'pending', ${ctx.now} FROM json_each(${arg.lines}) RETURNING line_index`,
      history: sql`INSERT INTO order_history (order_id, status, note, at) VALUES (${arg.orderId}, 'pending', NULL, ${ctx.now})`,
    }),
    result: (rows, a) => ({ orderId: a.orderId, expiresAt: rows.order[0]!.expires_at, lines: rows.lines.length }),
  }),

  holdLine: operation({
    description: "A line's product holds its stock until holdExpiresAt (the reserve receipt).",
    args: z.object({ orderId: OrderId, lineIndex: LineIndex, holdExpiresAt: z.number().int().min(0) }),
    output: lineOutput("reserved"),
    statements: ({ arg, ctx }) => ({
      line: sql`UPDATE order_lines SET status = 'reserved', hold_expires_at = ${arg.holdExpiresAt}, updated_at = ${ctx.now} WHERE order_id = ${arg.orderId} AND line_index = ${arg.lineIndex} AND status = 'pending' RETURNING line_index`.expect({
        rows: 1,
        refusal: (a) => lineRefusal(a, "pending"),
      }),
    }),
    result: (_rows, a) => ({ lineIndex: a.lineIndex, status: "reserved" as const }),
  }),

  refuseLine: operation({
    description: "A line's product refused to hold it, for this reason.",
    args: lineWithReason,
    output: lineOutput("refused"),
    statements: ({ arg, ctx }) => ({
      line: sql`UPDATE order_lines SET status = 'refused', reason = ${arg.reason}, updated_at = ${ctx.now} WHERE order_id = ${arg.orderId} AND line_index = ${arg.lineIndex} AND status = 'pending' RETURNING line_index`.expect({
        rows: 1,
        refusal: (a) => lineRefusal(a, "pending"),
      }),
    }),
    result: (_rows, a) => ({ lineIndex: a.lineIndex, status: "refused" as const }),
  }),

  commitLine: operation({
    description: "A line's product turned its hold into a sale (the commit receipt).",
    args: lineArgs,
    output: lineOutput("committed"),
    statements: ({ arg, ctx }) => ({
      line: sql`UPDATE order_lines SET status = 'committed', updated_at = ${ctx.now} WHERE order_id = ${arg.orderId} AND line_index = ${arg.lineIndex} AND status = 'reserved' RETURNING line_index`.expect({
        rows: 1,
        refusal: (a) => lineRefusal(a, "reserved"),
      }),
    }),
    result: (_rows, a) => ({ lineIndex: a.lineIndex, status: "committed" as const }),
  }),

  releaseLine: operation({
    description: "A line's product holds nothing for it any more (a release receipt, or a hold found gone).",
    args: z.object({ orderId: OrderId, lineIndex: LineIndex, reason: Note.optional() }),
    output: lineOutput("released"),
    statements: ({ arg, ctx }) => ({
      line: sql`UPDATE order_lines SET status = 'released', reason = COALESCE(${arg.reason}, reason), updated_at = ${ctx.now} WHERE order_id = ${arg.orderId} AND line_index = ${arg.lineIndex} AND status IN ('pending', 'reserved') RETURNING line_index`.expect({
        rows: 1,
        refusal: (a) => lineRefusal(a, "pending or reserved"),
      }),
    }),
    result: (_rows, a) => ({ lineIndex: a.lineIndex, status: "released" as const }),
  }),

  noteLine: operation({
    description: "Records on a line what went outside the protocol's assumptions, keeping its status.",
    args: lineWithReason,
    output: z.object({ lineIndex: z.number() }),
    statements: ({ arg, ctx }) => ({
      line: sql`UPDATE order_lines SET reason = ${arg.reason}, updated_at = ${ctx.now} WHERE order_id = ${arg.orderId} AND line_index = ${arg.lineIndex} RETURNING line_index`.expect({
        rows: 1,
        kind: "not_found",
        refusal: (a) => `line ${a.lineIndex} does not exist`,
      }),
    }),
    result: (_rows, a) => ({ lineIndex: a.lineIndex }),
  }),

  moveOrder: operation({
    description: "Moves the order to a status its current one may go to (see ORDER_TRANSITIONS), recording it in the history.",
    args: z.object({ orderId: OrderId, to: OrderStatus, note: Note.optional() }),
    output: z.object({ status: OrderStatus }),
    statements: ({ arg, ctx, computed }) => ({
      order: sql`UPDATE orders SET status = ${arg.to}, updated_at = ${ctx.now} WHERE id = ${arg.orderId} AND status IN (SELECT value FROM json_each(${computed((a: { to: (typeof ORDER_STATUSES)[number] }) => JSON.stringify(sourcesOf(a.to)))})) RETURNING id`.expect({
        rows: 1,
        refusal: (a) => `the order cannot become ${a.to} from its current status`,
      }),
      history: sql`INSERT INTO order_history (order_id, status, note, at) SELECT id, status, ${arg.note}, ${ctx.now} FROM orders WHERE id = ${arg.orderId}`,
    }),
    result: (_rows, a) => ({ status: a.to }),
  }),

  decideCommit: operation({
    description: "Records the decision to commit: only while the order is reserved, before its deadline, and every hold outlives now by the margin.",
    args: z.object({ orderId: OrderId, marginMs: z.literal(COMMIT_MARGIN_MS).default(COMMIT_MARGIN_MS) }),
    output: z.object({ status: z.literal("committing") }),
    statements: ({ arg, ctx }) => ({
      guard: sql`SELECT id FROM orders WHERE id = ${arg.orderId} AND status = 'reserved' AND expires_at > ${ctx.now} AND NOT EXISTS (SELECT 1 FROM order_lines WHERE order_id = ${arg.orderId} AND (hold_expires_at IS NULL OR hold_expires_at < ${ctx.now} + ${arg.marginMs}))`.expect({
        rows: 1,
        refusal: () => "the order may commit only while reserved, before it expires, and while every hold outlives the commit margin",
      }),
      order: sql`UPDATE orders SET status = 'committing', updated_at = ${ctx.now} WHERE id = ${arg.orderId} AND status = 'reserved'`,
      history: sql`INSERT INTO order_history (order_id, status, note, at) VALUES (${arg.orderId}, 'committing', 'decided to commit', ${ctx.now})`,
    }),
    result: () => ({ status: "committing" as const }),
  }),

  releasesSent: operation({
    description: "Records that the releases of a releasing order are sent (in the Intent that sends them).",
    args: z.object({ orderId: OrderId }),
    output: z.object({ sentAt: z.number() }),
    statements: ({ arg, ctx }) => ({
      order: sql`UPDATE orders SET releases_sent_at = ${ctx.now}, updated_at = ${ctx.now} WHERE id = ${arg.orderId} AND status = 'releasing' AND releases_sent_at IS NULL RETURNING id`.expect({
        rows: 1,
        refusal: () => "the order is not releasing, or its releases were already sent",
      }),
    }),
    result: (_rows, _a, c) => ({ sentAt: c.now }),
  }),

  recordProblem: operation({
    description: "Records on the order what went outside the guarantee's assumptions (see the README): visible, never silent.",
    args: z.object({ orderId: OrderId, problem: Note }),
    output: z.object({ problem: z.string() }),
    statements: ({ arg, ctx }) => ({
      order: sql`UPDATE orders SET problem = CASE WHEN problem IS NULL THEN ${arg.problem} ELSE problem || '; ' || ${arg.problem} END, updated_at = ${ctx.now} WHERE id = ${arg.orderId}`,
      history: sql`INSERT INTO order_history (order_id, status, note, at) SELECT id, status, ${arg.problem}, ${ctx.now} FROM orders WHERE id = ${arg.orderId}`,
    }),
    result: (_rows, a) => ({ problem: a.problem }),
  }),
});

export type OrderVocabulary = typeof orders;
