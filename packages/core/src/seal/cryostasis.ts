import { type Admission, admissionIssues, type Origin } from "../admission/index.js";
import { type BuiltinHost, keyIssue } from "../builtin/index.js";
import { backoffMs, CryostasisStore, FREEZE, FreezeKeyConflict, type FrozenRow, MAX_WAKE_ATTEMPTS, wakeTime } from "../cryostasis/index.js";
import { canonicalIntent, type Intent, type NomosStamp, nomosStamp } from "../intent/index.js";
import { builtinStep } from "../interpretation/index.js";
import { type Issue, issue, prefixIssues } from "../issue/index.js";
import { Refusal } from "../refusal/index.js";
import { intentSieve, type Sieve } from "../sieve/index.js";
import type { FeatureHooks, Sealing } from "./feature.js";
import type { Seal } from "./types.js";

/** What freezing an Intent answers: its cryoId and wake time (`existing` when its key was frozen already), or the issues that refused it. */
export type FreezeResult = { ok: true; cryoId: number; wakeAt: number; existing: boolean } | { ok: false; issues: Issue[] };

/**
 * Entries woken per transaction. Each entry's nested transaction journals the pages it writes
 * again, and SQLite keeps that sub-journal in memory up to 64 KiB (16 pages), then writes it to a
 * temp file. Over the wake bench's 10,000 setStock wakes, a transaction per 500 made 27,280
 * `pwrite`s to it, one per 8 made 1,050, one per entry 1,028.
 */
const WAKE_CHUNK = 8;

/** A freeze refused for one issue (module level: no closure per call in a bundle that keeps names). */
const bad = (found: Issue): FreezeResult => ({ ok: false, issues: [found] });

/**
 * canonicalJson of a woken Intent's origin when its law did not change, `{cryostasis, nomos,
 * reforged: false, steps: []}`, written out with its keys in canonical order: sorting them was
 * about a tenth of a wake's JavaScript. A test holds it equal to canonicalJson.
 */
export function resumedOriginJson(nomos: NomosStamp, c: { cryoId: number; frozenAt: number; wakeAt: number; wokeAt: number }): string {
  const j = JSON.stringify;
  return `{"cryostasis":{"cryoId":${j(c.cryoId)},"frozenAt":${j(c.frozenAt)},"mode":"resumed","wakeAt":${j(c.wakeAt)},"wokeAt":${j(c.wokeAt)}},"nomos":{"hash":${j(nomos.hash)},"name":${j(nomos.name)},"version":${j(nomos.version)}},"reforged":false,"steps":[]}`;
}

/** What became of one frozen Intent when it woke. */
export type WakeOutcome =
  | { cryoId: number; outcome: "sealed"; seal: Seal }
  | { cryoId: number; outcome: "refused"; seal: Seal }
  | { cryoId: number; outcome: "retry"; attempts: number; error: string; wakeAt: number }
  /**
   * @deprecated No longer produced: a batch is read and woken in one synchronous run, so no entry
   * can leave in between. Kept one release for code that names it.
   */
  | { cryoId: number; outcome: "gone" };

/**
 * Cryostasis on a Sedimenter: freezes Intents (from code, or by `$freeze` inside one), cancels
 * them, and wakes the due ones, each sealed through the Sedimenter's one path.
 */
export class Cryostasis implements FeatureHooks {
  readonly store: CryostasisStore;
  /** The Sieve of a one-step frozen Intent under the held law, by operation: most `$freeze` steps freeze one step. */
  private readonly oneStepSieves = new Map<string, Sieve>();

  constructor(
    private readonly sealing: Sealing,
    frozenByReference: boolean,
  ) {
    this.store = new CryostasisStore(sealing.host.db, (id) => sealing.log.source(id), frozenByReference);
  }

  /** `$freeze` and `$cancel`, inside the running transaction: `$freeze` notes the alarm work it adds (a removal never moves the alarm). */
  readonly builtins: Pick<BuiltinHost, "freeze" | "cancel"> = {
    freeze: (r) => {
      const { sealing } = this;
      try {
        const stored = this.store.freeze({ ...r, sieve: this.frozenSieve(r.intent), nomos: sealing.held, worldHash: sealing.worldHash });
        if (!stored.existing) sealing.alarmWork(stored.wakeAt);
        return stored;
      } catch (error) {
        if (error instanceof FreezeKeyConflict) throw new Refusal({ kind: "idempotency", message: error.message, op: FREEZE });
        throw error;
      }
    },
    cancel: (key) => {
      return this.store.cancelKey(key);
    },
  };

