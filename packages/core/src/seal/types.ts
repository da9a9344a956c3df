import type { Origin } from "../admission/index.js";
import type { Json } from "../canonical/index.js";
import type { Intent } from "../intent/index.js";
import type { Sieve } from "../sieve/index.js";
import type { MessageTarget } from "../builtin/index.js";
import type { World } from "../host/index.js";
import type { ConnectionType } from "../connection/index.js";
import type { Reason } from "../refusal/index.js";

// Defined with the host (a message's origin names its sender's World); re-exported here with the Seal.
export type { World } from "../host/index.js";

interface SealBase {
  /** The Attractor's clock when it sealed, ms since the epoch: `ctx.now` of every step. */
  timestamp: number;
  /** Where it landed (Attractor class and name) and the law that applied (`nomosVersion`, `nomosHash`). */
  world: World;
}

/** A committed Intent: its entry in the hash-chained log. */
export interface SuccessSeal extends SealBase {
  success: true;
  /** The log entry's position: 1, 2, 3… with no gaps. */
  sedimentId: number;
  /** SHA-256 hex of the entry (see README, "Seals, the log and Precedents"): what `verify()` recomputes. */
  hash: string;
  /** The previous entry's hash; 64 zeros for the first. */
  prevHash: string;
  /** One output per step, in order: the operation's `result` (a built-in's own output for `$freeze`, `$send`, …). */
  outputs: Json[];
  /** Present when the Intent did not come straight from a client under this law: see Origin, and `receipt`. */
  origin?: SealOrigin;
}

/** A refused Intent: nothing it did was kept, and the refusal is on record as a Precedent. */
export interface RefusalSeal extends SealBase {
  success: false;
  /** Why: a `kind`, a message a person can act on, and the step, operation and rule when known. */
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
  origin?: SealOrigin;
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

/**
 * How a sediment came to be; a receipt's sediment also carries the receipt, so the answer is on
 * the record: `receipt` for one, `receipts` for the answers of one delivery recorded together.
 */
export type SealOrigin = Origin & { receipt?: Receipt; receipts?: Receipt[] };

/** A message as the receiver gets it: the Intent, its key, and where it was sent from. */
export interface Message {
  messageId: number;
  /** The idempotency key the receiver sediments it under. */
  key: string;
  from: World;
  sentIn: { sedimentId: number; step: number };
  /** Stamped with the law it was built against. */
  intent: Intent;
  /** The Sieve it depended on when it was sent. */
  sieve: Sieve;
}

/** What became of a message, recorded in the sender's log. */
export interface Receipt {
  messageId: number;
  key: string;
  to: MessageTarget;
  sentIn: { sedimentId: number; step: number };
  /** sealed or refused: the receiver's answer; undeliverable: no answer after the last attempt. */
  outcome: "sealed" | "refused" | "undeliverable";
  /** The receiver's Seal. */
  seal?: Seal;
  /** How the receiver carried it when it held a newer law (the most severe Connection on the way); absent when it held the sent law. */
  carried?: ConnectionType;
  attempts: number;
  /** The last delivery error, when it was undeliverable. */
  error?: string;
}
