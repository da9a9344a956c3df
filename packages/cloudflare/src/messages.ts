import { type Intent, Lineage, type Message, type Receipt, type Seal, type SealOrigin, type Vocabulary } from "@noema/core";
import { type AlarmChore, MAX_MESSAGE_ATTEMPTS, MESSAGE_BATCH, MESSAGE_CONCURRENCY, type OutboxEntry as OutboxRow, type OutboxStore, type Sedimenter } from "@noema/core/runtime";
import { pageSize } from "./page.js";

/** How an Attractor delivers its messages; `static delivery` overrides any of these. */
export interface DeliveryOptions {
  /** Attempts in all before a message is undeliverable (default MAX_MESSAGE_ATTEMPTS, 12). */
  attempts: number;
  /** The first backoff after a failed attempt, doubled after each (default 1 s, capped at 5 min). */
  firstBackoffMs: number;
  /** Messages taken per alarm run (default MESSAGE_BATCH, 64); the alarm is re-armed for the rest. */
  batch: number;
  /** Deliveries in flight at once (default MESSAGE_CONCURRENCY, 8). */
  concurrency: number;
  /**
   * How long a message taken for delivery is left alone (default DELIVERY_LEASE_MS): a run that
   * dies mid-delivery (an eviction, a restart) leaves it to be taken again after this, neither
   * lost nor busy-looped on. A delivery slower than this may be repeated, which the key makes harmless.
   */
  leaseMs: number;
  /**
   * Deliver a message right after the transaction that sent it commits, with the alarm as the
   * fallback (default false: every delivery waits for the alarm). The receipt then lands in the
   * sender's log as soon as the receiver answers.
   */
  immediate: boolean;
}

export const DELIVERY_LEASE_MS = 60_000;
/**
 * A message delivered right after its send keeps the alarm set this much later: should the
 * object die mid-delivery, that alarm starts it again (and its start delivers the message).
 * A delivery still running then is left to its lease. The alarm is not moved back once the
 * delivery settles (a durable write per decision): it rings once, finds nothing, and re-arms.
 */
export const IMMEDIATE_FALLBACK_MS = 2_000;

/** How an Attractor delivers its messages unless its `static delivery` says otherwise: attempts, backoff, batch and concurrency. */
export const DEFAULT_DELIVERY: DeliveryOptions = {
  attempts: MAX_MESSAGE_ATTEMPTS,
  firstBackoffMs: 1000,
  batch: MESSAGE_BATCH,
  concurrency: MESSAGE_CONCURRENCY,
  leaseMs: DELIVERY_LEASE_MS,
  immediate: false,
};

/** The laws `static sends` declares, by binding; each binding must be a Durable Object namespace in `env`. */
export function sendTargets(className: string, sends: Readonly<Record<string, Vocabulary | Lineage>> | undefined, env: unknown): Record<string, Lineage> | string {
  const targets: Record<string, Lineage> = {};
  for (const [binding, law] of Object.entries(sends ?? {})) {
    const namespace = (env as Record<string, unknown> | null | undefined)?.[binding];
    if (typeof (namespace as { getByName?: unknown } | undefined)?.getByName !== "function") {
      return `${className} sends to ${binding}, but the Worker has no Durable Object binding of that name: add it to wrangler.jsonc (durable_objects.bindings)`;
    }
    targets[binding] = law instanceof Lineage ? law : Lineage.of(law);
  }
  return targets;
}

/** What a message's target answers to: every Attractor's `receive`. */
interface Receiver {
  getByName(name: string): { receive(message: Message): Promise<Seal> };
}

const text = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The "messages" chore: delivers due messages over RPC (`env[binding].getByName(name).receive`),
 * a bounded batch per run with a few in flight at once. Each message has its own attempts and
 * backoff, so a failing target holds up nothing else. An answer (sealed or refused) is recorded
 * as a receipt with the hook's reaction; after the last attempt the message is undeliverable.
 *
 * With `delivery.immediate`, messages also go out as soon as the transaction that sent them
 * commits (up to `concurrency` in flight, the rest as room is made), each under its lease as an
 * alarm run's would be; the alarm serves whatever this leaves, and `settled` runs once none is in flight.
 */
