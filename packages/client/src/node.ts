// @noema/client/node: the replica and the send queue on node:sqlite (Node 22).
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { Row, SqlValue } from "@noema/core";
import { sqlValueOf } from "@noema/core/runtime";
import type { ReplicaDatabase } from "./database.js";
import type { QueuedIntent, SendQueue } from "./queue.js";

/**
 * A replica database on node:sqlite: in memory by default, or in a file, where the replica
 * (rows and cursor) survives a restart and resumes from its last sediment.
 */
export function openNodeDatabase(path = ":memory:"): ReplicaDatabase {
  const handle = new DatabaseSync(path);
  const statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  return {
    exec(sql: string, params: readonly SqlValue[]): Row[] {
      let statement = statements.get(sql);
      if (!statement) {
        statement = handle.prepare(sql);
        // Read as BigInt, then made numbers: node:sqlite throws on integers beyond 2^53, where Workers rounds.
        statement.setReadBigInts(true);
        statements.set(sql, statement);
      }
      return statement.all(...(params as SQLInputValue[])).map((r) => {
        const row: Row = {};
        for (const [k, v] of Object.entries(r)) row[k] = sqlValueOf(v);
        return row;
      });
    },
    close() {
      statements.clear();
      handle.close();
    },
  };
}

/** A send queue in a SQLite file of its own: sends made offline survive a restart. */
export function sqliteQueue(path: string): SendQueue & { close(): void } {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE IF NOT EXISTS queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, intent TEXT NOT NULL) STRICT");
  const add = db.prepare("INSERT INTO queue (key, intent) VALUES (?, ?) ON CONFLICT (key) DO NOTHING");
  const remove = db.prepare("DELETE FROM queue WHERE key = ?");
  const all = db.prepare("SELECT intent FROM queue ORDER BY seq");
  return {
    load: async () => all.all().map((r) => JSON.parse(String(r.intent)) as QueuedIntent),
    add: async (intent) => void add.run(intent.idempotencyKey, JSON.stringify(intent)),
    remove: async (key) => void remove.run(key),
    close: () => db.close(),
  };
}
