// Startup bench, hand-written side: the same two operations and HTTP routes as ../noema (the
// create-noema counter), as a
// careful developer writes them without a framework: DDL in the constructor, checks by hand,
// the same SQL, and a SHA-256 chained log row per change (what Noema's Sediment log gives).
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

const DDL = [
  `CREATE TABLE "counters" ("id" TEXT PRIMARY KEY, "value" INTEGER NOT NULL DEFAULT 0 CONSTRAINT "counters_value_check" CHECK (value >= 0)) STRICT`,
  `CREATE TABLE log (id INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL, payload TEXT NOT NULL) STRICT`,
];
const GENESIS = "0".repeat(64);
const ID = /^[a-z0-9-]{1,32}$/;
const MAX_AMOUNT = 1_000_000;

function check(id: string, amount: number): void {
  if (typeof id !== "string" || !ID.test(id)) throw new Error("id must be 1–32 characters of a–z, 0–9 or '-'");
  if (!Number.isInteger(amount) || amount < 1 || amount > MAX_AMOUNT) throw new Error("amount must be a whole number from 1 to 1000000");
}

export interface Counter {
  id: string;
  value: number;
}

export class HandCounter extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private seq: number;
  private head: string;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = (this.sql = ctx.storage.sql);
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'counters'").toArray().length === 0) {
      ctx.storage.transactionSync(() => DDL.forEach((d) => sql.exec(d)));
    }
    const last = sql.exec<{ id: number; hash: string }>("SELECT id, hash FROM log ORDER BY id DESC LIMIT 1").toArray()[0];
    this.seq = last?.id ?? 0;
    this.head = last?.hash ?? GENESIS;
  }

  add(id: string, amount: number): Counter {
    check(id, amount);
    return this.change("add", { id, amount }, () =>
      this.sql
        .exec<{ id: string; value: number }>(
          "INSERT INTO counters (id, value) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING id, value",
          id,
          amount,
        )
        .one(),
    );
  }

  take(id: string, amount: number): Counter {
    check(id, amount);
    return this.change("take", { id, amount }, () => {
      const rows = this.sql.exec<{ id: string; value: number }>("UPDATE counters SET value = value - ? WHERE id = ? RETURNING id, value", amount, id).toArray();
      if (rows.length !== 1) throw new Error(`there is no counter ${id}`);
      return rows[0]!;
    });
  }

  value(id: string): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE id = ?", id).toArray()[0]?.value ?? 0;
  }

  /** Runs one change and its chained log row in one transaction. */
  private change(op: string, args: object, run: () => Counter): Counter {
    const id = this.seq + 1;
    const now = Date.now();
    let hash = "";
    const out = this.ctx.storage.transactionSync(() => {
      const row = run();
      const output = { id: row.id, value: row.value };
      const payload = JSON.stringify({ id, at: now, op, args, output });
      hash = bytesToHex(sha256(utf8ToBytes(JSON.stringify({ prevHash: this.head, payload }))));
      this.sql.exec("INSERT INTO log (id, prev_hash, hash, at, payload) VALUES (?, ?, ?, ?, ?)", id, this.head, hash, now, payload);
      return output;
    });
    this.seq = id;
    this.head = hash;
    return out;
  }
}

interface Env {
  HAND_COUNTER: DurableObjectNamespace<HandCounter>;
}

const counter = (env: Env, id: string) => env.HAND_COUNTER.get(env.HAND_COUNTER.idFromName(id));
const app = new Hono<{ Bindings: Env }>();
app.get("/counters/:id", async (c) => {
  const id = c.req.param("id");
  return c.json({ id, value: await counter(c.env, id).value(id) });
});
for (const op of ["add", "take"] as const) {
  app.post(`/counters/:id/${op}`, async (c) => {
    const id = c.req.param("id");
    const { amount } = await c.req.json<{ amount: number }>();
    try {
      return c.json(await counter(c.env, id)[op](id, amount));
    } catch (e) {
      return c.json({ error: { code: "refused", message: e instanceof Error ? e.message : String(e) } }, 409);
    }
  });
}

export default app;