export function messagesChore(
  sedimenter: Sedimenter,
  env: unknown,
  delivery: DeliveryOptions,
  react: (receipt: Receipt) => unknown,
  attractor: string,
  settled: () => void = () => {},
  /** The reaction to the answers of one delivery together (`onReceipts`): with immediate delivery, they are then recorded as one sediment. */
  reactAll?: (receipts: Receipt[]) => unknown,
): AlarmChore {
  const messages = sedimenter.features.messages;
  /** The receiver's answer, or why there was none. */
  const ask = async (entry: OutboxRow): Promise<Seal | { failed: string }> => {
    try {
      const namespace = (env as Record<string, Receiver>)[entry.to.attractor]!;
      return await namespace.getByName(entry.to.name).receive(messages.messageOf(entry));
    } catch (error) {
      return { failed: text(error) };
    }
  };
  /** Records an answer as the message's receipt with the hook's reaction, or its failed attempt. */
  const record = (entry: OutboxRow, answer: Seal | { failed: string }) => {
    if ("failed" in answer) {
      messages.deliveryFailed(entry, answer.failed, { maxAttempts: delivery.attempts, firstBackoffMs: delivery.firstBackoffMs, react });
      return;
    }
    try {
      messages.recordReceipt(entry, { seal: answer }, react);
    } catch (error) {
      // The hook threw, so nothing was recorded: the receipt is asked for again later (the receiver answers the same).
      console.error(`noema: ${attractor} receipt hook failed for message ${entry.messageId}; retrying:`, error);
      messages.deliveryFailed(entry, `receipt hook failed: ${text(error)}`, { firstBackoffMs: delivery.firstBackoffMs, counted: false });
    }
  };
  const deliver = async (entry: OutboxRow) => record(entry, await ask(entry));
  /**
   * Records what one delivery's receivers answered: with `reactAll`, the answered ones as one
   * sediment (one log row, one reaction) and the failed ones each on its own; else each on its own.
   */
  const recordAll = (taken: OutboxRow[], answers: (Seal | { failed: string })[]) => {
    const answered = taken.flatMap((entry, i) => ("failed" in answers[i]! ? [] : [{ entry, seal: answers[i] as Seal }]));
    let together = false;
    if (reactAll && answered.length > 0) {
      try {
        together = messages.recordReceipts(answered, reactAll) !== undefined;
      } catch (error) {
        // Said, or a hook that always throws for a batch would lose the batching unseen.
        console.error(`noema: ${attractor} onReceipts failed for ${answered.length} receipts; recording them one by one:`, error);
      }
    }
    taken.forEach((entry, i) => {
      if (!together || "failed" in answers[i]!) record(entry, answers[i]!);
    });
  };
  if (delivery.immediate) {
    let inFlight = 0;
    /** Due messages may be left untaken (no room): taken as soon as room is made, not at the alarm. */
    let left = false;
    const pump = () => {
      const room = Math.min(delivery.concurrency - inFlight, delivery.batch);
      left = room <= 0;
      if (left) return;
      const taken = messages.takeSent(room, delivery.leaseMs, IMMEDIATE_FALLBACK_MS);
      if (taken.length === 0) return;
      left = taken.length === room;
      inFlight += taken.length;
      // What one commit sent is answered together: its receipts are recorded in one turn, so one
      // durable write covers them all instead of one each (and one sediment, with `onReceipts`).
      Promise.all(taken.map(ask))
        .then((answers) => recordAll(taken, answers))
        // Nothing recorded: the messages are left to their leases, and then to the alarm.
        .catch((error: unknown) => console.error(`noema: ${attractor} delivery of ${taken.length} message(s) failed; the alarm retries them:`, error))
        .finally(() => {
          inFlight -= taken.length;
          if (left) pump();
          if (inFlight === 0) settled();
        });
    };
    messages.onSent = pump;
    // The alarm is only the fallback of a message taken at once (see IMMEDIATE_FALLBACK_MS).
    messages.sentAlarmAfterMs = IMMEDIATE_FALLBACK_MS;
  }
  return {
    name: "messages",
    next: () => sedimenter.outbox.earliest(),
    run: async (now) => {
      const taken = messages.takeDue(now, delivery.batch, now + delivery.leaseMs);
      await eachLimited(taken, delivery.concurrency, deliver);
    },
  };
}

