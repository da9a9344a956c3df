import * as z from "zod";
import { type Admission, admissionIssues, admit, type AdmissionOptions, type ExplainResult, type Origin } from "../admission/index.js";
import { claimedVersion, parseIntent } from "../admission/parse.js";
import { type BuiltinHost, keyIssue } from "../builtin/index.js";
import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import { type ConnectionType, moreSevere } from "../connection/index.js";
import { Lineage } from "../connection/lineage.js";
import {
  backoffMs,
  CryostasisStore,
  FREEZE,
  FreezeKeyConflict,
  type FrozenEntry,
  MAX_WAKE_ATTEMPTS,
  scaledBackoffMs,
  wakeTime,
} from "../cryostasis/index.js";
import type { SedimentHost } from "../host/index.js";
import { DEFAULT_LIMITS, type Intent, MAX_KEY_LENGTH, type IntentLimits, type NomosStamp, nomosStamp, type Vocabulary } from "../intent/index.js";
import { builtinStep, explain, refuseViolation, runSteps, ScopeMarks } from "../interpretation/index.js";
import { formatIssues, type Issue, issue, prefixIssues, zodIssues } from "../issue/index.js";
import { derivedMessageKey, MAX_MESSAGE_ATTEMPTS, type OutboxEntry, OutboxStore, SEND } from "../message/index.js";
import { Refusal, type Reason } from "../refusal/index.js";
import { intentSieve, type Sieve } from "../sieve/index.js";
import { hashCanonicalSediment } from "./chain.js";
import { SedimentLog } from "./store.js";
import type { Message, Receipt, Seal, SealOrigin, Sediment, World } from "./types.js";


export interface SedimenterOptions {
  /** The law this Attractor holds; defaults to the lineage's latest. */
  held?: number;
  limits?: IntentLimits;
  /** Why this Attractor refuses every Intent (its stored law is unknown to the code). */
  unavailable?: string;
  /** Why Intents of a law newer than the held one cannot run yet (a failed migration). */
  pending?: string;
  /** When this Attractor applied each version: where grace periods start by default. */
  appliedAt?: (version: number) => number | undefined;
  /**
   * Store a `$freeze` step's frozen Intent as a reference to that step (default true). The
   * model checker turns it off, so that properties written in SQL read `_noema_cryostasis.intent` whole.
   */
  frozenByReference?: boolean;
  /** The laws of the Attractors `$send` may address, by binding name: a message is checked against its target's law when sent. */
  sends?: Readonly<Record<string, Lineage>>;
  /** Called inside each sealing transaction once its sediment is appended (sync's change capture records what it changed). */
  onSealing?: (sediment: { sedimentId: number; hash: string; prevHash: string }) => void;
}

export type FreezeResult = { ok: true; cryoId: number; wakeAt: number; existing: boolean } | { ok: false; issues: Issue[] };

/** What became of one frozen Intent when it woke. */
export type WakeOutcome =
  | { cryoId: number; outcome: "sealed"; seal: Seal }
  | { cryoId: number; outcome: "refused"; seal: Seal }
  | { cryoId: number; outcome: "retry"; attempts: number; error: string; wakeAt: number }
  | { cryoId: number; outcome: "gone" };

function sealOf(s: Sediment): Seal {
  return {
    success: true,
    sedimentId: s.sedimentId,
    hash: s.hash,
    prevHash: s.prevHash,
    timestamp: s.timestamp,
    world: s.world,
    outputs: s.outputs,
    ...(s.origin ? { origin: s.origin } : {}),
  };
}

/** The Intent as it was sent: stored as is, or carried forward from an earlier law. */
function sentOf(s: Sediment): Intent {
  if (!s.origin || s.origin.nomos.version === s.world.nomosVersion) return s.origin?.intent ?? s.intent;
  return s.origin.intent ?? { ...s.intent, nomos: s.origin.nomos };
}

const stampOf = (v: Vocabulary): NomosStamp => nomosStamp(v.nomos);