  /** What an Intent frozen by `$freeze` depends on under the held law (its steps are this law's, none built in). */
  private frozenSieve(intent: Intent): Sieve {
    if (intent.steps.length !== 1) return intentSieve(this.sealing.vocabulary, intent);
    const { op } = intent.steps[0]!;
    let sieve = this.oneStepSieves.get(op);
    if (!sieve) this.oneStepSieves.set(op, (sieve = intentSieve(this.sealing.vocabulary, intent)));
    return sieve;
  }

  /**
   * Freezes an Intent from code: stored with its Sieve, law and World, to wake at `at` or
   * after `delaySeconds`. With a `key` already frozen it stores nothing and returns that entry.
   */
  freeze(input: unknown, when: { at?: number; delaySeconds?: number; key?: string }): FreezeResult {
    const { sealing } = this;
    const now = sealing.host.now();
    const time = wakeTime(when, now);
    if (!time.ok) return bad(time.issue);
    const badKey = when.key === undefined ? undefined : keyIssue(when.key);
    if (badKey) return bad(badKey);
    // Admitted as sedimentation admits it (law, hash, validation, Connection): what could only be refused is not stored.
    const admitted = sealing.admit(input, now);
    if (!admitted.ok) return { ok: false, issues: prefixIssues(admissionIssues(admitted.reason), ["intent"]) };
    const { sent } = admitted;
    if (sent.steps.some((s) => builtinStep(s.op))) return bad(issue("not_allowed", ["intent", "steps"], "a frozen Intent cannot itself freeze, cancel or send"));
    const vocabulary = sealing.lineage.at(sent.nomos?.version ?? sealing.vocabulary.nomos.version)!;
    const stamp = nomosStamp(vocabulary.nomos);
    const intent = sent.nomos ? sent : canonicalIntent(stamp, sent.steps, sent.idempotencyKey);
    let stored;
    try {
      stored = sealing.host.transaction(() =>
        this.store.freeze({ wakeAt: time.wakeAt!, key: when.key, intent, sieve: intentSieve(vocabulary, intent), nomos: stamp, worldHash: sealing.worldHash, now }),
      );
    } catch (error) {
      if (error instanceof FreezeKeyConflict) return bad(issue("invalid_value", ["key"], error.message));
      throw error;
    }
    this.store.committed();
    if (!stored.existing) sealing.host.onAlarmWorkChanged?.(stored.wakeAt);
    return { ok: true, ...stored };
  }

  /** After each committed transaction: what `$freeze` stored is known from then on (see CryostasisStore.committed). */
  committed(): void {
    this.store.committed();
  }

  /** Cancels a frozen Intent by id; false when there was none. */
  cancel(cryoId: number): boolean {
    return this.sealing.host.transaction(() => this.store.remove(cryoId));
  }

  /**
   * Wakes due entries in wake-time order, at most `limit` of them, WAKE_CHUNK to a transaction:
   * each applied (or refused, or postponed) in a nested one of its own, the ones sealed removed
   * together at the end of theirs, so each entry's effect commits with its removal. Returns what
   * became of each; the alarm run that calls it re-arms after.
   */
  wakeDue(limit: number): WakeOutcome[] {
    // Refusing them now would be final for what is only a deployment problem: leave them for a wake that can run them.
    if (this.sealing.unavailable !== undefined) return [];
    const now = this.sealing.host.now();
    const due = this.store.due(now, limit);
    const woken: WakeOutcome[] = [];
    for (let at = 0; at < due.length; at += WAKE_CHUNK) {
      // An error that escapes an entry's own handling is storage's: it rolls the chunk back whole
      // (sealing then stops, see Sealing.batch), so no entry leaves without its effect.
      this.sealing.batch(() => {
        const sealed: number[] = [];
        for (const entry of due.slice(at, at + WAKE_CHUNK)) woken.push(this.wake(entry, now, sealed));
        // One DELETE for the chunk rather than one per entry: a statement of its own was a tenth of a wake.
        this.store.removeAll(sealed);
      });
    }
    return woken;
  }

