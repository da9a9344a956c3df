import type { LedgerAttractor } from "./ledger/attractor.js";

declare global {
  namespace Cloudflare {
    interface Env {
      LEDGER_ATTRACTOR: DurableObjectNamespace<LedgerAttractor>;
    }
  }
}
