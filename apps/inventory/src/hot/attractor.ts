import { EscrowAttractor } from "@noema/cloudflare/escrow";
import type { Env } from "../env.js";

/** The binding of hot products: the coordinator (`<productId>`) and its shards (`<productId>~<i>`). */
export const HOT_BINDING = "HOT_ATTRACTOR";

/**
 * A hot product, for a flash sale: its available stock split across up to 16 shard Durable
 * Objects, each serving reservations from its own share (docs/concepts/escrow.md).
 */
export class HotAttractor extends EscrowAttractor<Env> {
  /** Its own binding: moves of share are messages between Worlds of this class. */
  static binding = HOT_BINDING;
  /** A product is split into at most 16 shards. */
  static shards = { max: 16 };
}