/** Thrown inside a wake transaction when the entry is already gone: nothing may be applied twice. */
class AlreadyWoken extends Error {}

/**
 * What one committed transaction did: its sediment, and how it changed work the alarm serves:
 * absent when it did not, `earliest` when it only added work (froze, sent), none when it removed some (cancelled).
 */
interface Committed {
  sediment: Sediment;
  alarmWork?: { earliest?: number };
  /** Tells the invariant check its transaction committed. */
  settled?: () => void;
}

/** Tells the host what a transaction did to the alarm's work, if anything. */
function tellAlarmWork(host: SedimentHost, committed: Committed): void {
  if (committed.alarmWork) host.onAlarmWorkChanged?.(committed.alarmWork.earliest);
}

/** What `recordReceipt` did: the receipt and the sediment recording it, or nothing when another delivery settled the message first. */
export type ReceiptRecord = { receipt: Receipt; seal: Seal } | undefined;

/**
 * Runtime-agnostic sedimentation: admit, interpret, check invariants and append to the chain
 * in one transaction; on refusal roll back and record a Precedent. Also freezes Intents and
 * wakes them.
 */
export class Sedimenter {
  readonly log: SedimentLog;
  readonly cryostasis: CryostasisStore;
  readonly outbox: OutboxStore;
  readonly lineage: Lineage;
  /** The vocabulary of the law this Attractor holds. */
  readonly vocabulary: Vocabulary;
  private head: { sedimentId: number; hash: string };
  private readonly worldHash: string;
  private readonly limits: IntentLimits;
  /** The stamp of the held law, and the admission options but the clock: the same for every Intent, so made once. */
  private readonly held: NomosStamp;
  private readonly admission: Omit<AdmissionOptions, "now" | "sieve">;
  /** The scoped invariants' marks checked so far, advanced only by a committed transaction (as `head` is). */
  private readonly marks = new ScopeMarks();
  /** How the running transaction changes the alarm's work (see `Committed`), noted by the built-in steps. */
  private alarmWork: Committed["alarmWork"];

  constructor(
    law: Vocabulary | Lineage,
    private readonly host: SedimentHost,
    private readonly world: World,
    private readonly options: SedimenterOptions = {},
  ) {
    this.lineage = law instanceof Lineage ? law : Lineage.of(law);
    this.vocabulary = this.lineage.at(options.held ?? this.lineage.latest.nomos.version) ?? this.lineage.latest;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.held = stampOf(this.vocabulary);
    const { held: _held, frozenByReference: _byReference, onSealing: _onSealing, ...admission } = options;
    this.admission = { ...admission, held: this.vocabulary.nomos.version, limits: this.limits };
    this.log = new SedimentLog(host.db);
    this.cryostasis = new CryostasisStore(host.db, (id) => this.log.source(id), options.frozenByReference ?? true);
    this.outbox = new OutboxStore(host.db);
    // Kept in memory: only a committed transaction advances it, so it never runs ahead of storage.
    this.head = this.log.head();
    const worldJson = canonicalJson(world);
    this.worldHash = sha256Hex(worldJson);
    this.log.registerWorld(worldJson, this.worldHash);
  }

  /** The id of the last committed sediment (0 for an empty log), from memory: no query. */
  get lastSedimentId(): number {
    return this.head.sedimentId;
  }

  /** False while this Attractor cannot run the law it holds: frozen Intents then wait, untouched. */
  get available(): boolean {
    return this.options.unavailable === undefined;
  }

  /** Admits an input under the held law (see `admit`), as sedimentation would at `now`. */
  admit(input: unknown, now: number = this.host.now(), sieve?: Sieve): Admission {
    return admit(this.lineage, input, { ...this.admission, now, ...(sieve ? { sieve } : {}) });
  }

