import { DurableObject } from "cloudflare:workers";
import {
  DEFAULT_LIMITS,
  explain,
  type Explanation,
  type FreezeResult,
  type Intent,
  type IntentLimits,
  type Origin,
  type Reason,
  type Issue,
  Lineage,
  type Precedent,
  type ReasonKind,
  type Row,
  type Seal,
  type Sediment,
  type SqlValue,
  type Verification,
  type Vocabulary,
  type World,
} from "@noema/core";
import {
  type AppliedNomos,
  applyLineage,
  type MigrationState,
  nomosHistory,
  Sedimenter,
  type SedimentHost,
} from "@noema/core/runtime";

export interface AttractorOptions {
  limits?: IntentLimits;
  /** Frozen Intents woken per alarm run; the alarm is re-armed for the rest. */
  wakeBatch?: number;
}

/** A pending frozen Intent as listed: when it wakes, how often it failed and why. */
export interface FrozenSummary {
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

export type ExplainResult =
  | { ok: true; explanation: Explanation; origin?: Origin }
  | { ok: false; issues: Issue[]; reason: Reason };

export interface NomosReport {
  /** The law this Attractor holds. */
  current: AppliedNomos;
  /** The law its code declares; differs from `current` only while a migration fails. */
  target: { name: string; version: number; hash: string };
  history: AppliedNomos[];
  /** The last failed migration, retried on the next wake. */
  migrationError?: MigrationState["error"];
}

export const MAX_PAGE = 1000;

/** A page size from an RPC caller: a whole number clamped to 1..MAX_PAGE, 100 when missing or not a number. */
const pageSize = (limit: number | undefined) => (Number.isInteger(limit) ? Math.min(Math.max(limit!, 1), MAX_PAGE) : 100);

/**
 * A Durable Object that owns one partition of state under one Nomos (or a lineage of
 * them). Every change arrives as an Intent through `sedimentation`; reads are plain RPC
 * methods. On wake it brings its storage to the current law, lazily, inside
 * `blockConcurrencyWhile`: requests arriving meanwhile wait, none is lost.
 */
export abstract class Attractor<Env = unknown, V extends Vocabulary = Vocabulary> extends DurableObject<Env> {
  protected readonly lineage: Lineage;
  /** The vocabulary of the law held once the Attractor has woken. */
  protected vocabulary!: V;
  protected world!: World;
  /** Runs SQL for subclass reads; writes belong in the vocabulary. */
  protected readonly query: (sql: string, ...params: SqlValue[]) => Row[];
  private readonly host: SedimentHost;
  private readonly limits: IntentLimits;
  private sedimenter!: Sedimenter;
  private migration!: MigrationState;
  private readonly wakeBatch: number;

  constructor(ctx: DurableObjectState, env: Env, law: V | Lineage, options: AttractorOptions = {}) {
    super(ctx, env);
    this.lineage = this.lawFor(law instanceof Lineage ? law : Lineage.of(law));
    this.limits = options.limits ?? DEFAULT_LIMITS;
    const sql = ctx.storage.sql;
    this.query = (text, ...params) => sql.exec<Row>(text, ...params).toArray();
    this.wakeBatch = options.wakeBatch ?? 500;
    const host: SedimentHost = (this.host = {
      db: { exec: (text, params) => sql.exec<Row>(text, ...params).toArray() },
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: () => Date.now(),
      onCryostasisChanged: () => this.rearm(),
    });
    const attractor = new.target.name;
    void ctx.blockConcurrencyWhile(async () => {
      const state = (this.migration = applyLineage(host, this.lineage, Date.now()));
      if (state.error) console.error(`noema: ${attractor} ${state.target.name} v${state.error.version}: ${state.error.message}`);
      const held = this.lineage.at(state.held.version);
      this.vocabulary = (held ?? this.lineage.current) as V;
      this.world = {
        attractor,
        // Set for ids made by idFromName/getByName; a random id is named by its hex form.
        name: ctx.id.name ?? ctx.id.toString(),
        nomosVersion: state.held.version,
        nomosHash: state.held.hash,
      };
      const failure = state.error ? `migration to v${state.error.version} failed: ${state.error.message}` : undefined;
      const appliedAt = new Map(nomosHistory(host.db).map((h) => [h.version, h.appliedAt]));
      // A version this Attractor never held (it was created later) counts from its creation.
      const created = Math.min(...appliedAt.values());
      this.sedimenter = new Sedimenter(this.lineage, host, this.world, {
        held: state.held.version,
        appliedAt: (version) => appliedAt.get(version) ?? created,
        limits: this.limits,
        ...(failure && (!held || held.nomos.hash !== state.held.hash) ? { unavailable: failure } : {}),
        ...(failure ? { pending: failure } : {}),
      });
      // A restart, an eviction or a code update may have lost the alarm: point it at the earliest entry again.
      this.rearm();
    });
  }

