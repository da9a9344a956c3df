import { type Admission, admissionIssues, admit, type AdmissionOptions, type ExplainResult } from "../admission/index.js";
import type { BuiltinHost } from "../builtin/index.js";
import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import { Lineage } from "../connection/lineage.js";
import type { Row, SedimentHost, SqlValue } from "../host/index.js";
import { DEFAULT_LIMITS, type Intent, type IntentLimits, type NomosStamp, nomosStamp, type Vocabulary } from "../intent/index.js";
import { explain, refuseViolation, runSteps, ScopeMarks } from "../interpretation/index.js";
import { Refusal, type Reason } from "../refusal/index.js";
import type { Sieve } from "../sieve/index.js";
import { hashCanonicalSediment } from "./chain.js";
import { Cryostasis } from "./cryostasis.js";
import type { FeatureHooks, Sealable, Sealing } from "./feature.js";
import { Messages } from "./messages.js";
import { type ChainLink, SedimentLog } from "./store.js";
import type { Seal, SealOrigin, Sediment, SuccessSeal, World } from "./types.js";

/** What running an Intent's steps gave: its outputs and its invariant check. */
type Ran = ReturnType<typeof runSteps>;

export type { FreezeResult, WakeOutcome } from "./cryostasis.js";
export type { ReceiptRecord } from "./messages.js";

/** How a host constructs a Sedimenter: the law it holds, the limits, and why it refuses when it must. */
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
  /**
   * Store each log row's Intent and outputs as values under a shared shape (default true). The
   * model checker turns it off, so that properties written in SQL read `_noema_sediment.intent` whole.
   */
  shapes?: boolean;
  /** The laws of the Attractors `$send` may address, by binding name: a message is checked against its target's law when sent. */
  sends?: Readonly<Record<string, Lineage>>;
  /**
   * What to read with each log row, inside its transaction: columns for its INSERT's RETURNING and
   * their parameters (sync's change capture reads the rows it filed for the sediment), or none.
   */
  sealingRead?: (sedimentId: number) => { columns: string; params: readonly SqlValue[] } | undefined;
  /** Called inside each sealing transaction once its sediment is appended (sync's change capture records what it changed), with the row its INSERT read; it must not keep `sediment`. */
  onSealing?: (sediment: { sedimentId: number; hash: string; prevHash: string }, read: Row) => void;
}

function sealOf(s: Sediment): SuccessSeal {
  const seal: SuccessSeal = { success: true, sedimentId: s.sedimentId, hash: s.hash, prevHash: s.prevHash, timestamp: s.timestamp, world: s.world, outputs: s.outputs };
  if (s.origin) seal.origin = s.origin;
  return seal;
}

/** The Intent as it was sent: stored as is, or carried forward from an earlier law. */
function sentOf(s: Sediment): Intent {
  if (!s.origin || s.origin.nomos.version === s.world.nomosVersion) return s.origin?.intent ?? s.intent;
  return s.origin.intent ?? { ...s.intent, nomos: s.origin.nomos };
}

/**
 * Runtime-agnostic sedimentation: admit, interpret, check invariants and append to the chain
 * in one transaction; on refusal roll back and record a Precedent. The features (Cryostasis,
 * messages) are opened on it and reached through `features`; each seals through the same path.
 */
export class Sedimenter {
  readonly log: SedimentLog;
  readonly lineage: Lineage;
  /** The vocabulary of the law this Attractor holds. */
  readonly vocabulary: Vocabulary;
  /** The features opened on this Sedimenter: what they add to sealing, and what a host reaches them by. */
  readonly features: { readonly cryostasis: Cryostasis; readonly messages: Messages };
  private head: { sedimentId: number; hash: string };
  private readonly worldHash: string;
  private readonly limits: IntentLimits;
  /** The stamp of the held law, and the admission options but the clock: the same for every Intent, so made once. */
  private readonly held: NomosStamp;
  private readonly admission: Omit<AdmissionOptions, "now" | "sieve">;
  /** The scoped invariants' marks checked so far, advanced only by a committed transaction (as `head` is). */
  private readonly marks = new ScopeMarks();
  /** When the earliest alarm work the running transaction added is due, noted by the features' built-in steps. */
  private alarmWork: number | undefined;
  /** What the built-in steps do here, and who hears of each commit: the features' hooks, merged once. */
  private readonly builtins: BuiltinHost;
  private readonly committedHooks: ((sediment: Sediment) => void)[];
  /** Set when a batch's transaction failed after a seal committed inside it: memory is ahead of storage (see Sealing.batch). */
  private diverged: Error | undefined;
  /** The last columns `readWith` joined. */
  private joinedColumns: { check: string; also: string; columns: string } | undefined;

