// The sync baseline (issue 19 §4): the hand-written reservation DO that also accepts hibernatable
// WebSockets and, after each reservation commits, sends the row it wrote to every socket. No
// framework, no cursor, no chain link in the frame: the floor a sync engine's broadcast is held to.
import type { Env, ReserveArgs } from "./env.js";
import { HandWrittenReservations } from "./hand.js";

/** The published stock columns, as the inventory publication shows them. */
const STOCK_ROWS = `SELECT location_id, quantity, reserved FROM stock ORDER BY location_id`;

export class HandSync extends HandWrittenReservations {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
  }

  /** A WebSocket upgrade, accepted hibernatable; anything else is 426. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Subscribers only listen. */
  override webSocketMessage(): void {}

  /** One reservation (the hand-written chained one), then its stock row to every socket; returns when (ms since the epoch) the DO began it. */
  write(a: ReserveArgs): number {
    const at = Date.now();
    this.reserve(a, "chain");
    const s = this.lastStock!;
    const text = JSON.stringify({ t: "row", table: "stock", row: [s.location_id, s.quantity, s.reserved] });
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // closed meanwhile
      }
    }
    return at;
  }

  /** k writes inside this one request, timed in the DO: the write and its broadcast, without the network. */
  loopWrites(k: number): number {
    const start = performance.now();
    for (let i = 0; i < k; i++) this.write({ locationId: "main", quantity: 1 });
    return performance.now() - start;
  }

  /** n - 1 more locations next to LOCATION, in one transaction: a stock table of n rows. */
  fillLocations(n: number): void {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (let i = 1; i < n; i++) this.ctx.storage.sql.exec("INSERT INTO stock (location_id, quantity, reserved, updated_at) VALUES (?, ?, 0, ?)", `loc-${String(i).padStart(4, "0")}`, 1000, now);
    });
  }

  /**
   * The bytes of an Agents-style broadcast of the whole published state after a change (the
   * Agents SDK's `setState` sends `{ type: "cf_agent_state", state }` to every connection), with
   * the rows in the same compact array form as Noema's frames, so only the shape of the update differs.
   */
  wholeStateBytes(): number {
    const rows = [...this.ctx.storage.sql.exec(STOCK_ROWS).raw()];
    const frame = JSON.stringify({ type: "cf_agent_state", state: { stock: { columns: ["location_id", "quantity", "reserved"], rows } } });
    return new TextEncoder().encode(frame).length;
  }
}
