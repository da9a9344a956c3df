// @noema/client/browser: the replica on @sqlite.org/sqlite-wasm and the send queue in IndexedDB.
import type { Row, SqlValue } from "@noema/core";
import { sqlValueOf } from "@noema/core/runtime";
import type { ReplicaDatabase } from "./database.js";
import type { QueuedIntent, SendQueue } from "./queue.js";

/**
 * A replica database on SQLite compiled to WebAssembly, in memory (a reload resyncs from a
 * snapshot; sends wait in the IndexedDB queue). The WASM file is loaded next to the module,
 * as your bundler emits it (`new URL("sqlite3.wasm", import.meta.url)`), never from a CDN;
 * it is imported on first use, so it is a chunk of its own.
 */
export async function openBrowserDatabase(): Promise<ReplicaDatabase> {
  const { default: init } = await import("@sqlite.org/sqlite-wasm");
  const sqlite3 = await init();
  const db = new sqlite3.oo1.DB(":memory:", "c");
  return {
    exec(sql: string, params: readonly SqlValue[]): Row[] {
      const rows = db.exec({ sql, bind: params.length > 0 ? [...params] : undefined, rowMode: "object", returnValue: "resultRows" }) as Record<string, unknown>[];
      return rows.map((r) => {
        const row: Row = {};
        for (const [k, v] of Object.entries(r)) row[k] = sqlValueOf(v);
        return row;
      });
    },
    close: () => db.close(),
  };
}

const STORE = "queue";

const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
  });

/** A send queue in IndexedDB (database `name`): sends made offline survive a reload. */
export function indexedDbQueue(name = "noema-queue"): SendQueue {
  const opened = new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true }).createIndex("key", "key", { unique: true });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error(`cannot open IndexedDB ${name}`));
  });
  const store = async (mode: IDBTransactionMode) => (await opened).transaction(STORE, mode).objectStore(STORE);
  return {
    async load() {
      const entries = await request((await store("readonly")).getAll() as IDBRequest<{ seq: number; key: string; intent: QueuedIntent }[]>);
      return entries.sort((a, b) => a.seq - b.seq).map((e) => e.intent);
    },
    async add(intent) {
      const s = await store("readwrite");
      if ((await request(s.index("key").count(intent.idempotencyKey))) === 0) await request(s.add({ key: intent.idempotencyKey, intent }));
    },
    async remove(key) {
      const s = await store("readwrite");
      const seq = await request(s.index("key").getKey(key));
      if (seq !== undefined) await request(s.delete(seq));
    },
  };
}
