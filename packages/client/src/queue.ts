import type { Intent } from "@noema/core";

/** An Intent the client sent and holds until its Seal: its idempotency key is always set. */
export type QueuedIntent = Intent & { idempotencyKey: string };

/**
 * Where sends wait for their Seal, durably: what is added survives a reload or a crash and is
 * sent again (once, by its idempotency key) when the client is back. `memoryQueue` keeps
 * nothing across a reload; `sqliteQueue` (`@noema/client/node`) and `indexedDbQueue`
 * (`@noema/client/browser`) do.
 */
export interface SendQueue {
  /** Every queued Intent, in the order it was added. */
  load(): Promise<QueuedIntent[]>;
  add(intent: QueuedIntent): Promise<void>;
  /** Removes the Intent with this key (its Seal arrived); nothing when there is none. */
  remove(key: string): Promise<void>;
}

/** A queue in memory: for tests and for apps that need no offline sends across reloads. */
export function memoryQueue(): SendQueue {
  const entries = new Map<string, QueuedIntent>();
  return {
    load: () => Promise.resolve([...entries.values()]),
    add: async (intent) => void entries.set(intent.idempotencyKey, intent),
    remove: async (key) => void entries.delete(key),
  };
}
