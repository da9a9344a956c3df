import type { Json } from "../canonical/index.js";
import type { Connection } from "../connection/index.js";
import type { CarryStep } from "../connection/lineage.js";
import type { Intent, Issue, NomosStamp } from "../intent/index.js";

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
  | "nomos" // built against a law this Attractor does not hold
  | "connection" // from an earlier law, and the Connection to this one does not let it run
  | "cryostasis" // a frozen Intent that kept failing unexpectedly when woken
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
  /** For `connection`: the classified diff that decided it. */
  connection?: Connection;
}

/** How an Intent came to run when it did not arrive straight from a client under this law. */
export interface Origin {
  /** The law the Intent was built against. */
  nomos: NomosStamp;
  /** Whether a reforge function rewrote it on the way from its law to this one. */
  reforged: boolean;
  /** Present when it was frozen and woken by the alarm: resumed as it was, or reforged. */
  cryostasis?: { cryoId: number; frozenAt: number; wakeAt: number; wokeAt: number; mode: "resumed" | "reforged" };
  /** The Intent as it was sent, kept when reforging changed it; a Flat one differs only in its `nomos`. */
  intent?: Intent;
  steps: CarryStep[];
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

export type Verification = { ok: true; length: number; head: string } | { ok: false; brokenAt: number; length: number };

/** Thrown inside the transaction to roll it back with a reason. */
export class Refusal extends Error {
  override name = "Refusal";
  constructor(readonly reason: Reason) {
    super(reason.message);
  }
}
