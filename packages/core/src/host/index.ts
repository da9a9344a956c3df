/** What a bound parameter may be: values only, never SQL text. */
export type SqlValue = string | number | null;
export type Row = Record<string, SqlValue>;

/** The one thing the core needs from its database: run a statement, get its rows. */
export interface SqlExecutor {
  exec(sql: string, params: readonly SqlValue[]): Row[];
}

/** What sedimentation needs from its runtime: SQL, a synchronous transaction and a clock. */
export interface SedimentHost {
  db: SqlExecutor;
  /** Runs `fn` atomically: if it throws, nothing it wrote survives. */
  transaction<T>(fn: () => T): T;
  now(): number;
  /** Called after frozen Intents were added, cancelled or woken: the host points its alarm at the earliest. */
  onCryostasisChanged?(): void;
}
