// Messages: one sender to many receivers (the "messages" chore), against plain DO-to-DO RPC
// of the same Intents with as many calls in flight as the chore allows.
import { buildIntent } from "@noema/core";
import { Attractor } from "@noema/cloudflare";
import { catalog } from "../../apps/inventory/src/catalog/vocabulary.js";
import { inventoryLaw } from "../../apps/inventory/src/law.js";
import { inventory } from "../../apps/inventory/src/vocabulary.js";
import { type Env, LOCATION, pool } from "./env.js";

/** The receivers' Intent, i-th of a run: one setStock each. */
const messageIntent = (i: number) => buildIntent(inventory, (s) => void s.setStock({ locationId: LOCATION, quantity: i }));
/** `$send` steps per sending Intent (within DEFAULT_LIMITS). */
const SENDS_PER_INTENT = 32;
/** Deliveries in flight at once, the chore's and the baseline's alike. */
const MESSAGE_IN_FLIGHT = 8;

/** Sends n messages to `receivers` inventory Attractors, then delivers them by running its alarm until the outbox is empty. */
export class MessageSender extends Attractor<Env, typeof catalog> {
  static law = catalog;
  static sends = { INVENTORY_ATTRACTOR: inventoryLaw };
  static delivery = { concurrency: MESSAGE_IN_FLIGHT };

  async messagesBench(prefix: string, n: number, receivers: number, first: "messages" | "plain") {
    const deliver = async () => {
      for (let from = 0; from < n; from += SENDS_PER_INTENT) {
        const seal = this.sedimentation(
          buildIntent(catalog, (s) => {
            for (let i = from; i < Math.min(n, from + SENDS_PER_INTENT); i++) s.$send({ to: { attractor: "INVENTORY_ATTRACTOR", name: `${prefix}-m-${i % receivers}` } }, messageIntent(i));
          }),
        );
        if (!seal.success) throw new Error(seal.reason.message);
      }
      const start = Date.now();
      let runs = 0;
      while (this.outbox({ limit: 1 }).messages.length > 0) {
        await this.alarm();
        if (++runs > n + 10) throw new Error("messages bench: the outbox does not empty");
      }
      const ms = Date.now() - start;
      const sealed = Number(this.query("SELECT COUNT(*) AS n FROM _noema_receipt WHERE outcome = 'sealed'")[0]!.n);
      return { ms, runs, sealed };
    };
    const plain = async () => {
      let i = 0;
      const start = Date.now();
      await pool(n, MESSAGE_IN_FLIGHT, async () => {
        const k = i++;
        const seal = await this.env.INVENTORY_ATTRACTOR.getByName(`${prefix}-p-${k % receivers}`).sedimentation(messageIntent(k));
        if (!seal.success) throw new Error(seal.reason.message);
      });
      return { ms: Date.now() - start };
    };
    const out: { messages?: Awaited<ReturnType<typeof deliver>>; plain?: Awaited<ReturnType<typeof plain>> } = {};
    if (first === "plain") out.plain = await plain();
    out.messages = await deliver();
    if (first !== "plain") out.plain = await plain();
    return { n, receivers, inFlight: MESSAGE_IN_FLIGHT, ...out };
  }
}

