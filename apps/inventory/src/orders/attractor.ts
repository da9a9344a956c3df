import { Attractor } from "@noema/cloudflare";
import { buildIntent, columnsOf, DEFAULT_LIMITS, type Intent, type IntentLimits, type Lineage, type Receipt, type WakeOutcome } from "@noema/core";
import { inventoryLaw } from "../law.js";
import type { Env } from "../env.js";
import { lineMessage } from "./messages.js";
import { orderNomos } from "./nomos.js";
import { type Decision, type LineStep, type LineView, onCommit, onLineReceipt, onRelease, onReleasing, type OrderView, type Plan, parseMessageKey, planned } from "./protocol.js";
import { isFinal, type LineStatus, type OrderStatus } from "./status.js";
import { COMMIT_MARGIN_SECONDS, lineReservationId, MAX_NOTE, MAX_ORDER_LINES, type OrderLine, OrderTtl, orders, type OrderVocabulary, parseLineReservationId } from "./vocabulary.js";

/** What an order's Intent is built with. */
type OrderSteps = Parameters<Parameters<typeof buildIntent<OrderVocabulary["operations"]>>[1]>[0];

/** The key of an order's own frozen expiry. */
const expiryKey = (orderId: string) => `order-expiry:${orderId}`;
const MARGIN_MS = COMMIT_MARGIN_SECONDS * 1000;
/** The longest a reservation may be held (the reserve op's own bound). */
const MAX_HOLD_SECONDS = OrderTtl.unwrap().maxValue ?? 86_400;

/** An order as the API shows it. */
export interface OrderJson {
  id: string;
  status: OrderStatus;
  lines: { productId: string; locationId: string; quantity: number; status: LineStatus; reservationId: string; holdExpiresAt?: number; reason?: string }[];
  createdAt: number;
  expiresAt: number;
  /** Set when something went outside the guarantee's assumptions: never silent. */
  problem?: string;
  history: { status: OrderStatus; at: number; note?: string }[];
}

/** What an order RPC answers: the order, or why not, as the HTTP status it maps to. */
export type OrderResult = { ok: true; order: OrderJson; created?: boolean } | { ok: false; status: 404 | 409; code: string; message: string };

/** The order as the coordinator reads it. */
interface OrderState extends OrderView {
  id: string;
  releasesSent: boolean;
  ttlSeconds: number;
  createdAt: number;
  problem?: string;
  lines: (LineView & { reason?: string })[];
  history: OrderJson["history"];
}

/** The order as the API shows it. */
function present(o: OrderState): OrderJson {
  return {
    id: o.id,
    status: o.status,
    lines: o.lines.map((l) => ({
      productId: l.productId,
      locationId: l.locationId,
      quantity: l.quantity,
      status: l.status,
      reservationId: l.reservationId,
      ...(l.holdExpiresAt === null ? {} : { holdExpiresAt: l.holdExpiresAt }),
      ...(l.reason === undefined ? {} : { reason: l.reason }),
    })),
    createdAt: o.createdAt,
    expiresAt: o.expiresAt,
    ...(o.problem === undefined ? {} : { problem: o.problem }),
    history: o.history,
  };
}

export interface CreateOrder {
  orderId: string;
  lines: OrderLine[];
  ttlSeconds: number;
}

/** What `create` or `commit` waits for before answering, as `waitFor` would: one call instead of two. */
export interface OrderWait {
  statuses: readonly OrderStatus[];
  /** At most 30 s (default 10 s); the order is answered as it is then. */
  timeoutMs?: number;
}

const ORDER = columnsOf(orderNomos, "orders", "id", "status", "ttl_seconds", "created_at", "expires_at", "problem", "releases_sent_at");
const LINE = columnsOf(orderNomos, "order_lines", "line_index", "product_id", "location_id", "quantity", "status", "reservation_id", "hold_expires_at", "reason");
const HISTORY = columnsOf(orderNomos, "order_history", "status", "note", "at");
const ORDER_ID = columnsOf(orderNomos, "orders", "id");
const ORDER_STATUS = columnsOf(orderNomos, "orders", "status");
/** The longest `waitFor` waits. */
export const MAX_WAIT_MS = 30_000;
/** How long `waitFor` waits when not told. */
const DEFAULT_WAIT_MS = 10_000;

/** A reason or note cut to what the order's law records. */
const fit = (text: string) => (text.length > MAX_NOTE ? `${text.slice(0, MAX_NOTE - 1)}…` : text);

