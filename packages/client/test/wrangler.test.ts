// End to end: the client in Node (node:sqlite, Node's WebSocket) against the sync route of a real
// Attractor under `wrangler dev` (the cloudflare package's test Worker: SyncLedger, accounts
// scoped to their holder), across a restart of wrangler dev.
import { mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// The ledger law is defined with no generated footprints: read its SQL with the parser.
import "@noema/core/sql";
import { buildIntent, columnsOf, definePublication, sql } from "@noema/core";
import { afterAll, expect, it } from "vitest";
import { startWranglerDev } from "../../../scripts/wrangler-dev.js";
import { ledgerNomos } from "../../cloudflare/test/ledger/nomos.js";
import { ledger } from "../../cloudflare/test/ledger/vocabulary.js";
import { NoemaClient, type SyncSocket } from "../src/index.js";
import { openNodeDatabase } from "../src/node.js";

const TOKEN = "dev-token";
const workerDir = join(dirname(fileURLToPath(import.meta.url)), "../../cloudflare/test");
const persistDir = mkdtempSync(join(tmpdir(), "noema-client-dev-"));
afterAll(() => rmSync(persistDir, { recursive: true, force: true }));

const wranglerDev = () =>
  startWranglerDev({
    cwd: workerDir,
    config: join(workerDir, "wrangler.jsonc"),
    persistDir,
    vars: { LEDGER_TOKEN: TOKEN },
    ready: { path: "/synced/ledgers/probe/nomos", headers: { Authorization: `Bearer ${TOKEN}` } },
    readyMs: 60_000,
  });

// The test Worker's publication (SyncLedger.publication), declared again here: the class itself lives in workerd.
const publication = definePublication(ledgerNomos, { accounts: { columns: ["id", "balance"], scope: "holder" }, movements: { columns: ["id", "account_id", "amount"] } });
const accounts = sql`SELECT ${columnsOf(ledgerNomos, "accounts", "id", "balance")} FROM accounts ORDER BY id`;
const movements = sql`SELECT ${columnsOf(ledgerNomos, "movements", "account_id", "amount")} FROM movements ORDER BY id`;

/** Node's WebSocket, with every frame the client receives kept as text. */
function recorded(frames: string[]) {
  return (url: string): SyncSocket => {
    const ws = new WebSocket(url);
    const socket: SyncSocket = { send: (d) => ws.send(d), close: (c, r) => ws.close(c, r), onopen: null, onmessage: null, onclose: null, onerror: null };
    ws.onopen = (e) => socket.onopen?.(e);
    ws.onmessage = (e) => {
      frames.push(String(e.data));
      socket.onmessage?.({ data: e.data });
    };
    ws.onclose = (e) => socket.onclose?.({ code: e.code, reason: e.reason });
    ws.onerror = (e) => socket.onerror?.(e);
    return socket;
  };
}

/** A Seal, or a clear failure instead of a hung test. */
const sealed = <T>(p: Promise<T>, what: string) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no Seal for ${what}`)), 20_000))]);

async function until(check: () => boolean, what: string, ms = 20_000) {
  for (const deadline = Date.now() + ms; !check(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it("syncs a World of wrangler dev live, sends by key, scopes rows to their holder, and resumes after a restart without a snapshot", async () => {
  let dev = await wranglerDev();
  const front = await proxy(() => dev.base);
  const framesA: string[] = [];
  const dbA = openNodeDatabase();
  const dbB = openNodeDatabase();
  const url = (base: string) => `${base.replace("http", "ws")}/synced/ledgers/shop/sync`;
  const a = await NoemaClient.connect({ url: url(front.base), token: "rw:alice", law: ledger, database: dbA, publication, socket: recorded(framesA), reconnectMs: 100, maxReconnectMs: 500 });
  const b = await NoemaClient.connect({ url: url(front.base), token: "rw:bob", law: ledger, database: dbB, publication, reconnectMs: 100, maxReconnectMs: 500 });
  try {
    await until(() => a.state.status === "online" && b.state.status === "online", "both clients online");
    const opened = await a.send(buildIntent(ledger, (s) => void s.open({ holder: "alice" })));
    // The holder column is hidden, so what inserts accounts cannot be predicted here.
    expect(opened.prediction.mode).toBe("pending");
    const seal = await sealed(opened.seal, "open");
    if (!seal.success) throw new Error(seal.reason.message);
    const accountId = (seal.outputs[0] as { accountId: string }).accountId;
    await until(() => a.query(accounts).length === 1, "alice's account");
    const deposit = await a.send(buildIntent(ledger, (s) => void s.deposit({ accountId, amount: 7 })));
    expect((await sealed(deposit.seal, "deposit")).success).toBe(true);
    await until(() => b.query(movements).length === 1 && a.query(accounts)[0]?.balance === 7, "the deposit, on both clients");
    expect(b.query(movements)).toStrictEqual([{ account_id: accountId, amount: 7 }]);
    // Bob sees movements, never alice's account.
    expect(b.query(accounts)).toStrictEqual([]);

    await dev.stop();
    await until(() => a.state.status !== "online", "the client to notice");
    const offline = await a.send(buildIntent(ledger, (s) => void s.deposit({ accountId, amount: 5 })));
    const snapshotsBefore = framesA.filter((f) => f.includes('"t":"snapshot"')).length;
    dev = await wranglerDev();
    expect((await sealed(offline.seal, "the offline deposit")).success).toBe(true);
    await until(() => a.query(accounts)[0]?.balance === 12 && b.query(movements).length === 2, "the offline deposit, once back");
    // Resumed from its cursor: diffs after it, no second snapshot.
    expect(framesA.filter((f) => f.includes('"t":"snapshot"')).length).toBe(snapshotsBefore);
    expect(a.state.pending).toBe(0);
  } finally {
    a.close();
    b.close();
    dbA.close();
    dbB.close();
    await dev.stop();
    await front.close();
  }
}, 180_000);

/** A TCP proxy on a port of its own, forwarding to whichever wrangler dev runs now: the clients keep one address across the restart. */
async function proxy(target: () => string) {
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const { hostname, port } = new URL(target());
    const up = connect(Number(port), hostname);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on("error", () => [down.destroy(), up.destroy()]);
      s.on("close", () => [sockets.delete(s), down.destroy(), up.destroy()]);
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => [sockets.forEach((s) => s.destroy()), server.close(() => r())]),
  };
}
