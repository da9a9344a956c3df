import type { Json } from "../canonical/index.js";
import type { Intent, Issue } from "../intent/index.js";

/** Where an Intent landed: recorded in every Seal. */
export interface World {
  /** The Attractor class name (the Durable Object class). */
  attractor: string;
  /** The name the Attractor was addressed by (`idFromName`). */
  name: string;
  nomosVersion: number;
  nomosHash: string;
}

export type ReasonKind =
  | "validation" // the Intent's shape or arguments
  | "expectation" // an operation's precondition (for example not enough stock)
  | "not_found" // an operation's target does not exist
  | "constraint" // a NOT NULL / CHECK / UNIQUE / type constraint of the Nomos
  | "invariant" // a cross-row invariant of the Nomos
  | "nomos" // built against another law
  | "idempotency"; // the key was used before for a different Intent

/** Why an Intent was refused, in words a person can act on. */
export interface Reason {
  kind: ReasonKind;
  message: string;
  /** The step that failed, when one did. */
  step?: number;
  op?: string;
  /** The constraint or invariant name, when one failed. */
  rule?: string;
  issues?: Issue[];
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

export type Verification = { ok: true; length: number; head: string } | { ok: false; brokenAt: number; length: number };

/** Thrown inside the transaction to roll it back with a reason. */
export class Refusal extends Error {
  override name = "Refusal";
  constructor(readonly reason: Reason) {
    super(reason.message);
  }
}
