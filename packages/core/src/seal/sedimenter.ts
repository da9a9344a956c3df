import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import { Lineage } from "../connection/lineage.js";
import { backoffMs, CryostasisStore, FreezeKeyConflict, type FrozenEntry, MAX_WAKE_ATTEMPTS } from "../cryostasis/store.js";
import {
  DEFAULT_LIMITS,
  FREEZE,
  type Intent,
  type IntentLimits,
  type Issue,
  MAX_FREEZE_MS,
  type NomosStamp,
  nomosStamp,
  parseIntent,
  type Vocabulary,
} from "../intent/index.js";
import { type Freezer, interpret, type SqlExecutor } from "../interpretation/index.js";
import { intentSieve } from "../sieve/index.js";
import { hashCanonicalSediment } from "./chain.js";
import { SedimentLog } from "./store.js";
import { type Origin, Refusal, type Reason, type Seal, type Sediment, type World } from "./types.js";

/** What sedimentation needs from its runtime: SQL, a synchronous transaction and a clock. */
export interface SedimentHost {
  db: SqlExecutor;
  /** Runs `fn` atomically: if it throws, nothing it wrote survives. */
  transaction<T>(fn: () => T): T;
  now(): number;
  /** Called after frozen Intents were added, cancelled or woken: the host points its alarm at the earliest. */
  onCryostasisChanged?(): void;
}

export interface SedimenterOptions {
  /** The law this Attractor holds; defaults to the lineage's current one. */
  held?: number;
  limits?: IntentLimits;
  /** Why this Attractor refuses every Intent (its stored law is unknown to the code). */
  unavailable?: string;
  /** Why Intents of a law newer than the held one cannot run yet (a failed migration). */
  pending?: string;
  /** When this Attractor applied each version: where grace periods start by default. */
  appliedAt?: (version: number) => number | undefined;
}

export type FreezeResult = { ok: true; cryoId: number; wakeAt: number; existing: boolean } | { ok: false; issues: Issue[] };

/** An input made ready to run under the held law, or the reason it cannot be. */
export type Prepared =
  | { ok: true; sent: Intent; intent: Intent; origin?: Origin }
  | { ok: false; reason: Reason; input: unknown };

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

/** The `nomos.version` an input claims, without trusting its shape. */
function claimedVersion(input: unknown): number | undefined {
  const nomos = (input as { nomos?: { version?: unknown } } | null)?.nomos;
  return typeof nomos?.version === "number" && Number.isInteger(nomos.version) ? nomos.version : undefined;
}

const stampOf = (v: Vocabulary): NomosStamp => nomosStamp(v.nomos);

/** Thrown inside a wake transaction when the entry is already gone: nothing may be applied twice. */
class AlreadyWoken extends Error {}

/**
 * Runtime-agnostic sedimentation: validate, carry Intents of earlier laws forward through
 * the Connection, interpret, check invariants and append to the chain in one transaction;
 * on refusal roll back and record a Precedent. Also freezes Intents and wakes them.
 */
export class Sedimenter {
  readonly log: SedimentLog;
  readonly cryostasis: CryostasisStore;
  readonly lineage: Lineage;
  /** The vocabulary of the law this Attractor holds. */
  readonly vocabulary: Vocabulary;
  private head: { sedimentId: number; hash: string };
  private readonly worldHash: string;
  private readonly limits: IntentLimits;
  private readonly freezer: Freezer;
  /** Whether the current transaction froze or cancelled anything: the host hears of it once it commits. */
  private changed = false;

  constructor(
    law: Vocabulary | Lineage,
    private readonly host: SedimentHost,
    private readonly world: World,
    private readonly options: SedimenterOptions = {},
  ) {
    this.lineage = law instanceof Lineage ? law : Lineage.of(law);
    this.vocabulary = this.lineage.at(options.held ?? this.lineage.current.nomos.version) ?? this.lineage.current;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.log = new SedimentLog(host.db);
    this.cryostasis = new CryostasisStore(host.db);
    // Kept in memory: only a committed transaction advances it, so it never runs ahead of storage.
    this.head = this.log.head();
    const worldJson = canonicalJson(world);
    this.worldHash = sha256Hex(worldJson);
    this.log.registerWorld(worldJson, this.worldHash);
    const held = stampOf(this.vocabulary);
    this.freezer = {
      freeze: (r) => {
        try {
          const stored = this.cryostasis.freeze({ ...r, sieve: intentSieve(this.vocabulary, r.intent), nomos: held, worldHash: this.worldHash });
          if (!stored.existing) this.changed = true;
          return stored;
        } catch (error) {
          if (error instanceof FreezeKeyConflict) throw new Refusal({ kind: "idempotency", message: error.message, op: FREEZE });
          throw error;
        }
      },
      cancel: (key) => {
        const cancelled = this.cryostasis.cancelKey(key);
        if (cancelled) this.changed = true;
        return cancelled;
      },
    };
  }

