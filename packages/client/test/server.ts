// A TEST SERVER: the sync protocol of @noema/core/sync served in-process by a real Sedimenter
// (@noema/core/runtime) on node:sqlite, for the client's Node tests. Not a mock: every Intent is
// admitted, interpreted, sealed and chained as an Attractor does it; only the transport is a pair
// of in-process sockets that carry the same JSON text a WebSocket would, asynchronously.
// The published state (`published()`) is what every replica must end equal to.
import { type Json, Lineage, type Seal, type Vocabulary, type World } from "@noema/core";
import { applyLineage, GENESIS_HASH, type SedimentHost, Sedimenter } from "@noema/core/runtime";
import { type ClientFrame, diffFrames, MAX_SERVER_FRAME_BYTES, parseClientFrame, type ServerFrame, SYNC_CLOSE, SYNC_PROTOCOL, type SyncChange, snapshotFrames } from "@noema/core/sync";
import type { SyncSocket } from "../src/index.js";
import { openNodeDatabase } from "../src/node.js";

function sqliteHost(): SedimentHost {
  // The client's own node:sqlite executor, with a transaction as transactionSync nests it.
  const db = openNodeDatabase();
  const run = (sql: string) => void db.exec(sql, []);
  let depth = 0;
  return {
    db,
    transaction<T>(fn: () => T): T {
      const name = `sp_${depth}`;
      run(depth === 0 ? "BEGIN" : `SAVEPOINT ${name}`);
      depth++;
      try {
        const result = fn();
        depth--;
        run(depth === 0 ? "COMMIT" : `RELEASE ${name}`);
        return result;
      } catch (error) {
        depth--;
        if (depth === 0) run("ROLLBACK");
        else {
          run(`ROLLBACK TO ${name}`);
          run(`RELEASE ${name}`);
        }
        throw error;
      }
    },
    now: () => Date.now(),
  };
}

/** Which columns of which tables subscribers see; a table not listed is not published. */
export type Visibility = Record<string, readonly string[]>;

type Published = Record<string, { columns: string[]; key: string[]; rows: Json[][] }>;

interface Connection {
  /** The client's end, handed to NoemaClient. */
  client: SyncSocket;
  deliver(frame: ServerFrame): void;
  close(code: number, reason: string): void;
  synced: boolean;
}

export interface TestServerOptions {
  world?: string;
  /** Send a sender the diff of its sediment before its Seal (an Attractor sends the Seal first; the client must handle both orders). */
  diffFirst?: boolean;
  /** Bytes of a snapshot frame at most: MAX_SERVER_FRAME_BYTES unless a test wants more frames from fewer rows. */
  snapshotFrameBytes?: number;
  /** Bytes of a diff frame at most: MAX_SERVER_FRAME_BYTES unless a test wants a diff in several frames. */
  diffFrameBytes?: number;
}

export class TestSyncServer {
  readonly sedimenter: Sedimenter;
  readonly world: World;
  private readonly host = sqliteHost();
  private readonly connections = new Set<Connection>();
  private readonly diffs = new Map<number, { hash: string; prevHash: string; changes: SyncChange[] }>();
  /** While false, every connection attempt closes at once (1006), as with no network. */
  online = true;
  /** Frames in flight: `settle()` waits for none. */
  private inFlight = 0;
  /** Every frame the server sent, as text: a test reads them for hidden columns. */
  readonly frames: string[] = [];
  /** When set, the next snapshot stops after this many frames: its connection drops (1006) and the server goes offline. */
  cutSnapshot: number | undefined;
  /** When set, the next diff delivered in frames stops after this many: the connection drops mid-diff. */
  cutDiff: number | undefined;
  /** When set, the next send is sealed, but its connection drops before its Seal reaches the sender, or after the Seal and before the diff. */
  dropSend: "before-seal" | "after-seal" | undefined;
  /** Diffs are kept for the sediments after this one; a cursor before it gets a snapshot (see `prune`). */
  private since = 0;

