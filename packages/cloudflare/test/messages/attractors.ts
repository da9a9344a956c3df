import { LedgerAttractor } from "../ledger/attractor.js";
import { ledger } from "../ledger/vocabulary.js";

/** A ledger that sends ledger Intents to other ledgers, delivered by its alarm only: a test sees each message pending until it runs the alarm. */
export class SendingLedger extends LedgerAttractor {
  static sends = { LEDGER_ATTRACTOR: ledger };
  static delivery = { immediate: false };
}

/** A ledger that sends as every Attractor does by default: each message right after the transaction that sent it commits. */
export class ImmediateLedger extends LedgerAttractor {
  static sends = { LEDGER_ATTRACTOR: ledger };
}

/** Declares a binding the Worker does not have: it cannot start (constructed by hand in the test, not bound). */
export class MisdeclaredLedger extends LedgerAttractor {
  static sends = { NO_SUCH_ATTRACTOR: ledger };
}
