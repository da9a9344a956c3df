import { type Admission, admissionIssues, admit, type AdmissionOptions, type ExplainResult, type Origin } from "../admission/index.js";
import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import { Lineage } from "../connection/lineage.js";
import {
  backoffMs,
  builtinStep,
  CryostasisStore,
  FREEZE,
  FreezeKeyConflict,
  type Freezer,
  type FrozenEntry,
  keyIssue,
  MAX_WAKE_ATTEMPTS,
  wakeTime,
} from "../cryostasis/index.js";
import type { SedimentHost } from "../host/index.js";
import { DEFAULT_LIMITS, type Intent, type IntentLimits, type NomosStamp, nomosStamp, type Vocabulary } from "../intent/index.js";
import { explain, interpret } from "../interpretation/index.js";
import { type Issue, issue, prefixIssues } from "../issue/index.js";
import { Refusal, type Reason } from "../refusal/index.js";
import { intentSieve, type Sieve } from "../sieve/index.js";
import { hashCanonicalSediment } from "./chain.js";
import { SedimentLog } from "./store.js";
import type { Seal, Sediment, World } from "./types.js";


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

/** What one committed transaction did: its sediment, and whether it froze or cancelled anything. */
interface Committed {
  sediment: Sediment;
  cryostasisChanged: boolean;
}

/**
 * Runtime-agnostic sedimentation: admit, interpret, check invariants and append to the chain
 * in one transaction; on refusal roll back and record a Precedent. Also freezes Intents and
 * wakes them.
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
  /** The stamp of the held law, and the admission options but the clock: the same for every Intent, so made once. */
  private readonly held: NomosStamp;
  private readonly admission: Omit<AdmissionOptions, "now" | "sieve">;

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
    const { held: _held, frozenByReference: _byReference, ...admission } = options;
    this.admission = { ...admission, held: this.vocabulary.nomos.version, limits: this.limits };
    this.log = new SedimentLog(host.db);
    this.cryostasis = new CryostasisStore(host.db, (id) => this.log.source(id), options.frozenByReference ?? true);
    // Kept in memory: only a committed transaction advances it, so it never runs ahead of storage.
    this.head = this.log.head();
    const worldJson = canonicalJson(world);
    this.worldHash = sha256Hex(worldJson);
    this.log.registerWorld(worldJson, this.worldHash);
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
    const { sent, intent, origin } = admitted;
    const earlier = this.earlier(sent);
    if (earlier) return "seal" in earlier ? earlier.seal : this.refuse(sent, now, earlier.reason);
    try {
      const { sediment, cryostasisChanged } = this.apply(intent, now, origin);
      if (cryostasisChanged) this.host.onCryostasisChanged?.();
      return sealOf(sediment);
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
    if (sent.steps.some((s) => builtinStep(s.op))) return bad(issue("not_allowed", ["intent", "steps"], "a frozen Intent cannot itself freeze or cancel"));
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
    if (!stored.existing) this.host.onCryostasisChanged?.();
    return { ok: true, ...stored };
  }

  /** Cancels a frozen Intent by id; false when there was none. */
  cancel(cryoId: number): boolean {
    const removed = this.host.transaction(() => this.cryostasis.remove(cryoId));
    if (removed) this.host.onCryostasisChanged?.();
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
    this.host.onCryostasisChanged?.();
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
  private apply(intent: Intent, timestamp: number, origin: Origin | undefined, first?: () => void): Committed {
    const committed = this.host.transaction((): Committed => {
      first?.();
      let cryostasisChanged = false;
      const { held } = this;
      const freezer: Freezer = {
        freeze: (r) => {
          try {
            const stored = this.cryostasis.freeze({ ...r, sieve: intentSieve(this.vocabulary, r.intent), nomos: held, worldHash: this.worldHash });
            cryostasisChanged ||= !stored.existing;
            return stored;
          } catch (error) {
            if (error instanceof FreezeKeyConflict) throw new Refusal({ kind: "idempotency", message: error.message, op: FREEZE });
            throw error;
          }
        },
        cancel: (key) => {
          const cancelled = this.cryostasis.cancelKey(key);
          cryostasisChanged ||= cancelled;
          return cancelled;
        },
      };
      return { sediment: this.commit(intent, timestamp, origin, freezer), cryostasisChanged };
    });
    this.head = { sedimentId: committed.sediment.sedimentId, hash: committed.sediment.hash };
    return committed;
  }

  private commit(intent: Intent, timestamp: number, origin: Origin | undefined, freezer: Freezer): Sediment {
    const sedimentId = this.head.sedimentId + 1;
    const prevHash = this.head.hash;
    const outputs: Json[] = interpret(this.vocabulary, intent, this.host.db, { now: timestamp, sedimentId }, freezer);
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
      return this.log.recordPrecedent(input, reason, this.held, timestamp, this.limits.maxBytes);
    });
    return { success: false, reason, precedentId, timestamp, world: this.world };
  }
}
