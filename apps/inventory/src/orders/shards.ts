import * as z from "zod";

/**
 * How many coordinators the orders are spread over. An order lives in the shard its id hashes to,
 * for good: a new Durable Object's first call costs tens of milliseconds (hundreds when many are
 * made at once), so orders share long-lived coordinators instead of each making one. Changing it
 * moves existing orders out of reach.
 */
export const ORDER_SHARDS = 16;

/** The World of the shard that holds `orderId`: FNV-1a of the id, modulo ORDER_SHARDS. */
export function orderShard(orderId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < orderId.length; i++) h = Math.imul(h ^ orderId.charCodeAt(i), 0x01000193);
  return `orders-${(h >>> 0) % ORDER_SHARDS}`;
}

/** The name of a shard's World. */
export const OrderShard = z.string().regex(/^orders-\d+$/, "must be orders-<n>");

/** The coordinator that holds `orderId`. */
export const orderStub = <S>(ns: { getByName(name: string): S }, orderId: string): S => ns.getByName(orderShard(orderId));