const sameLines = (a: readonly OrderLine[], b: readonly OrderLine[]) =>
  a.length === b.length && a.every((l, i) => l.productId === b[i]!.productId && l.locationId === b[i]!.locationId && l.quantity === b[i]!.quantity);

/**
 * The orders of one shard (`orderStub`): each the coordinator of an all-or-nothing commitment over
 * the product Attractors of its lines, by messages. Every decision is one Intent that records it and sends what follows from
 * it; the receipts of one delivery are reacted to in the transaction that records them (`onReceipts`). The
 * protocol's branching is in protocol.ts.
 */
export class OrderAttractor extends Attractor.of(orders)<Env> {
  /** A 50-line order is one Intent: the order, its expiry, and a `$send` per line carrying a reserve and its frozen release. */
  static limits = { maxSteps: MAX_ORDER_LINES * 4 + 8, maxBytes: 256 * 1024 };
  /** The binding of the product Attractors the lines are held in. */
  static products = "INVENTORY_ATTRACTOR";
  /** Each binding `$send` may address, with its law: the carried Intents are checked against it. */
  static sends: Readonly<Record<string, Lineage>> = { INVENTORY_ATTRACTOR: inventoryLaw };
  /** Reserves, commits and releases go out as soon as the decision sending them commits, not at the next alarm. */
  static delivery = { immediate: true };

  /** Callers of `waitFor` by order, woken after each receipt and decision about that order. */
  private readonly waiting = new Map<string, Set<() => void>>();

  private get products(): string {
    return (this.constructor as typeof OrderAttractor).products;
  }

  /**
   * Creates the order (reserving every line), or returns it when it exists with the same lines.
   * With `wait`, answers once the order reaches one of `wait.statuses` (or a final one), as
   * `waitFor` would: a client waiting for `reserved` needs one call, not two.
   */
  async create(input: CreateOrder, wait?: OrderWait): Promise<OrderResult> {
    return this.waited(this.makeOrder(input), wait);
  }

  private makeOrder(input: CreateOrder): OrderResult {
    const existing = this.current(input.orderId);
    if (existing) {
      if (sameLines(existing.lines, input.lines)) return { ok: true, created: false, order: present(existing) };
      return { ok: false, status: 409, code: "conflict", message: `order ${input.orderId} exists with other lines` };
    }
    const holdTtl = Math.min(input.ttlSeconds + COMMIT_MARGIN_SECONDS, MAX_HOLD_SECONDS);
    const lines: LineView[] = input.lines.map((l, index) => ({ ...l, index, status: "pending", reservationId: lineReservationId(input.orderId, index), holdExpiresAt: null }));
    const intent = buildIntent(
      orders,
      (s) => {
        const order = s.createOrder(input);
        s.$freeze({ at: order.expiresAt, key: expiryKey(input.orderId) }, (frozen) => frozen.moveOrder({ orderId: input.orderId, to: "releasing", note: "expired" }));
        for (const line of lines) this.send(s, "reserve", input.orderId, line, holdTtl);
      },
      { limits: this.intentLimits },
    );
    this.apply(input.orderId, intent);
    return { ok: true, created: true, order: present(this.read(input.orderId)!) };
  }

  /** The order, or undefined when none was created here. */
  order(orderId: string): OrderJson | undefined {
    const order = this.current(orderId);
    return order && present(order);
  }

  /** The shard's newest orders (at most `limit`, up to 100, newest first) without their history, as the inspector lists them. */
  recent(limit = 20): OrderJson[] {
    const ids = this.query(ORDER_ID, "FROM orders ORDER BY created_at DESC, id LIMIT ?", Math.min(Math.max(limit, 1), 100));
    return ids.map(({ id }) => present(this.read(id, false)!));
  }

