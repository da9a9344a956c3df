import { DurableObject } from "cloudflare:workers";
import { type ColumnList, DEFAULT_LIMITS, type Publication, type ExplainResult, type FreezeResult, type Intent, type IntentLimits, type LatestOf, Lineage, type ParseResult, type Precedent, type ReasonKind, type Receipt, type Row, type Seal, type Sediment, type SqlValue, type Verification, type WakeOutcome, type Vocabulary, type World } from "@noema/core";
import { audit, type AuditPage, WAKE_BATCH, DEFAULT_PAGE } from "@noema/core/runtime";
import {
  type AppliedNomos,
  type Archive,
  type ArchivedSegment,
  type ArchiveReport,
  type ObjectStorePort,
  applyLineage,
  type MigrationState,
  nomosHistory,
  FULL_VERIFY_EVERY,
  Sedimenter,
  type SedimentHost,
  Verifier,
  ChangeCapture,
  parseClaimedOnce,
} from "@noema/core/runtime";
import { Alarm } from "./alarm.js";
import { installFastHash } from "./hash.js";
// Types only: the archive's code comes with `archive()` of @noema/cloudflare/archive, in Workers that declare one.
import type { ArchiveFeature } from "./archive.js";
import { CryostasisRpc, cryostasisChore, type FreezeWhen, type FrozenEntry } from "./cryostasis.js";
import { type ChainStatus, closeLive, LivePages, type RowsPage, rowsOf, sampleOf, type TableInfo, type TailCheck, tablesOf } from "./inspection.js";
import { DEFAULT_DELIVERY, type DeliveryOptions, messagesChore, MessagesRpc, type OutboxEntry, type ReceiptEntry, sendTargets } from "./messages.js";
import { pageSize } from "./page.js";
import { type UnderTest, worldsUnderTest } from "./under-test.js";
import { VerificationRpc } from "./verification.js";
import { SYNC_PATH, type SyncGrant, SyncHub } from "./sync/index.js";

/** Why an Attractor subclass cannot start: a missing law or an overridden `alarm()`. */
export class AttractorDefinitionError extends Error {
  override name = "AttractorDefinitionError";
}

export { ALARM_RETRY_MS } from "./alarm.js";

declare const alarmOwned: unique symbol;
/**
 * What `Attractor.alarm()` returns. An override that does not return `super.alarm()` fails to
 * type-check (TS2416), and any override throws when the object starts: the alarm wakes frozen
 * Intents, so it belongs to the base class. Put your own alarm work in `onAlarm()`.
 */
export type AlarmOwnedByAttractor = void & { readonly [alarmOwned]: "override onAlarm() instead of alarm()" };

/** The static side of an Attractor subclass: its law and options, read when each instance starts. */
export interface AttractorStatics {
  readonly name: string;
  /**
   * The name of this Attractor's Worlds: `World.attractor` in every Seal, message and archive
   * prefix. Defaults to the class's name. Declare it in a bundle that does not keep names
   * (wrangler's `"keep_names": false`, a cheaper cold start), where the class's name is the
   * minifier's; an Attractor that declares none there fails when it starts. Inherited like any
   * static: a subclass bound as another Durable Object class declares its own. Changing it later
   * names its Worlds differently, so declare the name they already have.
   */
  attractor?: string;
  /** The law of every instance: a Vocabulary, or a Lineage of them. Required. */
  law?: Vocabulary | Lineage;
  /** Limits on incoming Intents, over `DEFAULT_LIMITS`. */
  limits?: Partial<IntentLimits>;
  /** Frozen Intents woken per alarm run (default WAKE_BATCH, 500); the alarm is re-armed for the rest. */
  wakeBatch?: number;
  /** Seal the log (and old precedents) into segments in an R2 bucket: `archive({ binding })` of `@noema/cloudflare/archive`. */
  archive?: ArchiveFeature;
  /** The Attractors `$send` may address: each Worker binding with its law (checked when the Attractor wakes). */
  sends?: Readonly<Record<string, Vocabulary | Lineage>>;
  /** How messages are delivered, over DEFAULT_DELIVERY. */
  delivery?: Partial<DeliveryOptions>;
  /** What sync subscribers may see (`definePublication`); nothing by default. Tokens are checked by `authorize`. */
  publication?: Publication;
}

