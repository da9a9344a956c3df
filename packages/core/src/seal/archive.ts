import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { canonicalJson } from "../canonical/index.js";
import { GENESIS_HASH, sedimentHash } from "./chain.js";
import { Slicer } from "./slice.js";
import type { Precedent, Sediment } from "./types.js";

/** Entries per archived segment by default: about 6.5 MB of NDJSON at ~650 bytes a sediment (the bench measures it). */
export const DEFAULT_SEGMENT_ENTRIES = 10_000;
/** A live entry this old (ms) is archived with everything after it, even if the segment is not full: one day. */
export const DEFAULT_SEGMENT_AGE_MS = 24 * 60 * 60 * 1000;
/** Precedents older than this (ms) leave SQLite for the archive by default: 30 days. */
export const DEFAULT_PRECEDENT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** What a segment holds: a run of the sediment log, or of precedents. */
export type SegmentKind = "sediment" | "precedent";

/**
 * What the Attractor records about a segment, and what the object carries as metadata. For a
 * sediment segment, `firstPrevHash` and `headHash` chain it to its neighbours: segment i's first
 * `prevHash` is segment i-1's head, and the live log continues from the last segment's head.
 */
export interface SegmentManifest {
  kind: SegmentKind;
  /** First and last id (sedimentId or precedentId) it holds, inclusive. */
  first: number;
  last: number;
  count: number;
  /** The first entry's `prevHash` and the last entry's `hash` (sediment segments; genesis for precedents). */
  firstPrevHash: string;
  headHash: string;
  /** SHA-256 (hex) of the object's bytes. */
  contentHash: string;
  bytes: number;
}

/** A manifest as the Attractor's segment index holds it: numbered in order, with its object's key. */
export interface ArchivedSegment extends SegmentManifest {
  /** 1, 2, … in archival order: names the segment in a verification report. */
  segment: number;
  key: string;
  archivedAt: number;
}

/**
 * Where segments are written: the one thing the archive needs from an object store (R2 in the
 * Cloudflare layer). `put` must not resolve before the object is durable.
 */
export interface ObjectStorePort {
  put(key: string, body: string, metadata: Record<string, string>): Promise<void>;
  /** The object's text, undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  /** The object's metadata, undefined when there is none. */
  head(key: string): Promise<Record<string, string> | undefined>;
  delete(key: string): Promise<void>;
}

/** Entries in the first slice while a segment is written, read or verified; later slices are sized by time (Slicer). */
export const SLICE_ENTRIES = 250;

/**
 * Lets other work in (an `await` of the runtime's event loop): archival, paging and deep
 * verification pause between slices of entries, so none holds the object for a whole segment.
 */
export type Pause = () => Promise<void>;
export const noPause: Pause = () => Promise.resolve();

/** The lines of a segment's text, each with its "\n" (cut there, so UTF-8 never splits). */
function* linesOf(text: string): Generator<string> {
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline + 1;
    yield text.slice(start, end);
    start = end;
  }
}

/** SHA-256 (hex) of a segment's text, as its manifest records it; hashed a slice of lines at a time. */
export async function segmentContentHash(text: string, pause: Pause = noPause): Promise<string> {
  const hash = sha256.create();
  const slicer = new Slicer(pause, SLICE_ENTRIES);
  for (const line of linesOf(text)) {
    hash.update(utf8ToBytes(line));
    if (slicer.took()) await slicer.next();
  }
  return bytesToHex(hash.digest());
}

/** The object key of a segment: one per first id, so a retried write replaces its own earlier attempt. */
export function segmentKey(prefix: string, kind: SegmentKind, first: number): string {
  return `${prefix}/${kind}s/${String(first).padStart(16, "0")}.ndjson`;
}

const idOf = (e: Sediment | Precedent) => ("sedimentId" in e ? e.sedimentId : e.precedentId);

/** Builds a segment's text an entry at a time: one line per entry in its wire form (canonical JSON, hex hashes), hashed as it goes. */
export class SegmentWriter {
  private readonly lines: string[] = [];
  private readonly hash = sha256.create();
  private bytes = 0;
  private first: Sediment | Precedent | undefined;
  private last: Sediment | Precedent | undefined;

  constructor(readonly kind: SegmentKind) {}

  get count(): number {
    return this.lines.length;
  }

  add(entry: Sediment | Precedent): void {
    const line = `${canonicalJson(entry)}\n`;
    const bytes = utf8ToBytes(line);
    this.hash.update(bytes);
    this.bytes += bytes.length;
    this.lines.push(line);
    this.first ??= entry;
    this.last = entry;
  }

  finish(): { text: string; manifest: SegmentManifest } {
    const { first, last, kind } = this;
    if (!first || !last) throw new Error("a segment holds at least one entry");
    return {
      text: this.lines.join(""),
      manifest: {
        kind,
        first: idOf(first),
        last: idOf(last),
        count: this.lines.length,
        firstPrevHash: kind === "sediment" ? (first as Sediment).prevHash : GENESIS_HASH,
        headHash: kind === "sediment" ? (last as Sediment).hash : GENESIS_HASH,
        contentHash: bytesToHex(this.hash.digest()),
        bytes: this.bytes,
      },
    };
  }
}

/** The entries of a segment's text, in order, parsed a slice at a time. */
export async function decodeSegment<T extends Sediment | Precedent>(text: string, pause: Pause = noPause): Promise<T[]> {
  const out: T[] = [];
  const slicer = new Slicer(pause, SLICE_ENTRIES);
  for (const line of linesOf(text)) {
    if (line !== "\n") out.push(JSON.parse(line) as T);
    if (slicer.took()) await slicer.next();
  }
  return out;
}