  /**
   * The `sql.exec()` sequence the input would run here next, and its Sieve; nothing runs.
   * Admitted as sedimentation admits it, so it accepts exactly what would run.
   */
  explain(input: unknown): ExplainResult {
    const now = this.host.now();
    const admitted = this.admit(input, now);
    if (!admitted.ok) return { ok: false, reason: admitted.reason, issues: admissionIssues(admitted.reason) };
    const explanation = explain(this.vocabulary, admitted.intent, { now, sedimentId: this.head.sedimentId + 1 });
    return { ok: true, explanation, ...(admitted.origin ? { origin: admitted.origin } : {}) };
  }

  /** Sediments a client's Intent: admitted, applied atomically and sealed, or refused on record. */
  sediment(input: unknown): Seal {
    const now = this.host.now();
    const admitted = this.admit(input, now);
    if (!admitted.ok) return this.refuse(admitted.input, now, admitted.reason);
    return this.seal(admitted.sent, admitted.intent, now, admitted.origin);
  }

  /**
   * An admitted Intent sealed: the earlier Seal under its idempotency key (or the refusal of a
   * different Intent under it), else applied atomically, or refused on record.
   */
  private seal(sent: Intent, intent: Intent, now: number, origin: SealOrigin | undefined): Seal {
    const earlier = this.earlier(sent);
    if (earlier) return "seal" in earlier ? earlier.seal : this.refuse(sent, now, earlier.reason);
    try {
      const committed = this.apply(intent, now, origin);
      tellAlarmWork(this.host, committed);
      return sealOf(committed.sediment);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(sent, now, error.reason);
      throw error;
    }
  }

  /**
   * Freezes an Intent from code: stored with its Sieve, law and World, to wake at `at` or
   * after `delaySeconds`. With a `key` already frozen it stores nothing and returns that entry.
   */
  freeze(input: unknown, when: { at?: number; delaySeconds?: number; key?: string }): FreezeResult {
    const now = this.host.now();
    const bad = (found: Issue): FreezeResult => ({ ok: false, issues: [found] });
    const time = wakeTime(when, now);
    if (!time.ok) return bad(time.issue);
    const badKey = when.key === undefined ? undefined : keyIssue(when.key);
    if (badKey) return bad(badKey);
    // Admitted as sedimentation admits it (law, hash, validation, Connection): what could only be refused is not stored.
    const admitted = this.admit(input, now);
    if (!admitted.ok) return { ok: false, issues: prefixIssues(admissionIssues(admitted.reason), ["intent"]) };
    const { sent } = admitted;
    if (sent.steps.some((s) => builtinStep(s.op))) return bad(issue("not_allowed", ["intent", "steps"], "a frozen Intent cannot itself freeze, cancel or send"));
    const vocabulary = this.lineage.at(sent.nomos?.version ?? this.vocabulary.nomos.version)!;
    const intent: Intent = sent.nomos ? sent : { ...sent, nomos: stampOf(vocabulary) };
    let stored;
    try {
      stored = this.host.transaction(() =>
        this.cryostasis.freeze({ wakeAt: time.wakeAt!, key: when.key, intent, sieve: intentSieve(vocabulary, intent), nomos: stampOf(vocabulary), worldHash: this.worldHash, now }),
      );
    } catch (error) {
      if (error instanceof FreezeKeyConflict) return bad(issue("invalid_value", ["key"], error.message));
      throw error;
    }
    if (!stored.existing) this.host.onAlarmWorkChanged?.(stored.wakeAt);
    return { ok: true, ...stored };
  }

  /** Cancels a frozen Intent by id; false when there was none. */
  cancel(cryoId: number): boolean {
    const removed = this.host.transaction(() => this.cryostasis.remove(cryoId));
    if (removed) this.host.onAlarmWorkChanged?.();
    return removed;
  }

  /**
   * Wakes due entries in wake-time order, at most `limit` of them, each in its own
   * transaction that also removes it. Returns what became of each; the host re-arms once.
   */
  wakeDue(limit: number): WakeOutcome[] {
    // Refusing them now would be final for what is only a deployment problem: leave them for a wake that can run them.
    if (!this.available) return [];
    const now = this.host.now();
    const outcomes = this.cryostasis.due(now, limit).map((entry) => this.wake(entry, now));
    this.host.onAlarmWorkChanged?.();
    return outcomes;
  }

