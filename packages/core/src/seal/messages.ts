import * as z from "#zod";
import { claimedVersion, parseIntent } from "../admission/parse.js";
import type { BuiltinHost } from "../builtin/index.js";
import { type ConnectionType, moreSevere } from "../connection/index.js";
import type { Lineage } from "../connection/lineage.js";
import { scaledBackoffMs } from "../cryostasis/index.js";
import { canonicalIntent, type Intent, MAX_KEY_LENGTH } from "../intent/index.js";
import { formatIssues, type Issue, prefixIssues, zodIssues } from "../issue/index.js";
import { derivedMessageKey, MAX_MESSAGE_ATTEMPTS, type OutboxRow, OutboxStore, SEND } from "../message/index.js";
import { once } from "../once.js";
import { Refusal } from "../refusal/index.js";
import { intentSieve, type Sieve } from "../sieve/index.js";
import { AlreadySettled, type FeatureHooks, type Sealable, type Sealing } from "./feature.js";
import type { Message, Receipt, Seal, SealOrigin, SuccessSeal } from "./types.js";

/** A receipt with the sediment that recorded it: what `recordReceipt` returns, and an Attractor lists as a `ReceiptEntry`. */
type RecordedReceipt = Receipt & { sedimentId: number };

/**
 * What `recordReceipt` returns: the receipt with the sediment recording it, or undefined when another delivery settled the message first.
 * @deprecated Spelled out where it is used: `Receipt & { sedimentId }` (an Attractor lists receipts as `ReceiptEntry`).
 */
export type ReceiptRecord = RecordedReceipt | undefined;

/**
 * Messages on a Sedimenter: `$send` stores a message in the outbox, checked against its
 * target's law; `receive` sediments a message from another World; `recordReceipt` settles one
 * of ours. The host's delivery (a chore of its own) moves messages between the two.
 */
export class Messages implements FeatureHooks {
  readonly outbox: OutboxStore;
  /** Told after a transaction that stored a new message committed (the host's immediate delivery). */
  onSent: (() => void) | undefined;
  /**
   * How long after its send a new message needs the alarm: 0 when the alarm delivers it, the
   * fallback's delay when `onSent` takes it at once. A send then leaves an alarm that is already
   * that soon alone, instead of re-reading every queue to find the same time.
   */
  sentAlarmAfterMs = 0;
  /** A `$send` stored a new message in the running (or a rolled-back) transaction. */
  private sent = false;

  constructor(
    private readonly sealing: Sealing,
    /** The laws of the Attractors `$send` may address, by binding name. */
    private readonly sends: Readonly<Record<string, Lineage>>,
  ) {
    this.outbox = new OutboxStore(sealing.host.db);
  }

  /** `$send`, inside the running transaction: a message is due at once. */
  readonly builtins: Pick<BuiltinHost, "send"> = {
    send: (r) => {
      const { intent: message, sieve } = this.checkMessage(r.to.attractor, r.intent, r.step);
      const key = r.key ?? derivedMessageKey(this.sealing.world, r.sedimentId, r.step);
      const stored = this.outbox.send({ key, to: r.to, intent: message, sieve, sedimentId: r.sedimentId, step: r.step, now: r.now });
      if (!stored.existing) {
        this.sealing.alarmWork(r.now + this.sentAlarmAfterMs);
        this.sent = true;
      }
      return { messageId: stored.messageId, key };
    },
  };