/** A manifest as object metadata (string values only, as R2 keeps them). */
export function manifestMetadata(m: SegmentManifest): Record<string, string> {
  return {
    kind: m.kind,
    first: String(m.first),
    last: String(m.last),
    count: String(m.count),
    firstPrevHash: m.firstPrevHash,
    headHash: m.headHash,
    contentHash: m.contentHash,
  };
}

/** What went wrong with an archived segment; `sedimentId` (or `precedentId`) names the entry when one is at fault. */
export interface ArchiveBreak {
  segment: number;
  kind: SegmentKind;
  key: string;
  problem: "missing" | "manifest" | "content" | "entry" | "chain";
  message: string;
  /** The entry at fault (its sedimentId or precedentId), or the segment's first id when no single entry is. */
  entry: number;
}

const broken = (s: ArchivedSegment, problem: ArchiveBreak["problem"], entry: number, message: string): ArchiveBreak => ({
  segment: s.segment,
  kind: s.kind,
  key: s.key,
  problem,
  entry,
  message: `segment ${s.segment} (${s.kind}s ${s.first}..${s.last}, ${s.key}): ${message}`,
});

/**
 * Checks the segment index alone: each sediment segment starts where the previous one ended
 * (ids and hashes), the first starts at genesis, and the live log's anchor is the last one's
 * head. Precedent segments must follow each other in id order.
 */
export function verifyManifestChain(segments: readonly ArchivedSegment[], anchor: { sedimentId: number; hash: string }): ArchiveBreak | undefined {
  let prev = { sedimentId: 0, hash: GENESIS_HASH };
  let lastPrecedent = 0;
  for (const s of segments) {
    if (s.kind === "precedent") {
      if (s.first <= lastPrecedent || s.last < s.first) return broken(s, "manifest", s.first, `does not follow precedent ${lastPrecedent}`);
      lastPrecedent = s.last;
      continue;
    }
    if (s.count !== s.last - s.first + 1) return broken(s, "manifest", s.first, `holds ${s.count} entries for ${s.last - s.first + 1} ids`);
    if (s.first !== prev.sedimentId + 1) return broken(s, "chain", s.first, `starts at ${s.first}, the previous segment ends at ${prev.sedimentId}`);
    if (s.firstPrevHash !== prev.hash) return broken(s, "chain", s.first, `its first prevHash ${s.firstPrevHash} is not the previous head ${prev.hash}`);
    prev = { sedimentId: s.last, hash: s.headHash };
  }
  if (anchor.sedimentId !== prev.sedimentId || anchor.hash !== prev.hash) {
    const last = [...segments].reverse().find((s) => s.kind === "sediment");
    const message = `the live log continues from sediment ${anchor.sedimentId} (${anchor.hash}), the archive ends at ${prev.sedimentId} (${prev.hash})`;
    if (last) return broken(last, "chain", last.last, message);
    return { segment: 0, kind: "sediment", key: "", problem: "chain", entry: anchor.sedimentId, message };
  }
  return undefined;
}

/** Checks an object's metadata against the index's manifest. */
export function verifyMetadata(s: ArchivedSegment, metadata: Record<string, string> | undefined): ArchiveBreak | undefined {
  if (metadata === undefined) return broken(s, "missing", s.first, "the object is missing");
  const want = manifestMetadata(s);
  for (const [field, value] of Object.entries(want)) {
    if (metadata[field] !== value) return broken(s, "manifest", s.first, `the object's ${field} is ${metadata[field] ?? "absent"}, the index says ${value}`);
  }
  return undefined;
}

/**
 * Re-reads a segment's text: its content hash, and every entry — ids in order from the first,
 * each sediment's hash recomputed and linked to the one before, the count and both ends as the
 * manifest says. Reports the first entry that does not hold.
 */
export async function verifySegmentText(s: ArchivedSegment, text: string | undefined, pause: Pause = noPause): Promise<ArchiveBreak | undefined> {
  if (text === undefined) return broken(s, "missing", s.first, "the object is missing");
  let entries: (Sediment | Precedent)[];
  try {
    entries = await decodeSegment(text, pause);
  } catch (error) {
    return broken(s, "content", s.first, `does not parse: ${error instanceof Error ? error.message : String(error)}`);
  }
  let prevHash = s.firstPrevHash;
  let expected = s.first;
  let seen = 0;
  const slicer = new Slicer(pause, SLICE_ENTRIES);
  for (const e of entries) {
    if (slicer.took()) await slicer.next();
    const id = idOf(e);
    if (s.kind === "sediment") {
      const sediment = e as Sediment;
      if (id !== expected) return broken(s, "entry", id, `entry ${id} where ${expected} was expected`);
      if (sediment.prevHash !== prevHash) return broken(s, "entry", id, `entry ${id} does not link to the entry before it`);
      const { hash, ...rest } = sediment;
      if (sedimentHash(rest) !== hash) return broken(s, "entry", id, `entry ${id} does not match its hash`);
      prevHash = hash;
      expected = id + 1;
    } else if (id < expected || id > s.last) {
      return broken(s, "entry", id, `precedent ${id} is out of order or range`);
    } else expected = id + 1;
    seen++;
  }
  if (seen !== s.count) return broken(s, "content", s.first, `holds ${seen} entries, the manifest says ${s.count}`);
  if (s.kind === "sediment" && prevHash !== s.headHash) return broken(s, "content", s.last, `ends at hash ${prevHash}, the manifest says ${s.headHash}`);
  if ((await segmentContentHash(text, pause)) !== s.contentHash) return broken(s, "content", s.first, "its bytes do not match the manifest's content hash");
  return undefined;
}