  private wake(entry: FrozenEntry, now: number): WakeOutcome {
    const { cryoId } = entry;
    try {
      const seal = this.resume(entry, now);
      return seal.success ? { cryoId, outcome: "sealed", seal } : { cryoId, outcome: "refused", seal };
    } catch (error) {
      if (error instanceof AlreadyWoken) return { cryoId, outcome: "gone" };
      // Unexpected: nothing was applied. Retry with backoff, then give up on record.
      const message = error instanceof Error ? error.message : String(error);
      const attempts = entry.attempts + 1;
      if (attempts >= MAX_WAKE_ATTEMPTS) {
        const seal = this.refuse(entry.intent, now, { kind: "cryostasis", message: `gave up after ${attempts} attempts: ${message}` }, cryoId);
        return { cryoId, outcome: "refused", seal };
      }
      const wakeAt = now + backoffMs(attempts);
      this.host.transaction(() => this.cryostasis.postpone(cryoId, attempts, message, wakeAt));
      return { cryoId, outcome: "retry", attempts, error: message, wakeAt };
    }
  }

  /** Runs a woken entry: admitted under its stored Sieve, applied and removed in one transaction. */
  private resume(entry: FrozenEntry, now: number): Seal {
    const { cryoId } = entry;
    const admitted = this.admit(entry.intent, now, this.cryostasis.sieve(entry.sieveHash));
    if (!admitted.ok) return this.refuse(admitted.input, now, admitted.reason, cryoId);
    const { sent, intent } = admitted;
    const earlier = this.earlier(sent);
    if (earlier) {
      if (!("seal" in earlier)) return this.refuse(sent, now, earlier.reason, cryoId);
      // Already applied: a woken duplicate is done with, and applies nothing.
      this.host.transaction(() => this.cryostasis.remove(cryoId));
      return earlier.seal;
    }
    const mode = admitted.origin?.reforged ? "reforged" : "resumed";
    const origin: Origin = {
      ...(admitted.origin ?? { nomos: entry.nomos, reforged: false, steps: [] }),
      cryostasis: { cryoId, frozenAt: entry.frozenAt, wakeAt: entry.wakeAt, wokeAt: now, mode },
    };
    try {
      // Removed in the same transaction that applies it: a second delivery finds nothing to apply. The batch re-arms once.
      return sealOf(this.apply(intent, now, origin, () => {
        if (!this.cryostasis.remove(cryoId)) throw new AlreadyWoken();
      }).sediment);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(sent, now, error.reason, cryoId);
      throw error;
    }
  }

  /** An earlier sediment under the same idempotency key: its Seal when it is the same Intent, else the refusal. */
  private earlier(sent: Intent): { seal: Seal } | { reason: Reason } | undefined {
    if (sent.idempotencyKey === undefined) return undefined;
    const earlier = this.log.byIdempotencyKey(sent.idempotencyKey);
    if (!earlier) return undefined;
    if (canonicalJson(sentOf(earlier)) === canonicalJson(sent)) return { seal: sealOf(earlier) };
    return {
      reason: { kind: "idempotency", message: `idempotency key "${sent.idempotencyKey}" was already used by sediment ${earlier.sedimentId} for a different Intent` },
    };
  }

  /** One transaction: `first` (if any), the Interpretation, the chain entry; returns what it changed. */
  private apply(intent: Intent, timestamp: number, origin: SealOrigin | undefined, first?: () => void): Committed {
    return this.applyPrepared(() => {
      first?.();
      return { intent, origin };
    }, timestamp);
  }

