import type { Origin } from "../admission/index.js";
import type { Json } from "../canonical/index.js";
import type { Intent } from "../intent/index.js";
import type { Reason } from "../refusal/index.js";

/** Where an Intent landed: recorded in every Seal. */
export interface World {
  /** The Attractor class name (the Durable Object class). */
  attractor: string;
  /** The name the Attractor was addressed by (`idFromName`). */
  name: string;
  nomosVersion: number;
  nomosHash: string;
}

interface SealBase {
  timestamp: number;
  world: World;
}

export interface SuccessSeal extends SealBase {
  success: true;
  sedimentId: number;
  hash: string;
  prevHash: string;
  outputs: Json[];
  /** Present when the Intent was built under an earlier law: resumed as is, or reforged. */
  origin?: Origin;
}

export interface RefusalSeal extends SealBase {
  success: false;
  reason: Reason;
  /** Where the refusal is on record. */
  precedentId: number;
}

/** The result of one sedimentation: committed with its place in the chain, or refused with a reason. */
export type Seal = SuccessSeal | RefusalSeal;

/** One entry of the append-only, hash-chained sediment log. */
export interface Sediment {
  sedimentId: number;
  hash: string;
  prevHash: string;
  timestamp: number;
  intent: Intent;
  outputs: Json[];
  world: World;
  origin?: Origin;
}

/** A refused Intent on record. */
export interface Precedent {
  precedentId: number;
  /** The input as received: it may not even be a well-formed Intent. */
  intent: Json;
  reason: Reason;
  nomosVersion: number;
  nomosHash: string;
  timestamp: number;
}

/** A head verified by a full pass from the anchor: what later checks of the tail start from. */
export interface Checkpoint {
  sedimentId: number;
  hash: string;
  verifiedAt: number;
}

/**
 * The chain checked: `length` entries (archived ones included) up to `head`, verified through
 * `verifiedThrough` (the head the check started with), trusting `checkpoint` below it when one
 * was used. On a break, the first entry that does not match and the entries verified before it.
 */
export type Verification =
  | { ok: true; length: number; head: string; verifiedThrough: number; checkpoint: Checkpoint | null }
  | { ok: false; brokenAt: number; length: number };
