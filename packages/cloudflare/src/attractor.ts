import { DurableObject } from "cloudflare:workers";
import {
  type AppliedNomos,
  applyNomos,
  DEFAULT_LIMITS,
  explain,
  type Explanation,
  type IntentLimits,
  type Issue,
  nomosHistory,
  parseIntent,
  type Precedent,
  type ReasonKind,
  type Row,
  type Seal,
  type Sediment,
  Sedimenter,
  type SedimentHost,
  type SqlValue,
  type Verification,
  type Vocabulary,
  type World,
} from "@noema/core";

export interface AttractorOptions {
  limits?: IntentLimits;
}

export type ExplainResult = { ok: true; explanation: Explanation } | { ok: false; issues: Issue[] };

export const MAX_PAGE = 1000;

/**
 * A Durable Object that owns one partition of state under one Nomos. Every change
 * arrives as an Intent through `sedimentation`; reads are plain RPC methods.
 */
export abstract class Attractor<Env = unknown, V extends Vocabulary = Vocabulary> extends DurableObject<Env> {
  protected readonly vocabulary: V;
  protected readonly world: World;
  /** Runs SQL for subclass reads; writes belong in the vocabulary. */
  protected readonly query: (sql: string, ...params: SqlValue[]) => Row[];
  private readonly host: SedimentHost;
  private readonly limits: IntentLimits;
  private sedimenter!: Sedimenter;
  private applied!: AppliedNomos;

  constructor(ctx: DurableObjectState, env: Env, vocabulary: V, options: AttractorOptions = {}) {
    super(ctx, env);
    this.vocabulary = vocabulary;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    const { nomos } = vocabulary;
    this.world = {
      attractor: new.target.name,
      // Set for ids made by idFromName/getByName; a random id is named by its hex form.
      name: ctx.id.name ?? ctx.id.toString(),
      nomosVersion: nomos.version,
      nomosHash: nomos.hash,
    };
    const sql = ctx.storage.sql;
    this.query = (text, ...params) => sql.exec<Row>(text, ...params).toArray();
    const host: SedimentHost = (this.host = {
      db: { exec: (text, params) => sql.exec<Row>(text, ...params).toArray() },
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: () => Date.now(),
    });
    // No request is delivered before the Nomos is in place (first wake applies it atomically).
    void ctx.blockConcurrencyWhile(async () => {
      this.applied = ctx.storage.transactionSync(() => applyNomos(host.db, nomos, Date.now()));
      this.sedimenter = new Sedimenter(vocabulary, host, this.world, this.limits);
    });
  }

  /** Applies one Intent atomically and seals the result. Trusts nothing: the input is parsed again here. */
  sedimentation(intent: unknown): Seal {
    return this.sedimenter.sediment(intent);
  }

  /** The `sql.exec()` sequence the Intent would run here next, nothing run. */
  explain(intent: unknown): ExplainResult {
    // The same limits as sedimentation, so explain accepts exactly what would be run.
    const parsed = parseIntent(this.vocabulary, intent, this.limits);
    if (!parsed.ok) return parsed;
    const next = this.sedimenter.log.head().sedimentId + 1;
    return { ok: true, explanation: explain(this.vocabulary, parsed.value, { now: Date.now(), sedimentId: next }) };
  }

  sediments(after = 0, limit = 100): { sediments: Sediment[]; next?: number } {
    return this.sedimenter.log.page(after, Math.min(Math.max(limit, 1), MAX_PAGE));
  }

  verify(): Verification {
    return this.sedimenter.log.verify();
  }

  precedents(filter: { kind?: ReasonKind; nomosVersion?: number; after?: number; limit?: number } = {}): Precedent[] {
    return this.sedimenter.log.precedents({ ...filter, limit: Math.min(Math.max(filter.limit ?? 100, 1), MAX_PAGE) });
  }

  nomos(): { current: AppliedNomos; history: AppliedNomos[] } {
    return { current: this.applied, history: nomosHistory(this.host.db) };
  }
}