/** Declared to learn whether the bundler kept names: a minifier without keep-names renames it. */
class NamesKept {}
/** What a declared `static attractor` may be: a class name's characters, as the default is one. */
const ATTRACTOR_NAME = /^[A-Za-z_$][\w$]{0,63}$/;

/**
 * The name of an Attractor's Worlds (see `AttractorStatics.attractor`), or why it has none. A
 * declared name is inherited, as statics are: `wrangler dev` runs a subclass of each bound class.
 */
export function attractorName(statics: Pick<AttractorStatics, "name" | "attractor" | "law">, namesKept = NamesKept.name === "NamesKept"): string {
  const declared = statics.attractor;
  if (declared !== undefined) {
    if (typeof declared === "string" && ATTRACTOR_NAME.test(declared)) return declared;
    throw new AttractorDefinitionError(`${statics.name}: static attractor must be an identifier of 1 to 64 characters, got ${JSON.stringify(declared)}`);
  }
  if (namesKept) return statics.name;
  // The class's name is the minifier's: the law's may say which Attractor this is.
  const { law } = statics;
  const of = law instanceof Lineage ? ` of law "${law.latest.nomos.name}"` : isVocabulary(law) ? ` of law "${law.nomos.name}"` : "";
  throw new AttractorDefinitionError(`the Attractor${of} (class ${statics.name} once minified) must declare its name: this bundle does not keep class names (wrangler's "keep_names": false), so add static attractor = "…"`);
}

const isVocabulary = (law: unknown): law is Vocabulary =>
  typeof law === "object" && law !== null && "nomos" in law && "operations" in law;

export type { FrozenEntry, FrozenSummary } from "./cryostasis.js";

export type { ExplainResult } from "@noema/core";

/** What an Attractor's `nomos()` answers: the law it holds, the newest its code declares, the versions applied, and a failed migration. */
export interface NomosReport {
  /** The law this Attractor holds. */
  held: AppliedNomos;
  /** The newest law its code declares; differs from `held` only while a migration fails. */
  latest: { name: string; version: number; hash: string };
  history: AppliedNomos[];
  /** The last failed migration, retried on the next wake. */
  migrationError?: MigrationState["error"];
}

export { DEFAULT_PAGE, MAX_PAGE } from "@noema/core/runtime";

/**
 * The features' RPC methods, opened when the Attractor wakes. The Attractor's methods delegate
 * to them in one line each: an RpcTarget per feature (`stub.cryostasis.list()`) pipelines in
 * workerd, but not through @cloudflare/vitest-plugin's Durable Object wrapper, where tests run.
 */
interface FeatureRpc {
  cryostasis: CryostasisRpc;
  messages: MessagesRpc;
  verification: VerificationRpc;
}

/**
 * Reads for an Attractor's own methods (`this.query`); writes belong in the vocabulary. Rows are
 * typed from the Nomos when the columns come from `columnsOf`, or as you name them.
 */
export interface Query {
  /**
   * The rows of `SELECT <columns> <rest>`, typed from the Nomos.
   *
   * @example this.query(columnsOf(nomos, "stock", "location_id", "quantity"), "FROM stock ORDER BY location_id")
   */
  <R extends object>(columns: ColumnList<R>, rest: string, ...params: SqlValue[]): R[];
  /**
   * The rows of `sql`, `Row` unless you name their type: nothing checks it, so say what SQLite
   * returns (INTEGER and REAL as number, TEXT as string, BLOB as ArrayBuffer, `| null` where NULL may come).
   *
   * @example this.query<{ n: number }>("SELECT COUNT(*) AS n FROM reservations WHERE status = ?", "active")
   */
  <R extends object = Row>(sql: string, ...params: SqlValue[]): R[];
}

/** The base class of an Attractor of law `L`, from `Attractor.of(law)`: `static law` is set, the type parameters follow from it. */
export type AttractorOf<L extends Vocabulary | Lineage> = (abstract new <Env = unknown>(ctx: DurableObjectState, env: Env) => Attractor<Env, L>) & { readonly law: L };

