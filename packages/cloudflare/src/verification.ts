import type { Verification } from "@noema/core";
import type { Archive, ArchiveReport, SedimentLog, Verifier } from "@noema/core/runtime";
import { type ChainStatus, type TailCheck, tailCheck } from "./inspection.js";

/** What verification reaches of its Attractor: the log, the Verifier, the archive when declared, and the alarm. */
export interface VerificationParts {
  log: SedimentLog;
  verifier: Verifier;
  archive: Archive | undefined;
  now(): number;
  /** Points the alarm at the background pass just started. */
  rearm(): void;
}

/** Yields to the event loop, so that requests waiting for the object run between verification slices. */
const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The RPC methods verification brings (the Attractor's `verify`, `reverify`, `chainStatus` and
 * `verifyTail` delegate here): check the hash chain (and the archive), start a background pass,
 * read its status, or re-hash the newest entries (docs/concepts/seal.md).
 */
export class VerificationRpc {
  readonly #parts: VerificationParts;

  constructor(parts: VerificationParts) {
    this.#parts = parts;
  }

  /**
   * Checks the chain after the last checkpoint (a head a background pass verified), up to the
   * current head, in slices with a pause between them: requests arriving meanwhile are served
   * in between. A break the background pass found is reported as well; the first one wins.
   * With `static archive`, also the segment index from genesis to the live log, each object's
   * presence and manifest, and with `deep` every archived entry.
   */
  async verify(options: { deep?: boolean } = {}): Promise<Verification & { archive?: ArchiveReport }> {
    const { verifier, archive } = this.#parts;
    const tail = await verifier.verify(pause);
    return archive ? archive.verify(tail, options) : tail;
  }

  /** Starts a full re-verification from the anchor now, run a slice per alarm run; `verify()` then reports what it finds. */
  reverify(): void {
    this.#parts.verifier.startPass(this.#parts.now());
    this.#parts.rearm();
  }

  /** The background verification's checkpoint and latest pass, read from storage: cheap, unlike `verify()`. */
  status(): ChainStatus {
    const { verifier } = this.#parts;
    return { checkpoint: verifier.checkpoint(), pass: verifier.pass() };
  }

  /** The newest `count` sediments re-hashed and linked, without walking the whole chain as `verify()` does. */
  tail(count?: number): TailCheck {
    return tailCheck(this.#parts.log, count);
  }
}