/** A pending message as `outbox()` lists it. */
export interface OutboxEntry {
  messageId: number;
  key: string;
  to: { attractor: string; name: string };
  intent: Intent;
  /** The sediment and step of the `$send` that sent it. */
  sentIn: { sedimentId: number; step: number };
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number;
  createdAt: number;
}

/**
 * A pending message as listed: the former name of `OutboxEntry`.
 * @deprecated Renamed `OutboxEntry`.
 */
export type OutboxMessage = OutboxEntry;

/** A receipt as `receipts()` lists it, with the sediment that recorded it. */
export type ReceiptEntry = Receipt & { sedimentId: number };

/** A page of the outbox after `after` (a messageId). */
function outboxPage(outbox: OutboxStore, after: number | undefined, limit: number): { messages: OutboxEntry[]; next?: number } {
  const rows = outbox.list(limit + 1, Number.isInteger(after) ? after : 0);
  const messages = rows.slice(0, limit).map((e) => ({
    messageId: e.messageId,
    key: e.key,
    to: e.to,
    intent: e.intent,
    sentIn: e.sentIn,
    attempts: e.attempts,
    lastError: e.lastError,
    nextAttemptAt: e.nextAttemptAt,
    createdAt: e.createdAt,
  }));
  return rows.length > limit ? { messages, next: messages[messages.length - 1]!.messageId } : { messages };
}

/** A page of receipts after `after` (a messageId), read from the sediments that recorded them. */
function receiptsPage(outbox: OutboxStore, after: number | undefined, limit: number): { receipts: ReceiptEntry[]; next?: number } {
  const rows = outbox.receipts(limit + 1, Number.isInteger(after) ? after : 0);
  const receipts = rows.slice(0, limit).flatMap((r) => {
    const origin = r.origin === null ? undefined : (JSON.parse(r.origin) as SealOrigin);
    // A sediment records one receipt (`receipt`) or the receipts of one delivery (`receipts`).
    const receipt = origin?.receipts?.find((x) => x.messageId === r.messageId) ?? origin?.receipt;
    return receipt ? [{ ...receipt, sedimentId: r.sedimentId }] : [];
  });
  return rows.length > limit ? { receipts, next: rows[limit - 1]!.messageId } : { receipts };
}

/**
 * The RPC methods messages bring (the Attractor's `outbox` and `receipts` delegate here): the
 * outbox (messages waiting for delivery) and the receipts of settled ones, each in the order
 * they were sent. Another Attractor delivers to `receive`, beside `sedimentation` (docs/concepts/messages.md).
 */
export class MessagesRpc {
  readonly #sedimenter: Sedimenter;

  constructor(sedimenter: Sedimenter) {
    this.#sedimenter = sedimenter;
  }

  /** Messages waiting for delivery; `next` is the cursor of the next page. */
  outbox(options: { after?: number; limit?: number } = {}): { messages: OutboxEntry[]; next?: number } {
    return outboxPage(this.#sedimenter.outbox, options.after, pageSize(options.limit));
  }

  /** Receipts of settled messages; `next` is the cursor of the next page. */
  receipts(options: { after?: number; limit?: number } = {}): { receipts: ReceiptEntry[]; next?: number } {
    return receiptsPage(this.#sedimenter.outbox, options.after, pageSize(options.limit));
  }
}
