// What every part of the bench Worker shares: its bindings, the reservation's arguments, and the
// stubs and pool the endpoints drive the Durable Objects with.
import type { OrderAttractor } from "../../apps/inventory/src/orders/attractor.js";
import type { CatalogAttractor } from "../../apps/inventory/src/catalog/attractor.js";
import type { ArchiveBench } from "./archive.js";
import type { HandWrittenReservations } from "./hand.js";
import type { HandSync } from "./handsync.js";
import type { MessageSender } from "./messages.js";
import type { NoemaReservations } from "./noema.js";

export interface Env {
  HAND: DurableObjectNamespace<HandWrittenReservations>;
  /** The sync baseline: the hand-written DO broadcasting each written row to its WebSockets. */
  HAND_SYNC: DurableObjectNamespace<HandSync>;
  /** The name the inventory Hono app expects, so `/api/*` runs the real app unchanged. */
  INVENTORY_ATTRACTOR: DurableObjectNamespace<NoemaReservations>;
  /** The inventory's first stockings list products there (InventoryAttractor's `static sends`). */
  CATALOG_ATTRACTOR: DurableObjectNamespace<CatalogAttractor>;
  MESSAGE_SENDER: DurableObjectNamespace<MessageSender>;
  ORDER_ATTRACTOR: DurableObjectNamespace<OrderAttractor>;
  NOEMA_API_TOKEN: string;
  ARCHIVE_BENCH: DurableObjectNamespace<ArchiveBench>;
  NOEMA_ARCHIVE: R2Bucket;
}

export interface ReserveArgs {
  locationId: string;
  quantity: number;
  ttlSeconds?: number;
  orderId?: string;
}

export interface Reservation {
  reservationId: string;
  locationId: string;
  quantity: number;
  expiresAt: number;
  orderId: string | null;
}

export type LogMode = "plain" | "chain";

/** The id rule of the inventory API, which the hand-written side checks by hand. */
export const ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The one location every bench reserves from. */
export const LOCATION = "main";

export const hand = (env: Env, name: string) => env.HAND.get(env.HAND.idFromName(name));
export const handSync = (env: Env, name: string) => env.HAND_SYNC.getByName(name);
export const noema = (env: Env, name: string) => env.INVENTORY_ATTRACTOR.getByName(name);
/** A Noema DO with stock to reserve from, as `/setup` leaves it. */
export async function freshNoema(env: Env, name: string): Promise<DurableObjectStub<NoemaReservations>> {
  const stub = noema(env, name);
  const seal = await stub.setup(LOCATION, 1_000_000_000);
  if (!seal.success) throw new Error(seal.reason.message);
  return stub;
}

/** Runs `k` calls of `fn` with at most `c` in flight. */
export async function pool(k: number, c: number, fn: () => Promise<void>): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < k) {
      started++;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(c, k)) }, lane));
}
