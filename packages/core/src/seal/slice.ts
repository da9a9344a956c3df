/** Wall time one slice of long work (verification, archival) aims at: a request arriving meanwhile waits about this long. */
export const SLICE_TARGET_MS = 10;
/** Fewest and most entries an adapted slice holds. */
export const SLICE_MIN = 200;
export const SLICE_MAX = 2000;

/**
 * Long work in slices, with a pause (a turn of the event loop) between them, each slice sized from
 * how long the last one took so that it lasts about SLICE_TARGET_MS whatever the machine's load.
 * Workers' clocks stand still while code runs and move at I/O, so a slice is timed from the end of
 * one pause to the end of the next: the requests let in during the pause count too, and slices
 * shrink while requests arrive.
 */
export class Slicer {
  private size: number;
  private count = 0;
  private started = Date.now();

  constructor(
    private readonly pause: () => Promise<void>,
    initial: number,
  ) {
    this.size = initial;
  }

  /** Entries the current slice may still take. */
  get room(): number {
    return Math.max(this.size - this.count, 1);
  }

  /** Counts `n` entries done; true when the slice is full and `next()` is due. */
  took(n = 1): boolean {
    this.count += n;
    return this.count >= this.size;
  }

  /** Pauses, then sizes the next slice. */
  async next(): Promise<void> {
    await this.pause();
    const now = Date.now();
    const ms = now - this.started;
    const done = Math.max(this.count, 1);
    const scaled = ms > 0 ? Math.floor((done * SLICE_TARGET_MS) / ms) : done * 2;
    this.size = Math.min(SLICE_MAX, Math.max(SLICE_MIN, Math.min(scaled, done * 2)));
    this.started = now;
    this.count = 0;
  }
}