/**
 * A Durable Object that owns one partition of state under one Nomos (or a lineage of
 * them). Every change arrives as an Intent through `sedimentation`; reads are plain RPC
 * methods. On wake it brings its storage to the current law, lazily, inside
 * `blockConcurrencyWhile`: requests arriving meanwhile wait, none is lost.
 *
 * A subclass extends `Attractor.of(law)`, which declares its law and types `this.vocabulary`
 * from it, and adds options as static fields; no constructor needed:
 *
 *     export class LedgerAttractor extends Attractor.of(ledger)<Env> { // a Vocabulary or a Lineage
 *       static limits = { maxSteps: 16 }; // over DEFAULT_LIMITS
 *     }
 *
 * The older form, `extends Attractor<Env, typeof ledger>` with `static law = ledger`, still
 * works, but nothing checks that the type argument and the static law agree.
 */
export abstract class Attractor<Env = unknown, L extends Vocabulary | Lineage = Vocabulary> extends DurableObject<Env> {
  // The statics (see AttractorStatics) are not declared here, so a subclass writes `static law = …`
  // without `override` under noImplicitOverride; the constructor checks them instead.
  protected readonly lineage: Lineage;
  /** The vocabulary of the law held once the Attractor has woken (typed as the law's newest). */
  protected vocabulary!: LatestOf<L>;
  protected world!: World;
  /** Runs SQL for subclass reads, rows typed (see Query); writes belong in the vocabulary. */
  protected readonly query: Query;