  sediment(input: unknown): Seal {
    return this.run(input, this.host.now());
  }

  /**
   * Freezes an Intent from code: stored with its Sieve, law and World, to wake at `at` or
   * after `delaySeconds`. With a `key` already frozen it stores nothing and returns that entry.
   */
  freeze(input: unknown, when: { at?: number; delaySeconds?: number; key?: string }): FreezeResult {
    const now = this.host.now();
    const bad = (path: string, message: string): FreezeResult => ({ ok: false, issues: [{ path, message }] });
    if ((when.at === undefined) === (when.delaySeconds === undefined)) return bad("", "give exactly one of at or delaySeconds");
    if (when.delaySeconds !== undefined && (!Number.isInteger(when.delaySeconds) || when.delaySeconds < 1)) {
      return bad("delaySeconds", "must be a whole number of seconds, at least 1");
    }
    const wakeAt = when.at ?? now + (when.delaySeconds ?? 0) * 1000;
    const field = when.at !== undefined ? "at" : "delaySeconds";
    if (!Number.isInteger(wakeAt)) return bad(field, "must be whole milliseconds");
    if (wakeAt <= now) return bad(field, `wake time ${new Date(wakeAt).toISOString()} is not in the future`);
    if (wakeAt > now + MAX_FREEZE_MS) return bad(field, `wake time is more than ${MAX_FREEZE_MS / 86_400_000} days ahead`);
    if (when.key !== undefined && (typeof when.key !== "string" || when.key.length < 1 || when.key.length > 128)) {
      return bad("key", "must be a string of 1–128 characters");
    }
    // The same checks as sedimentation (law, hash, validation, Connection): what could only be refused is not stored.
    const prepared = this.prepare(input, now);
    if (!prepared.ok) {
      const { reason } = prepared;
      return { ok: false, issues: (reason.issues ?? [{ path: "", message: reason.message }]).map((i) => ({ ...i, path: i.path ? `intent.${i.path}` : "intent" })) };
    }
    const { sent } = prepared;
    if (sent.steps.some((s) => s.op.startsWith("$"))) return bad("intent.steps", "a frozen Intent cannot itself freeze or cancel");
    const vocabulary = this.lineage.at(sent.nomos?.version ?? this.vocabulary.nomos.version)!;
    const intent: Intent = sent.nomos ? sent : { ...sent, nomos: stampOf(vocabulary) };
    let stored;
    try {
      stored = this.host.transaction(() =>
        this.cryostasis.freeze({ wakeAt, key: when.key, intent, sieve: intentSieve(vocabulary, intent), nomos: stampOf(vocabulary), worldHash: this.worldHash, now }),
      );
    } catch (error) {
      if (error instanceof FreezeKeyConflict) return bad("key", error.message);
      throw error;
    }
    if (!stored.existing) this.host.onCryostasisChanged?.();
    return { ok: true, ...stored };
  }

  /** False while this Attractor cannot run the law it holds: frozen Intents then wait, untouched. */
  get available(): boolean {
    return this.options.unavailable === undefined;
  }

  /** Cancels a frozen Intent by id; false when there was none. */
  cancel(cryoId: number): boolean {
    const removed = this.host.transaction(() => this.cryostasis.remove(cryoId));
    if (removed) this.host.onCryostasisChanged?.();
    return removed;
  }

  /**
   * Wakes due entries in wake-time order, at most `limit` of them, each in its own
   * transaction that also removes it. Returns what became of each; the host re-arms.
   */
  wakeDue(limit: number): WakeOutcome[] {
    // Refusing them now would be final for what is only a deployment problem: leave them for a wake that can run them.
    if (!this.available) return [];
    const now = this.host.now();
    const outcomes = this.cryostasis.due(now, limit).map((entry) => this.wake(entry, now));
    this.changed = false;
    this.host.onCryostasisChanged?.();
    return outcomes;
  }

