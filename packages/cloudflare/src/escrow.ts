import { buildIntent, columnsOf, type Intent, Lineage, type Receipt, type Seal, type WakeOutcome } from "@noema/core";
import { escrowLaw, escrowNomos, type EscrowVocabulary, MAX_SHARDS } from "@noema/core/escrow";
import { Attractor, AttractorDefinitionError, attractorName } from "./attractor.js";

/** How a hot product's shards are named: `<product>~<index>`. A product id never contains it. */
export const SHARD_SEPARATOR = "~";

/** The name of shard `index` of `product`: the World a shard Durable Object is addressed by. */
export const shardName = (product: string, index: number): string => `${product}${SHARD_SEPARATOR}${index}`;

/**
 * Which of `count` shards serves a request: the same one for the same `key` (stickiness: one
 * customer's reservations on one shard), a random one without.
 */
export function pickShard(count: number, key?: string): number {
  if (count <= 1) return 0;
  if (key === undefined) return Math.floor(Math.random() * count);
  // FNV-1a: cheap, stable across isolates, spreads short keys well.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/** `static shards` of an EscrowAttractor: at most `max` shards per product (1..MAX_SHARDS). */
export interface ShardOptions {
  max: number;
}

/** A World's share, as one read of it saw it. */
export interface ShareRead {
  world: string;
  /** Units it may hand out now. */
  available: number;
  /** Units held by its reservations. */
  held: number;
  /** Units sold on it (held, then committed): gone from the share for good. */
  sold: number;
  /** The head of its log when read. */
  sedimentId: number;
  /** The version of the escrow law it holds. */
  nomosVersion: number;
  /** When it was read (ms since the epoch). */
  readAt: number;
}

/** A shard as the coordinator's product read shows it. */
export interface ShardShare extends ShareRead {
  shard: number;
  /** Requests are routed to it. */
  active: boolean;
  /** The share the coordinator moved to it and saw land, less what came back. */
  granted: number;
}

/**
 * A hot product, summed over its Worlds. The shards are read one after the other, not at one
 * instant: the sum is exact when nothing moved between `freshness.from` and `freshness.to`.
 */
export interface HotProduct {
  product: string;
  /** The version of the escrow law the coordinator holds (each shard's is in `shards`). */
  nomosVersion: number;
  /** Every unit of the product, whichever World holds it. */
  total: number;
  /** Units no shard holds: the coordinator's. */
  unassigned: number;
  /** Units on their way between Worlds, landed nowhere yet: they belong to nobody. */
  inFlight: number;
  /**
   * Moves whose message was undeliverable (its attempts ran out): still in flight, since each may
   * or may not have landed, until `settle(moveId)` finds out and seals the outcome.
   */
  undeliverable: StuckMove[];
  /** Units that may still be reserved: unassigned plus every shard's available share. */
  available: number;
  /** Units held by reservations, over every shard. */
  held: number;
  /** Units sold, over every shard. */
  sold: number;
  /**
   * A borrow found no share in any World, and none has returned since (a restock, a release or an
   * expiry on a shard): refusals ask no shard until then. Trusted for a few seconds at most.
   */
  soldOut: boolean;
  shards: ShardShare[];
  /** When the first and the last World were read, and the spread between them. */
  freshness: { from: number; to: number; spreadMs: number };
}

/** A move of share whose message was undeliverable: it waits for `settle`. */
export interface StuckMove {
  moveId: string;
  from: string;
  to: string;
  amount: number;
}

/**
 * What `settle` did with a move whose message was undeliverable: it had landed after all (its
 * landing is recorded on its sender now), or it never will (its receiver voided it, so a late
 * delivery is refused) and its share is its sender's again, exactly once. `unsettled` when it was
 * not a move to settle (not in flight, or still being delivered) or the receiver could not be asked.
 */
export type Settlement = { moveId: string; world: string; outcome: "landed" | "returned"; seal: Seal } | { moveId: string; outcome: "unsettled" | "unknown"; reason: string };

/** What a reservation on a hot product answers: the shard that holds it, and its Seal (a refusal is a Precedent there). */
export interface HotReservation {
  shard: string;
  seal: Seal;
}

/** The law one World of a hot product holds, as `laws()` reports it. */
export interface WorldLaw {
  world: string;
  /** The version it holds. */
  held: number;
  /** The newest version its code declares: `held` differs only while a migration fails. */
  latest: number;
  /** Why its last migration failed; it is retried on the World's next wake. */
  migrationError?: string;
}

/** The RPC surface one EscrowAttractor calls on another. */
interface EscrowPeer {
  lend(request: { shard: string; want: number }): Promise<number>;
  surrender(request: { why: "borrow" | "rebalance" | "merge"; all: boolean }): Promise<number>;
  share(inFlight: string[]): Promise<ShareRead & { landed: string[]; sending: { moveId: string; amount: number }[]; undeliverable: StuckMove[] }>;
  voidLanding(request: { moveId: string; from: string }): Promise<number>;
  settle(moveId: string): Promise<Settlement>;
  countedSoldOut(): Promise<number>;
  shareReturned(): Promise<void>;
  nomos(): Promise<{ held: { version: number }; latest: { version: number }; migrationError?: { message: string } }>;
}

const QUANTITY = columnsOf(escrowNomos, "quantity", "total", "available", "held", "sold");
const SHARD = columnsOf(escrowNomos, "shards", "shard", "name", "granted", "active");
const MOVE = columnsOf(escrowNomos, "moves", "move_id", "to_world", "amount");
const MOVE_STATUS = columnsOf(escrowNomos, "moves", "move_id", "to_world", "amount", "status");
const MOVE_KEY = "move:";
/** Times a short shard asks for share for one reservation before it refuses. */
const BORROW_ATTEMPTS = 3;
/** Rounds of give-backs one borrow asks of the siblings while share is still found elsewhere. */
const LEND_ROUNDS = 4;
/** How long a move's sender waits for it to land before it answers; after that it lands later, by the alarm. */
const LANDING_WAIT_MS = 2000;
const LANDING_POLL_MS = 5;
/** Where a shard counted in a sell-out keeps that it was (its storage): share returning to it then tells the coordinator. */
const SOLD_OUT_KEY = "noema:escrow:countedSoldOut";
/** How long a coordinator trusts a sell-out without asking again: what a lost notice of returned share can cost at most. */
const SOLD_OUT_TRUST_MS = 5_000;

/** The step builder of an escrow Intent. */
type Steps = Parameters<Parameters<typeof buildIntent<EscrowVocabulary["operations"]>>[1]>[0];

/** The static side of an EscrowAttractor subclass. */
interface EscrowStatics {
  readonly name: string;
  readonly law: Lineage;
  binding?: string;
  shards?: ShardOptions;
}

/**
 * A hot product split across shard Durable Objects (escrow): one class serves both roles. The
 * World named `<product>` is the coordinator: it holds the total, the unassigned share, the
 * shares it gave and their history (`split`, `rebalance`, `stock`). The Worlds named
 * `<product>~<i>` are shards: each serves `reserve` and `release` from its own share alone, in
 * one local transaction, with its own Seals and chained log. Share moves as an exactly-once
 * message; in flight it belongs to nobody. A shard that runs out borrows (from the coordinator's
 * unassigned share, which takes half of each sibling's when it has too little), and only then
 * refuses, with a Precedent saying "no stock left in any shard".
 *
 *     export class HotAttractor extends EscrowAttractor<Env> {
 *       static binding = "HOT_ATTRACTOR"; // this class's own Durable Object binding
 *       static shards = { max: 16 };
 *     }
 */
export abstract class EscrowAttractor<Env = unknown> extends Attractor<Env, EscrowVocabulary> {
  /**
   * Every World of a hot product runs the escrow law. A subclass may evolve it
   * (`static law = escrowLaw.evolve(v3, …)`): each version keeps the escrow operations and their
   * arguments, and may change their SQL, add tables, columns, rules and operations. Every World
   * migrates on its next wake (a request, a delivery, a frozen release's alarm, or `laws()`).
   */
  static law: Lineage = escrowLaw;
  /** The moves are messages to Worlds of this same class, through its binding, under its own law. */
  static get sends(): Record<string, Lineage> {
    const { binding, law } = this as unknown as EscrowStatics;
    return binding === undefined ? {} : { [binding]: law };
  }

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const statics = new.target as unknown as EscrowStatics;
    const name = attractorName(statics);
    if (!statics.binding) throw new AttractorDefinitionError(`${name} names no binding: add \`static binding = "…"\`, its own Durable Object binding, which its moves of share are sent through`);
    const ops = statics.law instanceof Lineage ? statics.law.latest.operations : {};
    const missing = Object.keys(escrowLaw.latest.operations).filter((op) => !Object.hasOwn(ops, op));
    if (missing.length > 0) throw new AttractorDefinitionError(`${name}: static law must be escrowLaw or a lineage evolved from it, which keeps the escrow operations (missing: ${missing.join(", ")})`);
    const max = statics.shards?.max ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > MAX_SHARDS) throw new AttractorDefinitionError(`${name}: static shards.max must be an integer from 1 to ${MAX_SHARDS}, got ${String(max)}`);
  }

  /** On the coordinator: when a borrow last found the product sold out, every shard agreeing; undefined once share returned. In memory only: a restarted coordinator asks again. */
  private soldOutAt: number | undefined;
  /** On the coordinator: notices of returned share (and restocks) so far; a sell-out seen across one of them is not trusted. */
  private returns = 0;

  private get statics(): EscrowStatics & { binding: string } {
    return this.constructor as unknown as EscrowStatics & { binding: string };
  }

  /** Most shards this class splits a product into (`static shards.max`). */
  maxShards(): number {
    return this.statics.shards?.max ?? 1;
  }

  private get isShard(): boolean {
    return this.world.name.includes(SHARD_SEPARATOR);
  }

  private get product(): string {
    const name = this.world.name;
    const at = name.indexOf(SHARD_SEPARATOR);
    return at < 0 ? name : name.slice(0, at);
  }

  private peer(name: string): EscrowPeer {
    const namespace = (this.env as Record<string, DurableObjectNamespace>)[this.statics.binding]!;
    return namespace.getByName(name) as unknown as EscrowPeer;
  }

  private assertRole(shard: boolean, what: string): void {
    if (this.isShard !== shard) throw new Error(`${what} runs on ${shard ? "a shard (<product>~<i>)" : "the product's coordinator"}, not on ${this.world.name}`);
  }

  /**
   * Delivers this World's due messages now instead of waiting for its alarm, until the moves
   * `moveIds` have landed (their receipts are recorded) or `LANDING_WAIT_MS` has passed: an alarm
   * run that took a message first delivers it meanwhile. A move not landed by then lands later.
   */
  private async land(moveIds: readonly string[]): Promise<void> {
    const deadline = Date.now() + LANDING_WAIT_MS;
    const pending = () => moveIds.filter((id) => this.query("SELECT 1 FROM moves WHERE move_id = ? AND status = 'in_flight'", id).length > 0).length;
    while (pending() > 0 && Date.now() < deadline) {
      await this.alarm();
      if (pending() > 0) await new Promise((r) => setTimeout(r, LANDING_POLL_MS));
    }
  }

  private quantity(): { total: number; available: number; held: number; sold: number } {
    return this.query(QUANTITY, "FROM quantity")[0] ?? { total: 0, available: 0, held: 0, sold: 0 };
  }

  /** One Intent moving `amount` of this World's share to `to`: taken here, landed there by the message, once. */
  private moveIntent(s: Steps, to: string, amount: number, why: "split" | "borrow" | "rebalance" | "merge"): string {
    const moveId = crypto.randomUUID();
    s.grant({ moveId, to, amount, why });
    const land = buildIntent(this.vocabulary, (t) => void t.landShare({ moveId, from: this.world.name, amount }));
    s.$send({ to: { attractor: this.statics.binding, name: to }, key: `${MOVE_KEY}${moveId}` }, land);
    return moveId;
  }

  /** Seals one of this World's own Intents; a refusal here is a bug, thrown with its reason. */
  private apply(intent: Intent): Seal {
    const seal = this.sedimentation(intent);
    if (!seal.success) throw new Error(`escrow Intent refused on ${this.world.name}: ${seal.reason.message}`);
    return seal;
  }

  // The coordinator's methods.

  /** Adds units to the product's total (on the coordinator); they stay unassigned until a split, a rebalance or a borrow. */
  stock(quantity: number): Seal {
    this.assertRole(false, "stock");
    const seal = this.sedimentation(buildIntent(this.vocabulary, (s) => void s.stock({ quantity })));
    if (seal.success) this.shareReturned();
    return seal;
  }

  /**
   * Splits the product across `count` shards (1..`static shards.max`; 1 merges it back), sealed
   * as one Intent on the coordinator: the new set of shards, and the unassigned share moved to
   * them evenly. Shards left out give their available share back (their holds stay with them,
   * released there).
   */
  async split(count: number): Promise<{ seal: Seal; shards: string[] }> {
    this.assertRole(false, "split");
    if (!Number.isInteger(count) || count < 1 || count > this.maxShards()) throw new RangeError(`shards must be an integer from 1 to ${this.maxShards()}, got ${count}`);
    const before = this.query(SHARD, "FROM shards WHERE active = 1 ORDER BY shard").map((r) => r.name);
    const names = Array.from({ length: count }, (_, i) => shardName(this.product, i));
    let moves: string[] = [];
    const seal = this.apply(
      buildIntent(this.vocabulary, (s) => {
        s.split({ names });
        moves = this.spread(s, names, count < before.length ? "merge" : "split");
      }),
    );
    await this.land(moves);
    await Promise.all(before.filter((n) => !names.includes(n)).map((n) => this.peer(n).surrender({ why: "merge", all: true })));
    return { seal, shards: names };
  }

  /** Grants the unassigned share evenly to `names`, in the Intent being built. */
  private spread(s: Steps, names: readonly string[], why: "split" | "rebalance" | "merge"): string[] {
    const pool = this.quantity().available;
    return names.flatMap((name, i) => {
      const amount = Math.floor(pool / names.length) + (i < pool % names.length ? 1 : 0);
      return amount > 0 ? [this.moveIntent(s, name, amount, why)] : [];
    });
  }

  /**
   * Takes every active shard's available share back and spreads it, with the unassigned share,
   * evenly again: sealed on the coordinator, each shard's give-back on its own log.
   */
  async rebalance(): Promise<Seal | undefined> {
    this.assertRole(false, "rebalance");
    const names = this.activeShards();
    await Promise.all(names.map((n) => this.peer(n).surrender({ why: "rebalance", all: true })));
    if (names.length === 0 || this.quantity().available === 0) return undefined;
    let moves: string[] = [];
    const seal = this.apply(buildIntent(this.vocabulary, (s) => void (moves = this.spread(s, names, "rebalance"))));
    await this.land(moves);
    return seal;
  }

  /**
   * The law each World of the product holds, the coordinator first. Asking wakes every shard, so
   * after a deployment that evolves the law each one migrates now, not on its next request or
   * alarm (a shard that is not woken still migrates before its frozen releases run).
   */
  async laws(): Promise<WorldLaw[]> {
    this.assertRole(false, "laws");
    const names = this.query(SHARD, "FROM shards ORDER BY shard").map((r) => r.name);
    const reports = await Promise.all([this.nomos(), ...names.map((n) => this.peer(n).nomos())]);
    return reports.map((r, i) => ({ world: i === 0 ? this.world.name : names[i - 1]!, held: r.held.version, latest: r.latest.version, ...(r.migrationError ? { migrationError: r.migrationError.message } : {}) }));
  }

  /** The shards requests are routed to, in order: what the HTTP layer picks from. */
  activeShards(): string[] {
    return this.query(SHARD, "FROM shards WHERE active = 1 ORDER BY shard").map((r) => r.name);
  }

  /**
   * A shard ran out: moves it at least `want` units when there are, more when the unassigned
   * share allows (so it does not come back for every unit). With too little unassigned, each
   * sibling first gives back half of its available share (rounded up), again while a product read
   * still finds share elsewhere (a few rounds). Answers the units sent (0: none left anywhere);
   * they land on the shard before this answers, unless the delivery failed.
   */
  async lend(request: { shard: string; want: number }): Promise<number> {
    this.assertRole(false, "lend");
    const { shard, want } = request;
    // Only a shard the coordinator split into: its product read sums exactly those.
    if (this.query("SELECT 1 FROM shards WHERE name = ?", shard).length === 0) return 0;
    // Sold out a moment ago, every shard agreeing, and nothing returned since: refuse without asking them all again.
    if (this.soldOutAt !== undefined && Date.now() - this.soldOutAt < SOLD_OUT_TRUST_MS && this.quantity().available === 0) return 0;
    const returns = this.returns;
    let nowhere = false;
    const siblings = this.query(SHARD, "FROM shards WHERE name != ? ORDER BY shard", shard).map((r) => r.name);
    for (let round = 0; round < LEND_ROUNDS && this.quantity().available < want; round++) {
      await Promise.all(siblings.map((n) => this.peer(n).surrender({ why: "borrow", all: false }).catch(() => 0)));
      if (this.quantity().available >= want) break;
      // Concurrent borrows move share around: there is none left only when no other World holds any, nor has any on its way.
      const product = await this.read();
      const elsewhere = product.unassigned + product.inFlight + product.shards.reduce((n, x) => n + (x.world === shard ? 0 : x.available), 0);
      nowhere = elsewhere === 0;
      if (nowhere) break;
    }
    const pool = this.quantity().available;
    const active = Math.max(this.activeShards().length, 1);
    const amount = Math.min(pool, Math.max(want, Math.ceil(pool / (2 * active))));
    if (amount <= 0) {
      if (nowhere) await this.markSoldOut(returns);
      return 0;
    }
    let move = "";
    this.apply(buildIntent(this.vocabulary, (s) => void (move = this.moveIntent(s, shard, amount, "borrow"))));
    await this.land([move]);
    return amount;
  }

  /**
   * A borrow found no share anywhere: every shard is counted in the sell-out (from then on, share
   * returning to it tells the coordinator) and answers its share. Only when all have none, and no
   * share returned meanwhile, are refusals answered without asking (`soldOut`).
   */
  private async markSoldOut(returns: number): Promise<void> {
    const names = this.query(SHARD, "FROM shards ORDER BY shard").map((r) => r.name);
    const shares = await Promise.all(names.map((n) => this.peer(n).countedSoldOut().catch(() => -1)));
    if (shares.every((n) => n === 0) && this.returns === returns && this.quantity().available === 0) this.soldOutAt = Date.now();
  }

  /** Share came back somewhere (a restock here, a release or an expiry on a shard counted in the sell-out): the next borrow asks again. */
  shareReturned(): void {
    this.assertRole(false, "shareReturned");
    this.returns++;
    this.soldOutAt = undefined;
  }

  private get soldOut(): boolean {
    return this.soldOutAt !== undefined && Date.now() - this.soldOutAt < SOLD_OUT_TRUST_MS;
  }

  /**
   * The product summed over its Worlds: the coordinator's total and unassigned share, every
   * shard's share, and what is in flight between them, with when each was read.
   */
  async read(): Promise<HotProduct> {
    this.assertRole(false, "read");
    const readAt = Date.now();
    const own = this.quantity();
    const shards = this.query(SHARD, "FROM shards ORDER BY shard");
    const sent = this.query(MOVE, "FROM moves WHERE status = 'in_flight'");
    const reads = await Promise.all(shards.map((r) => this.peer(r.name).share(sent.filter((m) => m.to_world === r.name).map((m) => m.move_id))));
    const landedThere = new Set(reads.flatMap((r) => r.landed));
    const undeliverable = [...this.undeliverable(), ...reads.flatMap((r) => r.undeliverable)];
    let inFlight = sent.filter((m) => !landedThere.has(m.move_id)).reduce((n, m) => n + m.amount, 0);
    // Share a shard sent back and that has not landed here yet.
    for (const r of reads) for (const m of r.sending) if (!this.hasLanded(m.moveId)) inFlight += m.amount;
    const times = [readAt, ...reads.map((r) => r.readAt)];
    const from = Math.min(...times);
    const to = Math.max(...times);
    return {
      product: this.product,
      nomosVersion: this.world.nomosVersion,
      total: own.total,
      unassigned: own.available,
      inFlight,
      undeliverable,
      available: own.available + reads.reduce((n, r) => n + r.available, 0),
      held: reads.reduce((n, r) => n + r.held, 0),
      sold: reads.reduce((n, r) => n + r.sold, 0),
      shards: reads.map(({ world, available, held, sold, sedimentId, nomosVersion, readAt }, i) => ({ world, available, held, sold, sedimentId, nomosVersion, readAt, shard: shards[i]!.shard, active: shards[i]!.active === 1, granted: shards[i]!.granted })),
      soldOut: this.soldOut,
      freshness: { from, to, spreadMs: to - from },
    };
  }

  // The shards' methods.

  /**
   * Holds `quantity` units for `reservationId` from this shard's share, released by itself after
   * `ttlSeconds` when given (a frozen release, keyed by the reservation id). When the share is
   * short, it borrows first; a refusal (a Precedent here) then means no shard had the units.
   * Under an `idempotencyKey`, a repeated request is answered with the first one's Seal.
   */
  async reserve(request: { reservationId: string; quantity: number; ttlSeconds?: number; idempotencyKey?: string }): Promise<HotReservation> {
    this.assertRole(true, "reserve");
    // What landed may be taken by this shard's other requests before this one runs again: ask again, a few times.
    for (let attempt = 0; attempt < BORROW_ATTEMPTS; attempt++) {
      const short = request.quantity - this.quantity().available;
      if (short <= 0) break;
      try {
        if ((await this.peer(this.product).lend({ shard: this.world.name, want: short })) === 0) break;
      } catch (error) {
        // The coordinator is unreachable: this shard serves from what it has.
        console.error(`noema: ${this.world.name} could not borrow:`, error);
        break;
      }
    }
    const { reservationId, quantity, ttlSeconds, idempotencyKey } = request;
    const intent = buildIntent(this.vocabulary, (s) => {
      s.reserve({ reservationId, quantity });
      if (ttlSeconds !== undefined) s.$freeze({ at: Date.now() + ttlSeconds * 1000, key: reservationId }, (frozen) => void frozen.release({ reservationId }));
    });
    // Under its key, a repeated request gets the Seal of the first: one hold, however often it is sent.
    const seal = this.sedimentation(idempotencyKey === undefined ? intent : { ...intent, idempotencyKey });
    return { shard: this.world.name, seal };
  }

  /** Releases a reservation held on this shard: its units return to this shard's share (and its frozen release is cancelled). */
  async release(reservationId: string): Promise<Seal> {
    const seal = this.close("release", reservationId);
    if (seal.success) await this.tellShareReturned();
    return seal;
  }

  /**
   * Counts this shard in the product's sell-out (kept in its storage, so a restart still knows):
   * share returning here from now on tells the coordinator. Answers its available share.
   */
  countedSoldOut(): number {
    this.assertRole(true, "countedSoldOut");
    this.ctx.storage.kv.put(SOLD_OUT_KEY, crypto.randomUUID());
    return this.quantity().available;
  }

  /** Tells the coordinator that share came back here, when this shard was counted in a sell-out. */
  private async tellShareReturned(): Promise<void> {
    const mark = this.ctx.storage.kv.get<string>(SOLD_OUT_KEY);
    if (mark === undefined) return;
    try {
      await this.peer(this.product).shareReturned();
      // Unless a newer sell-out counted this shard meanwhile.
      if (this.ctx.storage.kv.get<string>(SOLD_OUT_KEY) === mark) this.ctx.storage.kv.delete(SOLD_OUT_KEY);
    } catch (error) {
      // Kept: the next release tells it again, and the coordinator trusts its sell-out a few seconds at most.
      console.error(`noema: ${this.world.name} could not tell ${this.product} that share returned:`, error);
    }
  }

  /** Frozen releases that woke returned their units: the coordinator hears of it as of a release. Call `super.onWake` when overriding. */
  protected override async onWake(outcomes: WakeOutcome[]): Promise<void> {
    if (this.isShard && outcomes.some((o) => o.outcome === "sealed")) await this.tellShareReturned();
  }

  /** Commits a reservation held on this shard: its units are sold (and its frozen release is cancelled). */
  sell(reservationId: string): Seal {
    return this.close("sell", reservationId);
  }

  /** Ends a hold by `op`, and cancels its frozen release in the same Intent. */
  private close(op: "release" | "sell", reservationId: string): Seal {
    this.assertRole(true, op);
    return this.sedimentation(
      buildIntent(this.vocabulary, (s) => {
        s[op]({ reservationId });
        s.$cancel({ key: reservationId });
      }),
    );
  }

  /** Gives this shard's available share back to the coordinator (all of it, or half): sealed here, landed there once. Answers the units sent. */
  async surrender(request: { why: "borrow" | "rebalance" | "merge"; all: boolean }): Promise<number> {
    this.assertRole(true, "surrender");
    const available = this.quantity().available;
    const amount = request.all ? available : Math.ceil(available / 2);
    if (amount <= 0) return 0;
    let move = "";
    this.apply(buildIntent(this.vocabulary, (s) => void (move = this.moveIntent(s, this.product, amount, request.why))));
    await this.land([move]);
    return amount;
  }

  /** This World's share now, which of `moves` (sent to it) have landed, and the share it sent that has no receipt yet. */
  share(moves: string[] = []): ShareRead & { landed: string[]; sending: { moveId: string; amount: number }[]; undeliverable: StuckMove[] } {
    const { available, held, sold } = this.quantity();
    const landed = moves.filter((m) => this.hasLanded(m));
    const sending = this.query(MOVE, "FROM moves WHERE status = 'in_flight'").map((m) => ({ moveId: m.move_id, amount: m.amount }));
    const sedimentId = this.query<{ n: number | null }>("SELECT MAX(sediment_id) AS n FROM _noema_sediment")[0]?.n ?? 0;
    return { world: this.world.name, available, held, sold, sedimentId, nomosVersion: this.world.nomosVersion, readAt: Date.now(), landed, sending, undeliverable: this.undeliverable() };
  }

  /** A move landed here with its units (a voided one is recorded with none). */
  private hasLanded(moveId: string): boolean {
    return this.query("SELECT 1 FROM landed WHERE move_id = ? AND amount > 0", moveId).length > 0;
  }

  /** The moves this World sent whose message was undeliverable and that nobody settled yet. */
  private undeliverable(): StuckMove[] {
    return this.query(MOVE, "FROM moves WHERE status = 'in_flight' AND EXISTS (SELECT 1 FROM _noema_receipt WHERE msg_key = ? || move_id AND outcome = 'undeliverable')", MOVE_KEY).map((m) => ({ moveId: m.move_id, from: this.world.name, to: m.to_world, amount: m.amount }));
  }

  /**
   * Settles a move whose message was undeliverable, on the World that sent it (asked on the
   * coordinator, a shard's move is found on the shard). Its receiver first records it as landed
   * with nothing unless it landed already (`voidLanding`: from then on a late delivery is refused);
   * then the sender seals the outcome, `moveLanded` or `moveReturned` (the share is its own
   * again), which only a move still in flight accepts: exactly once, however often it is asked.
   */
  async settle(moveId: string): Promise<Settlement> {
    const move = this.query(MOVE_STATUS, "FROM moves WHERE move_id = ?", moveId)[0];
    if (!move) {
      if (!this.isShard) {
        for (const name of this.query(SHARD, "FROM shards ORDER BY shard").map((r) => r.name)) {
          const there = await this.peer(name).settle(moveId);
          if (there.outcome !== "unknown") return there;
        }
      }
      return { moveId, outcome: "unknown", reason: `no World of ${this.product} sent move ${moveId}` };
    }
    const unsettled = (reason: string): Settlement => ({ moveId, outcome: "unsettled", reason });
    if (move.status !== "in_flight") return unsettled(`move ${moveId} is settled already: ${move.status}`);
    if (!this.undeliverable().some((m) => m.moveId === moveId)) return unsettled(`move ${moveId} is still being delivered: its receipt settles it`);
    let landed: number;
    try {
      landed = await this.peer(move.to_world).voidLanding({ moveId, from: this.world.name });
    } catch (error) {
      return unsettled(`${move.to_world} could not be asked whether move ${moveId} landed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const seal = this.sedimentation(buildIntent(this.vocabulary, (s) => void (landed > 0 ? s.moveLanded({ moveId }) : s.moveReturned({ moveId }))));
    if (!seal.success) return unsettled(seal.reason.message);
    if (landed === 0 && this.isShard) await this.tellShareReturned();
    return { moveId, world: this.world.name, outcome: landed > 0 ? "landed" : "returned", seal };
  }

  /** The receiver's half of `settle`: answers the units move `moveId` landed here with, after voiding it when it had not (0). */
  voidLanding(request: { moveId: string; from: string }): number {
    const seal = this.sedimentation(buildIntent(this.vocabulary, (s) => void s.voidLanding(request)));
    if (!seal.success) throw new Error(`${this.world.name} refused to settle move ${request.moveId}: ${seal.reason.message}`);
    return (seal.outputs[0] as { landed: number }).landed;
  }

  /**
   * A move's receipt, recorded on its sender: landed, or refused (it never applied, so the share
   * comes back here). An undeliverable move may or may not have landed: it stays in flight, shown
   * by `read()` as `undeliverable`, for a person to `settle`.
   */
  protected override onReceipt(receipt: Receipt): Intent | undefined {
    if (!receipt.key.startsWith(MOVE_KEY) || receipt.outcome === "undeliverable") return undefined;
    const moveId = receipt.key.slice(MOVE_KEY.length);
    return buildIntent(this.vocabulary, (s) => void (receipt.outcome === "sealed" ? s.moveLanded({ moveId }) : s.moveReturned({ moveId })));
  }
}
