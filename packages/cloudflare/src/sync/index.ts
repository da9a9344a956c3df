// The server side of sync, inside the Attractor: accepts hibernatable WebSockets, answers
// hello with a snapshot or the diffs after the client's cursor, runs sends through
// sedimentation, and sends each new sediment's diff to every subscriber, filtered by its scope.
import { formatIssues, type Intent, type ParseResult, type Seal, type World } from "@noema/core";
import type { CapturedSediment, ChangeCapture } from "@noema/core/runtime";
import {
  type ClientFrame,
  type DiffFrame,
  diffFrames,
  fitsServerFrame,
  type HelloFrame,
  MAX_SERVER_FRAME_BYTES,
  parseClientFrame,
  type SendFrame,
  type ServerFrame,
  SYNC_CLOSE,
  SYNC_ERROR,
  SYNC_GENESIS,
  SYNC_PROTOCOL,
  SYNC_SUBPROTOCOL,
  type SyncCursor,
  snapshotFrames,
} from "@noema/core/sync";
import { TaggedSockets } from "../sockets.js";

/** The tag of sync sockets among the Attractor's hibernatable WebSockets (the inspector's live pages have their own). */
export const SYNC_TAG = "noema-sync";
/** The path the sync route forwards the upgrade to, inside the Durable Object. */
export const SYNC_PATH = "/__noema/sync";
/** Diffs read from the change records per query while a subscriber catches up. */
const CATCH_UP_BATCH = 256;
/**
 * How long change capture goes on after the last subscriber left (or the object woke with none):
 * a client back within it resumes with the diffs it missed; after it, writes record nothing and a
 * returning client gets a snapshot.
 */
export const SYNC_LINGER_MS = 5 * 60_000;

/** What `authorize` grants a token on one World: who the subscriber is (a scoped table shows it the rows whose scope column equals `subject`), and whether it may send. */
export interface SyncGrant {
  subject: string | null;
  readOnly: boolean;
}

/** What a sync socket needs after the object hibernated: kept with `serializeAttachment`. */
interface Attachment extends SyncGrant {
  /** The last sediment this subscriber was sent; null until its `hello` was answered. */
  cursor: number | null;
}

/** What the hub needs of its Attractor. */
export interface SyncHost {
  capture: ChangeCapture;
  /** The Attractor's clock (moved by the test kit's `advance`). */
  now(): number;
  world(): World;
  head(): SyncCursor;
  /** The hash of a sediment the log still links: a live row's, or the archive's anchor (undefined otherwise). */
  hashOf(sedimentId: number): string | undefined;
  /**
   * Checks a sent Intent against the law it claims, as `POST /intents` does: issues change
   * nothing. What it returns is sedimented, and admitted without a second parse.
   */
  check(intent: unknown): ParseResult<Intent>;
  sedimentation(intent: unknown): Seal;
}

const frame = (f: ServerFrame) => JSON.stringify(f);

/** Diff frames for one group of subscribers, and the sediment they end at; undefined when the records do not continue the group's cursor. */
type Delivery = { texts: string[]; last: number } | undefined;

/** The token a client offered: `?token=`, or the subprotocol offered next to SYNC_SUBPROTOCOL. */
function tokenOf(request: Request): { token: string | undefined; protocol: boolean } {
  const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  const protocol = offered.includes(SYNC_SUBPROTOCOL);
  const fromProtocol = protocol ? offered.find((p) => p !== SYNC_SUBPROTOCOL) : undefined;
  return { token: new URL(request.url).searchParams.get("token") ?? fromProtocol, protocol };
}

/** Completes the upgrade only to close it with `code`: a browser sees close codes, never an HTTP status of a failed upgrade. */
export function refuseSocket(request: Request, code: number, reason: string): Response {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  server.close(code, reason);
  return new Response(null, { status: 101, webSocket: client, headers: tokenOf(request).protocol ? { "Sec-WebSocket-Protocol": SYNC_SUBPROTOCOL } : {} });
}

export class SyncHub {
  /** The socket whose send is being sedimented: it gets the Seal before the diff, so its client settles the two at once. */
  private sealing: WebSocket | undefined;
  /** The head the broadcast of that send read, so the sender's catch-up reads it no second time. */
  private sealedHead: SyncCursor | undefined;
  /**
   * The attachments `deliver` wrote, so a broadcast reads none back from its socket (a
   * deserialization per socket per Seal). Empty after hibernation: read from the socket then. Only
   * `deliver` writes a socket's attachment once its hello was answered (a second hello closes it).
   */
  private readonly attachments = new WeakMap<WebSocket, Attachment>();
  /** True when a published table is scoped: only then do subscribers with different subjects see different diffs. */
  private readonly scoped: boolean;
  /** Until when change capture goes on with no subscriber (SYNC_LINGER_MS after the last one was seen). */
  private lingerUntil: number;
  /** The subscribers' sockets, looked up only while one may be connected (hibernated ones count). */
  private readonly sockets: TaggedSockets;

