/**
 * The Attractor's hibernatable WebSockets under one tag, looked up only while one may be open: a
 * commit with none open (most commits of most Worlds) pays no lookup. Sockets outlive hibernation,
 * so whether one may be open is first read at start, then set by each accept.
 */
export class TaggedSockets {
  private maybeOpen: boolean;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly tag: string,
  ) {
    this.maybeOpen = ctx.getWebSockets(tag).length > 0;
  }

  /** True while a socket may be open (until a lookup finds none). */
  get mayBeOpen(): boolean {
    return this.maybeOpen;
  }

  /** Accepts `server` under the tag (hibernatable). */
  accept(server: WebSocket): void {
    this.ctx.acceptWebSocket(server, [this.tag]);
    this.maybeOpen = true;
  }

  /** The open sockets; none is looked up once a lookup found none and none was accepted since. */
  list(): WebSocket[] {
    if (!this.maybeOpen) return [];
    const sockets = this.ctx.getWebSockets(this.tag);
    if (sockets.length === 0) this.maybeOpen = false;
    return sockets;
  }
}
