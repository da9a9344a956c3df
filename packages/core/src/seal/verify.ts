import type { Feature } from "../builtin/feature.js";
import type { AlarmChore, Row, SqlExecutor } from "../host/index.js";
import type { ChainLink, SedimentLog, VerifySlice } from "./store.js";
import { Slicer } from "./slice.js";
import type { Checkpoint, Verification } from "./types.js";

/**
 * Entries a background pass checks per alarm run (about 10 ms at the native hash's rate), and the
 * first slice of `verify()`, whose later slices are sized to SLICE_TARGET_MS by how long they take.
 */
export const VERIFY_SLICE = 500;
/** A full re-verification is due once the log has grown by this many entries since the last one began. */
export const FULL_VERIFY_EVERY = 100_000;

export const VERIFY_DDL = [
  // The latest head a full pass verified from the anchor: checks of the tail start there.
  `CREATE TABLE IF NOT EXISTS _noema_checkpoint (sediment_id INTEGER PRIMARY KEY, hash BLOB NOT NULL, verified_at INTEGER NOT NULL) STRICT`,
  // The latest full pass: running while finished_at is NULL; a break it found stays reported until the next one.
  `CREATE TABLE IF NOT EXISTS _noema_verify_pass (id INTEGER PRIMARY KEY CHECK (id = 1), started_at INTEGER NOT NULL, target INTEGER NOT NULL, through INTEGER NOT NULL, through_hash BLOB NOT NULL, finished_at INTEGER, broken_at INTEGER, broken_length INTEGER) STRICT`,
];

/** Verification: the checkpoint and background pass tables; it runs as the Verifier's alarm chore. */
export const verificationFeature: Feature = { name: "verify", docs: "docs/concepts/seal.md", tables: VERIFY_DDL, steps: [] };

/** A full pass as stored: how far it got towards the head it started with. */
export interface VerifyPass {
  startedAt: number;
  /** The head when it started: it verifies up to there. */
  target: number;
  through: number;
  finishedAt: number | null;
  broken: { brokenAt: number; length: number } | null;
}

type Broken = Extract<Verification, { ok: false }>;

/** The earlier of two breaks: the first broken link is the one to report. */
const first = (a: Broken | null, b: Broken | null): Broken | null => (a && b ? (a.brokenAt <= b.brokenAt ? a : b) : (a ?? b));

/**
 * Verification that never blocks: `verify()` checks the tail since the last checkpoint in
 * slices, yielding between them; a full pass from the anchor runs in the background, a slice
 * per alarm run, and records its head as the next checkpoint (or the first break it found).
 */
export class Verifier {
  constructor(
    private readonly log: SedimentLog,
    private readonly db: SqlExecutor,
  ) {}

  checkpoint(): Checkpoint | null {
    const r = this.db.exec(`SELECT sediment_id, lower(hex(hash)) AS hash, verified_at FROM _noema_checkpoint ORDER BY sediment_id DESC LIMIT 1`, [])[0];
    return r ? { sedimentId: Number(r.sediment_id), hash: String(r.hash), verifiedAt: Number(r.verified_at) } : null;
  }

  pass(): VerifyPass | null {
    const r = this.passRow();
    return r
      ? {
          startedAt: Number(r.started_at),
          target: Number(r.target),
          through: Number(r.through),
          finishedAt: r.finished_at === null ? null : Number(r.finished_at),
          broken: r.broken_at === null ? null : { brokenAt: Number(r.broken_at), length: Number(r.broken_length) },
        }
      : null;
  }

  private passRow(): Row | undefined {
    return this.db.exec(`SELECT started_at, target, through, lower(hex(through_hash)) AS through_hash, finished_at, broken_at, broken_length FROM _noema_verify_pass WHERE id = 1`, [])[0];
  }

