import { Attractor } from "@noema/cloudflare";
import { COUNTER, counterLaw } from "./law.js";

/** One Durable Object per counter: every change arrives as an Intent; reads are plain RPC methods. */
export class CounterAttractor extends Attractor.of(counterLaw)<Env> {
  /** The counter's value, or 0 when nothing was added yet. */
  value(id: string): number {
    return this.query(COUNTER, "FROM counters WHERE id = ?", id)[0]?.value ?? 0;
  }
}
