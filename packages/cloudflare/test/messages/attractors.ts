import { buildIntent, type Intent, type Receipt } from "@noema/core";
import { LedgerAttractor } from "../ledger/attractor.js";
import { ledger } from "../ledger/vocabulary.js";

/** A ledger that sends ledger Intents to other ledgers (delivered by its alarm). */
export class SendingLedger extends LedgerAttractor {
  static sends = { LEDGER_ATTRACTOR: ledger };
}

/**
 * A ledger whose messages go out right after the transaction that sent them commits, and which
 * reacts to the receipts of one delivery together: it opens an account named after each receipt,
 * and a receipt whose key ends in `:refuse-reaction` adds a deposit to no account (refused); a
 * batch of more than one with a key ending in `:throw-for-batch` throws.
 */
export class ImmediateLedger extends LedgerAttractor {
  static sends = { LEDGER_ATTRACTOR: ledger };
  static delivery = { immediate: true };

  protected override onReceipts(receipts: Receipt[]): Intent | undefined {
    if (receipts.length > 1 && receipts.some((r) => r.key.endsWith(":throw-for-batch"))) throw new Error("no batches here");
    return buildIntent(ledger, (s) => {
      for (const r of receipts) {
        s.open({ holder: `receipt ${r.messageId}` });
        if (r.key.endsWith(":refuse-reaction")) s.deposit({ accountId: "no-such-account", amount: 1 });
      }
    });
  }
}

/** Declares a binding the Worker does not have: it cannot start (constructed by hand in the test, not bound). */
export class MisdeclaredLedger extends LedgerAttractor {
  static sends = { NO_SUCH_ATTRACTOR: ledger };
}
