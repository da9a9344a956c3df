import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { Row, SqlValue } from "@noema/core";
import type { CheckDatabase } from "@noema/core/check";
import { sqlValueOf } from "@noema/core/runtime";

/**
 * An in-memory SQLite database behind the core's host port, for `check` in plain Node 22.
 * Like Durable Object SQLite it runs STRICT tables, CHECK and NOT NULL the same way and
 * reports constraint failures with SQLite's own wording. Unlike `ctx.storage.sql.exec`, it
 * is one SQLite library of Node's choosing (3.51 in Node 22.23) rather than the one workerd
 * ships, and `transaction` nests with SAVEPOINTs, as `transactionSync` does.
 */
export function openSqliteHost(): CheckDatabase & { close(): void } {
  const handle = new DatabaseSync(":memory:");
  const statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  let depth = 0;
  const run = (sql: string) => handle.exec(sql);
  return {
    db: {
      exec(sql: string, params: readonly SqlValue[]): Row[] {
        let statement = statements.get(sql);
        if (!statement) {
          statement = handle.prepare(sql);
          // Read as BigInt, then made numbers: without it node:sqlite throws on integers beyond 2^53, where Workers rounds.
          statement.setReadBigInts(true);
          statements.set(sql, statement);
        }
        const rows = statement.all(...(params as SQLInputValue[]));
        return rows.map((r) => {
          const row: Row = {};
          for (const [k, v] of Object.entries(r)) row[k] = sqlValueOf(v);
          return row;
        });
      },
    },
    transaction<T>(fn: () => T): T {
      const savepoint = `noema_${depth}`;
      run(depth === 0 ? "BEGIN" : `SAVEPOINT ${savepoint}`);
      depth++;
      try {
        const result = fn();
        depth--;
        run(depth === 0 ? "COMMIT" : `RELEASE ${savepoint}`);
        return result;
      } catch (error) {
        depth--;
        run(depth === 0 ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
        throw error;
      }
    },
    close() {
      statements.clear();
      handle.close();
    },
  };
}
