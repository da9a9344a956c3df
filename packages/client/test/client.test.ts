import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "@noema/core/sql";
import { buildIntent, columnsOf, definePublication, defineVocabulary, type Intent, operation, sql } from "@noema/core";
import { MAX_SERVER_FRAME_BYTES } from "@noema/core/sync";
import * as z from "zod";
import { afterEach, describe, expect, it } from "vitest";
import { inventoryLaw } from "../../../apps/inventory/src/law.js";
import { inventoryV1 } from "../../../apps/inventory/src/vocabulary.js";
import { inventoryNomosV3 } from "../../../apps/inventory/src/nomos.js";
import { type ClientOptions, NoemaClient, params, type ReplicaDatabase } from "../src/index.js";
import { openNodeDatabase, sqliteQueue } from "../src/node.js";
import { TestSyncServer, type Visibility } from "./server.js";

const law = inventoryLaw.latest;
const STOCK = columnsOf(inventoryNomosV3, "stock", "location_id", "quantity", "reserved");
const stockQuery = sql`SELECT ${STOCK} FROM stock ORDER BY location_id`;
const ALL: Visibility = {
  stock: ["location_id", "quantity", "reserved", "updated_at"],
  reservations: ["id", "location_id", "quantity", "status", "order_id", "created_at", "expires_at", "closed_at", "channel"],
};

const setStock = (locationId: string, quantity: number) => buildIntent(law, (s) => void s.setStock({ locationId, quantity }));
const reserve = (locationId: string, quantity: number) => buildIntent(law, (s) => void s.reserve({ locationId, quantity }));

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

async function client(server: TestSyncServer, extra: Partial<ClientOptions<typeof inventoryLaw>> = {}) {
  const database = extra.database ?? openNodeDatabase();
  const c = await NoemaClient.connect({ url: "ws://test/w/sync", law: inventoryLaw, socket: server.socket, reconnectMs: 1, ...extra, database });
  opened.push(c, database);
  await server.settle();
  return Object.assign(c, { db: database });
}

/** A replica's tables as the server publishes them, read straight from its database (optimistic layer included). */
function replicaOf(db: ReplicaDatabase, server: TestSyncServer) {
  return Object.fromEntries(
    Object.entries(server.published()).map(([table, t]) => [
      table,
      db.exec(`SELECT * FROM "${table}" ORDER BY ${t.key.map((k) => `"${k}"`).join(", ")}`, []).map((r) => t.columns.map((col) => r[col])),
    ]),
  );
}

async function until(check: () => boolean) {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

const rowsOf = (server: TestSyncServer) => Object.fromEntries(Object.entries(server.published()).map(([t, v]) => [t, v.rows]));

/** The server back online: the client reconnects and settles, and its replica equals the server's published state. */
async function backOnline(server: TestSyncServer, c: Awaited<ReturnType<typeof client>>) {
  server.online = true;
  await until(() => c.state.status === "online");
  await server.settle();
  expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
}

describe("live queries", () => {
  it("reads the snapshot, then each Seal's diff, and tells subscribers when their rows change", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    const live = c.live(stockQuery);
    const seen: unknown[] = [];
    live.subscribe((rows) => seen.push(rows));
    expect(live.rows).toStrictEqual([{ location_id: "berlin", quantity: 5, reserved: 0 }]);
    server.sediment(setStock("paris", 2));
    await server.settle();
    expect(seen).toStrictEqual([[{ location_id: "berlin", quantity: 5, reserved: 0 }, { location_id: "paris", quantity: 2, reserved: 0 }]]);
    // A Seal that changes none of its rows does not call it.
    server.sediment(reserve("paris", 1));
    server.sediment(buildIntent(law, (s) => void s.recordChannelSync({ channel: "web", lastSedimentId: 1 })));
    await server.settle();
    expect(seen).toHaveLength(2);
  });

  it("binds a query's values from params()", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    server.sediment(setStock("paris", 2));
    const c = await client(server);
    const p = params<{ id: string }>();
    expect(c.query(sql`SELECT ${STOCK} FROM stock WHERE location_id = ${p.id}`, { id: "paris" })).toStrictEqual([{ location_id: "paris", quantity: 2, reserved: 0 }]);
  });
});