  /**
   * Checks a `$send`'s Intent against its target's law, as the sender's code knows it: a
   * message the target could only refuse for its shape or stamp is refused with the Intent
   * that sends it, and nothing is sent.
   */
  private checkMessage(attractor: string, intent: Intent, step: number): { intent: Intent; sieve: Sieve } {
    const fail = (message: string, issues?: Issue[]) =>
      new Refusal({ kind: "validation", message: `step ${step} (${SEND}): ${message}`, step, op: SEND, ...(issues ? { issues } : {}) });
    const target = Object.hasOwn(this.sends, attractor) ? this.sends[attractor] : undefined;
    if (!target) throw fail(`this Attractor does not send to ${attractor}: declare it in its sends`);
    const stamp = intent.nomos!;
    const vocabulary = target.at(stamp.version);
    if (!vocabulary || vocabulary.nomos.hash !== stamp.hash || vocabulary.nomos.name !== stamp.name) {
      throw fail(`the message is built against ${stamp.name} v${stamp.version}, which is not a law of ${attractor} (${target.name} v${target.first}–v${target.latest.nomos.version})`);
    }
    const parsed = parseIntent(vocabulary, intent);
    if (!parsed.ok) throw fail(`the message is not a valid ${stamp.name} Intent: ${formatIssues(parsed.issues.slice(0, 1))}`, prefixIssues(parsed.issues, ["steps", step, "args", "intent"]));
    return { intent: parsed.value, sieve: intentSieve(vocabulary, parsed.value) };
  }

  /** After each committed transaction: the Sieves its `$send`s stored are known from then on (see OutboxStore.committed). */
  committed(): void {
    this.outbox.committed();
    if (!this.sent) return;
    this.sent = false;
    this.onSent?.();
  }

  /** Due messages, at most `limit`, taken for delivery until `leaseUntil`, the alarm looking again at `recheck` (see OutboxStore.take; nothing is written). */
  takeDue(now: number, limit: number, leaseUntil: number, recheck?: number): OutboxRow[] {
    return this.outbox.take(now, limit, leaseUntil, recheck);
  }

  /** Due messages taken right after a send committed: as `takeDue` at the host's clock, the alarm looking again after `recheckMs`. */
  takeSent(limit: number, leaseMs: number, recheckMs: number): OutboxRow[] {
    const now = this.sealing.host.now();
    return this.outbox.take(now, limit, now + leaseMs, now + recheckMs);
  }

  /** At the object's start: the messages a dead run had taken are due again now (see OutboxStore.releaseLeases). */
  releaseLeases(): number {
    // No transaction (a write) for a World that has none, as every World started by this version.
    if (!this.outbox.hasStoredLeases()) return 0;
    return this.sealing.host.transaction(() => this.outbox.releaseLeases(this.sealing.host.now()));
  }

  /** The message as the receiver gets it. */
  messageOf(entry: OutboxRow): Message {
    return { messageId: entry.messageId, key: entry.key, from: this.sealing.world, sentIn: entry.sentIn, intent: entry.intent, sieve: this.outbox.sieve(entry.sieveHash) };
  }

  /**
   * Sediments a message from another World under its key, with its stored Sieve: carried
   * across a law change like any Intent, and applied once however often it is delivered.
   * A refusal is a Precedent, not kept under the key: a later delivery is admitted afresh.
   */
  receive(input: unknown): Seal {
    const { sealing } = this;
    const now = sealing.host.now();
    const shape = messageSchema().safeParse(input);
    if (!shape.success) return sealing.refuse(input, now, { kind: "validation", message: `invalid message: ${formatIssues(zodIssues(shape.error).slice(0, 1))}`, issues: zodIssues(shape.error) });
    const message = shape.data as Message;
    // A deployment problem, not an answer: thrown, so the sender tries again later instead of taking a refusal as final.
    if (sealing.unavailable) throw new Error(`cannot receive messages: ${sealing.unavailable}`);
    const claimed = claimedVersion(message.intent);
    if (sealing.pending && claimed !== undefined && claimed > sealing.vocabulary.nomos.version) throw new Error(`cannot receive v${claimed} messages yet: ${sealing.pending}`);
    const admitted = sealing.admit({ ...message.intent, idempotencyKey: message.key }, now, message.sieve);
    if (!admitted.ok) return sealing.refuse(admitted.input, now, admitted.reason);
    const origin: SealOrigin = {
      ...(admitted.origin ?? { nomos: admitted.sent.nomos ?? sealing.held, reforged: false, steps: [] }),
      message: { from: message.from, sedimentId: message.sentIn.sedimentId, step: message.sentIn.step, messageId: message.messageId },
    };
    return sealing.seal(admitted, origin, now);
  }

