// @noema/cloudflare/archive: history archived to R2, a feature an Attractor opts into with
// `static archive = archive({ binding })`. Its code (segments, manifests, reading and verifying
// through R2) reaches a Worker only when imported from here.
import {
  type AlarmChore,
  Archive,
  DEFAULT_PRECEDENT_RETENTION_MS,
  DEFAULT_SEGMENT_AGE_MS,
  DEFAULT_SEGMENT_ENTRIES,
  type ObjectStorePort,
  type SedimentHost,
  type SedimentLog,
} from "@noema/core/runtime";

/**
 * The settings of `archive()`: seal the log into segments in an R2 bucket. Every field but
 * `binding` has a default (see DEFAULT_SEGMENT_ENTRIES, DEFAULT_SEGMENT_AGE_MS,
 * DEFAULT_PRECEDENT_RETENTION_MS).
 */
export interface ArchiveSettings {
  /** The R2 bucket binding of the Worker, e.g. "NOEMA_ARCHIVE". */
  binding: string;
  /** Entries per segment; a segment is cut as soon as the live log holds this many. */
  segmentEntries?: number;
  /** A live sediment this old (ms) is archived with everything after it (up to `segmentEntries`). */
  segmentAgeMs?: number;
  /** Precedents older than this (ms) are archived. */
  precedentRetentionMs?: number;
  /** Object key prefix; default `<Attractor name>/<instance name>` (see `static attractor`), one per Attractor instance. */
  prefix?: string;
}

/**
 * What `static archive` of an Attractor holds, made by `archive()`: its settings and the code
 * that opens the archive of each instance. The Attractor calls nothing else of the archive.
 */
export interface ArchiveFeature {
  readonly settings: Readonly<ArchiveSettings>;
  /** What is wrong with the settings under this Worker's bindings, or the bucket they name. */
  bucket(env: unknown, className: string): R2Bucket | string;
  /** The object-store port over the bucket (the Attractor's `archiveStore` may wrap it). */
  store(bucket: R2Bucket): ObjectStorePort;
  /** The archive of one instance, writing to `store`, and its share of the alarm. */
  open(store: ObjectStorePort, host: SedimentHost, log: SedimentLog, world: { attractor: string; name: string }): { archive: Archive; chore: AlarmChore };
}

/**
 * `static archive` of an Attractor: seal its log (and old precedents) into segments in the R2
 * bucket of `settings.binding` (docs/concepts/archive.md).
 *
 * @example static archive = archive({ binding: "NOEMA_ARCHIVE" });
 */
export function archive(settings: ArchiveSettings): ArchiveFeature {
  return { settings, bucket: (env, className) => archiveBucket(settings, env, className), store: r2Store, open: (store, host, log, world) => openArchive(settings, store, host, log, world) };
}

const isBucket = (value: unknown): value is R2Bucket =>
  typeof value === "object" && value !== null && ["put", "get", "head", "delete"].every((m) => typeof (value as Record<string, unknown>)[m] === "function");

const positive = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value > 0;

/** What is wrong with `static archive` under this Worker's bindings, or the bucket it names. */
function archiveBucket(settings: ArchiveSettings, env: unknown, className: string): R2Bucket | string {
  const where = `${className}.archive`;
  for (const field of ["segmentEntries", "segmentAgeMs", "precedentRetentionMs"] as const) {
    if (settings[field] !== undefined && !positive(settings[field])) return `${where}.${field} must be a positive whole number, got ${String(settings[field])}`;
  }
  const bucket = (env as Record<string, unknown> | undefined)?.[settings.binding];
  if (!isBucket(bucket)) return `${where} names the R2 binding "${settings.binding}", which this Worker does not have: add it to r2_buckets in wrangler.jsonc`;
  return bucket;
}

/** The object-store port over a real R2 bucket; R2 checks each upload against its SHA-256. */
export function r2Store(bucket: R2Bucket): ObjectStorePort {
  return {
    async put(key, body, metadata) {
      await bucket.put(key, body, {
        customMetadata: metadata,
        httpMetadata: { contentType: "application/x-ndjson" },
        ...(metadata.contentHash ? { sha256: metadata.contentHash } : {}),
      });
    },
    async get(key) {
      const object = await bucket.get(key);
      return object ? object.text() : undefined;
    },
    async head(key) {
      const object = await bucket.head(key);
      return object ? (object.customMetadata ?? {}) : undefined;
    },
    async delete(key) {
      await bucket.delete(key);
    },
  };
}

/** The archive of one Attractor instance, with the defaults filled in, and its chore: one segment per alarm run, retried by the alarm when R2 fails. */
function openArchive(settings: ArchiveSettings, store: ObjectStorePort, host: SedimentHost, log: SedimentLog, world: { attractor: string; name: string }): { archive: Archive; chore: AlarmChore } {
  const archive = new Archive(host, log, store, {
    prefix: settings.prefix ?? `${world.attractor}/${encodeURIComponent(world.name)}`,
    segmentEntries: settings.segmentEntries ?? DEFAULT_SEGMENT_ENTRIES,
    segmentAgeMs: settings.segmentAgeMs ?? DEFAULT_SEGMENT_AGE_MS,
    precedentRetentionMs: settings.precedentRetentionMs ?? DEFAULT_PRECEDENT_RETENTION_MS,
  }, yieldToEvents);
  return { archive, chore: { name: "archive", next: () => archive.next(), run: (now) => archive.run(now) } };
}

/** A turn of the event loop: requests waiting on the object run before archival goes on. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