describe("send", () => {
  it("applies an Intent at once on the replica, then keeps the server's state once sealed", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    const sent = await c.send(reserve("berlin", 2));
    expect(sent.prediction).toStrictEqual({ mode: "optimistic" });
    expect(c.query(stockQuery)).toStrictEqual([{ location_id: "berlin", quantity: 5, reserved: 2 }]);
    const seal = await sent.seal;
    await server.settle();
    expect(seal.success).toBe(true);
    expect(c.state.pending).toBe(0);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
    // Applied once on the server, with the key the client set.
    expect(server.sedimenter.log.byIdempotencyKey(sent.key)?.sedimentId).toBe(2);
  });

  it("rolls a refused Intent back and hands over the Precedent's reason", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 3));
    const c = await client(server);
    server.online = false;
    server.disconnect();
    await server.settle();
    const sent = await c.send(reserve("berlin", 3));
    expect(c.query(stockQuery)[0]!.reserved).toBe(3);
    // Meanwhile another writer takes the stock: the client cannot know until it is back.
    server.sediment(reserve("berlin", 2));
    server.online = true;
    const seal = await sent.seal;
    await server.settle();
    expect(seal.success ? undefined : seal.reason.message).toBe("not enough available stock at berlin to reserve 3");
    expect(c.query(stockQuery)[0]!.reserved).toBe(2);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
  });

  it("sends pending, with no local effect, an Intent whose Sieve reaches past what the client sees, and says so before it runs", async () => {
    // Reservations are not published: reserve writes them, so it cannot be predicted.
    const server = new TestSyncServer(inventoryLaw, { stock: ALL.stock! });
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    const intent = reserve("berlin", 2);
    const prediction = c.predict(intent);
    expect(prediction.mode).toBe("pending");
    expect(prediction.mode === "pending" && prediction.unseen).toContain("table:reservations");
    // Every write to stock is checked by an invariant that reads reservations: not predictable either.
    const unseen = c.predict(setStock("berlin", 9));
    expect(unseen.mode === "pending" && unseen.unseen).toStrictEqual(["invariant:reserved_matches_active_reservations"]);
    const sent = await c.send(intent);
    expect(sent.prediction).toStrictEqual(prediction);
    expect(c.query(stockQuery)[0]!.reserved).toBe(0);
    await sent.seal;
    await server.settle();
    expect(c.query(stockQuery)[0]!.reserved).toBe(2);
  });

  describe("a table scoped to the subscriber", () => {
    // The client is told reservations are scoped to its cart: it holds its own rows only.
    const publication = definePublication(inventoryNomosV3, { stock: { columns: [...ALL.stock!] as never }, reservations: { columns: ["id", "location_id", "quantity", "status", "expires_at"], scope: "order_id" } });
    const reserveFor = (orderId: string | undefined, locationId: string, quantity: number) =>
      buildIntent(law, (s) => void s.reserve({ locationId, quantity, ...(orderId === undefined ? {} : { orderId }) }));
    /** A vocabulary on the same law with one more operation, which checks a cart against every reservation there is. */
    const withBalanceCheck = defineVocabulary(inventoryNomosV3, {
      ...law.operations,
      reserveUnderCap: operation({
        description: "Reserves unless every active reservation together would pass a cap.",
        args: z.object({ locationId: z.string(), quantity: z.number(), orderId: z.string() }),
        output: z.object({}),
        result: () => ({}),
        statements: ({ arg, ctx }) => ({
          cap: sql`SELECT 1 AS ok WHERE (SELECT COALESCE(SUM(quantity), 0) FROM reservations WHERE status = 'active') + ${arg.quantity} <= 10`.expect({ rows: 1, refusal: () => "over the cap" }),
          hold: sql`UPDATE stock SET reserved = reserved + ${arg.quantity}, updated_at = ${ctx.now} WHERE location_id = ${arg.locationId}`,
          reservation: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (${arg.orderId}, ${arg.locationId}, ${arg.quantity}, 'active', ${arg.orderId}, ${ctx.now}, ${ctx.now}, 'web')`,
        }),
      }),
      // Inserts a row of the cart's own, but reads the table too: an upsert reads the row it conflicts with, a subquery what it selects.
      upsertOwn: operation({
        description: "Reserves, or adds to the cart's reservation of that id.",
        args: z.object({ id: z.string(), locationId: z.string(), quantity: z.number(), orderId: z.string() }),
        output: z.object({}),
        result: () => ({}),
        statements: ({ arg, ctx }) => ({
          reservation: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES (${arg.id}, ${arg.locationId}, ${arg.quantity}, 'active', ${arg.orderId}, ${ctx.now}, ${ctx.now}, 'web') ON CONFLICT (id) DO UPDATE SET quantity = quantity + (${arg.quantity})`,
        }),
      }),
      numberedOwn: operation({
        description: "Reserves under an id one more than the most reservations there are.",
        args: z.object({ locationId: z.string(), orderId: z.string() }),
        output: z.object({}),
        result: () => ({}),
        statements: ({ arg, ctx }) => ({
          reservation: sql`INSERT INTO reservations (id, location_id, quantity, status, order_id, created_at, expires_at, channel) VALUES ((SELECT COUNT(*) + 1 FROM reservations), ${arg.locationId}, 1, 'active', ${arg.orderId}, ${ctx.now}, ${ctx.now}, 'web')`,
        }),
      }),
    });

    it("applies at once a plain INSERT of the subscriber's own row, and rebases it on the Seal", async () => {
      const server = new TestSyncServer(inventoryLaw, ALL);
      server.sediment(setStock("berlin", 5));
      const c = await client(server, { publication, subject: "cart-a" });
      const sent = await c.send(reserveFor("cart-a", "berlin", 2));
      expect(sent.prediction).toStrictEqual({ mode: "optimistic" });
      expect(c.query(stockQuery)).toStrictEqual([{ location_id: "berlin", quantity: 5, reserved: 2 }]);
      expect(c.query(sql`SELECT quantity FROM reservations`.as<{ quantity: number }>())).toStrictEqual([{ quantity: 2 }]);
      expect((await sent.seal).success).toBe(true);
      await server.settle();
      expect(c.state.pending).toBe(0);
      expect(c.query(stockQuery)[0]!.reserved).toBe(2);
    });

    it("sends pending, with why, what reads the scoped table or writes a row that is not the subscriber's, before anything runs", async () => {
      const server = new TestSyncServer(inventoryLaw, ALL);
      server.sediment(setStock("berlin", 5));
      const c = await client(server, { publication, subject: "cart-a" });
      for (const other of [reserveFor("cart-b", "berlin", 1), reserveFor(undefined, "berlin", 1)]) {
        const p = c.predict(other);
        expect(p.mode === "pending" && p.unseen).toStrictEqual(["table:reservations"]);
        expect(p.mode === "pending" && p.why).toContain("reserve reads reservations, which this client holds only its own rows of");
      }
      // A cancel reads the reservation it cancels: this client cannot tell another cart's from none.
      const cancel = c.predict(buildIntent(law, (s) => void s.cancelHold({ reservationId: "r-1", locationId: "berlin", quantity: 1 })));
      expect(cancel.mode === "pending" && cancel.unseen).toStrictEqual(["table:reservations"]);
      // Without a subject, no row is known to be its own.
      const anonymous = await client(server, { publication });
      expect(anonymous.predict(reserveFor("cart-a", "berlin", 1)).mode).toBe("pending");
      const sent = await c.send(reserveFor("cart-b", "berlin", 1));
      expect(sent.prediction.mode).toBe("pending");
      expect(c.query(stockQuery)[0]!.reserved).toBe(0);
    });

    it("sends pending what sums the scoped table as a whole, though it also inserts the subscriber's own row", async () => {
      const server = new TestSyncServer(inventoryLaw, ALL);
      server.sediment(setStock("berlin", 5));
      const c = await NoemaClient.connect({ url: "ws://test/w/sync", law: withBalanceCheck, database: openNodeDatabase(), socket: server.socket, publication, subject: "cart-a" });
      opened.push(c);
      await server.settle();
      const intent = buildIntent(withBalanceCheck, (s) => void s.reserveUnderCap({ locationId: "berlin", quantity: 1, orderId: "cart-a" }));
      const p = c.predict(intent);
      expect(p.mode === "pending" && p.unseen).toStrictEqual(["table:reservations"]);
      expect(p.mode === "pending" && p.why).toContain("reserveUnderCap reads reservations");
      for (const reads of [
        buildIntent(withBalanceCheck, (s) => void s.upsertOwn({ id: "r-9", locationId: "berlin", quantity: 1, orderId: "cart-a" })),
        buildIntent(withBalanceCheck, (s) => void s.numberedOwn({ locationId: "berlin", orderId: "cart-a" })),
      ]) {
        const q = c.predict(reads);
        expect(q.mode === "pending" && q.unseen).toContain("table:reservations");
      }
    });

    it("turns pending at run time what moves a balance over the scoped table: the server's check reads rows this client lacks", async () => {
      const server = new TestSyncServer(inventoryLaw, ALL);
      server.sediment(setStock("berlin", 5));
      const c = await client(server, { publication, subject: "cart-a" });
      // A new stock row moves the balance at its location: only the server holds every reservation there.
      const paris = setStock("paris", 3);
      expect(c.predict(paris)).toStrictEqual({ mode: "optimistic" });
      const sent = await c.send(paris);
      expect(sent.prediction.mode).toBe("pending");
      expect(sent.prediction.mode === "pending" && sent.prediction.why).toMatch(/^at run time: .*reserved_matches_active_reservations/);
      expect(c.query(stockQuery).map((r) => r.location_id)).toStrictEqual(["berlin"]);
      // One that keeps every balance (a new quantity where stock is) is applied at once.
      expect((await c.send(setStock("berlin", 9))).prediction).toStrictEqual({ mode: "optimistic" });
      expect(c.query(stockQuery)[0]!.quantity).toBe(9);
      await sent.seal;
      await server.settle();
      expect(c.query(stockQuery).map((r) => r.location_id)).toStrictEqual(["berlin", "paris"]);
    });
  });

  it("handles a diff that arrives before its Seal", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL, { diffFirst: true });
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    await c.send(reserve("berlin", 1));
    await c.send(reserve("berlin", 1));
    await server.settle();
    expect(c.query(stockQuery)[0]!.reserved).toBe(2);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
  });
});

