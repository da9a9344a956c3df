import { Attractor } from "@noema/cloudflare";
import { counterLaw } from "./law.js";

/** One Durable Object per counter: every change arrives as an Intent; reads are plain RPC methods. */
export class CounterAttractor extends Attractor<Env, typeof counterLaw> {
  static law = counterLaw;

  /** The counter's value, or 0 when nothing was added yet. */
  value(id: string): number {
    const row = this.query("SELECT value FROM counters WHERE id = ?", id)[0];
    return row ? Number(row["value"]) : 0;
  }
}
