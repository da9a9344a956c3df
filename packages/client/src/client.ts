import type { Args, Intent, Lineage, Publication, Reason, Seal, Statement, Vocabulary, World } from "@noema/core";
import { balanceMarks, bindParams, carry, interpret, isBuiltinOp, movedBalance, type PredictionPlan, predictionPlan, Refusal } from "@noema/core/runtime";
import { type ClientFrame, type DiffFrame, joinDiff, joinSnapshot, parseServerFrame, type ServerFrame, type SnapshotFrame, SYNC_CLOSE, SYNC_ERROR, SYNC_PROTOCOL } from "@noema/core/sync";
import type { ReplicaDatabase } from "./database.js";
import { memoryQueue, type QueuedIntent, type SendQueue } from "./queue.js";
import { Replica } from "./replica.js";

/** The part of a WebSocket the client uses: the browser's, Node 22's and Workers' all fit. */
export interface SyncSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** What `NoemaClient.connect` takes: the sync URL and token, the law, the replica database and the send queue. */
export interface ClientOptions<L extends Vocabulary | Lineage> {
  /** The World's sync address, `wss://…/<name>/sync`: the route `@noema/cloudflare` mounts for the Attractor. */
  url: string;
  /** Sent as `?token=` (a browser cannot set headers on a WebSocket). */
  token?: string;
  /** The law this app was built with: the same one the server holds, or an older version of it. */
  law: L;
  /** Where the replica lives: `openNodeDatabase()` or `openBrowserDatabase()`. */
  database: ReplicaDatabase;
  /**
   * The Attractor's publication (`definePublication`), when the app imports it: a table it
   * scopes to the subscriber is never here whole, so what writes it or checks it is sent
   * pending. Without it the client trusts that what it sees of a fully visible table is all of it.
   */
  publication?: Publication;
  /**
   * The subject the server's `authorize` grants this client's token (for example a customer's
   * cart): a plain INSERT of a row whose scope column is it writes a row of the subscriber's
   * own, so it is applied at once even though the table is scoped.
   */
  subject?: string;
  /** Where sends wait for their Seal; default in memory. Use `sqliteQueue` or `indexedDbQueue` to keep them across reloads. */
  queue?: SendQueue;
  /** Opens the socket; default `new WebSocket(url)`. */
  socket?: (url: string) => SyncSocket;
  /** Milliseconds before the first reconnect, doubled up to `maxReconnectMs`; default 250. */
  reconnectMs?: number;
  /** Default 10,000. */
  maxReconnectMs?: number;
}

/** Where the client's connection stands. */
export type ClientStatus = "connecting" | "online" | "offline" | "closed";

/** What the client knows of its World; `behind` when the server holds a newer law (the app may say "reload to update"). */
export interface ClientState {
  status: ClientStatus;
  world: World | undefined;
  behind: boolean;
  readOnly: boolean;
  /** Sends waiting for their Seal. */
  pending: number;
  /** Why the server closed for good (a bad token, an unknown World), when it did. */
  error: SyncError | undefined;
}

/**
 * How a send will be shown before its Seal: `optimistic`, applied at once on the replica with
 * the law's own Interpretation; or `pending`, with no local effect, because its Sieve reaches
 * past what this client sees (`unseen` lists those elements), it runs a built-in step, or the
 * server holds a newer law. All of that is known before it runs, but one case: an Intent that
 * moves a balance over a table this client holds in part turns pending as it is applied (its
 * `why` begins "at run time").
 */
export type Prediction = { mode: "optimistic" } | { mode: "pending"; unseen: string[]; why: string };

/** A send on its way: its key, how it shows now, and its Seal (success, or refusal with its Precedent's reason). */
export interface Sent {
  key: string;
  prediction: Prediction;
  seal: Promise<Seal>;
}

/** An error frame or a close the server ended the connection with: `code` is the frame's code or the close code. */
export class SyncError extends Error {
  override name = "SyncError";
  constructor(
    readonly code: string | number,
    message: string,
    readonly path?: (string | number)[],
  ) {
    super(message);
  }
}