describe("a send settled", () => {
  /** Every value of berlin's `reserved` the app could read, one per change the client announced. */
  function watch(c: NoemaClient<typeof inventoryLaw>) {
    const seen: number[] = [];
    c.subscribe(() => seen.push(c.query(stockQuery).find((r) => r.location_id === "berlin")?.reserved ?? 0));
    return seen;
  }
  const rising = (seen: number[]) => seen.every((v, i) => i === 0 || v >= seen[i - 1]!);

  it("never counts a send twice: its Seal, then its diff, take it from the optimistic layer as its rows arrive", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 10));
    const c = await client(server);
    const seen = watch(c);
    await c.send(reserve("berlin", 1));
    server.sediment(reserve("berlin", 2));
    await c.send(reserve("berlin", 1));
    await server.settle();
    // Each send shows once, at once; the other writer's 2 arrive; nothing ever goes back down.
    expect(seen[0]).toBe(1);
    expect(rising(seen)).toBe(true);
    expect(seen.at(-1)).toBe(4);
    expect(c.state.pending).toBe(0);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
  });

  it("predicts a send made before the first snapshot anew once the snapshot brings its tables: applied at once, before its Seal", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    server.online = false;
    const c = await client(server);
    const sent = await c.send(reserve("berlin", 2));
    expect(sent.prediction).toMatchObject({ mode: "pending", why: "the replica has no snapshot yet" });
    // Every value berlin's row takes (there is none before the snapshot).
    const seen: number[] = [];
    c.live(stockQuery).subscribe((rows) => seen.push(rows[0]!.reserved));
    server.online = true;
    await until(() => c.state.pending === 0);
    await server.settle();
    // The snapshot's 0 never shows: the send is applied on it in the same change.
    expect(seen[0]).toBe(2);
    expect(rising(seen)).toBe(true);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
  });

  it.each(["before-seal", "after-seal"] as const)("never counts a send twice when the connection drops %s: the diffs a resume brings wait for the Seal", async (drop) => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 10));
    const c = await client(server);
    const seen = watch(c);
    // Sealed on the server, but the connection drops before the client hears of it (or of its diff): on resume, its diff comes first.
    server.dropSend = drop;
    const sent = await c.send(reserve("berlin", 3));
    server.sediment(reserve("berlin", 1));
    await sent.seal;
    await until(() => c.state.pending === 0);
    await server.settle();
    expect(server.frames.filter((f) => f.startsWith('{"t":"welcome"'))).toHaveLength(2);
    expect(server.sedimenter.log.byIdempotencyKey(sent.key)?.sedimentId).toBe(3);
    expect(seen[0]).toBe(3);
    expect(rising(seen)).toBe(true);
    expect(seen.at(-1)).toBe(4);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
  });
});