  /**
   * The base class of an Attractor of `law`: `static law` is declared, and `this.vocabulary`
   * is typed from it, so the two cannot disagree. `class X extends Attractor.of(law)<Env> {}`.
   */
  static of<L extends Vocabulary | Lineage>(law: L): AttractorOf<L> {
    abstract class WithLaw<Env> extends Attractor<Env, L> {
      static law = law;
    }
    return WithLaw as unknown as AttractorOf<L>;
  }
  private readonly host: SedimentHost;
  private readonly limits: IntentLimits;
  private sedimenter!: Sedimenter;
  private verifier!: Verifier;
  private rpc!: FeatureRpc;
  private migration!: MigrationState;
  private readonly wakeBatch: number;
  private readonly sends: Record<string, Lineage>;
  private readonly delivery: DeliveryOptions;
  /** The one Durable Object alarm, shared by the features' chores and `schedule()`. */
  private readonly sharedAlarm: Alarm;
  /** `static archive`, when declared. */
  private readonly archiveFeature: ArchiveFeature | undefined;
  /** Opened from it: where the log's older segments live. */
  private archiveLog: Archive | undefined;
  /** The inspector's open pages, told each new head. */
  private readonly livePages: LivePages;
  /** Set only for a World the test kit set up (see under-test.ts): its pinned version and moved clock. */
  private readonly underTest: UnderTest | undefined;
  /** Sync subscribers (see `static publication`, `authorize`). */
  private sync!: SyncHub;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    installFastHash();
    const statics = new.target as unknown as AttractorStatics;
    const attractor = attractorName(statics);
    assertAlarmNotOverridden(new.target.prototype as object, attractor);
    const { law } = statics;
    if (!(law instanceof Lineage || isVocabulary(law))) {
      throw new AttractorDefinitionError(`${attractor} declares no law: add \`static law = myVocabulary\` (or a lineage)`);
    }
    const underTest = (this.underTest = worldsUnderTest.size === 0 ? undefined : worldsUnderTest.get(ctx.id.toString()));
    const lineage = this.lawFor(law instanceof Lineage ? law : Lineage.of(law));
    this.lineage = underTest?.version === undefined ? lineage : lineage.upTo(underTest.version);
    if (underTest) underTest.held = () => this.vocabulary;
    this.limits = { ...DEFAULT_LIMITS, ...statics.limits };
    this.livePages = new LivePages(ctx);
    this.wakeBatch = statics.wakeBatch ?? WAKE_BATCH;
    const archive = (this.archiveFeature = statics.archive);
    if (archive !== undefined && typeof archive.open !== "function") {
      throw new AttractorDefinitionError(`${attractor}.archive must be made by archive() of @noema/cloudflare/archive: static archive = archive({ binding: "NOEMA_ARCHIVE" })`);
    }
    const bucket = archive?.bucket(env, attractor);
    if (typeof bucket === "string") throw new AttractorDefinitionError(bucket);
    const sends = sendTargets(attractor, statics.sends, env);
    if (typeof sends === "string") {
      throw new AttractorDefinitionError(sends);
    }
    this.sends = sends;
    this.delivery = { ...DEFAULT_DELIVERY, ...statics.delivery };
    const sql = ctx.storage.sql;
    this.query = ((from: string | ColumnList<object>, ...rest: SqlValue[]) => {
      if (typeof from === "string") return sql.exec<Row>(from, ...rest).toArray();
      const [clause, ...params] = rest;
      return sql.exec<Row>(`SELECT ${from.sql} ${clause}`, ...params).toArray();
    }) as Query;
    const host: SedimentHost = (this.host = {
      db: {
        exec: (text, params) => sql.exec<Row>(text, ...params).toArray(),
        raw: (text, params) => [...sql.exec(text, ...params).raw()] as SqlValue[][],
        run: (text, params) => sql.exec(text, ...params).rowsWritten,
      },
      transaction: (fn) => ctx.storage.transactionSync(fn),
      now: underTest ? () => Date.now() + underTest.offset : () => Date.now(),
      onAlarmWorkChanged: (earliest) => this.sharedAlarm.changed(earliest),
      // A restart reads the head from storage again.
      onDiverged: (error) => ctx.abort(error.message),
    });
    this.sharedAlarm = new Alarm({ storage: ctx.storage, now: host.now, offset: () => underTest?.offset ?? 0, attractor });
    void ctx.blockConcurrencyWhile(async () => {
      const state = (this.migration = applyLineage(host, this.lineage, host.now()));
      if (state.error) console.error(`noema: ${attractor} ${state.latest.name} v${state.error.version}: ${state.error.message}`);
      const held = this.lineage.at(state.held.version);
      this.vocabulary = (held ?? this.lineage.latest) as LatestOf<L>;
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
      // The log's chain links, read lazily: the Sedimenter that holds the log is built next.
      const capture = new ChangeCapture(host.db, statics.publication ?? { tables: {} }, (from, limit) => this.sedimenter.log.links(from, limit));
      this.sedimenter = new Sedimenter(this.lineage, host, this.world, {
        ...(capture.active ? { sealingRead: (id) => capture.sealingRead(id), onSealing: (s, read) => capture.record(s, read) } : {}),
        held: state.held.version,
        appliedAt: (version) => appliedAt.get(version) ?? created,
        limits: this.limits,
        sends: this.sends,
        ...(failure && (!held || held.nomos.hash !== state.held.hash) ? { unavailable: failure } : {}),
        ...(failure ? { pending: failure } : {}),
      });
      const { sedimenter } = this;
      this.sync = new SyncHub(ctx, { capture, now: host.now, world: () => this.world, head: () => sedimenter.committedHead, hashOf: (id) => sedimenter.log.links(id, 0)[0]?.hash, check: (intent) => parseClaimedOnce(this.lineage, intent, this.limits), sedimentation: (intent) => this.sedimentation(intent) });
      // Subscribers that outlived the last instance (hibernated sockets) need the records unbroken.
      capture.install(sedimenter.lastSedimentId, state.held.hash, this.sync.connected);
      const verifier = (this.verifier = new Verifier(sedimenter.log, host.db));
      const archived = bucket ? archive!.open(this.archiveStore(bucket), host, sedimenter.log, this.world) : undefined;
      this.archiveLog = archived?.archive;
      // Each feature brings its RPC methods and its alarm chore (served in this order: Cryostasis first).
      this.rpc = {
        cryostasis: new CryostasisRpc(sedimenter),
        messages: new MessagesRpc(sedimenter),
        verification: new VerificationRpc({ log: sedimenter.log, verifier, archive: this.archiveLog, now: () => host.now(), rearm: () => this.sharedAlarm.rearm() }),
      };
      // With `onReceipts`, the answers of one delivery are one sediment, and a lone answer is a delivery of one.
      const onReceipts = this.onReceipts?.bind(this);
      const chores = [
        cryostasisChore(sedimenter, this.wakeBatch, (outcomes) => this.onWake(outcomes)),
        messagesChore(sedimenter, env, this.delivery, onReceipts ? (receipt) => onReceipts([receipt]) : (receipt) => this.onReceipt(receipt), attractor, () => this.announce(), onReceipts),
        verifier.chore(),
        ...(archived ? [archived.chore] : []),
      ];
      // This instance is the only one: messages a dead run had taken go out now, not after their lease.
      // (A World created by this wake has none, nor any alarm work: both skip their reads.)
      if (!state.created) sedimenter.features.messages.releaseLeases();
      // An Attractor that cannot run its stored law leaves its frozen Intents, and their alarm, alone.
      this.sharedAlarm.serve(chores, () => sedimenter.available, state.created);
    });
  }

  /**
   * Owned by the Attractor; override `onAlarm()` and `onWake()` instead. Wakes due frozen
   * Intents in wake-time order, in bounded batches. Each one is applied (resumed, or reforged
   * across a law change) in a nested transaction, and removed with the few applied beside it in
   * their enclosing one, so a repeated alarm delivery applies nothing twice; a refusal is final;
   * an unexpected error is retried with backoff on that entry alone. Every other chore then gets
   * one slice, and `onAlarm()` runs when the time given to `schedule()` has come. A chore that
   * throws is logged and tried again `ALARM_RETRY_MS` later, without holding up the others.
   */
  override async alarm(): Promise<AlarmOwnedByAttractor> {
    const head = this.sedimenter.lastSedimentId;
    await this.sharedAlarm.runChores();
    if (this.sedimenter.lastSedimentId !== head) this.announce();
    this.sharedAlarm.rearm();
    await this.sharedAlarm.runScheduled(() => this.onAlarm());
    return undefined as AlarmOwnedByAttractor;
  }

  /**
   * Asks for `onAlarm()` to run at `at` (ms since the epoch, or a Date), replacing any time
   * asked before; `null` cancels it. Frozen Intents keep their own times: the one Durable
   * Object alarm is pointed at whichever comes first.
   */
  protected schedule(at: number | Date | null): void {
    this.sharedAlarm.schedule(at === null || typeof at === "number" ? at : at.getTime());
  }

  /** The time given to `schedule()` that has not run yet. */
  protected scheduled(): number | undefined {
    return this.sharedAlarm.scheduled();
  }

  /**
   * Your own alarm work, run once the time given to `schedule()` has come. Call `schedule()`
   * again to repeat; if it throws, it runs again `ALARM_RETRY_MS` later.
   */
  protected onAlarm(): void | Promise<void> {}

  /** Called after an alarm woke frozen Intents, with what became of each (sealed, refused or retried). */
  protected onWake(_outcomes: WakeOutcome[]): void | Promise<void> {}

  /**
   * Your reaction to a message's receipt (sealed, refused or undeliverable): return the next
   * Intent, or nothing. It runs synchronously inside the transaction that records the receipt
   * and removes the message, and what it returns is applied in that same sediment (it may
   * `$send` further). Branch here, on the receipt, never inside an Intent. A refused reaction
   * is a Precedent; the receipt is recorded all the same.
   */
  protected onReceipt(_receipt: Receipt): Intent | undefined {
    return undefined;
  }

  /**
   * Your reaction to the receipts of one delivery together (with immediate delivery, the due
   * messages one delivery took, up to `concurrency`: usually what one transaction sent), answered
   * together: defined, it is used instead of `onReceipt`, and the receipts and the
   * Intent it returns are recorded as one sediment (`origin.receipts`) instead of one each.
   * Called with one receipt where a message was answered alone. Should the Intent be refused (or
   * the hook throw), each receipt is recorded on its own, with this hook called for it alone.
   */
  protected onReceipts?(receipts: Receipt[]): Intent | undefined;

  /**
   * The lineage this instance runs, from `static law`. Override to run an older version of it
   * (in tests, `testWorld(…, { version })` of `@noema/cloudflare/testing` does that for you); it
   * runs in the constructor, where `this.ctx` is already set.
   */
  protected lawFor(lineage: Lineage): Lineage {
    return lineage;
  }

  /** Where archived segments are written: the R2 bucket of `static archive`. Override to wrap it (tests inject faults so). */
  protected archiveStore(bucket: R2Bucket): ObjectStorePort {
    return this.archiveFeature!.store(bucket);
  }

  /** Applies one Intent atomically and seals the result. Trusts nothing: the input is parsed again here. */
  sedimentation(intent: unknown): Seal {
    return this.sealed(this.sedimenter.sedimentation(intent));
  }

  /**
   * Receives a message from another Attractor (its delivery chore calls this): sedimented
   * under the message's key, so a redelivery applies nothing twice, with origin
   * `{ message: { from, sedimentId, step, messageId } }`. An Intent of an older law is
   * carried like any other (Flat, Curved and reforged, or Critical and refused).
   */
  receive(message: unknown): Seal {
    return this.sealed(this.sedimenter.features.messages.receive(message));
  }

  /** After a Seal from a request: open inspector pages learn the new head; the log may have grown enough for a background re-verification, or begun or filled an archive segment, which moves the alarm. */
  private sealed(seal: Seal): Seal {
    if (seal.success) this.announce();
    if ((seal.success && seal.sedimentId % FULL_VERIFY_EVERY === 0) || this.archiveLog?.moved(seal)) this.sharedAlarm.rearm();
    return seal;
  }

  /**
   * The `sql.exec()` sequence the Intent would run here next, and its Sieve; nothing runs.
   * It goes through the same checks as sedimentation (law, validation, Connection), so it
   * accepts exactly what would run, and explains an older Intent as carried to this law.
   */
  explain(intent: unknown): ExplainResult {
    return this.sedimenter.explain(intent);
  }

  /** Sediments after `after`, oldest first, read from the archive where they have left SQLite; `next` is the cursor of the next page. */
  async sediments(after = 0, limit = DEFAULT_PAGE): Promise<{ sediments: Sediment[]; next?: number }> {
    const from = Number.isInteger(after) ? after : 0;
    if (this.archiveLog) return this.archiveLog.sediments(from, pageSize(limit));
    // Archived once, then `static archive` removed: say so rather than skip history.
    const archived = this.sedimenter.log.anchor().sedimentId;
    if (from < archived) throw new Error(`sediments 1..${archived} are archived in R2: declare \`static archive = archive({ binding })\` of @noema/cloudflare/archive to read them`);
    return this.sedimenter.log.page(from, pageSize(limit));
  }

  /** Precedents after `after` (a precedentId), oldest first; `next` is the cursor of the next page when there is one. */
  async precedents(filter: { kind?: ReasonKind | undefined; nomosVersion?: number | undefined; after?: number | undefined; limit?: number | undefined } = {}): Promise<{ precedents: Precedent[]; next?: number }> {
    const { kind, nomosVersion, after } = filter;
    const limit = pageSize(filter.limit);
    if (this.archiveLog) {
      const query = { ...(kind === undefined ? {} : { kind }), ...(nomosVersion === undefined ? {} : { nomosVersion }), ...(after === undefined ? {} : { after }), limit };
      return this.archiveLog.precedents(query, (f) => this.sedimenter.log.precedents(f));
    }
    // One more than asked: a full page says whether anything is behind it.
    const rows = this.sedimenter.log.precedents({
      ...(kind === undefined ? {} : { kind }),
      ...(nomosVersion === undefined ? {} : { nomosVersion }),
      ...(after === undefined ? {} : { after }),
      limit: limit + 1,
    });
    const precedents = rows.slice(0, limit);
    return rows.length > limit ? { precedents, next: precedents[precedents.length - 1]!.precedentId } : { precedents };
  }

  /**
   * The full check of the held law's invariants, a page at a time (`next` is the cursor; a
   * scoped invariant is paged by its keys). Noema checks every Intent, so a finding means the
   * data was changed outside it: reported with its rows, never repaired.
   */
  audit(page: { after?: string | undefined; limit?: number | undefined } = {}): ParseResult<AuditPage> {
    return audit(this.host.db, this.vocabulary.nomos, { ...(page.after === undefined ? {} : { after: page.after }), ...(page.limit === undefined ? {} : { limit: page.limit }) });
  }

  nomos(): NomosReport {
    const { held, latest, error } = this.migration;
    return { held, latest, history: nomosHistory(this.host.db), ...(error ? { migrationError: error } : {}) };
  }

  // For the inspector (see inspection.ts): read-only and bounded.

  /** The tables of the law held, as declared. */
  tables(): TableInfo[] {
    return tablesOf(this.vocabulary.nomos);
  }

  /** A page of one table of the law held (any other name throws); `after` is the `next` of the page before. */
  rows(table: string, page: { after?: number; limit?: number } = {}): RowsPage {
    return rowsOf(this.vocabulary.nomos, this.query, table, page);
  }

  /** Up to `count` sediments evenly spaced over the whole log, oldest first: what a chart of its history plots. */
  sampleSediments(count: number): Sediment[] {
    return sampleOf(this.sedimenter.log, count);
  }

  /** A WebSocket upgrade subscribes to the log's head (hibernatable: an idle page keeps nothing awake); anything else is 404. */
  override fetch(request: Request): Response | Promise<Response> {
    if (new URL(request.url).pathname === SYNC_PATH) return this.sync.accept(request, (token, world) => this.authorize(token, world));
    if (request.headers.get("Upgrade") === null) return new Response("not found", { status: 404 });
    return this.livePages.accept(request, this.sedimenter.lastSedimentId);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    if (this.sync.owns(ws)) this.sync.message(ws, message);
  }

  override webSocketClose(ws: WebSocket): void {
    if (this.sync.owns(ws)) this.sync.closed();
    closeLive(ws);
  }

  /**
   * Decides what a sync token may do on this World: `{ subject, readOnly }` (a scoped table of
   * `static publication` shows the rows whose scope column equals `subject`), or undefined to
   * refuse it (close code 4401). The default refuses every token: override it to publish.
   */
  protected authorize(_token: string, _world: World): SyncGrant | undefined | Promise<SyncGrant | undefined> {
    return undefined;
  }

  /** After a commit: open inspector pages learn the new head. */
  private announce(): void {
    this.livePages.announce(this.sedimenter.lastSedimentId);
    this.sync.flush();
  }

  // The features' RPC methods (see FeatureRpc): each delegates in one line to its feature's module.

  /** Freezes an Intent from code, to wake at `at` (ms since the epoch) or after `delaySeconds`; a `key` makes it idempotent. */
  freeze(intent: unknown, when: FreezeWhen): FreezeResult {
    return this.rpc.cryostasis.freeze(intent, when);
  }

  /** Cancels a frozen Intent by id (inside an Intent, `$cancel` cancels one by key); false when there was none. */
  cancelFrozen(cryoId: number): boolean {
    return this.rpc.cryostasis.cancel(cryoId);
  }

  /** Pending frozen Intents in wake order; `after` is the last entry of the page before. */
  frozen(options: { limit?: number; after?: { wakeAt: number; cryoId: number } } = {}): FrozenEntry[] {
    return this.rpc.cryostasis.list(options);
  }

  /** Messages waiting for delivery, in the order they were sent; `next` is the cursor of the next page. */
  outbox(options: { after?: number; limit?: number } = {}): { messages: OutboxEntry[]; next?: number } {
    return this.rpc.messages.outbox(options);
  }

  /** Receipts of settled messages, in the order they were sent; `next` is the cursor of the next page. */
  receipts(options: { after?: number; limit?: number } = {}): { receipts: ReceiptEntry[]; next?: number } {
    return this.rpc.messages.receipts(options);
  }

  /**
   * Checks the chain after the last checkpoint up to the current head, in slices with a pause
   * between them (requests are served in between); with `static archive` also the archive, and
   * with `deep` every archived entry. See VerificationRpc.verify.
   */
  verify(options: { deep?: boolean } = {}): Promise<Verification & { archive?: ArchiveReport }> {
    return this.rpc.verification.verify(options);
  }

  /** Starts a full re-verification from the anchor now, run a slice per alarm run; `verify()` then reports what it finds. */
  reverify(): void {
    this.rpc.verification.reverify();
  }

  /** The background verification's checkpoint and latest pass, read from storage: cheap, unlike `verify()`. */
  chainStatus(): ChainStatus {
    return this.rpc.verification.status();
  }

  /** The newest sediments re-hashed and linked, without walking the whole chain as `verify()` does. */
  verifyTail(count?: number): TailCheck {
    return this.rpc.verification.tail(count);
  }

  /** The archived segments in order: their range, manifest and object key. Empty without `static archive`. */
  archiveSegments(): ArchivedSegment[] {
    return this.archiveLog?.segments() ?? [];
  }
}

/** Refuses a subclass that overrides `alarm()`: it would stop every frozen Intent unless it called `super.alarm()`. */
function assertAlarmNotOverridden(prototype: object, className: string): void {
  for (let p: object | null = prototype; p && p !== Attractor.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, "alarm")) {
      throw new AttractorDefinitionError(
        `${className} overrides alarm(), which wakes frozen Intents: override onAlarm() for your own alarm work (schedule() sets its time) and onWake() for wake outcomes`,
      );
    }
  }
}