  constructor(
    readonly law: Vocabulary | Lineage,
    private readonly visible: Visibility,
    private readonly options: TestServerOptions = {},
  ) {
    const lineage = law instanceof Lineage ? law : Lineage.of(law);
    const { nomos } = lineage.latest;
    this.world = { attractor: "TestAttractor", name: options.world ?? "w", nomosVersion: nomos.version, nomosHash: nomos.hash };
    applyLineage(this.host, lineage, Date.now());
    this.sedimenter = new Sedimenter(law, this.host, this.world);
  }

  private get nomos() {
    return this.sedimenter.vocabulary.nomos;
  }

  /** The state subscribers may see, as the server holds it. */
  published(): Published {
    const out: Published = {};
    for (const [table, columns] of Object.entries(this.visible)) {
      const spec = this.nomos.tables[table]!;
      const key = spec.primaryKey ? [...spec.primaryKey] : Object.keys(spec.columns).filter((c) => spec.columns[c]!.spec.primaryKey);
      const rows = this.host.db.exec(`SELECT ${columns.map((c) => `"${c}"`).join(", ")} FROM "${table}" ORDER BY ${key.map((c) => `"${c}"`).join(", ")}`, []);
      out[table] = { columns: [...columns], key, rows: rows.map((r) => columns.map((c) => r[c] as Json)) };
    }
    return out;
  }

  /** Writes rows outside any sediment, as a migration would: only a snapshot carries them. */
  seed(statement: string): void {
    this.host.db.exec(statement, []);
  }

  /** Forgets the diffs up to the head, as an Attractor does past SYNC_RETAINED: a client behind it gets a snapshot. */
  prune(): void {
    this.since = this.sedimenter.log.head().sedimentId;
  }

  /** Sediments an Intent as another writer would (not through a socket), publishing its diff. */
  sediment(input: unknown): Seal {
    const before = this.published();
    const seal = this.sedimenter.sedimentation(input);
    if (seal.success) this.publish(seal, before);
    return seal;
  }

  private publish(seal: Seal & { success: true }, before: Published): void {
    const after = this.published();
    const changes: SyncChange[] = [];
    for (const [table, t] of Object.entries(after)) {
      const keyOf = (row: Json[]) => JSON.stringify(t.key.map((k) => row[t.columns.indexOf(k)]));
      const old = new Map(before[table]!.rows.map((r) => [keyOf(r), r]));
      const now = new Map(t.rows.map((r) => [keyOf(r), r]));
      for (const [k, row] of now) if (JSON.stringify(old.get(k)) !== JSON.stringify(row)) changes.push({ table, op: "upsert", row });
      for (const [k, row] of old) if (!now.has(k)) changes.push({ table, op: "delete", key: t.key.map((c) => row[t.columns.indexOf(c)]!) });
    }
    const diff = { hash: seal.hash, prevHash: seal.prevHash, changes };
    this.diffs.set(seal.sedimentId, diff);
    for (const c of this.connections) if (c.synced) this.deliverDiff(c, seal.sedimentId);
  }

  /** Opens a connection, as `new WebSocket(url)` would: pass it as the client's `socket` option. */
  readonly socket = (_url: string): SyncSocket => {
    let open = true;
    const later = (fn: () => void) => this.later(fn);
    const frames = this.frames;
    const connections = this.connections;
    const receive = (data: string) => this.receive(connection, data);
    const connection: Connection = {
      synced: false,
      client: {
        onopen: null,
        onmessage: null,
        onclose: null,
        onerror: null,
        send(data: string) {
          if (!open) return;
          later(() => open && receive(data));
        },
        close(code = 1000, reason = "") {
          connection.close(code, reason);
        },
      },
      deliver(frame) {
        if (!open) return;
        const text = JSON.stringify(frame);
        frames.push(text);
        later(() => open && connection.client.onmessage?.({ data: text }));
      },
      close(code, reason) {
        if (!open) return;
        open = false;
        connections.delete(connection);
        later(() => connection.client.onclose?.({ code, reason }));
      },
    };
    if (!this.online) {
      open = false;
      this.later(() => connection.client.onclose?.({ code: 1006, reason: "offline" }));
      return connection.client;
    }
    this.connections.add(connection);
    this.later(() => open && connection.client.onopen?.({}));
    return connection.client;
  };

