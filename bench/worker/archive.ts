// Archival to R2 (issue 8 §4): entries/s sealed into segments, against plain R2 writes of the same bytes.
import type { Row } from "@noema/core";
import { type Archive, type SedimentHost, SedimentLog } from "@noema/core/runtime";
import { archive } from "@noema/cloudflare/archive";
import type { Env } from "./env.js";
import { HOUR, NoemaReservations, setStockV2 } from "./noema.js";

export interface ArchiveBenchResult {
  n: number;
  segmentEntries: number;
  segments: number;
  bytes: number;
  /** Archival as the chore does it: read rows, encode, put, read back and hash, record and delete in one transaction. */
  archiveMs: number;
  /** Baseline: one plain put per segment of the same text. */
  putMs: number;
  /** Baseline: a put and a get of the same text, the least a confirmed write costs. */
  putGetMs: number;
}

/** A Noema DO that fills its log and archives it with the same Archive the chore runs, timed in one call. */
export class ArchiveBench extends NoemaReservations {
  // The bench Worker's own binding: the inventory Attractor it extends declares no archive.
  private readonly bucket = (this.env as unknown as Env).NOEMA_ARCHIVE;

  /**
   * The Archive the chore would run, opened by `archive()` as `static archive` opens it (its
   * slices and pauses), over this object's storage and the bench bucket.
   */
  private archiveOf(segmentEntries: number, prefix: string): Archive {
    const sql = this.ctx.storage.sql;
    const host: SedimentHost = {
      db: { exec: (text, params) => sql.exec<Row>(text, ...params).toArray() },
      transaction: (fn) => this.ctx.storage.transactionSync(fn),
      now: () => Date.now(),
    };
    const feature = archive({ binding: "NOEMA_ARCHIVE", prefix, segmentEntries, segmentAgeMs: 30 * 24 * HOUR, precedentRetentionMs: 30 * 24 * HOUR });
    return feature.open(feature.store(this.bucket), host, new SedimentLog(host.db), { attractor: "ArchiveBench", name: prefix }).archive;
  }

  /** n setStock sediments: a log to archive; with `segmentEntries`, the archive's tables too, as an Attractor with `static archive` has them from its start. */
  fillLog(n: number, segmentEntries?: number): void {
    for (let i = 0; i < n; i++) {
      const seal = this.sedimentation(setStockV2);
      if (!seal.success) throw new Error(`bench setStock refused: ${seal.reason.message}`);
    }
    if (segmentEntries !== undefined) this.archiveOf(segmentEntries, this.stallPrefix());
  }

  private stallPrefix(): string {
    return `bench/${this.ctx.id.toString()}`;
  }

  /** One archival slice (one full segment), as the alarm runs it. */
  async archiveSegment(segmentEntries: number): Promise<number> {
    const archive = this.archiveOf(segmentEntries, this.stallPrefix());
    await archive.run(Date.now());
    return archive.segments().length;
  }

  async archiveBench(n: number, segmentEntries: number): Promise<ArchiveBenchResult> {
    this.fillLog(n);
    const bucket = this.bucket;
    const prefix = `bench/${crypto.randomUUID()}`;
    const archive = this.archiveOf(segmentEntries, prefix);
    const segments = Math.floor(n / segmentEntries);
    const start = performance.now();
    while (archive.segments().length < segments) await archive.run(Date.now());
    const archiveMs = performance.now() - start;
    const texts: string[] = [];
    for (const s of archive.segments()) texts.push(await (await bucket.get(s.key))!.text());
    const putStart = performance.now();
    for (const [i, text] of texts.entries()) await bucket.put(`${prefix}/plain/${i}`, text);
    const putMs = performance.now() - putStart;
    const putGetStart = performance.now();
    for (const [i, text] of texts.entries()) {
      await bucket.put(`${prefix}/plain-get/${i}`, text);
      await (await bucket.get(`${prefix}/plain-get/${i}`))!.text();
    }
    const putGetMs = performance.now() - putGetStart;
    const bytes = archive.segments().reduce((sum, s) => sum + s.bytes, 0);
    return { n: segments * segmentEntries, segmentEntries, segments, bytes, archiveMs, putMs, putGetMs };
  }
}
