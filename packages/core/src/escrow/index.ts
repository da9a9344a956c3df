// @noema/core/escrow: a quantity split across shard Worlds (docs/concepts/escrow.md). A subpath of its
// own: importing it registers the escrow law's footprints, which a Worker without hot Worlds never pays for.
export { escrow, escrowLaw, escrowNomos, escrowQuantity, type EscrowVocabulary, MAX_SHARDS, NO_STOCK } from "./law.js";
export { type Splittable, splittable } from "./splittable.js";