  /** True while a subscriber may be connected. */
  get connected(): boolean {
    return this.sockets.mayBeOpen;
  }

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly host: SyncHost,
  ) {
    this.scoped = Object.values(host.capture.publication.tables).some((t) => t.scope !== undefined);
    this.lingerUntil = host.now() + SYNC_LINGER_MS;
    this.sockets = new TaggedSockets(ctx, SYNC_TAG);
  }

  /** Authorizes the token and accepts the socket (hibernatable); a refusal closes it with 4401, an Attractor that publishes nothing with 4403. */
  async accept(request: Request, authorize: (token: string, world: World) => SyncGrant | undefined | Promise<SyncGrant | undefined>): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    if (!this.host.capture.active) return refuseSocket(request, SYNC_CLOSE.forbidden, "this Attractor publishes nothing");
    const { token, protocol } = tokenOf(request);
    const grant = token === undefined ? undefined : await authorize(token, this.host.world());
    if (!grant) return refuseSocket(request, SYNC_CLOSE.unauthorized, token === undefined ? "no token" : "token refused");
    // Recording from here if it was paused: this subscriber's hello gets a snapshot, then every diff.
    this.host.capture.start(this.host.head().sedimentId);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.sockets.accept(server);
    const attachment: Attachment = { subject: grant.subject, readOnly: grant.readOnly, cursor: null };
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: client, headers: protocol ? { "Sec-WebSocket-Protocol": SYNC_SUBPROTOCOL } : {} });
  }

  /** A subscriber left: capture lingers from now. */
  closed(): void {
    this.lingerUntil = this.host.now() + SYNC_LINGER_MS;
  }

  /** True for a socket this hub accepted. */
  owns(ws: WebSocket): boolean {
    return this.ctx.getTags(ws).includes(SYNC_TAG);
  }

  /** One client frame: a malformed one gets an error frame and closes the socket (4400); nothing it asked for runs. */
  message(ws: WebSocket, data: string | ArrayBuffer): void {
    const parsed = parseClientFrame(typeof data === "string" ? data : undefined);
    if (!parsed.ok) {
      const [first] = parsed.issues;
      this.send(ws, { t: "error", code: SYNC_ERROR.malformed, message: typeof data === "string" ? formatIssues(parsed.issues) : "frames are JSON text", ...(first ? { path: first.path } : {}) });
      return ws.close(SYNC_CLOSE.malformed, "malformed frame");
    }
    const f: ClientFrame = parsed.value;
    if (f.t === "hello") this.hello(ws, f);
    else this.sendFrame(ws, f);
  }

  private hello(ws: WebSocket, hello: HelloFrame): void {
    const at = ws.deserializeAttachment() as Attachment;
    if (at.cursor !== null) return ws.close(SYNC_CLOSE.malformed, "hello was already answered");
    const world = this.host.world();
    this.send(ws, { t: "welcome", protocol: SYNC_PROTOCOL, world, law: { version: world.nomosVersion, hash: world.nomosHash }, behind: hello.law.version < world.nomosVersion, readOnly: at.readOnly });
    const head = this.host.head();
    const after = hello.after;
    if (after) {
      const hash = after.sedimentId === 0 ? SYNC_GENESIS.hash : after.sedimentId === head.sedimentId ? head.hash : this.host.hashOf(after.sedimentId);
      // A cursor past the head, or on another chain (another World, a fork), cannot be continued: the client resyncs.
      if (after.sedimentId > head.sedimentId || (hash !== undefined && hash !== after.hash)) return ws.close(SYNC_CLOSE.resync, "cursor is not on this World's chain");
      // Known and recent enough: the diffs after it. Otherwise a snapshot, which replaces the replica.
      if (hash !== undefined && after.sedimentId >= this.host.capture.since()) {
        // Stored before catching up: a client already at the head gets no diff, and must still be able to send.
        const resumed = { ...at, cursor: after.sedimentId };
        ws.serializeAttachment(resumed satisfies Attachment);
        this.catchUp(ws, resumed, head);
        return;
      }
    }
    // In frames within MAX_SERVER_FRAME_BYTES, all sent before anything else can run: no sediment lands between them.
    for (const f of snapshotFrames({ t: "snapshot", sedimentId: head.sedimentId, hash: head.hash, tables: this.host.capture.snapshot(at.subject) })) if (!this.sendText(ws, frame(f))) return;
    ws.serializeAttachment({ ...at, cursor: head.sedimentId } satisfies Attachment);
  }

  private sendFrame(ws: WebSocket, send: SendFrame): void {
    const at = this.attachments.get(ws) ?? (ws.deserializeAttachment() as Attachment);
    const key = send.intent.idempotencyKey;
    if (at.cursor === null) return this.send(ws, { t: "error", code: SYNC_ERROR.notReady, message: "say hello first", key });
    if (at.readOnly) return this.send(ws, { t: "error", code: SYNC_ERROR.readOnly, message: "this token may subscribe, not send", key });
    const checked = this.host.check(send.intent);
    if (!checked.ok) {
      const { issues } = checked;
      const path = ["intent", ...issues[0]!.path];
      return this.send(ws, { t: "error", code: SYNC_ERROR.invalidIntent, message: formatIssues(issues), path, key });
    }
    // Sedimentation broadcasts the diff to the other subscribers; this one gets the Seal first, then the diff:
    // its client drops the pending Intent from its optimistic layer as it applies the diff, never counting it twice.
    this.sealing = ws;
    let seal: Seal;
    let head: SyncCursor | undefined;
    try {
      seal = this.host.sedimentation(checked.value);
      head = this.sealedHead;
    } finally {
      this.sealing = this.sealedHead = undefined;
    }
    this.send(ws, { t: "seal", key, seal });
    const now = this.attachments.get(ws) ?? (ws.deserializeAttachment() as Attachment);
    head ??= this.host.head();
    if (now.cursor !== null && now.cursor < head.sedimentId) this.catchUp(ws, now, head);
  }

  /** Sends every subscriber the diffs of the sediments after its cursor: called after each commit. */
  flush(): void {
    const sockets = this.sockets.list();
    if (sockets.length === 0) {
      // Nobody has watched for a while: stop paying for capture on every write.
      if (this.host.capture.recording && this.host.now() >= this.lingerUntil) this.host.capture.pause();
      return;
    }
    this.lingerUntil = this.host.now() + SYNC_LINGER_MS;
    const head = this.host.head();
    if (this.sealing) this.sealedHead = head;
    // Subscribers at one cursor who see the same rows (all of them, when nothing is scoped) get the
    // same frames: the records are read, and the frames serialized, once per such group. Nearly
    // always there is one group: its maps are made only for a second.
    let firstKey: string | undefined;
    let first: Delivery;
    let groups: Map<string, Delivery> | undefined;
    let read: Map<number, CapturedSediment[]> | undefined;
    for (const ws of sockets) {
      const at = this.attachments.get(ws) ?? (ws.deserializeAttachment() as Attachment | null);
      if (!at || at.cursor === null || at.cursor >= head.sedimentId || ws === this.sealing) continue;
      const viewer = this.scoped ? at.subject : null;
      const key = viewer === null ? String(at.cursor) : `${at.cursor}\u0000${viewer}`;
      let group: Delivery;
      if (key === firstKey) group = first;
      else if (groups?.has(key)) group = groups.get(key);
      else {
        let records = read?.get(at.cursor);
        if (!records) (read ??= new Map()).set(at.cursor, (records = this.host.capture.after(at.cursor, CATCH_UP_BATCH, head)));
        group = this.frames(records, at.cursor, viewer);
        if (firstKey === undefined) {
          firstKey = key;
          first = group;
        } else (groups ??= new Map()).set(key, group);
      }
      if (!this.deliver(ws, at, group)) continue;
      if (at.cursor < head.sedimentId) this.catchUp(ws, at, head);
    }
  }

  /** Sends the diffs after the subscriber's cursor up to `head`, in batches. */
  private catchUp(ws: WebSocket, at: Attachment, head: SyncCursor): void {
    while (at.cursor! < head.sedimentId) {
      const records = this.host.capture.after(at.cursor!, CATCH_UP_BATCH, head);
      if (!this.deliver(ws, at, this.frames(records, at.cursor!, this.scoped ? at.subject : null))) return;
    }
  }

  /** The diff frames of `records` as `viewer` sees them, or undefined when they do not continue `cursor` (pruned or lost). */
  private frames(records: CapturedSediment[], cursor: number, viewer: string | null): Delivery {
    if (records.length === 0 || records[0]!.sedimentId !== cursor + 1) return undefined;
    const texts: string[] = [];
    for (const r of records) {
      const diff: DiffFrame = { t: "diff", sedimentId: r.sedimentId, hash: r.hash, prevHash: r.prevHash, changes: this.host.capture.view(r, viewer) };
      const text = frame(diff);
      // Rarely over a frame: only then are the changes measured and split.
      if (fitsServerFrame(text)) texts.push(text);
      else for (const f of diffFrames(diff)) texts.push(frame(f));
    }
    return { texts, last: records[records.length - 1]!.sedimentId };
  }

  /** Sends the frames and advances the cursor; false when there are none to continue it: the client must resync. */
  private deliver(ws: WebSocket, at: Attachment, delivery: Delivery): boolean {
    if (!delivery) {
      ws.close(SYNC_CLOSE.resync, "the diffs after this cursor are no longer kept");
      return false;
    }
    for (const text of delivery.texts) if (!this.sendText(ws, text)) return false;
    at.cursor = delivery.last;
    // Kept with the socket, so a hibernated object resumes each subscriber where it was.
    ws.serializeAttachment(at);
    this.attachments.set(ws, at);
    return true;
  }

  private send(ws: WebSocket, f: ServerFrame): void {
    this.sendText(ws, frame(f));
  }

  /** Sends one frame; false when it cannot be: a row too large for any frame closes the socket, which no resync would mend. */
  private sendText(ws: WebSocket, text: string): boolean {
    if (!fitsServerFrame(text)) {
      ws.close(SYNC_CLOSE.tooLarge, `a published row is larger than a frame (${MAX_SERVER_FRAME_BYTES} bytes)`);
      return false;
    }
    try {
      ws.send(text);
    } catch {
      // Closed meanwhile: the runtime drops it from getWebSockets().
    }
    return true;
  }
}
