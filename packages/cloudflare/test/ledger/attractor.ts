import { Attractor } from "@noema/cloudflare";
import { columnsOf } from "@noema/core";
import { ledgerNomos } from "./nomos.js";
import { ledger } from "./vocabulary.js";

export interface Account {
  accountId: string;
  holder: string;
  balance: number;
}

export const MAX_STEPS = 16;

const ACCOUNT = columnsOf(ledgerNomos, "accounts", "id", "holder", "balance");
const MOVEMENT = columnsOf(ledgerNomos, "movements");

/** One ledger: every change arrives as an Intent through `sedimentation`; reads are plain RPC methods. */
export class LedgerAttractor extends Attractor.of(ledger) {
  // A ledger Intent is a handful of postings; anything longer is refused before it runs.
  static limits = { maxSteps: MAX_STEPS };

  accounts(): Account[] {
    // Rows typed from the Nomos: no String(…) or Number(…).
    return this.query(ACCOUNT, "FROM accounts ORDER BY id").map((r) => ({ accountId: r.id, holder: r.holder, balance: r.balance }));
  }

  /** Every movement as stored, typed from the Nomos (`transfer_id` is NULL for a deposit). */
  movements(): NonNullable<typeof MOVEMENT.row>[] {
    return this.query(MOVEMENT, "FROM movements ORDER BY id");
  }

  /** A column SQL computes, typed by hand. */
  movementCount(): number {
    return this.query<{ n: number }>("SELECT COUNT(*) AS n FROM movements")[0]!.n;
  }
}
