// Bench Worker for `npm run bench`: a hand-written reservation DO (no framework) next to the real
// InventoryAttractor, plus endpoints that drive both in the same ways. One module per job:
//   hand.ts      the hand-written baseline DO
//   handsync.ts  the sync baseline: that DO broadcasting each written row to its WebSockets
//   noema.ts     the InventoryAttractor with bench entry points (loops, the per-op breakdown, Cryostasis, verification, bytes)
//   archive.ts   archival to R2
//   orders.ts    orders across three product Attractors, by messages or directly
//   messages.ts  one sender to many receivers
//   routes.ts    the endpoints bench/run.mjs drives; env.ts what they all share
// It imports the packages by their public entry points only, as a host would.
import type { Env } from "./env.js";
import { handle } from "./routes.js";

export default { fetch: handle } satisfies ExportedHandler<Env>;

// Durable Object classes must be exported from the Worker's main module.
export { CatalogAttractor } from "../../apps/inventory/src/catalog/attractor.js";
export { OrderAttractor } from "../../apps/inventory/src/orders/attractor.js";
export { ArchiveBench } from "./archive.js";
export { HandWrittenReservations } from "./hand.js";
export { HandSync } from "./handsync.js";
export { MessageSender } from "./messages.js";
export { NoemaReservations } from "./noema.js";