  /** As `apply`, with the Intent and its origin decided inside the transaction by `prepare`. */
  private applyPrepared(prepare: () => { intent: Intent; origin: SealOrigin | undefined }, timestamp: number): Committed {
    const committed = this.host.transaction((): Committed => {
      const { intent, origin } = prepare();
      this.alarmWork = undefined;
      const done: Committed = this.commit(intent, timestamp, origin);
      if (this.alarmWork) done.alarmWork = this.alarmWork;
      return done;
    });
    committed.settled?.();
    this.head = { sedimentId: committed.sediment.sedimentId, hash: committed.sediment.hash };
    return committed;
  }

  /** What the built-in steps do here, made once: they note in `alarmWork` what the running transaction changes. */
  private readonly builtins: BuiltinHost = {
    freeze: (r) => {
      try {
        const stored = this.cryostasis.freeze({ ...r, sieve: intentSieve(this.vocabulary, r.intent), nomos: this.held, worldHash: this.worldHash });
        if (!stored.existing) this.addedAlarmWork(stored.wakeAt);
        return stored;
      } catch (error) {
        if (error instanceof FreezeKeyConflict) throw new Refusal({ kind: "idempotency", message: error.message, op: FREEZE });
        throw error;
      }
    },
    cancel: (key) => {
      const cancelled = this.cryostasis.cancelKey(key);
      if (cancelled) this.alarmWork = {};
      return cancelled;
    },
    send: (r) => {
      const { intent: message, sieve } = this.checkMessage(r.to.attractor, r.intent, r.step);
      const key = r.key ?? derivedMessageKey(this.world, r.sedimentId, r.step);
      const stored = this.outbox.send({ key, to: r.to, intent: message, sieve, sedimentId: r.sedimentId, step: r.step, now: r.now });
      // A message is due at once.
      if (!stored.existing) this.addedAlarmWork(r.now);
      return { messageId: stored.messageId, key };
    },
  };

  private addedAlarmWork(at: number): void {
    if (!this.alarmWork) this.alarmWork = { earliest: at };
    else if (this.alarmWork.earliest !== undefined) this.alarmWork.earliest = Math.min(this.alarmWork.earliest, at);
  }

  private commit(intent: Intent, timestamp: number, origin: SealOrigin | undefined): { sediment: Sediment; settled?: () => void } {
    const sedimentId = this.head.sedimentId + 1;
    const prevHash = this.head.hash;
    // A receipt recorded alone has no steps: it writes no table of the Nomos, so no invariant can break.
    const ran = intent.steps.length === 0 ? undefined : runSteps(this.vocabulary, intent, this.host.db, { now: timestamp, sedimentId }, this.builtins, this.marks);
    const outputs: Json[] = ran?.outputs ?? [];
    const canonical = {
      sedimentId,
      prevHash,
      timestamp,
      intent: canonicalJson(intent),
      outputs: canonicalJson(outputs),
      origin: origin ? canonicalJson(origin) : null,
      worldHash: this.worldHash,
    };
    const hash = hashCanonicalSediment(canonical);
    // The invariant check is read by the log row's INSERT: no statement of its own. A violation rolls both back.
    const read = this.log.append({ ...canonical, hash, idempotencyKey: intent.idempotencyKey ?? null }, ran?.check);
    refuseViolation(ran?.check.violation(read));
    this.options.onSealing?.({ sedimentId, hash, prevHash });
    const sediment = { sedimentId, hash, prevHash, timestamp, intent, outputs, world: this.world, ...(origin ? { origin } : {}) };
    return ran ? { sediment, settled: () => ran.check.committed(read) } : { sediment };
  }

  /** Records the refusal; a woken entry is removed in the same transaction, since a refusal is final. */
  private refuse(input: unknown, timestamp: number, reason: Reason, cryoId?: number): Seal {
    const precedentId = this.host.transaction(() => {
      if (cryoId !== undefined) this.cryostasis.remove(cryoId);
      return this.log.recordPrecedent(input, reason, this.held, timestamp, this.limits.maxBytes);
    });
    return { success: false, reason, precedentId, timestamp, world: this.world };
  }

