import type { Feature } from "../builtin/feature.js";
import type { SedimentHost, SqlExecutor } from "../host/index.js";
import type { ReasonKind } from "../refusal/index.js";
import {
  type ArchiveBreak,
  type ArchivedSegment,
  decodeSegment,
  manifestMetadata,
  noPause,
  type ObjectStorePort,
  type Pause,
  type SegmentKind,
  type SegmentManifest,
  SegmentWriter,
  SLICE_ENTRIES,
  segmentContentHash,
  segmentKey,
  verifyManifestChain,
  verifyMetadata,
  verifySegmentText,
} from "./archive.js";
import { Slicer } from "./slice.js";
import type { SedimentLog } from "./store.js";
import type { Precedent, Seal, Sediment, Verification } from "./types.js";

/** The segment index, in the Attractor's own SQLite: what is archived where, in order. */
export const ARCHIVE_DDL = [
  `CREATE TABLE IF NOT EXISTS _noema_archive_segment (segment INTEGER PRIMARY KEY, kind TEXT NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, count INTEGER NOT NULL, first_prev_hash TEXT NOT NULL, head_hash TEXT NOT NULL, content_hash TEXT NOT NULL, bytes INTEGER NOT NULL, object_key TEXT NOT NULL, archived_at INTEGER NOT NULL) STRICT`,
  // Paging finds the segment holding an id by its last id.
  `CREATE UNIQUE INDEX IF NOT EXISTS _noema_archive_segment_last ON _noema_archive_segment (kind, last_id)`,
];

/** The archive: its segment index, made when `static archive` opens it (not for every Attractor), and its chore. */
export const archiveFeature: Feature = { name: "archive", docs: "docs/concepts/archive.md", tables: ARCHIVE_DDL, steps: [] };

/** Archived precedent segments read per `precedents()` call at most: a filter matching nothing still answers promptly, with a cursor. */
export const PRECEDENT_SEGMENTS_PER_READ = 4;

/** How an Archive cuts and keeps segments: the key prefix, the segment size and age, how long Precedents stay live. */
export interface ArchiveOptions {
  /** Key prefix of this Attractor's objects in the bucket (one per Attractor instance). */
  prefix: string;
  /** Entries per segment: a segment is cut as soon as the live log holds this many. */
  segmentEntries: number;
  /** A live sediment this old (ms) is archived with everything after it, up to `segmentEntries`. */
  segmentAgeMs: number;
  /** Precedents older than this (ms) are archived, in segments of up to `segmentEntries`. */
  precedentRetentionMs: number;
}

/** The archive found something wrong with a segment while reading it. */
export class ArchiveError extends Error {
  override name = "ArchiveError";
  constructor(readonly broken: ArchiveBreak) {
    super(broken.message);
  }
}

/** How the archive stands in a verification: how much is archived, how deep it was checked, the first break. */
export interface ArchiveReport {
  segments: number;
  /** The last archived sediment (0: none). */
  archivedThrough: number;
  /** True when every segment was re-read and every entry rechecked. */
  deep: boolean;
  broken?: ArchiveBreak;
}

/** A verification of the chain that reaches into the archived segments too. */
export type ArchivedVerification = Verification & { archive: ArchiveReport };

const segmentOf = (r: Record<string, unknown>): ArchivedSegment => ({
  segment: Number(r.segment),
  kind: String(r.kind) as SegmentKind,
  first: Number(r.first_id),
  last: Number(r.last_id),
  count: Number(r.count),
  firstPrevHash: String(r.first_prev_hash),
  headHash: String(r.head_hash),
  contentHash: String(r.content_hash),
  bytes: Number(r.bytes),
  key: String(r.object_key),
  archivedAt: Number(r.archived_at),
});

const SEGMENT_SELECT = `SELECT segment, kind, first_id, last_id, count, first_prev_hash, head_hash, content_hash, bytes, object_key, archived_at FROM _noema_archive_segment`;

