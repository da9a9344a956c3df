import type { Connection } from "../connection/index.js";
import type { Issue } from "../issue/index.js";

/** The kind of a refusal's Reason (one of `REASON_KINDS`). */
export type ReasonKind =
  | "validation" // the Intent's shape or arguments
  | "expectation" // an operation's precondition (for example not enough stock)
  | "not_found" // an operation's target does not exist
  | "constraint" // a NOT NULL / CHECK / UNIQUE / type constraint of the Nomos
  | "invariant" // a cross-row invariant of the Nomos
  | "nomos" // built against a law this Attractor does not hold
  | "connection" // from an earlier law, and the Connection to this one does not let it run
  | "cryostasis" // a frozen Intent that kept failing unexpectedly when woken
  | "message" // a message that could not be delivered after its last attempt
  | "idempotency"; // the key was used before for a different Intent

// A record rather than a list, so the compiler says when a kind is added here and not there.
const KINDS: Record<ReasonKind, true> = {
  validation: true,
  expectation: true,
  not_found: true,
  constraint: true,
  invariant: true,
  nomos: true,
  connection: true,
  cryostasis: true,
  message: true,
  idempotency: true,
};
/** Every reason kind, for filters and forms. */
export const REASON_KINDS = Object.freeze(Object.keys(KINDS) as [ReasonKind, ...ReasonKind[]]);

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

/** Thrown inside the transaction to roll it back with a reason. */
export class Refusal extends Error {
  override name = "Refusal";
  constructor(readonly reason: Reason) {
    super(reason.message);
  }
}