  /**
   * Checks a `$send`'s Intent against its target's law, as the sender's code knows it: a
   * message the target could only refuse for its shape or stamp is refused with the Intent
   * that sends it, and nothing is sent.
   */
  private checkMessage(attractor: string, intent: Intent, step: number): { intent: Intent; sieve: Sieve } {
    const fail = (message: string, issues?: Issue[]) =>
      new Refusal({ kind: "validation", message: `step ${step} (${SEND}): ${message}`, step, op: SEND, ...(issues ? { issues } : {}) });
    const sends = this.options.sends ?? {};
    const target = Object.hasOwn(sends, attractor) ? sends[attractor] : undefined;
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

  /** Due messages, at most `limit`, taken for delivery until `leaseUntil` (see OutboxStore.take). */
  takeDue(now: number, limit: number, leaseUntil: number): OutboxEntry[] {
    return this.host.transaction(() => this.outbox.take(now, limit, leaseUntil));
  }

  /** The message as the receiver gets it. */
  messageOf(entry: OutboxEntry): Message {
    return { messageId: entry.messageId, key: entry.key, from: this.world, sentIn: entry.sentIn, intent: entry.intent, sieve: this.outbox.sieve(entry.sieveHash) };
  }

  /**
   * Sediments a message from another World under its key, with its stored Sieve: carried
   * across a law change like any Intent, and applied once however often it is delivered.
   * A refusal is a Precedent, not kept under the key: a later delivery is admitted afresh.
   */
  receive(input: unknown): Seal {
    const now = this.host.now();
    const shape = messageSchema.safeParse(input);
    if (!shape.success) return this.refuse(input, now, { kind: "validation", message: `invalid message: ${formatIssues(zodIssues(shape.error).slice(0, 1))}`, issues: zodIssues(shape.error) });
    const message = shape.data as Message;
    // A deployment problem, not an answer: thrown, so the sender tries again later instead of taking a refusal as final.
    if (this.options.unavailable) throw new Error(`cannot receive messages: ${this.options.unavailable}`);
    const claimed = claimedVersion(message.intent);
    if (this.options.pending && claimed !== undefined && claimed > this.vocabulary.nomos.version) throw new Error(`cannot receive v${claimed} messages yet: ${this.options.pending}`);
    const admitted = this.admit({ ...message.intent, idempotencyKey: message.key }, now, message.sieve);
    if (!admitted.ok) return this.refuse(admitted.input, now, admitted.reason);
    const { sent, intent } = admitted;
    const origin: SealOrigin = {
      ...(admitted.origin ?? { nomos: sent.nomos ?? this.held, reforged: false, steps: [] }),
      message: { from: message.from, sedimentId: message.sentIn.sedimentId, step: message.sentIn.step, messageId: message.messageId },
    };
    return this.seal(sent, intent, now, origin);
  }

  /**
   * Records what became of a message, in one transaction: the message leaves the outbox, the
   * receipt is sedimented (in its origin), an undeliverable one is also a Precedent of kind
   * "message", and the Intent `react` returns (the Attractor's hook) is applied in the same
   * sediment. A refused reaction is a Precedent; the receipt is recorded all the same.
   * Undefined when another delivery recorded the receipt first.
   */
  recordReceipt(entry: OutboxEntry, answer: { seal: Seal } | { error: string }, react?: (receipt: Receipt) => unknown): ReceiptRecord {
    const now = this.host.now();
    const common = { messageId: entry.messageId, key: entry.key, to: entry.to, sentIn: entry.sentIn, attempts: entry.attempts + 1 };
    let receipt: Receipt;
    if ("seal" in answer) {
      const carried = carriedOf(answer.seal);
      receipt = { ...common, outcome: answer.seal.success ? "sealed" : "refused", seal: answer.seal, ...(carried ? { carried } : {}) };
    } else receipt = { ...common, outcome: "undeliverable", error: answer.error };
    const record: SealOrigin = { nomos: this.held, reforged: false, steps: [], receipt };
    const alone = { intent: { v: 1, nomos: this.held, steps: [] } as Intent, origin: record };
    const settle = () => {
      if (!this.outbox.settle(entry, receipt.outcome, this.head.sedimentId + 1)) throw new AlreadyWoken();
      if (receipt.outcome !== "undeliverable") return;
      const message = `message ${entry.messageId} (key ${entry.key}) to ${entry.to.attractor} "${entry.to.name}" was not delivered after ${receipt.attempts} attempts: ${receipt.error}`;
      this.log.recordPrecedent(this.messageOf(entry), { kind: "message", message }, this.held, now, this.limits.maxBytes);
    };
    let reaction: unknown;
    let committed: Committed;
    try {
      committed = this.applyPrepared(() => {
        settle();
        reaction = react?.(receipt);
        if (reaction === undefined) return alone;
        const admitted = this.admit(reaction, now);
        if (!admitted.ok) throw new Refusal(admitted.reason);
        const earlier = this.earlier(admitted.sent);
        if (earlier && "reason" in earlier) throw new Refusal(earlier.reason);
        // Already applied under its key: the receipt is recorded alone.
        if (earlier) return alone;
        return { intent: admitted.intent, origin: { ...(admitted.origin ?? record), receipt } };
      }, now);
    } catch (error) {
      if (error instanceof AlreadyWoken) return undefined;
      if (!(error instanceof Refusal)) throw error;
      const { reason } = error;
      committed = this.applyPrepared(() => {
        settle();
        this.log.recordPrecedent(reaction, reason, this.held, now, this.limits.maxBytes);
        return alone;
      }, now);
    }
    tellAlarmWork(this.host, committed);
    return { receipt, seal: sealOf(committed.sediment) };
  }

  /**
   * A delivery failed unexpectedly (nothing was answered): the message is tried again after a
   * backoff, on its own; after `maxAttempts` in all it is undeliverable (see `recordReceipt`).
   */
  deliveryFailed(
    entry: OutboxEntry,
    error: string,
    options: { maxAttempts?: number; firstBackoffMs?: number; react?: (receipt: Receipt) => unknown; counted?: boolean } = {},
  ): { outcome: "retry"; attempts: number; nextAttemptAt: number } | { outcome: "undeliverable"; record: ReceiptRecord } {
    // Not counted: the receiver answered, but recording it failed here; giving up would lose that answer.
    const attempts = options.counted === false ? entry.attempts : entry.attempts + 1;
    if (attempts >= (options.maxAttempts ?? MAX_MESSAGE_ATTEMPTS)) return { outcome: "undeliverable", record: this.recordReceipt(entry, { error }, options.react) };
    const nextAttemptAt = this.host.now() + scaledBackoffMs(Math.max(attempts, 1), options.firstBackoffMs ?? 1000);
    this.host.transaction(() => this.outbox.postpone(entry.messageId, attempts, error, nextAttemptAt));
    return { outcome: "retry", attempts, nextAttemptAt };
  }
}

/** How the receiver carried a message sent under an older law: the most severe Connection that decided it. */
function carriedOf(seal: Seal): ConnectionType | undefined {
  if (seal.success) return seal.origin?.steps.length ? seal.origin.steps.map((s) => s.connection).reduce(moreSevere) : undefined;
  return seal.reason.kind === "connection" ? seal.reason.connection?.type : undefined;
}

// What `receive` trusts of a message before admitting its Intent: the origin it records is hashed into the chain.
const whole = z.number().int().min(0);
const messageSchema = z.strictObject({
  messageId: whole,
  key: z.string().min(1).max(MAX_KEY_LENGTH),
  from: z.strictObject({ attractor: z.string().min(1), name: z.string().min(1), nomosVersion: whole, nomosHash: z.string() }),
  sentIn: z.strictObject({ sedimentId: whole, step: whole }),
  intent: z.unknown(),
  sieve: z.custom<Sieve>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "must be a Sieve"),
});
