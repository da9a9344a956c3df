import { LedgerAttractor } from "../ledger/attractor.js";
import { ledger } from "../ledger/vocabulary.js";

/** A ledger that sends ledger Intents to other ledgers (delivered by its alarm). */
export class SendingLedger extends LedgerAttractor {
  static sends = { LEDGER_ATTRACTOR: ledger };
}

/** A ledger whose messages go out right after the transaction that sent them commits. */
export class ImmediateLedger extends LedgerAttractor {
  static sends = { LEDGER_ATTRACTOR: ledger };
  static delivery = { immediate: true };
}

/** Declares a binding the Worker does not have: it cannot start (constructed by hand in the test, not bound). */
export class MisdeclaredLedger extends LedgerAttractor {
  static sends = { NO_SUCH_ATTRACTOR: ledger };
}