  /**
   * A link of one client's own: `socket` opens connections only while `up`; `drop()` ends
   * them, so one client can go offline while the others stay.
   */
  link(): { socket: (url: string) => SyncSocket; up: boolean; drop(): void } {
    const mine = new Set<SyncSocket>();
    const link = {
      up: true,
      socket: (url: string) => {
        const online = this.online;
        this.online = online && link.up;
        const socket = this.socket(url);
        this.online = online;
        mine.add(socket);
        return socket;
      },
      drop: () => {
        for (const c of [...this.connections]) if (mine.has(c.client)) c.close(1006, "connection lost");
      },
    };
    return link;
  }

  /** Sends a frame of the test's making to every connection: a forged diff, for one. */
  forge(frame: ServerFrame): void {
    for (const c of this.connections) c.deliver(frame);
  }

  /** Drops every connection, as a network failure would (1006). */
  disconnect(): void {
    for (const c of [...this.connections]) c.close(1006, "connection lost");
  }

  /** Waits until no frame is in flight. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((r) => setTimeout(r, 0));
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }

  /** Delivers one sediment's diff, in frames within diffFrameBytes; false when `cutDiff` dropped the connection midway. */
  private deliverDiff(connection: Connection, sedimentId: number): boolean {
    const frames = diffFrames({ t: "diff", sedimentId, ...this.diffs.get(sedimentId)! }, this.options.diffFrameBytes ?? MAX_SERVER_FRAME_BYTES);
    const cut = frames.length > 1 ? this.cutDiff : undefined;
    if (cut !== undefined) this.cutDiff = undefined;
    for (const f of frames.slice(0, cut)) connection.deliver(f);
    if (cut === undefined || cut >= frames.length) return true;
    this.online = false;
    connection.close(1006, "connection lost");
    return false;
  }

  private later(fn: () => void): void {
    this.inFlight++;
    setTimeout(() => {
      this.inFlight--;
      fn();
    }, 0);
  }

  private receive(connection: Connection, text: string): void {
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return connection.close(SYNC_CLOSE.malformed, parsed.issues[0]!.message);
    const frame: ClientFrame = parsed.value;
    if (frame.t === "hello") return this.hello(connection, frame);
    const before = this.published();
    const seal = this.sedimenter.sedimentation(frame.intent);
    const drop = this.dropSend;
    this.dropSend = undefined;
    if (drop === "before-seal") connection.close(1006, "connection lost");
    const answer = () => connection.deliver({ t: "seal", key: frame.intent.idempotencyKey, seal });
    if (!this.options.diffFirst) answer();
    // Once the Seal is delivered, before the diff is.
    if (drop === "after-seal") this.later(() => connection.close(1006, "connection lost"));
    if (seal.success && !this.diffs.has(seal.sedimentId)) this.publish(seal, before);
    if (this.options.diffFirst) answer();
  }

  private hello(connection: Connection, frame: ClientFrame & { t: "hello" }): void {
    const { nomos } = this;
    connection.deliver({ t: "welcome", protocol: SYNC_PROTOCOL, world: this.world, law: { version: nomos.version, hash: nomos.hash }, behind: frame.law.version < nomos.version, readOnly: false });
    const head = this.sedimenter.log.head();
    const after = frame.after;
    if (after) {
      const known = after.sedimentId === 0 ? after.hash === GENESIS_HASH : this.sedimenter.log.hashOf(after.sedimentId) === after.hash;
      if (!known || after.sedimentId > head.sedimentId) return connection.close(SYNC_CLOSE.resync, "the cursor is not on this World's chain");
    }
    if (after && after.sedimentId >= this.since) {
      for (let id = after.sedimentId + 1; id <= head.sedimentId; id++) if (!this.deliverDiff(connection, id)) return;
    } else {
      const frames = snapshotFrames({ t: "snapshot", sedimentId: head.sedimentId, hash: head.hash, tables: this.published() }, this.options.snapshotFrameBytes ?? MAX_SERVER_FRAME_BYTES);
      const cut = this.cutSnapshot;
      this.cutSnapshot = undefined;
      for (const f of frames.slice(0, cut)) connection.deliver(f);
      if (cut !== undefined && cut < frames.length) {
        this.online = false;
        return connection.close(1006, "connection lost");
      }
    }
    connection.synced = true;
  }
}