/**
 * Seals the log into segments in an object store and reads them back. Archival is one segment
 * per `run()`: write the object, read it back and check its content hash, then in one
 * transaction record the segment and remove its rows. A failure anywhere before that
 * transaction leaves the rows where they were, to be archived by the next run. Long work awaits
 * `pause` between slices of entries (each sized to about SLICE_TARGET_MS), so writes are served in between.
 */
export class Archive {
  private readonly db: SqlExecutor;
  /** The last segment read, parsed: paging through one segment reads its object once. Bounded by `segmentEntries`. */
  private cached: { segment: number; entries: (Sediment | Precedent)[] } | undefined;
  /** Kept in memory so a Seal can be placed without a read: only this archive moves the anchor or removes precedents. */
  private anchorId: number;
  private precedentsLive: boolean;

  constructor(
    private readonly host: SedimentHost,
    private readonly log: SedimentLog,
    private readonly store: ObjectStorePort,
    readonly options: ArchiveOptions,
    private readonly pause: Pause = noPause,
  ) {
    this.db = host.db;
    host.transaction(() => {
      for (const ddl of archiveFeature.tables) this.db.exec(ddl, []);
    });
    this.anchorId = log.anchor().sedimentId;
    this.precedentsLive = log.precedents({ limit: 1 }).length > 0;
  }

  /** Whether a new Seal moved archival's next time: the live log's first entry, a full segment, or the first live precedent. */
  moved(seal: Seal): boolean {
    if (seal.success) {
      const live = seal.sedimentId - this.anchorId;
      return live === 1 || live === this.options.segmentEntries;
    }
    if (this.precedentsLive) return false;
    return (this.precedentsLive = true);
  }

  segments(): ArchivedSegment[] {
    return this.db.exec(`${SEGMENT_SELECT} ORDER BY segment`, []).map(segmentOf);
  }

  /** The first segment of `kind` holding an id after `after`. */
  private segmentAfter(kind: SegmentKind, after: number): ArchivedSegment | undefined {
    const row = this.db.exec(`${SEGMENT_SELECT} WHERE kind = ? AND last_id > ? ORDER BY last_id LIMIT 1`, [kind, after])[0];
    return row ? segmentOf(row) : undefined;
  }