  constructor(
    law: Vocabulary | Lineage,
    private readonly host: SedimentHost,
    private readonly world: World,
    private readonly options: SedimenterOptions = {},
  ) {
    this.lineage = law instanceof Lineage ? law : Lineage.of(law);
    this.vocabulary = this.lineage.at(options.held ?? this.lineage.latest.nomos.version) ?? this.lineage.latest;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.held = nomosStamp(this.vocabulary.nomos);
    const { held: _held, frozenByReference: _byReference, shapes: _shapes, sends: _sends, onSealing: _onSealing, sealingRead: _sealingRead, ...admission } = options;
    this.admission = { ...admission, held: this.vocabulary.nomos.version, limits: this.limits };
    this.log = new SedimentLog(host.db, options.shapes ?? true);
    // Kept in memory: only a committed transaction advances it, so it never runs ahead of storage.
    this.head = this.log.head();
    const worldJson = canonicalJson(world);
    this.worldHash = sha256Hex(worldJson);
    this.log.registerWorld(worldJson, this.worldHash);
    const sealing = this.sealing();
    this.features = {
      cryostasis: new Cryostasis(sealing, options.frozenByReference ?? true),
      messages: new Messages(sealing, options.sends ?? {}),
    };
    const hooks: FeatureHooks[] = Object.values(this.features);
    this.builtins = Object.assign({}, ...hooks.map((f) => f.builtins)) as BuiltinHost;
    this.committedHooks = hooks.flatMap((f) => (f.committed ? [f.committed.bind(f)] : []));
  }

  /** The id of the last committed sediment (0 for an empty log), from memory: no query. */
  get lastSedimentId(): number {
    return this.head.sedimentId;
  }

  /** The last committed sediment's id and hash (the anchor for an empty log): `log.head()` from memory, no query. */
  get committedHead(): ChainLink {
    return this.head;
  }

  /** False while this Attractor cannot run the law it holds: frozen Intents then wait, untouched. */
  get available(): boolean {
    return this.options.unavailable === undefined;
  }

  /** The frozen Intents' store (see `features.cryostasis` for freezing and waking). */
  get cryostasis() {
    return this.features.cryostasis.store;
  }

