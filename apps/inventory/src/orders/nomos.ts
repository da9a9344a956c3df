import { defineNomos, integer, type RowOf, text } from "@noema/core";
import { LINE_STATUSES, type LineStatus, ORDER_STATUSES, type OrderStatus, sqlList } from "./status.js";

const orderStatus = `status IN (${sqlList(ORDER_STATUSES)})`;
const lineStatus = `status IN (${sqlList(LINE_STATUSES)})`;

/**
 * The law of the orders of one shard (ORDER_SHARDS): each order's row, its lines and every status it
 * went through, keyed by the order id. Every invariant is about one order, so it is checked only at
 * the orders an Intent wrote.
 */
export const orderNomos = defineNomos({
  name: "order",
  version: 1,
  tables: {
    orders: {
      columns: {
        id: text().primaryKey(),
        status: text().notNull().$type<OrderStatus>().check(orderStatus, `order status must be one of ${ORDER_STATUSES.join(", ")}`),
        ttl_seconds: integer().notNull(),
        created_at: integer().notNull(),
        expires_at: integer().notNull(),
        /** Set when something went outside the guarantee's assumptions (see the README): never silent. */
        problem: text(),
        /** When the releases of a `releasing` order were sent: the expiry moves it there first, its releases follow. */
        releases_sent_at: integer(),
        updated_at: integer().notNull(),
      },
    },
    order_lines: {
      columns: {
        order_id: text().notNull(),
        line_index: integer().notNull(),
        product_id: text().notNull(),
        location_id: text().notNull(),
        quantity: integer().notNull().check("quantity > 0", "a line orders at least one unit"),
        reservation_id: text().notNull().unique(),
        status: text().notNull().$type<LineStatus>().check(lineStatus, `line status must be one of ${LINE_STATUSES.join(", ")}`),
        /** When the product's hold releases itself (its reserve receipt's expiresAt). */
        hold_expires_at: integer(),
        reason: text(),
        updated_at: integer().notNull(),
      },
      primaryKey: ["order_id", "line_index"],
      indexes: { order_lines_by_product: { columns: ["order_id", "product_id", "location_id"], unique: true } },
    },
    order_history: {
      columns: {
        seq: integer().primaryKey(),
        order_id: text().notNull(),
        status: text().notNull().$type<OrderStatus>(),
        note: text(),
        at: integer().notNull(),
      },
      indexes: { order_history_by_order: { columns: ["order_id", "seq"] } },
    },
  },
  invariants: {
    reserved_orders_hold_every_line: {
      violations: "SELECT id FROM orders WHERE status = 'reserved' AND EXISTS (SELECT 1 FROM order_lines WHERE order_id = orders.id AND status != 'reserved')",
      message: "an order is reserved only once every line is held",
      scope: { key: ["id"], tables: { orders: ["id"], order_lines: ["order_id"] } },
    },
    committed_orders_commit_every_line: {
      violations: "SELECT id FROM orders WHERE status = 'committed' AND EXISTS (SELECT 1 FROM order_lines WHERE order_id = orders.id AND status != 'committed')",
      message: "an order is committed only once every line is committed",
      scope: { key: ["id"], tables: { orders: ["id"], order_lines: ["order_id"] } },
    },
    lines_commit_only_after_the_decision: {
      violations: "SELECT order_id FROM order_lines l WHERE status = 'committed' AND NOT EXISTS (SELECT 1 FROM orders WHERE id = l.order_id AND status IN ('committing', 'committed'))",
      message: "a line is committed only after the order recorded its decision to commit",
      scope: { key: ["order_id"], tables: { order_lines: ["order_id"], orders: ["id"] } },
    },
    history_ends_at_the_status: {
      violations: "SELECT id FROM orders WHERE status != (SELECT status FROM order_history WHERE order_id = orders.id ORDER BY seq DESC LIMIT 1)",
      message: "the order's last history entry is its current status",
      scope: { key: ["id"], tables: { orders: ["id"], order_history: ["order_id"] } },
    },
  },
});

export type OrderRow = RowOf<typeof orderNomos.tables.orders>;
export type OrderLineRow = RowOf<typeof orderNomos.tables.order_lines>;
