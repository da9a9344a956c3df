import type { ChoreAttractor } from "./alarm/attractors.js";
import type { LedgerAttractor } from "./ledger/attractor.js";
import type { SendingLedger } from "./messages/attractors.js";

declare global {
  namespace Cloudflare {
    interface Env {
      LEDGER_ATTRACTOR: DurableObjectNamespace<LedgerAttractor>;
      CHORE_ATTRACTOR: DurableObjectNamespace<ChoreAttractor>;
      SENDING_LEDGER: DurableObjectNamespace<SendingLedger>;
    }
  }
}