  /**
   * Records what became of a message, in one transaction: the message leaves the outbox, the
   * receipt is sedimented (in its origin), an undeliverable one is also a Precedent of kind
   * "message", and the Intent `react` returns (the Attractor's hook) is applied in the same
   * sediment. A refused reaction is a Precedent; the receipt is recorded all the same.
   * Undefined when another delivery recorded the receipt first.
   */
  recordReceipt(entry: OutboxRow, answer: { seal: Seal } | { error: string }, react?: (receipt: Receipt) => unknown): RecordedReceipt | undefined {
    const { sealing } = this;
    const now = sealing.host.now();
    const receipt = receiptOf(entry, answer);
    const settle = () => {
      if (!this.outbox.settle(entry, receipt.outcome, sealing.nextSedimentId())) throw new AlreadySettled();
      if (receipt.outcome !== "undeliverable") return;
      const message = `message ${entry.messageId} (key ${entry.key}) to ${entry.to.attractor} "${entry.to.name}" was not delivered after ${receipt.attempts} attempts: ${receipt.error}`;
      sealing.log.recordPrecedent(this.messageOf(entry), { kind: "message", message }, sealing.held, now, sealing.limits.maxBytes);
    };
    let reaction: unknown;
    let seal: SuccessSeal;
    try {
      seal = sealing.apply(() => {
        settle();
        reaction = react?.(receipt);
        return this.receiptSediment({ receipt }, reaction, now);
      }, now);
    } catch (error) {
      if (error instanceof AlreadySettled) return undefined;
      if (!(error instanceof Refusal)) throw error;
      const { reason } = error;
      seal = sealing.apply(() => {
        settle();
        sealing.log.recordPrecedent(reaction, reason, sealing.held, now, sealing.limits.maxBytes);
        return this.receiptSediment({ receipt }, undefined, now);
      }, now);
    }
    return { ...receipt, sedimentId: seal.sedimentId };
  }

  /**
   * Records the answers of one delivery (messages delivered together, answered together) as one
   * sediment: each message leaves the outbox and keeps its key taken, the receipts are in the
   * origin (`receipts`, or `receipt` when only one is left), and the Intent `react` returns for
   * all of them is applied in the same sediment. Exactly what `recordReceipt` records for each,
   * in one log row instead of one each. A message another delivery settled first is left out.
   * Undefined when the reaction is refused, and what `react` threw when it throws: either way
   * nothing is recorded, and the caller records each receipt on its own (`recordReceipt`), as it
   * would have without the batch.
   */
  recordReceipts(answered: readonly { entry: OutboxRow; seal: Seal }[], react: (receipts: Receipt[]) => unknown): RecordedReceipt[] | undefined {
    const { sealing } = this;
    const now = sealing.host.now();
    const all = answered.map(({ entry, seal }) => receiptOf(entry, { seal }));
    let receipts: Receipt[] = [];
    let seal: SuccessSeal;
    try {
      seal = sealing.apply(() => {
        const sedimentId = sealing.nextSedimentId();
        receipts = all.filter((receipt, i) => this.outbox.settle(answered[i]!.entry, receipt.outcome, sedimentId));
        if (receipts.length === 0) throw new AlreadySettled();
        return this.receiptSediment(receiptsField(receipts), react(receipts), now);
      }, now);
    } catch (error) {
      if (error instanceof AlreadySettled) return [];
      // A refused reaction: rolled back with everything else, for `recordReceipt` to record one by one.
      if (error instanceof Refusal) return undefined;
      throw error;
    }
    return receipts.map((r) => ({ ...r, sedimentId: seal.sedimentId }));
  }

