import type { Json, SqlValue } from "@noema/core";
import type { SqlExecutor } from "@noema/core/runtime";

/**
 * The local SQLite a replica lives in: the core's `SqlExecutor` port (run a statement, get its
 * rows) plus `close`. `openNodeDatabase` (`@noema/client/node`, node:sqlite) and
 * `openBrowserDatabase` (`@noema/client/browser`, @sqlite.org/sqlite-wasm) open one; any other
 * SQLite fits behind the same two methods. Statements include BEGIN, SAVEPOINT and ROLLBACK:
 * the replica keeps its optimistic layer in an open transaction.
 */
export interface ReplicaDatabase extends SqlExecutor {
  close(): void;
}

/** A value from a frame as SQLite binds it: booleans as 0/1, arrays and objects as JSON text. */
export function toSql(value: Json | undefined): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object") return JSON.stringify(value);
  return value;
}