/** A query kept up to date: `rows` as of now, `subscribe` to hear of every change. */
export interface LiveQuery<R> {
  readonly rows: readonly R[];
  /** Calls `listener` with the new rows whenever they change; returns the unsubscribe. */
  subscribe(listener: (rows: readonly R[]) => void): () => void;
  /** Removes every listener. */
  close(): void;
}

/** A Seal or a local refusal, as `onSeal` hears of it. */
export interface Settled {
  key: string;
  intent: Intent;
  seal: Seal;
}

interface Pending {
  intent: QueuedIntent;
  prediction: Prediction;
  /** Its prediction plan, kept across rebases while the replica's generation (the tables it holds) stays the same. */
  plan?: { generation: number; value: PredictionPlan };
  /** The sediment the server sealed it as; it stays applied until that diff arrives. */
  sealedAs?: number;
  /** Sent on the current connection. */
  sent: boolean;
  /**
   * Sent before (on a lost connection, or before a reload) with no answer: its sediment may be among
   * the diffs a resumed connection brings before its Seal, so they are held until that Seal.
   */
  unanswered: boolean;
  resolve?: (seal: Seal) => void;
  reject?: (error: Error) => void;
}

/** Thrown inside the optimistic layer to roll an Intent back that only the server can check. */
class Unpredictable extends Error {
  constructor(readonly invariant: string) {
    super(`invariant ${invariant} moved`);
  }
}

/** How long a send answered `not_ready` waits before it is sent again. */
const NOT_READY_RETRY_MS = 100;

/** Close codes after which reconnecting cannot help. */
const FINAL = new Set<number>([SYNC_CLOSE.unauthorized, SYNC_CLOSE.forbidden, SYNC_CLOSE.unknownWorld, SYNC_CLOSE.tooLarge]);

function newKey(): string {
  return crypto.randomUUID();
}

/** Binds a query's values: its arguments, and the context holes as now, at the replica's head. */
function queryParams(statement: Statement<never, object>, args: object, sedimentId: number) {
  return bindParams(statement, args as Record<string, unknown>, { now: Date.now(), sedimentId, step: 0 });
}

/**
 * `arg`-style holes for a live query's values: `const p = params<{ id: string }>()`, then
 * `` sql`SELECT … WHERE id = ${p.id}` `` and `client.live(statement, { id })`.
 */
export function params<A extends object>(): Args<A> {
  return new Proxy({} as Args<A>, { get: (_, name) => (typeof name === "string" ? { kind: "arg", name } : undefined) });
}

/**
 * A live, optimistic, offline replica of one World: SQL reads over a local SQLite kept in
 * sync over the WebSocket of `@noema/core/sync`, and sends applied at once with the law's
 * own Interpretation, then rebased on the server's answer.
 */
export class NoemaClient<L extends Vocabulary | Lineage = Vocabulary> {
  /** The vocabulary the app holds: the law's latest. */
  readonly vocabulary: Vocabulary;
  private readonly replica: Replica;
  private readonly queue: SendQueue;
  private readonly pending: Pending[] = [];
  private socket: SyncSocket | undefined;
  private welcomed = false;
  private synced = false;
  /** The frames of a snapshot sent in several, held until its last one: the replica changes only once it is whole. */
  private snapshotParts: SnapshotFrame[] = [];
  /** The frames of a diff larger than one frame, until its last arrives. */
  private diffParts: DiffFrame[] = [];
  /** A snapshot and diffs received while an `unanswered` send awaits its Seal: applied with that Seal, so it never counts twice. */
  private held: (SnapshotFrame | DiffFrame)[] = [];
  private retryMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly sealListeners = new Set<(settled: Settled) => void>();
  /** Sends refused here at `connect` (Critical under this law): no listener could exist yet, so each new one hears them. */
  private readonly refusedAtConnect: Settled[] = [];
  private current: ClientState = { status: "connecting", world: undefined, behind: false, readOnly: false, pending: 0, error: undefined };

  private constructor(private readonly options: ClientOptions<L>) {
    const law = options.law as Vocabulary | Lineage;
    this.vocabulary = "operations" in law ? law : law.latest;
    const scoped = Object.values(options.publication?.tables ?? {}).flatMap((t) => (t.scope === undefined ? [] : [[t.name, t.scope] as const]));
    this.replica = new Replica(options.database, this.vocabulary.nomos, new Map(scoped));
    this.queue = options.queue ?? memoryQueue();
    this.retryMs = options.reconnectMs ?? 250;
  }

