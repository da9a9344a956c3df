import { Attractor, type SyncGrant } from "@noema/cloudflare";
import { COUNTER, counterLaw, counterPublication } from "./law.js";

/** One Durable Object per counter: every change arrives as an Intent; reads are plain RPC methods. */
export class CounterAttractor extends Attractor.of(counterLaw)<Env> {
  /** Its Worlds' name, in every Seal: the bundle does not keep class names (wrangler.jsonc). */
  static attractor = "CounterAttractor";
  /** Live clients see the counter's row (GET /api/<id>/sync, a WebSocket). */
  static publication = counterPublication;

  /**
   * Who may subscribe, and send: anyone, as anyone may POST /counters/<id>/add. Check the token
   * here when that changes (a signed session, an API token); `undefined` refuses it (close code 4401),
   * `readOnly: true` lets it watch but not send.
   */
  protected override authorize(_token: string): SyncGrant {
    return { subject: null, readOnly: false };
  }

  /** The counter's value, or 0 when nothing was added yet. */
  value(id: string): number {
    return this.query(COUNTER, "FROM counters WHERE id = ?", id)[0]?.value ?? 0;
  }
}