  /**
   * The order once its status is one of `statuses` (or any final one), else as it is after
   * `timeoutMs` (at most 30 s): a client waits for `reserved` or `committed` without polling.
   */
  async waitFor(orderId: string, statuses: readonly OrderStatus[], timeoutMs = DEFAULT_WAIT_MS): Promise<OrderJson | undefined> {
    const deadline = Date.now() + Math.min(Math.max(timeoutMs, 0), MAX_WAIT_MS);
    for (;;) {
      // The status alone is read on each pass (a `releasing` order also goes through `current`); the whole order once, when answering.
      const status = this.query(ORDER_STATUS, "FROM orders WHERE id = ?", orderId)[0]?.status;
      if (status === undefined || statuses.includes(status) || isFinal(status) || Date.now() >= deadline) return this.order(orderId);
      // A `releasing` order sends its releases from here too, should nothing else have (see `current`).
      if (status === "releasing") this.current(orderId);
      await new Promise<void>((resolve) => {
        const waiters = this.waiting.get(orderId) ?? new Set<() => void>();
        this.waiting.set(orderId, waiters);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          if (waiters.size === 0 && this.waiting.get(orderId) === waiters) this.waiting.delete(orderId);
          resolve();
        };
        const timer = setTimeout(done, deadline - Date.now());
        waiters.add(done);
      });
    }
  }

  /** A decision's answer, after waiting as asked when it succeeded. */
  private async waited(result: OrderResult, wait: OrderWait | undefined): Promise<OrderResult> {
    if (!wait || !result.ok) return result;
    const order = await this.waitFor(result.order.id, wait.statuses, wait.timeoutMs);
    return order ? { ...result, order } : result;
  }

  /**
   * Decides to commit (once every line is held) and sends the commits; repeating it changes
   * nothing. With `wait`, answers once the order reaches one of `wait.statuses`, as `create` does.
   */
  async commit(orderId: string, wait?: OrderWait): Promise<OrderResult> {
    return this.waited(this.commitOrder(orderId), wait);
  }

  private commitOrder(orderId: string): OrderResult {
    return this.decide(orderId, (order) => {
      const decision = onCommit(order, Date.now(), MARGIN_MS);
      if (!decision.ok && (order.status === "releasing" || order.status === "released") && this.expired(orderId)) return { ok: false, reason: "the order expired before it was committed" };
      return decision;
    });
  }

  /** Releases every hold (cancel); a committed order cannot be. */
  cancel(orderId: string): OrderResult {
    return this.decide(orderId, (order) => onRelease(order, "cancelled"));
  }

  /**
   * The receipts of one delivery (a decision's messages, answered together): recorded with what
   * they lead to as one sediment. Each receipt is decided on the order as the ones before it left
   * it, exactly as if each were recorded alone in turn.
   */
  protected override onReceipts(receipts: Receipt[]): Intent | undefined {
    const now = Date.now();
    // The protocol reads the order and its lines, never the history.
    const seen = new Map<string, OrderState | undefined>();
    const plans: [OrderState, Plan][] = [];
    for (const receipt of receipts) {
      const parsed = parseMessageKey(receipt.key);
      if (!parsed) continue;
      const { orderId, lineIndex } = parseLineReservationId(parsed.reservationId);
      const order = seen.has(orderId) ? seen.get(orderId) : this.read(orderId, false);
      seen.set(orderId, order);
      if (!order) continue;
      const seal = receipt.seal;
      const holdExpiresAt = seal?.success ? (seal.outputs[0] as { expiresAt?: number } | undefined)?.expiresAt : undefined;
      const reason = seal && !seal.success ? seal.reason.message : receipt.error;
      const plan = onLineReceipt(order, { kind: parsed.kind, lineIndex, outcome: receipt.outcome, ...(holdExpiresAt === undefined ? {} : { holdExpiresAt }), ...(reason === undefined ? {} : { reason }) }, now);
      if (!plan) continue;
      plans.push([order, plan]);
      seen.set(orderId, { ...order, ...planned(order, plan) });
    }
    // Woken once this transaction has committed.
    for (const [orderId, order] of seen) if (order && this.waiting.has(orderId)) queueMicrotask(() => this.wake(orderId));
    return plans.length === 0 ? undefined : this.intentOf(...plans);
  }

  /** Wakes the callers waiting on this order (only them: a shard holds many orders). */
  private wake(orderId: string): void {
    const waiters = this.waiting.get(orderId);
    if (waiters) for (const done of [...waiters]) done();
  }

  /** An expiry woke: release every line of each order it moved to `releasing`. */
  protected override onWake(_outcomes: WakeOutcome[]): void {
    for (const { id } of this.query(ORDER_ID, "FROM orders WHERE status = 'releasing' AND releases_sent_at IS NULL")) this.current(id);
  }

  /**
   * A `releasing` order sends a release for every line that may still hold stock. The expiry
   * moves it there from Cryostasis and the releases follow from `onWake`; should the object stop
   * between the two, its next call or wake sends them (the order records that it did).
   * Returns the order as it is then.
   */
  private current(orderId: string): OrderState | undefined {
    const order = this.read(orderId);
    const plan = order && onReleasing(order);
    if (!plan) return order;
    this.apply(orderId, this.intentOf([order, plan]));
    return this.read(orderId);
  }

  private decide(orderId: string, decision: (order: OrderState) => Decision): OrderResult {
    const order = this.current(orderId);
    if (!order) return { ok: false, status: 404, code: "not_found", message: `order ${orderId} does not exist` };
    const d = decision(order);
    if (!d.ok) return { ok: false, status: 409, code: "conflict", message: d.reason };
    if (d.plan) this.apply(orderId, this.intentOf([order, d.plan]));
    return { ok: true, order: present(this.read(orderId)!) };
  }

  private expired(orderId: string): boolean {
    return this.query("SELECT 1 FROM order_history WHERE order_id = ? AND status = 'releasing' AND note = 'expired'", orderId).length > 0;
  }

  private get intentLimits(): IntentLimits {
    return { ...DEFAULT_LIMITS, ...(this.constructor as typeof OrderAttractor).limits };
  }

  /** Plans as one Intent: each order's steps, then its messages, in turn. */
  private intentOf(...plans: [OrderState, Plan][]): Intent {
    return buildIntent(orders, (s) => plans.forEach(([order, plan]) => this.planSteps(s, order, plan)), { limits: this.intentLimits });
  }

  /** One plan's steps: the order's, then its messages. */
  private planSteps(s: OrderSteps, order: OrderState, plan: Plan): void {
    const holdTtl = Math.min(order.ttlSeconds + COMMIT_MARGIN_SECONDS, MAX_HOLD_SECONDS);
    const orderId = order.id;
    const line = plan.line;
    if (line) {
      const args = "reason" in line.args && line.args.reason !== undefined ? { ...line.args, reason: fit(line.args.reason) } : line.args;
      (s[line.op] as (args: LineStep["args"] & { orderId: string }) => unknown)({ orderId, ...args });
    }
    if (plan.decideCommit) s.decideCommit({ orderId });
    if (plan.move) s.moveOrder({ orderId, to: plan.move.to, ...(plan.move.note === undefined ? {} : { note: fit(plan.move.note) }) });
    if (plan.releasesSent) s.releasesSent({ orderId });
    if (plan.problem) s.recordProblem({ orderId, problem: fit(plan.problem) });
    if (plan.cancelExpiry) s.$cancel({ key: expiryKey(orderId) });
    for (const m of plan.send) this.send(s, m.kind, order.id, order.lines[m.lineIndex]!, holdTtl);
  }

  private send(s: OrderSteps, kind: Parameters<typeof lineMessage>[0], orderId: string, line: LineView, holdTtl: number): void {
    s.$send({ to: { attractor: this.products, name: line.productId }, key: `${kind}:${line.reservationId}` }, lineMessage(kind, orderId, line, holdTtl));
  }

  /** Sediments one of the coordinator's own Intents, built from its state: a refusal is a bug, thrown with its reason. */
  private apply(orderId: string, intent: Intent): void {
    const seal = this.sedimentation(intent);
    if (!seal.success) throw new Error(`order Intent refused: ${seal.reason.message}`);
    this.wake(orderId);
  }

  /** The order, with its history unless `history` is false (the protocol does not read it). */
  private read(orderId: string, history = true): OrderState | undefined {
    const row = this.query(ORDER, "FROM orders WHERE id = ?", orderId)[0];
    if (!row) return undefined;
    const lines = this.query(LINE, "FROM order_lines WHERE order_id = ? ORDER BY line_index", orderId).map((l) => ({
      index: l.line_index,
      productId: l.product_id,
      locationId: l.location_id,
      quantity: l.quantity,
      status: l.status,
      reservationId: l.reservation_id,
      holdExpiresAt: l.hold_expires_at,
      ...(l.reason === null ? {} : { reason: l.reason }),
    }));
    return {
      id: row.id,
      status: row.status,
      ttlSeconds: row.ttl_seconds,
      releasesSent: row.releases_sent_at !== null,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      ...(row.problem === null ? {} : { problem: row.problem }),
      lines,
      history: history
        ? this.query(HISTORY, "FROM order_history WHERE order_id = ? ORDER BY seq", orderId).map((h) => ({
            status: h.status,
            at: h.at,
            ...(h.note === null ? {} : { note: h.note }),
          }))
        : [],
    };
  }
}