  /**
   * Opens the replica, loads the sends queued before a reload (each carried to this app's law:
   * Flat as is, Curved reforged, Critical refused here with its reason), applies them, and connects.
   */
  static async connect<L extends Vocabulary | Lineage>(options: ClientOptions<L>): Promise<NoemaClient<L>> {
    const client = new NoemaClient(options);
    for (const intent of await client.queue.load()) await client.restore(intent);
    client.rebase();
    client.changed();
    client.open();
    return client;
  }

  /** The connection, the World and what the server said of this client's law. */
  get state(): ClientState {
    return this.current;
  }

  /** Calls `listener` on every change of the replica or the state; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Calls `listener` with every Seal of this client's sends (after a reload too); returns the unsubscribe. */
  onSeal(listener: (settled: Settled) => void): () => void {
    for (const settled of this.refusedAtConnect) listener(settled);
    this.sealListeners.add(listener);
    return () => void this.sealListeners.delete(listener);
  }

  /** Runs a query on the replica as the app sees it: the confirmed state with the optimistic sends applied. */
  query<A, R extends object>(statement: Statement<A, R>, ...args: unknown extends A ? [] : [args: A]): R[] {
    return this.replica.read(statement.sql, queryParams(statement as Statement<never, object>, args[0] ?? {}, this.replica.head?.sedimentId ?? 0)) as R[];
  }

  /**
   * A query re-run whenever the replica changes; its listeners hear only when its rows did.
   * It watches the replica only while it has listeners, so an unused one costs nothing.
   */
  live<A, R extends object>(statement: Statement<A, R>, ...args: unknown extends A ? [] : [args: A]): LiveQuery<R> {
    const run = () => (this.replica.head ? this.query(statement, ...args) : []);
    const listeners = new Set<(rows: readonly R[]) => void>();
    let rows: readonly R[] = run();
    let text = JSON.stringify(rows);
    let stop: (() => void) | undefined;
    const refresh = () => {
      const next = run();
      const nextText = JSON.stringify(next);
      if (nextText === text) return false;
      [rows, text] = [next, nextText];
      return true;
    };
    return {
      get rows() {
        // Unwatched, it reads afresh; watched, it is kept current by the replica's changes.
        if (!stop) refresh();
        return rows;
      },
      subscribe: (listener) => {
        if (!stop) {
          refresh();
          stop = this.subscribe(() => {
            if (refresh()) for (const l of listeners) l(rows);
          });
        }
        listeners.add(listener);
        return () => {
          listeners.delete(listener);
          if (listeners.size > 0) return;
          stop?.();
          stop = undefined;
        };
      },
      close: () => {
        listeners.clear();
        stop?.();
        stop = undefined;
      },
    };
  }

  /**
   * Says how `send` would show this Intent, before anything runs: optimistic when every table,
   * column and invariant its statements name is one this client sees whole, or a plain INSERT
   * of the subscriber's own row into a scoped table (`subject`); pending otherwise, with why.
   */
  predict(intent: Intent): Prediction {
    return this.prediction(intent, () => this.planFor(intent));
  }

  private planFor(intent: Pick<Intent, "steps">): PredictionPlan {
    return predictionPlan(this.vocabulary, intent, (t) => this.replica.held(t), this.options.subject);
  }

  /** A pending Intent's plan: made once per generation of the replica's tables, not on every rebase. */
  private planOf(entry: Pending): PredictionPlan {
    const { generation } = this.replica;
    if (entry.plan?.generation !== generation) entry.plan = { generation, value: this.planFor(entry.intent) };
    return entry.plan.value;
  }