  /** The outbox (see `features.messages` for delivery and receipts). */
  get outbox() {
    return this.features.messages.outbox;
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
  sedimentation(input: unknown): Seal {
    const now = this.host.now();
    const admitted = this.admit(input, now);
    if (!admitted.ok) return this.refuse(admitted.input, now, admitted.reason);
    return this.seal(admitted, admitted.origin, now);
  }

  /** @deprecated Renamed `sedimentation`, the write path's one name. */
  sediment(input: unknown): Seal {
    return this.sedimentation(input);
  }

  /** @deprecated Reached through `features.cryostasis.wakeDue`. */
  wakeDue(limit: number) {
    return this.features.cryostasis.wakeDue(limit);
  }

  /**
   * An admitted Intent sealed: the earlier Seal under its idempotency key (or the refusal of a
   * different Intent under it), else applied atomically, or refused on record.
   */
  private seal(admitted: Sealable["admitted"], origin: SealOrigin | undefined, now: number): Seal {
    const earlier = this.earlier(admitted.sent);
    if (earlier) return "seal" in earlier ? earlier.seal : this.refuse(admitted.sent, now, earlier.reason);
    try {
      return this.apply(() => ({ admitted, origin }), now);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(admitted.sent, now, error.reason);
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

  /**
   * One transaction: `prepare` (what is sealed, decided inside it), the Interpretation and the
   * log row. Only a commit advances the head; the host then learns how the alarm's work changed.
   */
  private apply(prepare: () => Sealable, now: number, batched = false): SuccessSeal {
    if (this.diverged) throw this.diverged;
    let alarmWork: number | undefined;
    let committed = false;
    let done: ReturnType<Sedimenter["commit"]>;
    try {
      done = this.host.transaction(() => {
        const { admitted, origin, originJson } = prepare();
        this.alarmWork = undefined;
        const sealed = this.commit(admitted, origin, now, originJson);
        alarmWork = this.alarmWork;
        return sealed;
      });
      committed = true;
    } finally {
      // Shapes the log stored in this transaction are remembered only if it committed.
      this.log.settle(committed);
    }
    const { sediment, ran, read } = done;
    // The head first: whatever throws after a commit, the head names what storage holds.
    this.head = { sedimentId: sediment.sedimentId, hash: sediment.hash };
    // Committed: the invariant check learns its marks (a method call, no closure per Intent).
    ran?.check.committed(read);
    for (const hook of this.committedHooks) hook(sediment);
    if (alarmWork !== undefined && !batched) this.host.onAlarmWorkChanged?.(alarmWork);
    return sealOf(sediment);
  }

  /** See Sealing.batch: a head that moved inside a transaction that then failed names a sediment storage does not hold. */
  private batch<T>(fn: () => T): T {
    if (this.diverged) throw this.diverged;
    const { head } = this;
    try {
      return this.host.transaction(fn);
    } catch (error) {
      if (this.head !== head) {
        this.diverged = new Error(`a batch's transaction failed after sealing sediment ${this.head.sedimentId} inside it; sealing stopped until the Attractor starts again`, { cause: error });
        this.host.onDiverged?.(this.diverged);
      }
      throw error;
    }
  }

  private noteAlarmWork(at: number): void {
    this.alarmWork = Math.min(this.alarmWork ?? at, at);
  }

  /** Runs the admitted Intent's steps and appends its log row, inside the caller's transaction. */
  private commit(admitted: Sealable["admitted"], origin: SealOrigin | undefined, timestamp: number, originJson?: string): { sediment: Sediment; ran?: Ran; read: Row } {
    const { intent } = admitted;
    const sedimentId = this.head.sedimentId + 1;
    const prevHash = this.head.hash;
    // A receipt recorded alone has no steps: it writes no table of the Nomos, so no invariant can break.
    const ran = intent.steps.length === 0 ? undefined : runSteps(this.vocabulary, intent, this.host.db, { now: timestamp, sedimentId }, this.builtins, this.marks);
    const outputs: Json[] = ran?.outputs ?? [];
    // One object for the log row: what is hashed, then its hash (a copy per write was garbage).
    const entry = {
      sedimentId,
      prevHash,
      timestamp,
      intent: canonicalJson(intent),
      outputs: canonicalJson(outputs),
      origin: originJson ?? (origin ? canonicalJson(origin) : null),
      worldHash: this.worldHash,
      hash: "",
      idempotencyKey: intent.idempotencyKey ?? null,
    };
    const hash = (entry.hash = hashCanonicalSediment(entry));
    // The invariant check (and what `sealingRead` asks) is read by the log row's INSERT: no statement of its own. A violation rolls both back.
    const also = this.options.sealingRead?.(sedimentId);
    const read = this.log.append(entry, also ? this.readWith(ran?.check, also) : ran?.check);
    refuseViolation(ran?.check.violation(read));
    const sediment: Sediment = { sedimentId, hash, prevHash, timestamp, intent, outputs, world: this.world };
    if (origin) sediment.origin = origin;
    this.options.onSealing?.(sediment, read);
    return { sediment, ran, read };
  }

  /** The invariant check's columns and parameters followed by `also`'s: what the log row's INSERT returns. */
  private readWith(check: { columns: string; params: readonly SqlValue[] } | undefined, also: { columns: string; params: readonly SqlValue[] }) {
    if (!check?.columns) return also;
    // The same two lists give the same text: the log keeps its statement while they stay the same.
    const joined = this.joinedColumns;
    const columns = joined?.check === check.columns && joined.also === also.columns ? joined.columns : (this.joinedColumns = { check: check.columns, also: also.columns, columns: `${check.columns}, ${also.columns}` }).columns;
    return { columns, params: [...check.params, ...also.params] };
  }

  /** Records the refusal as a Precedent; `also` runs in the same transaction (a refusal is final: a woken entry goes with it). */
  private refuse(input: unknown, timestamp: number, reason: Reason, also?: () => void): Seal {
    const precedentId = this.host.transaction(() => {
      also?.();
      return this.log.recordPrecedent(input, reason, this.held, timestamp, this.limits.maxBytes);
    });
    return { success: false, reason, precedentId, timestamp, world: this.world };
  }

  /** What the features are lent (see Sealing): bound once, so the private path stays private. */
  private sealing(): Sealing {
    return {
      host: this.host,
      log: this.log,
      lineage: this.lineage,
      vocabulary: this.vocabulary,
      held: this.held,
      world: this.world,
      worldHash: this.worldHash,
      limits: this.limits,
      unavailable: this.options.unavailable,
      pending: this.options.pending,
      nextSedimentId: () => this.head.sedimentId + 1,
      admit: (input, now, sieve) => this.admit(input, now, sieve),
      seal: (admitted, origin, now) => this.seal(admitted, origin, now),
      earlier: (sent) => this.earlier(sent),
      apply: (prepare, now, batched) => this.apply(prepare, now, batched),
      refuse: (input, now, reason, also) => this.refuse(input, now, reason, also),
      alarmWork: (at) => this.noteAlarmWork(at),
      batch: (fn) => this.batch(fn),
    };
  }
}
