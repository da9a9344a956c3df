import type { SyncGrant } from "@noema/cloudflare";
import { definePublication, type World } from "@noema/core";
import { LedgerAttractor } from "../ledger/attractor.js";
import { ledgerNomos } from "../ledger/nomos.js";

/**
 * A ledger published to sync subscribers: each holder sees the balances of their own accounts
 * (the holder and opening time stay hidden) and every movement's amount. Tokens are
 * `rw:<holder>` or `ro:<holder>`; the World named "closed" refuses every token.
 */
export class SyncLedger extends LedgerAttractor {
  static publication = definePublication(ledgerNomos, {
    accounts: { columns: ["id", "balance"], scope: "holder" },
    movements: { columns: ["id", "account_id", "amount"] },
  });

  protected override authorize(token: string, world: World): SyncGrant | undefined {
    const [mode, holder] = token.split(":");
    if (world.name === "closed" || !holder || (mode !== "rw" && mode !== "ro")) return undefined;
    return { subject: holder, readOnly: mode === "ro" };
  }
}