  private prediction(intent: Intent, plan: () => PredictionPlan): Prediction {
    if (this.current.behind) return { mode: "pending", unseen: [], why: "the server holds a newer law" };
    if (intent.steps.some((s) => isBuiltinOp(s.op))) return { mode: "pending", unseen: [], why: "a built-in step runs only in the Attractor" };
    if (intent.nomos && intent.nomos.hash !== this.vocabulary.nomos.hash) return { mode: "pending", unseen: [], why: "the Intent was built under another law" };
    const found = plan().unseen;
    const unseen = found.map((u) => u.element);
    if (!this.replica.head) return { mode: "pending", unseen, why: "the replica has no snapshot yet" };
    return unseen.length > 0 ? { mode: "pending", unseen, why: `its Sieve reaches past what this client sees: ${found.map((u) => `${u.element} (${u.why})`).join(", ")}` } : { mode: "optimistic" };
  }

  /**
   * Sends an Intent built with `buildIntent` under this law: queued durably with an idempotency
   * key (its own, or a new one), applied at once on the replica when `predict` says optimistic,
   * and sent when online. Its Seal settles `seal`; a refusal rolls the local change back.
   */
  async send(intent: Intent): Promise<Sent> {
    const queued: QueuedIntent = { ...intent, idempotencyKey: intent.idempotencyKey ?? newKey() };
    const entry: Pending = { intent: queued, prediction: { mode: "optimistic" }, sent: false, unanswered: false };
    const prediction = (entry.prediction = this.prediction(queued, () => this.planOf(entry)));
    await this.queue.add(queued);
    const seal = new Promise<Seal>((resolve, reject) => Object.assign(entry, { resolve, reject }));
    this.pending.push(entry);
    if (prediction.mode === "optimistic") this.applyPending(entry, this.pending.length - 1);
    this.flush();
    this.changed();
    // Applying it may have turned it pending (a balance it moved, which only the server can check).
    return { key: queued.idempotencyKey, prediction: entry.prediction, seal };
  }

  /** Closes the connection for good; the replica database stays open (the app owns it). */
  close(): void {
    this.setState({ status: "closed" });
    clearTimeout(this.retryTimer);
    this.replica.rollback();
    this.socket?.close(1000, "closed by the app");
    this.socket = undefined;
  }

  // ---- the queue after a reload

  /** A queued Intent from an earlier run, carried to this app's law when it was queued under an older one. */
  private async restore(intent: QueuedIntent): Promise<void> {
    const law = this.options.law as Vocabulary | Lineage;
    const version = intent.nomos?.version;
    if (version !== undefined && version < this.vocabulary.nomos.version && !("operations" in law)) {
      // By its Connection alone: grace periods are the server's policy (it carries what it receives under them).
      const now = Date.now();
      const carried = carry(law, intent, version, this.vocabulary.nomos.version, now, () => now);
      if (!carried.ok) {
        await this.queue.remove(intent.idempotencyKey);
        const reason: Reason = { kind: "connection", message: carried.message, connection: carried.connection };
        this.refusedAtConnect.push({ key: intent.idempotencyKey, intent, seal: { success: false, reason, precedentId: 0, timestamp: Date.now(), world: this.worldOrLocal() } });
        return;
      }
      if (carried.reforged) intent = { ...carried.intent, nomos: { name: this.vocabulary.nomos.name, version: this.vocabulary.nomos.version, hash: this.vocabulary.nomos.hash }, idempotencyKey: intent.idempotencyKey };
    }
    const entry: Pending = { intent, prediction: { mode: "optimistic" }, sent: false, unanswered: true };
    entry.prediction = this.prediction(intent, () => this.planOf(entry));
    this.pending.push(entry);
  }

  private worldOrLocal(): World {
    const { nomos } = this.vocabulary;
    return this.current.world ?? { attractor: "", name: "", nomosVersion: nomos.version, nomosHash: nomos.hash };
  }

  // ---- optimistic apply and rebase

  /**
   * Applies one pending Intent on the optimistic layer; a local refusal leaves no effect (the
   * server decides). One that moved a balance over a table held in part turns pending: the
   * server's check reads rows this client lacks.
   */
  private applyPending(entry: Pending, index: number): void {
    const head = this.replica.head;
    if (!head) return;
    const { db } = this.replica;
    const { balances } = this.planOf(entry);
    try {
      this.replica.attempt(() => {
        const before = balanceMarks(db, balances);
        let refusal: unknown;
        try {
          interpret(this.vocabulary, entry.intent, db, { now: Date.now(), sedimentId: head.sedimentId + 1 + index });
        } catch (error) {
          refusal = error;
        }
        const moved = movedBalance(db, this.vocabulary.nomos, balances, before);
        if (moved !== undefined) throw new Unpredictable(moved);
        if (refusal !== undefined) throw refusal;
      });
    } catch (error) {
      if (error instanceof Unpredictable) {
        entry.prediction = { mode: "pending", unseen: [`invariant:${error.invariant}`], why: `at run time: it moves the balance of invariant ${error.invariant}, which the server checks over rows this client does not hold` };
      } else if (!(error instanceof Refusal)) throw error;
    }
  }

