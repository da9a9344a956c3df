import type { FreezeResult, Intent, WakeOutcome } from "@noema/core";
import type { AlarmChore, Sedimenter } from "@noema/core/runtime";
import { pageSize } from "./page.js";

/** A pending frozen Intent as listed: when it wakes, how often it failed and why. */
export interface FrozenEntry {
  cryoId: number;
  wakeAt: number;
  key: string | null;
  attempts: number;
  lastError: string | null;
  frozenAt: number;
  nomosVersion: number;
  sieveHash: string;
  intent: Intent;
}

/**
 * A pending frozen Intent as listed: the former name of `FrozenEntry`.
 * @deprecated Renamed `FrozenEntry`.
 */
export type FrozenSummary = FrozenEntry;

/** When a frozen Intent wakes: at `at` (ms since the epoch) or after `delaySeconds`; a `key` makes freezing idempotent. */
export interface FreezeWhen {
  at?: number;
  delaySeconds?: number;
  key?: string;
}

/**
 * The RPC methods Cryostasis brings (the Attractor's `freeze`, `cancelFrozen` and `frozen`
 * delegate here): freeze an Intent from code, cancel it, list the pending ones. Inside an
 * Intent, `$freeze` and `$cancel` do the same (docs/concepts/cryostasis.md).
 */
export class CryostasisRpc {
  readonly #sedimenter: Sedimenter;

  constructor(sedimenter: Sedimenter) {
    this.#sedimenter = sedimenter;
  }

  /** Freezes an Intent, to wake at `at` (ms since the epoch) or after `delaySeconds`. */
  freeze(intent: unknown, when: FreezeWhen): FreezeResult {
    return this.#sedimenter.features.cryostasis.freeze(intent, when);
  }

  /** Cancels a frozen Intent by id; false when there was none. */
  cancel(cryoId: number): boolean {
    return this.#sedimenter.features.cryostasis.cancel(cryoId);
  }

  /** Pending frozen Intents in wake order; `after` is the last entry of the page before. */
  list(options: { limit?: number; after?: { wakeAt: number; cryoId: number } } = {}): FrozenEntry[] {
    return this.#sedimenter.cryostasis.list(pageSize(options.limit), options.after).map((e) => ({
      cryoId: e.cryoId,
      wakeAt: e.wakeAt,
      key: e.key,
      attempts: e.attempts,
      lastError: e.lastError,
      frozenAt: e.frozenAt,
      nomosVersion: e.nomos.version,
      sieveHash: e.sieveHash,
      intent: e.intent,
    }));
  }
}

/** Wakes due frozen Intents, a batch per alarm run; an Attractor that cannot run its law leaves them alone. */
export function cryostasisChore(sedimenter: Sedimenter, wakeBatch: number, onWake: (outcomes: WakeOutcome[]) => void | Promise<void>): AlarmChore {
  return {
    name: "cryostasis",
    next: () => (sedimenter.available ? sedimenter.cryostasis.earliest() : undefined),
    run: async () => {
      const outcomes = sedimenter.features.cryostasis.wakeDue(wakeBatch);
      if (outcomes.length > 0) await onWake(outcomes);
    },
  };
}
