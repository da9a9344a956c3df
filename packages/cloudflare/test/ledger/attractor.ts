import { Attractor } from "@noema/cloudflare";
import { ledger, type LedgerVocabulary } from "./vocabulary.js";

export interface Account {
  accountId: string;
  holder: string;
  balance: number;
}

export const MAX_STEPS = 16;

/** One ledger: every change arrives as an Intent through `sedimentation`; reads are plain RPC methods. */
export class LedgerAttractor extends Attractor<unknown, LedgerVocabulary> {
  static law = ledger;
  // A ledger Intent is a handful of postings; anything longer is refused before it runs.
  static limits = { maxSteps: MAX_STEPS };

  accounts(): Account[] {
    return this.query("SELECT id, holder, balance FROM accounts ORDER BY id").map((r) => ({
      accountId: String(r.id),
      holder: String(r.holder),
      balance: Number(r.balance),
    }));
  }
}
