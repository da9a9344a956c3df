import type { Admission } from "../admission/index.js";
import type { BuiltinHost } from "../builtin/index.js";
import type { Lineage } from "../connection/lineage.js";
import type { SedimentHost } from "../host/index.js";
import type { IntentLimits, NomosStamp, Vocabulary } from "../intent/index.js";
import type { Reason } from "../refusal/index.js";
import type { Sieve } from "../sieve/index.js";
import type { SedimentLog } from "./store.js";
import type { Seal, SealOrigin, Sediment, SuccessSeal, World } from "./types.js";

export type { Feature } from "../builtin/feature.js";

/** An Intent admitted under the held law: as it was sent, as it runs here, and how it got here. */
export type Admitted = Extract<Admission, { ok: true }>;

/** What one transaction seals: the admitted Intent (`sent` is what an idempotency key compares) and its origin. */
export interface Sealable {
  admitted: Pick<Admitted, "sent" | "intent">;
  origin: SealOrigin | undefined;
  /** The origin's canonical JSON, when the feature wrote it already (a wake writes it without sorting keys). */
  originJson?: string;
}

/**
 * What the Sedimenter lends a feature opened on it: admission, the one sealing path and the
 * refusal record, with the World and law they run under. A feature never writes the log itself.
 */
export interface Sealing {
  readonly host: SedimentHost;
  readonly log: SedimentLog;
  readonly lineage: Lineage;
  /** The vocabulary of the held law, and its stamp. */
  readonly vocabulary: Vocabulary;
  readonly held: NomosStamp;
  readonly world: World;
  readonly worldHash: string;
  readonly limits: IntentLimits;
  /** Why Intents cannot run at all, or only those of a newer law, when a migration failed. */
  readonly unavailable: string | undefined;
  readonly pending: string | undefined;
  /** The id the next sediment gets. */
  nextSedimentId(): number;
  admit(input: unknown, now: number, sieve?: Sieve): Admission;
  /** An admitted Intent sealed as sedimentation seals it: the earlier Seal under its key, else applied, or refused on record. */
  seal(admitted: Sealable["admitted"], origin: SealOrigin | undefined, now: number): Seal;
  /** The Seal an earlier sediment under the same idempotency key answers with (its refusal when the Intent differs). */
  earlier(sent: Admitted["sent"]): { seal: Seal } | { reason: Reason } | undefined;
  /**
   * One transaction: `prepare` runs first inside it (it may throw `Refusal`, or decide what is
   * sealed), then the Interpretation and the log row. Returns the Seal; the host learns of new alarm work.
   */
  apply(prepare: () => Sealable, now: number, batched?: boolean): SuccessSeal;
  /** Records a refusal as a Precedent; `also` runs in the same transaction (a woken entry is removed so). */
  refuse(input: unknown, now: number, reason: Reason, also?: () => void): Seal;
  /**
   * Runs `fn` in one transaction around several seals, each `apply` inside it then a nested one.
   * Should that transaction fail once one of them has committed inside it, memory would be ahead of
   * storage: sealing then stops, every later `apply` throwing, until the Attractor starts again.
   */
  batch<T>(fn: () => T): T;
  /** Notes, inside the running transaction, that it added alarm work due at `at`. */
  alarmWork(at: number): void;
}

/** What a feature opened on a Sedimenter gives it back: the hooks sealing calls. */
export interface FeatureHooks {
  /** What its built-in steps do inside the running transaction. */
  readonly builtins?: Partial<BuiltinHost>;
  /** Called after each committed transaction, outside it, with its sediment (in commit order). */
  committed?(sediment: Sediment): void;
}

/** Thrown inside a transaction when its work is already done (a message settled) by another delivery: nothing is applied twice. */
export class AlreadySettled extends Error {}