  /** Restores the confirmed state, then applies the pending Intents again, in order. */
  private rebase(): void {
    this.replica.rollback();
    this.pending.forEach((entry, i) => {
      entry.prediction = this.prediction(entry.intent, () => this.planOf(entry));
      if (entry.prediction.mode === "optimistic") this.applyPending(entry, i);
    });
  }

  private changed(): void {
    this.current = { ...this.current, pending: this.pending.length };
    for (const l of this.listeners) l();
  }

  private setState(patch: Partial<ClientState>): void {
    this.current = { ...this.current, ...patch };
    for (const l of this.listeners) l();
  }

  // ---- the connection

  private open(): void {
    if (this.current.status === "closed") return;
    const url = new URL(this.options.url);
    if (this.options.token) url.searchParams.set("token", this.options.token);
    const socket = (this.options.socket ?? ((u) => new WebSocket(u) as unknown as SyncSocket))(url.toString());
    this.socket = socket;
    this.welcomed = false;
    this.synced = false;
    // A snapshot or diff cut short by a lost connection is dropped: the next hello starts it over.
    this.snapshotParts = [];
    this.diffParts = [];
    // Held frames were not applied, so the cursor still stands before them: the next hello brings them again.
    this.held = [];
    this.setState({ status: "connecting" });
    socket.onopen = () => {
      const { nomos } = this.vocabulary;
      const head = this.replica.head;
      // Resuming, the diffs after the cursor come straight after welcome; otherwise a snapshot does.
      this.synced = head !== undefined;
      this.write({ t: "hello", protocol: SYNC_PROTOCOL, law: { version: nomos.version, hash: nomos.hash }, ...(head ? { after: head } : {}) });
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      const parsed = parseServerFrame(event.data);
      // A frame this client cannot read is the server's fault, not data to show: start over from a snapshot.
      if (!parsed.ok) return this.resync(socket);
      this.receive(parsed.value, socket);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      for (const entry of this.pending) {
        // Sent and never answered: its sediment may be among the diffs the next connection brings first.
        entry.unanswered ||= entry.sent && entry.sealedAs === undefined;
        entry.sent = false;
      }
      if (FINAL.has(event.code)) {
        this.setState({ status: "closed", error: new SyncError(event.code, event.reason || `the server closed with ${event.code}`) });
        return;
      }
      if (event.code === SYNC_CLOSE.resync) this.dropReplica();
      this.setState({ status: this.current.status === "closed" ? "closed" : "offline" });
      this.retry();
    };
    // Some WebSockets (Node's, when the handshake fails) report an error and never close: treat it as the close.
    socket.onerror = () => {
      if (this.socket !== socket) return;
      socket.onclose?.({ code: 1006, reason: "connection failed" });
      socket.onerror = null;
      socket.close();
    };
  }

