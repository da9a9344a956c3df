/**
 * Where an Intent landed, and under which law: recorded in every Seal and log entry. The law's
 * version and hash are flat fields here (`seal.world.nomosVersion`), not a nested stamp.
 */
export interface World {
  /** The Attractor's name: its class's, or the one it declares (`static attractor`), e.g. `"InventoryAttractor"`. */
  attractor: string;
  /** The name the Attractor was addressed by (`idFromName`/`getByName`); a random id's hex form otherwise. */
  name: string;
  /** The version of the Nomos the Attractor held when it sealed: the law that applied. */
  nomosVersion: number;
  /** That Nomos's hash (SHA-256 hex of its canonical form). */
  nomosHash: string;
}

/** What a bound parameter may be: values only, never SQL text. */
export type SqlValue = string | number | null;
/** A row as SQLite returns it: column name to value. */
export type Row = Record<string, SqlValue>;

/**
 * A value a SQLite library returned, as the core sees it: BigInts as numbers (integers beyond 2^53
 * lose precision, as Workers rounds them), bytes as hex (no Nomos column type makes a BLOB; shown
 * so a state still hashes), anything else as text.
 */
export function sqlValueOf(value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" || typeof value === "string") return value;
  if (value instanceof Uint8Array) return Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
  return String(value);
}

/** The one thing the core needs from its database: run a statement, get its rows. */
export interface SqlExecutor {
  exec(sql: string, params: readonly SqlValue[]): Row[];
  /** The same, rows as arrays in column order: cheaper where many rows are read (verification). Optional. */
  raw?(sql: string, params: readonly SqlValue[]): SqlValue[][];
  /**
   * Runs a statement that returns no rows and says how many rows it wrote (indexes and triggers
   * may count too): 0 exactly when it changed nothing. Optional: without it, a delete that must
   * know whether it removed a row asks for RETURNING, which costs SQLite about a third more.
   */
  run?(sql: string, params: readonly SqlValue[]): number;
}

/**
 * A query's rows as arrays in column order: the host's `raw` where it has one (arrays are what
 * workerd makes cheapest), else `exec`'s rows' values, in order for a SELECT that names each
 * column once.
 */
export function rowArrays(db: SqlExecutor, sql: string, params: readonly SqlValue[]): SqlValue[][] {
  return db.raw ? db.raw(sql, params) : db.exec(sql, params).map((r) => Object.values(r));
}

/** Runs a statement whose rows nobody reads: through `run` where the host has it, so none are read. */
export function runWrite(db: SqlExecutor, sql: string, params: readonly SqlValue[]): void {
  if (db.run) db.run(sql, params);
  else db.exec(sql, params);
}

/** What sedimentation needs from its runtime: SQL, a synchronous transaction and a clock. */
export interface SedimentHost {
  db: SqlExecutor;
  /**
   * Runs `fn` atomically: if it throws, nothing it wrote survives. Calls nest (a savepoint inside
   * the running transaction): an inner one that throws undoes only its own writes.
   */
  transaction<T>(fn: () => T): T;
  now(): number;
  /**
   * Called after a commit that added work the alarm serves (frozen Intents, messages). `earliest`
   * is when the first of it is due, so a host whose alarm already rings no later need not look
   * again. Removed work is not reported: an alarm that rings early finds that out by itself.
   */
  onAlarmWorkChanged?(earliest: number): void;
  /**
   * Called when memory is ahead of storage (a batch's transaction failed after a seal committed
   * inside it): the Sedimenter seals nothing more, so a host that can restart the object should
   * (a new Sedimenter reads the head from storage). Without this hook it stays stopped.
   */
  onDiverged?(error: Error): void;
}

/**
 * Work that shares the one alarm with Cryostasis (delivering messages, verifying, archiving, ...).
 * Each chore says when it next has work and does one bounded slice of it per alarm run, so no
 * chore starves the others and no run holds the object for long.
 */
export interface AlarmChore {
  /** Names the chore in logs. */
  readonly name: string;
  /** The earliest time this chore has work (ms since the epoch), read from storage; undefined when none. */
  next(): number | undefined;
  /** One bounded slice of the work due at `now`. What it leaves is found again through `next()`. */
  run(now: number): void | Promise<void>;
}