  /**
   * Checks every entry after the checkpoint (after the anchor when there is none, or when
   * archival passed it) up to the head as it is now, in slices with `pause()` between them, so
   * other requests run meanwhile: each slice is sized to last about SLICE_TARGET_MS. A break a full pass recorded is
   * reported too: whichever broken link comes first.
   */
  async verify(pause: () => Promise<void>): Promise<Verification> {
    const head = this.log.head();
    const anchor = this.log.anchor();
    const cp = this.checkpoint();
    const usable = cp && cp.sedimentId > anchor.sedimentId && cp.sedimentId <= head.sedimentId ? cp : null;
    const found = this.pass()?.broken;
    const recorded: Broken | null = found ? { ok: false, ...found } : null;
    let from: ChainLink = usable ?? anchor;
    // The row the tail chains to must still hold the checkpoint's hash.
    if (usable && this.log.hashOf(usable.sedimentId) !== usable.hash) return first(recorded, { ok: false, brokenAt: usable.sedimentId, length: usable.sedimentId - 1 })!;
    const slicer = new Slicer(pause, VERIFY_SLICE);
    for (;;) {
      const slice: VerifySlice = this.log.verifySlice(from, head.sedimentId, slicer.room);
      if (!slice.ok) return first(recorded, slice)!;
      slicer.took(slice.through.sedimentId - from.sedimentId);
      from = slice.through;
      if (slice.done) break;
      await slicer.next();
    }
    const broken = first(recorded, null);
    if (broken) return broken;
    return { ok: true, length: head.sedimentId, head: from.hash, verifiedThrough: from.sedimentId, checkpoint: usable };
  }

  /** Starts a full pass from the anchor to the current head, replacing the last one. */
  startPass(now: number): void {
    const anchor = this.log.anchor();
    this.db.exec(
      `INSERT OR REPLACE INTO _noema_verify_pass (id, started_at, target, through, through_hash, finished_at, broken_at, broken_length) VALUES (1, ?, ?, ?, unhex(?), NULL, NULL, NULL)`,
      [now, this.log.head().sedimentId, anchor.sedimentId, anchor.hash],
    );
  }

  /** When the background pass next has work: now while one runs, or once the log grew FULL_VERIFY_EVERY past the last one. */
  next(): number | undefined {
    const p = this.pass();
    if (p && p.finishedAt === null) return p.startedAt;
    const grown = this.log.head().sedimentId - (p?.target ?? this.log.anchor().sedimentId);
    return grown >= FULL_VERIFY_EVERY ? (p?.finishedAt ?? 0) : undefined;
  }

  /** One slice of the background pass (starting one when none runs); its head becomes the checkpoint when it completes. */
  runSlice(now: number): void {
    let r = this.passRow();
    if (!r || r.finished_at !== null) {
      this.startPass(now);
      r = this.passRow()!;
    }
    const anchor = this.log.anchor();
    const target = Number(r.target);
    let from: ChainLink = { sedimentId: Number(r.through), hash: String(r.through_hash) };
    // Archival moved past the cursor: what it removed was verified before it left.
    if (from.sedimentId < anchor.sedimentId) from = anchor;
    const slice = this.log.verifySlice(from, target, VERIFY_SLICE);
    if (!slice.ok) {
      this.db.exec(`UPDATE _noema_verify_pass SET finished_at = ?, broken_at = ?, broken_length = ? WHERE id = 1`, [now, slice.brokenAt, slice.length]);
      return;
    }
    const { through } = slice;
    this.db.exec(`UPDATE _noema_verify_pass SET through = ?, through_hash = unhex(?), finished_at = ? WHERE id = 1`, [through.sedimentId, through.hash, slice.done ? now : null]);
    if (slice.done && through.sedimentId > 0) {
      this.db.exec(`DELETE FROM _noema_checkpoint`, []);
      this.db.exec(`INSERT INTO _noema_checkpoint (sediment_id, hash, verified_at) VALUES (?, unhex(?), ?)`, [through.sedimentId, through.hash, now]);
    }
  }

  /** The background pass as an alarm chore: one slice per alarm run, shared with the others. */
  chore(): AlarmChore {
    return { name: verificationFeature.name, next: () => this.next(), run: (now) => this.runSlice(now) };
  }
}