  private retry(): void {
    if (this.current.status === "closed") return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxReconnectMs ?? 10_000);
  }

  /** Drops the replica and the connection: the next hello asks for a snapshot. */
  private resync(socket: SyncSocket): void {
    this.dropReplica();
    socket.close(SYNC_CLOSE.malformed, "resync");
  }

  private dropReplica(): void {
    this.replica.drop();
    this.changed();
  }

  private write(frame: ClientFrame): void {
    this.socket?.send(JSON.stringify(frame));
  }

  /** Sends what waits for a Seal and was not sent on this connection, in order. */
  private flush(): void {
    if (!this.socket || !this.welcomed) return;
    for (const entry of this.pending) {
      if (entry.sent || entry.sealedAs !== undefined) continue;
      entry.sent = true;
      this.write({ t: "send", intent: entry.intent });
    }
  }

  private receive(frame: ServerFrame, socket: SyncSocket): void {
    switch (frame.t) {
      case "welcome":
        this.welcomed = true;
        this.retryMs = this.options.reconnectMs ?? 250;
        // Resuming, the diffs after the cursor follow (none when it is the head): online now, not at the next diff.
        this.setState({ world: frame.world, behind: frame.behind, readOnly: frame.readOnly, error: undefined, ...(this.synced ? { status: "online" as const } : {}) });
        this.flush();
        return;
      case "snapshot": {
        if (this.diffParts.length > 0) return this.resync(socket);
        this.snapshotParts.push(frame);
        if (frame.more) return;
        const whole = joinSnapshot(this.snapshotParts);
        this.snapshotParts = [];
        if (!whole) return this.resync(socket);
        this.synced = true;
        this.held.push(whole);
        this.release();
        return;
      }
      case "diff": {
        if (!frame.more && this.diffParts.length === 0) return this.diff(frame, socket);
        this.diffParts.push(frame);
        if (frame.more) return;
        const whole = joinDiff(this.diffParts);
        this.diffParts = [];
        return whole ? this.diff(whole, socket) : this.resync(socket);
      }
      case "seal":
        return this.sealed(frame.key, frame.seal);
      case "error": {
        const entry = frame.key === undefined ? undefined : this.pending.find((p) => p.intent.idempotencyKey === frame.key);
        if (!entry) return;
        // Not ready yet (the server is still answering hello): the same send, again, a little later.
        if (frame.code === SYNC_ERROR.notReady) {
          entry.sent = false;
          setTimeout(() => this.socket === socket && this.flush(), NOT_READY_RETRY_MS);
          return;
        }
        // The send changed nothing on the server and never will: it leaves the queue and its local effect goes.
        this.forget(entry);
        entry.reject?.(new SyncError(frame.code, frame.message, frame.path));
        if (!this.release()) this.confirmed();
        return;
      }
    }
  }

  /** Checks a diff against the chain (the next sediment, after the hash held) and applies it, or resyncs. */
  private diff(frame: DiffFrame, socket: SyncSocket): void {
    const head = this.held.at(-1) ?? this.replica.head;
    if (!this.synced || !head || this.snapshotParts.length > 0 || frame.sedimentId !== head.sedimentId + 1 || frame.prevHash !== head.hash) return this.resync(socket);
    this.held.push(frame);
    this.release();
  }

  /** Applies the frames held, unless a send still awaits the answer that says whether they include it; true when it did. */
  private release(): boolean {
    if (this.held.length === 0 || this.pending.some((p) => p.unanswered)) return false;
    for (const f of this.held) {
      if (f.t === "snapshot") this.replica.restore(f);
      else this.replica.apply({ sedimentId: f.sedimentId, hash: f.hash }, f.changes);
    }
    this.held = [];
    this.confirmed();
    if (this.current.status !== "online") this.setState({ status: "online" });
    return true;
  }

  /** The confirmed state moved: sends whose sediment it now includes are done; the rest are applied again. */
  private confirmed(): void {
    const head = this.replica.head?.sedimentId ?? 0;
    for (const entry of [...this.pending]) if (entry.sealedAs !== undefined && entry.sealedAs <= head) this.forget(entry);
    this.rebase();
    this.changed();
  }

  private sealed(key: string, seal: Seal): void {
    const entry = this.pending.find((p) => p.intent.idempotencyKey === key);
    if (!entry) return;
    entry.unanswered = false;
    if (seal.success) entry.sealedAs = seal.sedimentId;
    else this.forget(entry);
    entry.resolve?.(seal);
    this.settle(entry.intent, seal);
    // A success stays applied until its diff arrives (or is done, if the diff came first); a refusal's local change goes now.
    if (!this.release()) this.confirmed();
  }

  private forget(entry: Pending): void {
    const i = this.pending.indexOf(entry);
    if (i >= 0) this.pending.splice(i, 1);
    void this.queue.remove(entry.intent.idempotencyKey);
  }

  private settle(intent: Intent, seal: Seal): void {
    for (const l of this.sealListeners) l({ key: intent.idempotencyKey ?? "", intent, seal });
  }
}