  /** When archival next has work: now when a segment is full, else when the oldest live entry comes of age. */
  next(): number | undefined {
    const times = [this.sedimentsDue(), this.precedentsDue()].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  /** When the first segment's worth of live entries is due: once full, since the entry that filled it (never in the future). */
  private sedimentsDue(): number | undefined {
    const anchor = this.log.anchor();
    const live = this.log.head().sedimentId - anchor.sedimentId;
    if (live === 0) return undefined;
    if (live >= this.options.segmentEntries) return this.log.page(anchor.sedimentId + this.options.segmentEntries - 1, 1).sediments[0]!.timestamp;
    return this.log.page(anchor.sedimentId, 1).sediments[0]!.timestamp + this.options.segmentAgeMs;
  }

  private precedentsDue(): number | undefined {
    const oldest = this.log.precedents({ limit: 1 })[0];
    return oldest && oldest.timestamp + this.options.precedentRetentionMs;
  }

  /** One slice: archives one segment of whatever is due, sediments first. */
  async run(now: number): Promise<void> {
    const sedimentsAt = this.sedimentsDue();
    if (sedimentsAt !== undefined && sedimentsAt <= now) return this.archiveSediments();
    const precedentsAt = this.precedentsDue();
    if (precedentsAt !== undefined && precedentsAt <= now) return this.archivePrecedents(now);
  }

  private async archiveSediments(): Promise<void> {
    const anchor = this.log.anchor();
    const writer = new SegmentWriter("sediment");
    const slicer = new Slicer(this.pause, SLICE_ENTRIES);
    // A slice at a time; entries appended meanwhile simply continue the run.
    for (let after = anchor.sedimentId; writer.count < this.options.segmentEntries; await slicer.next()) {
      const { sediments } = this.log.page(after, Math.min(slicer.room, this.options.segmentEntries - writer.count));
      if (sediments.length === 0) break;
      for (const sediment of sediments) writer.add(sediment);
      slicer.took(sediments.length);
      after = sediments[sediments.length - 1]!.sedimentId;
    }
    if (writer.count === 0) return;
    const segment = writer.finish();
    await this.write(segment, () => {
      // Only the alarm archives, one run at a time; this keeps a second writer from recording a segment twice.
      if (this.log.anchor().sedimentId !== anchor.sedimentId) throw new Error("the archive moved while this segment was written");
      this.log.archiveThrough(segment.manifest.last);
    });
  }

  private async archivePrecedents(now: number): Promise<void> {
    const cutoff = now - this.options.precedentRetentionMs;
    const writer = new SegmentWriter("precedent");
    const slicer = new Slicer(this.pause, SLICE_ENTRIES);
    // In id order up to the first one still within the retention window.
    for (let after = 0; writer.count < this.options.segmentEntries; await slicer.next()) {
      const page = this.log.precedents({ after, limit: Math.min(slicer.room, this.options.segmentEntries - writer.count) });
      const end = page.findIndex((p) => p.timestamp > cutoff);
      const due = end === -1 ? page : page.slice(0, end);
      for (const precedent of due) writer.add(precedent);
      slicer.took(due.length);
      if (due.length === 0 || due.length < page.length) break;
      after = due[due.length - 1]!.precedentId;
    }
    if (writer.count === 0) return;
    const segment = writer.finish();
    await this.write(segment, () => {
      if (this.log.precedents({ limit: 1 })[0]?.precedentId !== segment.manifest.first) throw new Error("the archive moved while this segment was written");
      this.log.archivePrecedentsThrough(segment.manifest.last);
    });
  }

  /** Writes, reads back and checks, then records the segment and runs `remove` in one transaction. */
  private async write(segment: { text: string; manifest: SegmentManifest }, remove: () => void): Promise<void> {
    const { text, manifest } = segment;
    const key = segmentKey(this.options.prefix, manifest.kind, manifest.first);
    await this.store.put(key, text, manifestMetadata(manifest));
    const back = await this.store.get(key);
    if (back === undefined || (await segmentContentHash(back, this.pause)) !== manifest.contentHash) {
      throw new Error(`segment ${key} did not read back as written (${back === undefined ? "missing" : "content hash differs"})`);
    }
    this.host.transaction(() => {
      remove();
      this.db.exec(
        `INSERT INTO _noema_archive_segment (kind, first_id, last_id, count, first_prev_hash, head_hash, content_hash, bytes, object_key, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [manifest.kind, manifest.first, manifest.last, manifest.count, manifest.firstPrevHash, manifest.headHash, manifest.contentHash, manifest.bytes, key, this.host.now()],
      );
    });
    this.anchorId = this.log.anchor().sedimentId;
    this.precedentsLive = this.log.precedents({ limit: 1 }).length > 0;
  }

  /** A segment's entries, read from the store and checked against its content hash. */
  private async entries<T extends Sediment | Precedent>(s: ArchivedSegment): Promise<T[]> {
    if (this.cached?.segment === s.segment) return this.cached.entries as T[];
    const text = await this.store.get(s.key);
    if (text === undefined) throw new ArchiveError(verifyMetadata(s, undefined)!);
    if ((await segmentContentHash(text, this.pause)) !== s.contentHash) {
      throw new ArchiveError((await verifySegmentText(s, text, this.pause))!);
    }
    const entries = await decodeSegment<T>(text, this.pause);
    this.cached = { segment: s.segment, entries };
    return entries;
  }

  /** Sediments after `after`, across archived segments and the live log, as `SedimentLog.page` pages the live log alone. */
  async sediments(after: number, limit: number): Promise<{ sediments: Sediment[]; next?: number }> {
    const out: Sediment[] = [];
    let cursor = after;
    while (out.length < limit) {
      // Read again after every await: archival may have moved the anchor meanwhile.
      if (cursor >= this.log.anchor().sedimentId) {
        const live = this.log.page(cursor, limit - out.length);
        out.push(...live.sediments);
        return live.next === undefined ? { sediments: out } : { sediments: out, next: live.next };
      }
      const segment = this.segmentAfter("sediment", cursor);
      if (!segment) throw new Error(`no archived segment holds sediment ${cursor + 1}`);
      for (const e of await this.entries<Sediment>(segment)) {
        if (e.sedimentId > cursor && out.length < limit) out.push(e);
      }
      cursor = out.length ? out[out.length - 1]!.sedimentId : segment.last;
    }
    return cursor < this.log.head().sedimentId ? { sediments: out, next: cursor } : { sediments: out };
  }

  /**
   * Precedents after `after`, archived ones first; `live` reads the live table. Archived
   * segments are filtered as read, at most PRECEDENT_SEGMENTS_PER_READ per call, so a page may
   * come back short with a `next` cursor.
   */
  async precedents(
    filter: { kind?: ReasonKind; nomosVersion?: number; after?: number; limit: number },
    live: (filter: { kind?: ReasonKind; nomosVersion?: number; after: number; limit: number }) => Precedent[],
  ): Promise<{ precedents: Precedent[]; next?: number }> {
    const { kind, nomosVersion, limit } = filter;
    const matches = (p: Precedent) => (kind === undefined || p.reason.kind === kind) && (nomosVersion === undefined || p.nomosVersion === nomosVersion);
    const out: Precedent[] = [];
    let cursor = filter.after ?? 0;
    for (let read = 0; out.length <= limit; read++) {
      const segment = this.segmentAfter("precedent", cursor);
      if (!segment) {
        out.push(...live({ ...(kind === undefined ? {} : { kind }), ...(nomosVersion === undefined ? {} : { nomosVersion }), after: cursor, limit: limit + 1 - out.length }));
        break;
      }
      if (read === PRECEDENT_SEGMENTS_PER_READ) return { precedents: out, next: cursor };
      for (const p of await this.entries<Precedent>(segment)) if (p.precedentId > cursor && matches(p)) out.push(p);
      cursor = segment.last;
    }
    if (out.length <= limit) return { precedents: out };
    const page = out.slice(0, limit);
    return { precedents: page, next: page[limit - 1]!.precedentId };
  }

  /**
   * Checks the archive, then returns `tail` (the live log's verification) with an `archive`
   * report: the manifest chain from genesis to the live log's anchor, each object's presence and
   * manifest, and with `deep` every segment's bytes and entries. The first break wins, naming its
   * segment and entry.
   */
  async verify(tail: Verification, options: { deep?: boolean } = {}): Promise<ArchivedVerification> {
    const deep = options.deep === true;
    const segments = this.segments();
    const anchor = this.log.anchor();
    const report: ArchiveReport = { segments: segments.length, archivedThrough: anchor.sedimentId, deep };
    // A sediment break counts the entries before it; precedents are checked after every sediment segment.
    const fail = (broken: ArchiveBreak): ArchivedVerification => ({
      ok: false,
      brokenAt: broken.entry,
      length: broken.kind === "sediment" ? Math.max(broken.entry - 1, 0) : anchor.sedimentId,
      archive: { ...report, broken },
    });
    const chain = verifyManifestChain(segments, anchor);
    if (chain) return fail(chain);
    const inOrder = [...segments.filter((s) => s.kind === "sediment"), ...segments.filter((s) => s.kind === "precedent")];
    for (const s of inOrder) {
      const broken = deep ? await verifySegmentText(s, await this.store.get(s.key), this.pause) : verifyMetadata(s, await this.store.head(s.key));
      if (broken) return fail(broken);
    }
    return { ...tail, archive: report };
  }
}
