import type { ChoreAttractor, StartChoreAttractor } from "./alarm/attractors.js";
import type { AgedArchiveAttractor, ArchiveAttractor } from "./archive/attractors.js";
import type { LedgerAttractor } from "./ledger/attractor.js";
import type { ImmediateLedger, SendingLedger } from "./messages/attractors.js";
import type { KitAttractor } from "./testing/law.js";
import type { SyncLedger } from "./sync/attractors.js";

declare global {
  namespace Cloudflare {
    interface Env {
      LEDGER_ATTRACTOR: DurableObjectNamespace<LedgerAttractor>;
      CHORE_ATTRACTOR: DurableObjectNamespace<ChoreAttractor>;
      START_CHORE_ATTRACTOR: DurableObjectNamespace<StartChoreAttractor>;
      ARCHIVE_ATTRACTOR: DurableObjectNamespace<ArchiveAttractor>;
      AGED_ARCHIVE_ATTRACTOR: DurableObjectNamespace<AgedArchiveAttractor>;
      NOEMA_ARCHIVE: R2Bucket;
      SENDING_LEDGER: DurableObjectNamespace<SendingLedger>;
      IMMEDIATE_LEDGER: DurableObjectNamespace<ImmediateLedger>;
      KIT_ATTRACTOR: DurableObjectNamespace<KitAttractor>;
      SYNC_LEDGER: DurableObjectNamespace<SyncLedger>;
    }
  }
}