  private wake(entry: FrozenEntry, now: number): WakeOutcome {
    const { cryoId } = entry;
    try {
      const seal = this.run(entry.intent, now, entry);
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

  /**
   * Everything before the transaction: which law the input claims, its validation under
   * that law, and carrying it forward to the law held here. Explain uses it too, so it
   * accepts exactly what sedimentation would run.
   */
  prepare(input: unknown, timestamp: number = this.host.now()): Prepared {
    const { nomos } = this.vocabulary;
    const refused = (reason: Reason, at: unknown = input): Prepared => ({ ok: false, reason, input: at });
    if (this.options.unavailable) return refused({ kind: "nomos", message: this.options.unavailable });
    // The Intent is parsed with the vocabulary of the law it claims, when this code knows it.
    const claimed = claimedVersion(input) ?? nomos.version;
    const vocabulary = claimed <= nomos.version ? this.lineage.at(claimed) : undefined;
    if (!vocabulary) {
      const why = claimed > nomos.version && this.options.pending ? ` (${this.options.pending})` : "";
      return refused({ kind: "nomos", message: `Intent was built against ${nomos.name} v${claimed}, but this Attractor holds v${nomos.version}${why}` });
    }
    const parsed = parseIntent(vocabulary, input, this.limits);
    if (!parsed.ok) {
      const first = parsed.issues[0]!;
      return refused({ kind: "validation", message: `invalid Intent: ${first.path ? `${first.path}: ` : ""}${first.message}`, issues: parsed.issues });
    }
    const sent = parsed.value;
    const stamp = sent.nomos;
    if (stamp && stamp.hash !== vocabulary.nomos.hash) {
      return refused(
        {
          kind: "nomos",
          message: `Intent was built against a ${stamp.name} v${stamp.version} with hash ${stamp.hash.slice(0, 12)}…, but v${stamp.version} here is ${vocabulary.nomos.hash.slice(0, 12)}…`,
        },
        sent,
      );
    }
    if (vocabulary === this.vocabulary) return { ok: true, sent, intent: sent };
    const carried = this.lineage.carry(sent, claimed, nomos.version, timestamp, this.options.appliedAt);
    if (!carried.ok) return refused({ kind: "connection", message: carried.message, connection: carried.connection }, sent);
    const intent = sent.idempotencyKey === undefined ? carried.intent : { ...carried.intent, idempotencyKey: sent.idempotencyKey };
    return { ok: true, sent, intent, origin: { nomos: stamp!, reforged: carried.reforged, steps: carried.steps, ...(carried.reforged ? { intent: sent } : {}) } };
  }

  private run(input: unknown, timestamp: number, frozen?: FrozenEntry): Seal {
    const cryoId = frozen?.cryoId;
    const prepared = this.prepare(input, timestamp);
    if (!prepared.ok) return this.refuse(prepared.input, timestamp, prepared.reason, cryoId);
    const { sent } = prepared;
    if (sent.idempotencyKey !== undefined) {
      const earlier = this.log.byIdempotencyKey(sent.idempotencyKey);
      if (earlier) {
        if (canonicalJson(sentOf(earlier)) === canonicalJson(sent)) {
          // Already applied: a woken duplicate is done with, and applies nothing.
          if (cryoId !== undefined) this.host.transaction(() => this.cryostasis.remove(cryoId));
          return sealOf(earlier);
        }
        return this.refuse(
          sent,
          timestamp,
          {
            kind: "idempotency",
            message: `idempotency key "${sent.idempotencyKey}" was already used by sediment ${earlier.sedimentId} for a different Intent`,
          },
          cryoId,
        );
      }
    }
    const { intent } = prepared;
    let origin = prepared.origin;
    if (frozen) {
      const reforged = origin?.reforged ?? false;
      origin = {
        ...(origin ?? { nomos: frozen.nomos, reforged: false, steps: [] }),
        cryostasis: { cryoId: frozen.cryoId, frozenAt: frozen.frozenAt, wakeAt: frozen.wakeAt, wokeAt: timestamp, mode: reforged ? "reforged" : "resumed" },
      };
    }
    this.changed = false;
    try {
      const sediment = this.host.transaction(() => {
        // Removed in the same transaction that applies it: a second delivery finds nothing to apply.
        if (cryoId !== undefined && !this.cryostasis.remove(cryoId)) throw new AlreadyWoken();
        return this.commit(intent, timestamp, origin);
      });
      this.head = { sedimentId: sediment.sedimentId, hash: sediment.hash };
      // A wake reports once for its whole batch.
      if (cryoId === undefined && this.changed) this.host.onCryostasisChanged?.();
      return sealOf(sediment);
    } catch (error) {
      // Rolled back: nothing it froze or cancelled happened.
      this.changed = false;
      if (error instanceof Refusal) return this.refuse(sent, timestamp, error.reason, cryoId);
      throw error;
    }
  }

  private commit(intent: Intent, timestamp: number, origin: Origin | undefined): Sediment {
    const sedimentId = this.head.sedimentId + 1;
    const prevHash = this.head.hash;
    const outputs: Json[] = interpret(this.vocabulary, intent, this.host.db, { now: timestamp, sedimentId }, this.freezer);
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
    this.log.append({ ...canonical, hash, idempotencyKey: intent.idempotencyKey ?? null });
    return { sedimentId, hash, prevHash, timestamp, intent, outputs, world: this.world, ...(origin ? { origin } : {}) };
  }

  /** Records the refusal; a woken entry is removed in the same transaction, since a refusal is final. */
  private refuse(input: unknown, timestamp: number, reason: Reason, cryoId?: number): Seal {
    const precedentId = this.host.transaction(() => {
      if (cryoId !== undefined) this.cryostasis.remove(cryoId);
      return this.log.recordPrecedent(input, reason, stampOf(this.vocabulary), timestamp, this.limits.maxBytes);
    });
    return { success: false, reason, precedentId, timestamp, world: this.world };
  }
}