describe("snapshots larger than a frame", () => {
  const seedStock = (server: TestSyncServer, rows: number) =>
    server.seed(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
      INSERT INTO stock (location_id, quantity, reserved, updated_at) SELECT printf('location-%08d', i), i, 0, 0 FROM n`);

  it("applies a snapshot of over 1 MiB, sent in frames within MAX_SERVER_FRAME_BYTES, with every row", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    seedStock(server, 40_000);
    const c = await client(server);
    const snapshots = server.frames.filter((f) => f.startsWith('{"t":"snapshot"'));
    expect(snapshots.reduce((n, f) => n + Buffer.byteLength(f), 0)).toBeGreaterThan(1024 * 1024);
    expect(Math.max(...snapshots.map((f) => Buffer.byteLength(f)))).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
    expect(snapshots.length).toBeGreaterThanOrEqual(3);
    expect(c.state.status).toBe("online");
    expect(c.query(stockQuery)).toHaveLength(40_001);
    // Compared as text: a deep comparison of 40,000 rows takes seconds.
    expect(JSON.stringify(replicaOf(c.db, server)) === JSON.stringify(rowsOf(server))).toBe(true);
  }, 30_000);

  it("leaves the replica as it was when the connection drops mid-snapshot, and starts over on the next hello", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL, { snapshotFrameBytes: 400 });
    seedStock(server, 30);
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    const before = replicaOf(c.db, server);
    server.online = false;
    server.disconnect();
    await server.settle();
    server.sediment(setStock("berlin", 7));
    server.sediment(setStock("paris", 1));
    // The diffs after the client's cursor are no longer kept: it gets a snapshot, cut after its second frame.
    server.prune();
    server.cutSnapshot = 2;
    server.online = true;
    await until(() => !server.online);
    await server.settle();
    expect(server.frames.filter((f) => f.startsWith('{"t":"snapshot"') && f.endsWith('"more":true}')).length).toBeGreaterThanOrEqual(3);
    expect(c.state.status).not.toBe("online");
    expect(replicaOf(c.db, server)).toStrictEqual(before);
    await backOnline(server, c);
    expect(c.query(stockQuery).find((r) => r.location_id === "berlin")?.quantity).toBe(7);
  });
});

describe("diffs in parts", () => {
  it("applies a diff sent in several frames once its last arrives, and starts it over when the connection drops midway", async () => {
    // Frames of at most 200 bytes: a reservation's diff (its stock row and its reservation) takes several.
    const server = new TestSyncServer(inventoryLaw, ALL, { diffFrameBytes: 200 });
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    server.sediment(reserve("berlin", 2));
    await server.settle();
    expect(server.frames.filter((f) => f.startsWith('{"t":"diff"') && f.endsWith('"more":true}')).length).toBeGreaterThanOrEqual(1);
    expect(replicaOf(c.db, server)).toStrictEqual(rowsOf(server));
    const before = replicaOf(c.db, server);
    // The next diff's first frame arrives, then the connection drops: nothing of it is applied.
    server.cutDiff = 1;
    server.sediment(reserve("berlin", 1));
    await server.settle();
    expect(c.state.status).not.toBe("online");
    expect(replicaOf(c.db, server)).toStrictEqual(before);
    await backOnline(server, c);
    expect(c.query(stockQuery).find((r) => r.location_id === "berlin")?.reserved).toBe(3);
  });
});

describe("the chain", () => {
  it("refuses a diff that does not follow its head, drops the replica and resyncs from a snapshot", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    const statuses: string[] = [];
    c.subscribe(() => statuses.push(c.state.status));
    // A forged diff: the right next id, a previous hash the client does not hold.
    server.forge({ t: "diff", sedimentId: 2, hash: "a".repeat(64), prevHash: "b".repeat(64), changes: [{ table: "stock", op: "upsert", row: ["berlin", 999, 0, 0] }] });
    await server.settle();
    expect(c.query(stockQuery)[0]!.quantity).toBe(5);
    expect(statuses).toContain("offline");
    expect(server.frames.filter((f) => f.includes('"t":"snapshot"'))).toHaveLength(2);
  });

  it("resumes after a reconnect from the last sediment it applied: diffs only, no snapshot", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    const c = await client(server);
    server.disconnect();
    server.sediment(setStock("paris", 1));
    await server.settle();
    expect(server.frames.filter((f) => f.includes('"t":"snapshot"'))).toHaveLength(1);
    expect(c.query(stockQuery).map((r) => r.location_id)).toStrictEqual(["berlin", "paris"]);
  });
});

describe("offline", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("queues sends durably while offline, keeps them across a restart, and sends each once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "noema-client-"));
    dirs.push(dir);
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    const queue = sqliteQueue(join(dir, "queue.db"));
    const first = await client(server, { queue, database: openNodeDatabase(join(dir, "replica.db")) });
    server.online = false;
    server.disconnect();
    await server.settle();
    const keys = [];
    for (let i = 0; i < 3; i++) keys.push((await first.send(reserve("berlin", 1))).key);
    expect(first.query(stockQuery)[0]!.reserved).toBe(3);
    first.close();
    queue.close();
    // The app restarts, still offline: the queue and the replica are read back, the sends shown again.
    const again = sqliteQueue(join(dir, "queue.db"));
    opened.push(again);
    const second = await client(server, { queue: again, database: openNodeDatabase(join(dir, "replica.db")) });
    expect(second.state.pending).toBe(3);
    expect(second.query(stockQuery)[0]!.reserved).toBe(3);
    server.online = true;
    await new Promise((r) => setTimeout(r, 20));
    await server.settle();
    expect(second.state.pending).toBe(0);
    expect(await again.load()).toStrictEqual([]);
    expect(keys.map((k) => server.sedimenter.log.byIdempotencyKey(k)?.sedimentId)).toStrictEqual([2, 3, 4]);
    expect(server.sedimenter.lastSedimentId).toBe(4);
    expect(replicaOf(second.db, server)).toStrictEqual(rowsOf(server));
  });

  it("carries a send queued under an older law to this app's law: Flat as is, Curved reforged", async () => {
    const server = new TestSyncServer(inventoryLaw, ALL);
    server.sediment(setStock("berlin", 5));
    const queue = sqliteQueue(":memory:");
    opened.push(queue);
    const old: Intent = { ...buildIntent(inventoryV1, (s) => void s.reserve({ locationId: "berlin", quantity: 1 })), idempotencyKey: "queued-under-v1" };
    await queue.add(old as Intent & { idempotencyKey: string });
    const c = await client(server, { queue });
    await server.settle();
    const sediment = server.sedimenter.log.byIdempotencyKey("queued-under-v1");
    expect(sediment?.intent.nomos?.version).toBe(3);
    expect(sediment?.intent.steps[0]?.args).toMatchObject({ channel: "direct" });
    expect(c.state.pending).toBe(0);
  });

  it("tells the app when the server holds a newer law, and predicts nothing then", async () => {
    const server = new TestSyncServer(inventoryLaw, { stock: ALL.stock! });
    server.sediment(setStock("berlin", 5));
    const c = await NoemaClient.connect({ url: "ws://test/w/sync", law: inventoryV1, database: openNodeDatabase(), socket: server.socket });
    opened.push(c);
    await server.settle();
    expect(c.state.behind).toBe(true);
    expect(c.predict(buildIntent(inventoryV1, (s) => void s.setStock({ locationId: "berlin", quantity: 1 }))).mode).toBe("pending");
  });
});