  /** `sealed` collects the ids of the entries sealed, for wakeDue to remove. */
  private wake(entry: FrozenRow, now: number, sealed: number[]): WakeOutcome {
    const { cryoId } = entry;
    try {
      const seal = this.resume(entry, now, sealed);
      return seal.success ? { cryoId, outcome: "sealed", seal } : { cryoId, outcome: "refused", seal };
    } catch (error) {
      // Sealed, then something after its commit threw: not a retry; the chunk rolls back with it.
      if (sealed[sealed.length - 1] === cryoId) throw error;
      // Unexpected: nothing was applied. Retry with backoff, then give up on record.
      const message = error instanceof Error ? error.message : String(error);
      const attempts = entry.attempts + 1;
      if (attempts >= MAX_WAKE_ATTEMPTS) {
        const seal = this.sealing.refuse(entry.intent, now, { kind: "cryostasis", message: `gave up after ${attempts} attempts: ${message}` }, () => this.store.remove(cryoId));
        return { cryoId, outcome: "refused", seal };
      }
      const wakeAt = now + backoffMs(attempts);
      this.sealing.host.transaction(() => this.store.postpone(cryoId, attempts, message, wakeAt));
      return { cryoId, outcome: "retry", attempts, error: message, wakeAt };
    }
  }

  /**
   * A woken entry's admission. One frozen under the held law (the same version and hash) was
   * checked against it when it was frozen, and the law has not changed since: it runs as stored,
   * not parsed and validated a second time (a tenth of a wake). Any other is admitted as
   * sedimentation admits it, the stored Sieve deciding its Connection.
   */
  private admitWoken(entry: FrozenRow, now: number): Admission {
    const { held } = this.sealing;
    const stamp = (entry.intent as Partial<Intent> | null)?.nomos;
    if (stamp?.hash === held.hash && stamp.version === held.version && entry.nomos.hash === held.hash && entry.nomos.version === held.version) {
      return { ok: true, sent: entry.intent, intent: entry.intent };
    }
    return this.sealing.admit(entry.intent, now, this.store.sieve(entry.sieveHash));
  }

  /** Runs a woken entry: admitted under its stored Sieve and applied (noted in `sealed`), or refused and removed in one transaction. */
  private resume(entry: FrozenRow, now: number, sealed: number[]): Seal {
    const { sealing } = this;
    const { cryoId } = entry;
    // Bound, not an arrow: a bundle that keeps names would wrap an arrow made for every wake.
    const remove = this.store.remove.bind(this.store, cryoId);
    const admitted = this.admitWoken(entry, now);
    if (!admitted.ok) return sealing.refuse(admitted.input, now, admitted.reason, remove);
    const earlier = sealing.earlier(admitted.sent);
    if (earlier) {
      if (!("seal" in earlier)) return sealing.refuse(admitted.sent, now, earlier.reason, remove);
      // Already applied: a woken duplicate is done with, and applies nothing.
      sealing.host.transaction(remove);
      return earlier.seal;
    }
    const mode = admitted.origin?.reforged ? "reforged" : "resumed";
    const cryostasis = { cryoId, frozenAt: entry.frozenAt, wakeAt: entry.wakeAt, wokeAt: now, mode } as const;
    const origin: Origin = { ...(admitted.origin ?? { nomos: entry.nomos, reforged: false, steps: [] }), cryostasis };
    // Under an unchanged law (most wakes) its canonical JSON is written out, not sorted.
    const originJson = admitted.origin ? undefined : resumedOriginJson(entry.nomos, cryostasis);
    const next = sealing.nextSedimentId();
    try {
      // Removed by the batch's transaction, which this one commits into: a second delivery finds nothing to apply. The batch re-arms once.
      return sealing.apply(() => ({ admitted, origin, originJson }), now, true);
    } catch (error) {
      if (error instanceof Refusal) return sealing.refuse(admitted.sent, now, error.reason, remove);
      throw error;
    } finally {
      // Sealed, even if something after its commit threw: it must leave with the batch all the same.
      if (sealing.nextSedimentId() !== next) sealed.push(cryoId);
    }
  }
}
