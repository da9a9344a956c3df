import { Attractor } from "@noema/cloudflare";
import { archive } from "@noema/cloudflare/archive";
import type { ObjectStorePort } from "@noema/core/runtime";
import { LedgerAttractor } from "../ledger/attractor.js";
import { ledger } from "../ledger/vocabulary.js";

/** Entries per segment in these tests: small, so a handful of Intents fills one. */
export const SEGMENT_ENTRIES = 5;
const HOUR = 60 * 60 * 1000;

/** A fault the next matching object-store call meets: R2 failing, or answering wrongly. */
export type Fault = "put fails" | "put lost" | "get fails" | "get corrupt";
const FAULTS = "test:faults";

/** A ledger archived to the real R2 bucket by size, through a wrapper that injects faults on request. */
export class ArchiveAttractor extends LedgerAttractor {
  static archive = archive({ binding: "NOEMA_ARCHIVE", segmentEntries: SEGMENT_ENTRIES, segmentAgeMs: HOUR, precedentRetentionMs: HOUR });

  /** Queues faults, applied in order to the calls they name. */
  inject(faults: Fault[]): void {
    this.ctx.storage.kv.put(FAULTS, faults);
  }

  faultsLeft(): Fault[] {
    return this.ctx.storage.kv.get<Fault[]>(FAULTS) ?? [];
  }

  /** Live rows in SQLite: what archival removed. */
  liveRows(): number {
    return Number(this.query("SELECT COUNT(*) AS n FROM _noema_sediment")[0]!.n);
  }

  protected override archiveStore(bucket: R2Bucket): ObjectStorePort {
    const real = super.archiveStore(bucket);
    const take = (call: "put" | "get"): Fault | undefined => {
      const [next, ...rest] = this.faultsLeft();
      if (!next?.startsWith(call)) return undefined;
      this.ctx.storage.kv.put(FAULTS, rest);
      return next;
    };
    return {
      put: async (key, body, metadata) => {
        const fault = take("put");
        if (fault === "put fails") throw new Error("injected: R2 put failed");
        if (fault !== "put lost") await real.put(key, body, metadata);
      },
      get: async (key) => {
        const fault = take("get");
        if (fault === "get fails") throw new Error("injected: R2 get failed");
        const text = await real.get(key);
        return fault === "get corrupt" && text !== undefined ? text.replace("alice", "mallory") : text;
      },
      head: (key) => real.head(key),
      delete: (key) => real.delete(key),
    };
  }
}

/** A ledger whose every sediment and precedent is archived as soon as it is a millisecond old. */
export class AgedArchiveAttractor extends Attractor<unknown, typeof ledger> {
  static law = ledger;
  static archive = archive({ binding: "NOEMA_ARCHIVE", segmentEntries: 1000, segmentAgeMs: 1, precedentRetentionMs: 1 });
}

/** Names an R2 binding the Worker does not have. */
export class UnboundArchiveAttractor extends Attractor<unknown, typeof ledger> {
  static law = ledger;
  static archive = archive({ binding: "NO_SUCH_BUCKET" });
}

/** Declares its archive as a plain object, as before `archive()`: no archive code comes with it. */
export class PlainArchiveAttractor extends Attractor<unknown, typeof ledger> {
  static law = ledger;
  static archive = { binding: "NOEMA_ARCHIVE" };
}