  /**
   * What a sediment recording receipts holds: the reaction's Intent with the receipts in its
   * origin; the receipts alone when there is no reaction, or when it was applied under its key
   * before. A refused reaction throws its Refusal, to roll the sediment back.
   */
  private receiptSediment(fields: Pick<SealOrigin, "receipt" | "receipts">, reaction: unknown, now: number): Sealable {
    const { sealing } = this;
    const record: SealOrigin = { nomos: sealing.held, reforged: false, steps: [], ...fields };
    const noSteps = canonicalIntent(sealing.held, [], undefined);
    const alone: Sealable = { admitted: { sent: noSteps, intent: noSteps }, origin: record };
    if (reaction === undefined) return alone;
    const admitted = sealing.admit(reaction, now);
    if (!admitted.ok) throw new Refusal(admitted.reason);
    const earlier = sealing.earlier(admitted.sent);
    if (earlier && "reason" in earlier) throw new Refusal(earlier.reason);
    if (earlier) return alone;
    return { admitted, origin: { ...(admitted.origin ?? record), ...fields } };
  }

  /**
   * A delivery failed unexpectedly (nothing was answered): the message is tried again after a
   * backoff, on its own; after `maxAttempts` in all it is undeliverable (see `recordReceipt`).
   */
  deliveryFailed(
    entry: OutboxRow,
    error: string,
    options: { maxAttempts?: number; firstBackoffMs?: number; react?: (receipt: Receipt) => unknown; counted?: boolean } = {},
  ): { outcome: "retry"; attempts: number; nextAttemptAt: number } | { outcome: "undeliverable"; record: RecordedReceipt | undefined } {
    // Not counted: the receiver answered, but recording it failed here; giving up would lose that answer.
    const attempts = options.counted === false ? entry.attempts : entry.attempts + 1;
    if (attempts >= (options.maxAttempts ?? MAX_MESSAGE_ATTEMPTS)) return { outcome: "undeliverable", record: this.recordReceipt(entry, { error }, options.react) };
    const nextAttemptAt = this.sealing.host.now() + scaledBackoffMs(Math.max(attempts, 1), options.firstBackoffMs ?? 1000);
    this.sealing.host.transaction(() => this.outbox.postpone(entry.messageId, attempts, error, nextAttemptAt));
    // The alarm may be set later than this (the run that took it spent its recheck): it must come back for it.
    this.sealing.host.onAlarmWorkChanged?.(nextAttemptAt);
    return { outcome: "retry", attempts, nextAttemptAt };
  }
}

/** What became of a message: the receiver's answer, or why there was none after the last attempt. */
function receiptOf(entry: OutboxRow, answer: { seal: Seal } | { error: string }): Receipt {
  const common = { messageId: entry.messageId, key: entry.key, to: entry.to, sentIn: entry.sentIn, attempts: entry.attempts + 1 };
  if (!("seal" in answer)) return { ...common, outcome: "undeliverable", error: answer.error };
  const carried = carriedOf(answer.seal);
  return { ...common, outcome: answer.seal.success ? "sealed" : "refused", seal: answer.seal, ...(carried ? { carried } : {}) };
}

/** The receipts a sediment records, in its origin: one as `receipt`, the shape every receipt had before deliveries were recorded together. */
const receiptsField = (receipts: Receipt[]): Pick<SealOrigin, "receipt" | "receipts"> => (receipts.length === 1 ? { receipt: receipts[0]! } : { receipts });

/** How the receiver carried a message sent under an older law: the most severe Connection that decided it. */
function carriedOf(seal: Seal): ConnectionType | undefined {
  if (seal.success) return seal.origin?.steps.length ? seal.origin.steps.map((s) => s.connection).reduce(moreSevere) : undefined;
  return seal.reason.kind === "connection" ? seal.reason.connection?.type : undefined;
}

// What `receive` trusts of a message before admitting its Intent: the origin it records is hashed into the chain.
// Built on the first message received: most Worlds never receive one.
const messageSchema = once(() => {
  const whole = z.number().check(z.int(), z.gte(0));
  return z.strictObject({
    messageId: whole,
    key: z.string().check(z.minLength(1), z.maxLength(MAX_KEY_LENGTH)),
    from: z.strictObject({ attractor: z.string().check(z.minLength(1)), name: z.string().check(z.minLength(1)), nomosVersion: whole, nomosHash: z.string() }),
    sentIn: z.strictObject({ sedimentId: whole, step: whole }),
    intent: z.unknown(),
    sieve: z.custom<Sieve>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "must be a Sieve"),
  });
});
