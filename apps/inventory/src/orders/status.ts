/**
 * The order's status machine, as plain data: the Nomos checks it (CHECK constraints and the
 * transition guard of `moveOrder`), the coordinator reads it, and the README lists it.
 */

export const ORDER_STATUSES = ["pending", "reserved", "committing", "committed", "failed", "releasing", "released"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const LINE_STATUSES = ["pending", "reserved", "refused", "committed", "released"] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

/** Where each status may go next. `committing → released` only when no line could be committed (see the README). */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ["reserved", "failed", "releasing"],
  reserved: ["committing", "releasing"],
  committing: ["committed", "released"],
  committed: [],
  failed: [],
  releasing: ["released"],
  released: [],
};

export const canMove = (from: OrderStatus, to: OrderStatus): boolean => ORDER_TRANSITIONS[from].includes(to);

/** The statuses an order may be in to move to `to`. */
export const sourcesOf = (to: OrderStatus): OrderStatus[] => ORDER_STATUSES.filter((from) => canMove(from, to));

/** No further transition: the order has settled its decision (its lines may still be catching up, see `isSettled`). */
export const isFinal = (status: OrderStatus): boolean => ORDER_TRANSITIONS[status].length === 0;

/** A line that may still hold stock at its product. */
export const mayHold = (status: LineStatus): boolean => status === "pending" || status === "reserved";

/** `'a', 'b'`: a status list for a CHECK or an IN (...) written once from the lists above. */
export const sqlList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(", ");

export interface LineState {
  status: LineStatus;
}

/**
 * Settled: the order's decision is final and every line has reached its own end: committed
 * lines for a committed order, no line that may still hold stock for every other one.
 */
export function isSettled(order: { status: OrderStatus; lines: readonly LineState[] }): boolean {
  if (!isFinal(order.status)) return false;
  if (order.status === "committed") return order.lines.every((l) => l.status === "committed");
  return order.lines.every((l) => !mayHold(l.status) && l.status !== "committed");
}

/** Why a commit is refused in this status, or undefined when the order may commit (or already does). */
export function commitBlocker(status: OrderStatus): string | undefined {
  switch (status) {
    case "pending":
      return "the order is still reserving its lines";
    case "failed":
      return "the order failed: a line was refused";
    case "releasing":
    case "released":
      return "the order was released (cancelled or expired)";
    default:
      return undefined;
  }
}