  /**
   * Points the one Durable Object alarm at the earliest frozen Intent, or clears it. It reads
   * storage rather than trusting memory, so an alarm moved or lost by anything else is
   * corrected at the next change.
   */
  private rearm(): void {
    // An Attractor that cannot run its stored law leaves its frozen Intents, and their alarm, alone.
    if (!this.sedimenter.available) return;
    const next = this.sedimenter.cryostasis.earliest();
    if (next === undefined) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(next);
  }

  /**
   * Wakes due frozen Intents in wake-time order, in bounded batches. Each one is applied
   * (resumed, or reforged across a law change) and removed in one transaction, so a repeated
   * alarm delivery applies nothing twice; a refusal is final; an unexpected error is retried
   * with backoff on that entry alone.
   */
  override async alarm(): Promise<void> {
    this.sedimenter.wakeDue(this.wakeBatch);
  }

  /** Freezes an Intent from code, to wake at `at` (ms since the epoch) or after `delaySeconds`. */
  freeze(intent: unknown, when: { at?: number; delaySeconds?: number; key?: string }): FreezeResult {
    return this.sedimenter.freeze(intent, when);
  }

  /** Cancels a frozen Intent by id. */
  cancelFrozen(cryoId: number): boolean {
    return this.sedimenter.cancel(cryoId);
  }

  /** Pending frozen Intents in wake order. */
  frozen(options: { limit?: number; after?: { wakeAt: number; cryoId: number } } = {}): FrozenSummary[] {
    const limit = pageSize(options.limit);
    return this.sedimenter.cryostasis.list(limit, options.after).map((e) => ({
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

  /**
   * The lineage this instance runs. Override to pin an older version (for example in tests
   * that start an Attractor on v1 and wake it later on v2).
   */
  protected lawFor(lineage: Lineage): Lineage {
    return lineage;
  }

  /** Applies one Intent atomically and seals the result. Trusts nothing: the input is parsed again here. */
  sedimentation(intent: unknown): Seal {
    return this.sedimenter.sediment(intent);
  }

  /**
   * The `sql.exec()` sequence the Intent would run here next, and its Sieve; nothing runs.
   * It goes through the same checks as sedimentation (law, validation, Connection), so it
   * accepts exactly what would run, and explains an older Intent as carried to this law.
   */
  explain(intent: unknown): ExplainResult {
    const prepared = this.sedimenter.prepare(intent);
    if (!prepared.ok) {
      const { reason } = prepared;
      return { ok: false, reason, issues: reason.issues ?? [{ path: "", message: reason.message }] };
    }
    const next = this.sedimenter.log.head().sedimentId + 1;
    const explanation = explain(this.vocabulary, prepared.intent, { now: Date.now(), sedimentId: next });
    return { ok: true, explanation, ...(prepared.origin ? { origin: prepared.origin } : {}) };
  }

  sediments(after = 0, limit = 100): { sediments: Sediment[]; next?: number } {
    return this.sedimenter.log.page(Number.isInteger(after) ? after : 0, pageSize(limit));
  }

  verify(): Verification {
    return this.sedimenter.log.verify();
  }

  precedents(filter: { kind?: ReasonKind; nomosVersion?: number; after?: number; limit?: number } = {}): Precedent[] {
    return this.sedimenter.log.precedents({ ...filter, limit: pageSize(filter.limit) });
  }

  nomos(): NomosReport {
    const { held, target, error } = this.migration;
    return { current: held, target, history: nomosHistory(this.host.db), ...(error ? { migrationError: error } : {}) };
  }
}
