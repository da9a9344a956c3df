import { SELF, env, runInDurableObject } from "cloudflare:test";
import { buildIntent, type Intent } from "@noema/core";
import { type DiffFrame, joinDiff, joinSnapshot, MAX_SERVER_FRAME_BYTES, parseServerFrame, type ServerFrame, type SnapshotFrame, SYNC_CLOSE, SYNC_PROTOCOL, SYNC_SUBPROTOCOL, type SyncCursor } from "@noema/core/sync";
import { SYNC_LINGER_MS } from "@noema/cloudflare";
import { testWorld } from "@noema/cloudflare/testing";
import { describe, expect, it } from "vitest";
import { ledger } from "./ledger/vocabulary.js";
import { ledgerNomos } from "./ledger/nomos.js";

const LAW = { version: ledgerNomos.version, hash: ledgerNomos.hash };
let worlds = 0;
const freshWorld = () => `w${"abcdefghij"[worlds % 10]}${String.fromCharCode(97 + Math.floor(worlds++ / 10))}`;

/** A sync client as a test drives it: every raw frame kept, parsed and checked by the protocol's own validator. */
interface Client {
  ws: WebSocket;
  raw: string[];
  frames: ServerFrame[];
  /** Resolves once `n` frames have arrived in all. */
  until(n: number): Promise<ServerFrame[]>;
  closed: Promise<{ code: number; reason: string }>;
  hello(after?: SyncCursor): void;
  send(intent: Intent, key: string): void;
}

async function connect(path: string, init: { token?: string; protocol?: string } = {}): Promise<Client> {
  const query = init.token === undefined ? "" : `?token=${encodeURIComponent(init.token)}`;
  const res = await SELF.fetch(`https://example.com${path}${query}`, { headers: { Upgrade: "websocket", ...(init.protocol ? { "Sec-WebSocket-Protocol": init.protocol } : {}) } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const raw: string[] = [];
  const frames: ServerFrame[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  ws.addEventListener("message", (e) => {
    raw.push(e.data as string);
    const parsed = parseServerFrame(e.data);
    if (!parsed.ok) throw new Error(`bad server frame: ${e.data as string}`);
    frames.push(parsed.value);
    for (const w of waiting.filter((w) => frames.length >= w.n)) w.resolve();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  ws.accept();
  return {
    ws,
    raw,
    frames,
    closed,
    until: (n) => (frames.length >= n ? Promise.resolve(frames) : new Promise((resolve) => waiting.push({ n, resolve: () => resolve(frames) }))),
    hello: (after) => ws.send(JSON.stringify({ t: "hello", protocol: SYNC_PROTOCOL, law: LAW, ...(after ? { after } : {}) })),
    send: (intent, key) => ws.send(JSON.stringify({ t: "send", intent: { ...intent, idempotencyKey: key } })),
  };
}

const syncPath = (world: string) => `/synced/ledgers/${world}/sync`;
const stub = (world: string) => env.SYNC_LEDGER.getByName(world);
const open = (holder: string) => buildIntent(ledger, (s) => void s.open({ holder }));
const deposit = (accountId: string, amount: number) => buildIntent(ledger, (s) => void s.deposit({ accountId, amount }));
const diffs = (frames: ServerFrame[]) => frames.filter((f): f is DiffFrame => f.t === "diff");

/** A subscriber that said hello and got its welcome and snapshot. */
async function subscribe(world: string, token: string): Promise<Client> {
  const c = await connect(syncPath(world), { token });
  c.hello();
  await c.until(2);
  expect(c.frames.map((f) => f.t)).toStrictEqual(["welcome", "snapshot"]);
  return c;
}

describe("sync over a hibernatable WebSocket", () => {
  it("sends each Seal to every subscriber as the rows it changed, each holder seeing only their own accounts", async () => {
    const w = freshWorld();
    const ann = await subscribe(w, "rw:ann");
    const bob = await subscribe(w, "ro:bob");
    expect(ann.frames[0]).toMatchObject({ t: "welcome", world: { attractor: "SyncLedger", name: w }, law: LAW, behind: false, readOnly: false });
    expect(bob.frames[0]).toMatchObject({ readOnly: true });
    expect(ann.frames[1]).toStrictEqual({ t: "snapshot", sedimentId: 0, hash: "0".repeat(64), tables: { accounts: { columns: ["id", "balance"], key: ["id"], rows: [] }, movements: { columns: ["id", "account_id", "amount"], key: ["id"], rows: [] } } });

    ann.send(open("ann"), "open-1");
    // The sender gets its Seal before the diff: its client settles the pending Intent as it applies the rows.
    const [, , sealed, opened] = await ann.until(4);
    expect(opened).toMatchObject({ t: "diff", sedimentId: 1, prevHash: "0".repeat(64), changes: [{ table: "accounts", op: "upsert", row: ["acct-1-0", 0] }] });
    expect(sealed).toMatchObject({ t: "seal", key: "open-1", seal: { success: true, sedimentId: 1, hash: (opened as DiffFrame).hash } });
    // Bob sees the sediment, with nothing of Ann's account in it: the chain has no gap.
    const [, , bobs] = await bob.until(3);
    expect(bobs).toStrictEqual({ ...opened, changes: [] });

    ann.send(deposit("acct-1-0", 5), "dep-1");
    await ann.until(6);
    await bob.until(4);
    expect(diffs(ann.frames)[1]!.changes).toStrictEqual([
      { table: "accounts", op: "upsert", row: ["acct-1-0", 5] },
      { table: "movements", op: "upsert", row: [1, "acct-1-0", 5] },
    ]);
    expect(diffs(bob.frames)[1]!.changes).toStrictEqual([{ table: "movements", op: "upsert", row: [1, "acct-1-0", 5] }]);
    // No frame holds a hidden column, nor Bob's frames anything of Ann's account but the published movement.
    for (const text of [...ann.raw, ...bob.raw]) expect(text).not.toMatch(/opened_at|holder/);
    for (const text of bob.raw) expect(text).not.toContain('"ann"');
    ann.ws.close();
    bob.ws.close();
  });

  it("gives a late subscriber a snapshot, then the diffs after it", async () => {
    const w = freshWorld();
    await stub(w).sedimentation(open("cy"));
    await stub(w).sedimentation(deposit("acct-1-0", 7));
    const cy = await subscribe(w, "ro:cy");
    const head = (await stub(w).sediments(0, 10)).sediments.at(-1)!;
    expect(cy.frames[1]).toStrictEqual({
      t: "snapshot",
      sedimentId: 2,
      hash: head.hash,
      tables: { accounts: { columns: ["id", "balance"], key: ["id"], rows: [["acct-1-0", 7]] }, movements: { columns: ["id", "account_id", "amount"], key: ["id"], rows: [[1, "acct-1-0", 7]] } },
    });
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    const [, , next] = await cy.until(3);
    expect(next).toMatchObject({ t: "diff", sedimentId: 3, prevHash: head.hash });
    cy.ws.close();
  });

  it("resumes from a cursor with every diff after it, in chain order, none twice", async () => {
    const w = freshWorld();
    const ann = await subscribe(w, "rw:ann");
    ann.send(open("ann"), "o");
    await ann.until(4);
    const cursor = { sedimentId: 1, hash: diffs(ann.frames)[0]!.hash };
    ann.ws.close();
    await ann.closed;
    for (let i = 0; i < 3; i++) await stub(w).sedimentation(deposit("acct-1-0", i + 1));
    const again = await connect(syncPath(w), { token: "rw:ann" });
    again.hello(cursor);
    const frames = await again.until(4);
    expect(frames.map((f) => f.t)).toStrictEqual(["welcome", "diff", "diff", "diff"]);
    const chain = diffs(frames);
    expect(chain.map((d) => d.sedimentId)).toStrictEqual([2, 3, 4]);
    expect(chain.map((d) => d.prevHash)).toStrictEqual([cursor.hash, chain[0]!.hash, chain[1]!.hash]);
    expect(chain.at(-1)!.changes[0]).toStrictEqual({ table: "accounts", op: "upsert", row: ["acct-1-0", 6] });
    // Live from there: the next Seal arrives once.
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    await again.until(5);
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    await again.until(6);
    expect(diffs(again.frames).map((d) => d.sedimentId)).toStrictEqual([2, 3, 4, 5, 6]);
    again.ws.close();
  });

  it("records nothing while nobody watches: a client back within SYNC_LINGER_MS gets the diffs it missed, one back later a snapshot", async () => {
    const w = freshWorld();
    const world = testWorld(env.SYNC_LEDGER, w);
    const recorded = () =>
      runInDurableObject(stub(w), (_, state) => ({
        triggers: state.storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_noema\\_sync%' ESCAPE '\\'").one().n,
        records: state.storage.sql.exec("SELECT count(*) AS n FROM _noema_sync_touch").one().n,
        sockets: state.getWebSockets().length,
      }));
    /** Closes a client and waits until the object saw it go. */
    const leave = async (c: Client) => {
      c.ws.close();
      await c.closed;
      for (let i = 0; i < 100 && (await recorded()).sockets > 0; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await world.sedimentation(open("ann"));
    expect(await recorded()).toStrictEqual({ triggers: 0, records: 0, sockets: 0 });
    const ann = await subscribe(w, "rw:ann");
    const cursor = { sedimentId: 1, hash: (ann.frames[1] as SnapshotFrame).hash };
    await leave(ann);
    await world.advance(SYNC_LINGER_MS - 1000);
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    const soon = await connect(syncPath(w), { token: "rw:ann" });
    soon.hello(cursor);
    expect((await soon.until(2)).map((f) => f.t)).toStrictEqual(["welcome", "diff"]);
    await leave(soon);
    // Past the linger, the next write stops recording, and drops the records that could no longer be continued.
    await world.advance(SYNC_LINGER_MS);
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    expect(await recorded()).toStrictEqual({ triggers: 0, records: 0, sockets: 0 });
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    const late = await connect(syncPath(w), { token: "rw:ann" });
    late.hello({ sedimentId: 2, hash: (soon.frames[1] as DiffFrame).hash });
    expect((await late.until(2)).map((f) => f.t)).toStrictEqual(["welcome", "snapshot"]);
    expect(late.frames[1]).toMatchObject({ sedimentId: 4 });
    // Recording again from there: the next Seal is its diff.
    await stub(w).sedimentation(deposit("acct-1-0", 1));
    expect((await late.until(3))[2]).toMatchObject({ t: "diff", sedimentId: 5, prevHash: (late.frames[1] as SnapshotFrame).hash });
    late.ws.close();
  });

  it("closes with 4409 when the cursor is not on this World's chain: a fork, or past the head", async () => {
    const w = freshWorld();
    await stub(w).sedimentation(open("ann"));
    const fork = await connect(syncPath(w), { token: "ro:ann" });
    fork.hello({ sedimentId: 1, hash: "f".repeat(64) });
    expect((await fork.closed).code).toBe(SYNC_CLOSE.resync);
    const ahead = await connect(syncPath(w), { token: "ro:ann" });
    ahead.hello({ sedimentId: 9, hash: "f".repeat(64) });
    expect((await ahead.closed).code).toBe(SYNC_CLOSE.resync);
    // Only the welcome went out: no row.
    expect([...fork.frames, ...ahead.frames].map((f) => f.t)).toStrictEqual(["welcome", "welcome"]);
  });

  it("refuses a bad token (4401), a World the routes cannot name (4404) and an Attractor that publishes nothing (4403); the route's bearer auth does not apply", async () => {
    const codes = async (path: string, init?: { token?: string; protocol?: string }) => (await (await connect(path, init)).closed).code;
    expect(await codes(syncPath(freshWorld()))).toBe(SYNC_CLOSE.unauthorized);
    expect(await codes(syncPath(freshWorld()), { token: "admin" })).toBe(SYNC_CLOSE.unauthorized);
    expect(await codes(syncPath("closed"), { token: "rw:ann" })).toBe(SYNC_CLOSE.unauthorized);
    expect(await codes(syncPath("NOT-A-NAME"), { token: "rw:ann" })).toBe(SYNC_CLOSE.unknownWorld);
    expect(await codes(`/api/ledgers/${freshWorld()}/sync`, { token: "rw:ann" })).toBe(SYNC_CLOSE.forbidden);
    // Not a WebSocket: a plain 426.
    expect((await SELF.fetch(`https://example.com${syncPath("x")}`)).status).toBe(426);
  });

  it("takes the token from the subprotocol a browser offers, and answers with the sync subprotocol alone", async () => {
    const res = await SELF.fetch(`https://example.com${syncPath(freshWorld())}`, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `${SYNC_SUBPROTOCOL}, ro:ann` } });
    expect(res.status).toBe(101);
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe(SYNC_SUBPROTOCOL);
    const ws = res.webSocket!;
    const first = new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(e.data as string), { once: true }));
    ws.accept();
    ws.send(JSON.stringify({ t: "hello", protocol: SYNC_PROTOCOL, law: LAW }));
    expect(JSON.parse(await first)).toMatchObject({ t: "welcome", readOnly: true });
    ws.close();
  });

  it("answers a malformed frame with an error naming the field, then closes with 4400; nothing changes", async () => {
    const w = freshWorld();
    const c = await connect(syncPath(w), { token: "rw:ann" });
    c.ws.send(JSON.stringify({ t: "hello", protocol: SYNC_PROTOCOL, law: { version: "1", hash: LAW.hash } }));
    expect(await c.until(1)).toStrictEqual([{ t: "error", code: "malformed", message: "law.version: expected an integer >= 1", path: ["law", "version"] }]);
    expect((await c.closed).code).toBe(SYNC_CLOSE.malformed);
    const text = await connect(syncPath(w), { token: "rw:ann" });
    text.ws.send("{");
    expect((await text.closed).code).toBe(SYNC_CLOSE.malformed);
    expect(text.frames).toMatchObject([{ t: "error", code: "malformed" }]);
    expect((await stub(w).sediments(0, 10)).sediments).toStrictEqual([]);
  });

  it("refuses a send from a read-only token and an invalid Intent with error frames: nothing sealed, nothing on record", async () => {
    const w = freshWorld();
    const ro = await subscribe(w, "ro:ann");
    ro.send(open("ann"), "k1");
    expect((await ro.until(3))[2]).toStrictEqual({ t: "error", code: "read_only", message: "this token may subscribe, not send", key: "k1" });
    const rw = await subscribe(w, "rw:ann");
    rw.send({ v: 1, steps: [{ op: "deposit", args: { accountId: "a", amount: -1 } }] } as Intent, "k2");
    expect((await rw.until(3))[2]).toMatchObject({ t: "error", code: "invalid_intent", path: ["intent", "steps", 0, "args", "amount"], key: "k2" });
    expect((await stub(w).sediments(0, 10)).sediments).toStrictEqual([]);
    expect((await stub(w).precedents()).precedents).toStrictEqual([]);
    ro.ws.close();
    rw.ws.close();
  });

  it("sends a snapshot larger than a WebSocket message in frames within MAX_SERVER_FRAME_BYTES that join into every row, then diffs after it", async () => {
    const w = freshWorld();
    await stub(w).sedimentation(open("ann"));
    // 60,000 movements netting to zero, written at once as a migration would (outside any sediment): a published table of over 1 MiB.
    const ROWS = 60_000;
    await runInDurableObject(stub(w), (_, state) => {
      state.storage.sql.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
        INSERT INTO movements (account_id, amount, transfer_id, at) SELECT 'acct-1-0', CASE i % 2 WHEN 0 THEN 1 ELSE -1 END, NULL, 0 FROM n`);
    });
    const ann = await connect(syncPath(w), { token: "rw:ann" });
    ann.hello();
    const last = () => ann.frames.some((f) => f.t === "snapshot" && !f.more);
    for (let i = 0; i < 500 && !last(); i++) await new Promise((r) => setTimeout(r, 20));
    const parts = ann.frames.filter((f): f is SnapshotFrame => f.t === "snapshot");
    const bytes = ann.raw.filter((t) => t.startsWith('{"t":"snapshot"')).map((t) => new TextEncoder().encode(t).length);
    expect(bytes.reduce((a, b) => a + b)).toBeGreaterThan(1024 * 1024);
    expect(Math.max(...bytes)).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    const whole = joinSnapshot(parts)!;
    const stored = await runInDurableObject(stub(w), (_, state) => state.storage.sql.exec("SELECT id, account_id, amount FROM movements ORDER BY id").toArray().map((r) => [r.id, r.account_id, r.amount]));
    expect(stored).toHaveLength(ROWS);
    expect(whole.tables.movements!.rows).toStrictEqual(stored);
    expect(whole.tables.accounts!.rows).toStrictEqual([["acct-1-0", 0]]);
    // The chain goes on from the snapshot's sediment: the Seal, then the diff after it.
    ann.send(deposit("acct-1-0", 3), "after-snapshot");
    const frames = await ann.until(ann.frames.length + 2);
    expect(frames.slice(-2).map((f) => f.t)).toStrictEqual(["seal", "diff"]);
    expect(frames.at(-1)).toMatchObject({ sedimentId: 2, prevHash: whole.hash, changes: [{ table: "accounts", op: "upsert", row: ["acct-1-0", 3] }, { table: "movements", op: "upsert", row: [ROWS + 1, "acct-1-0", 3] }] });
    ann.ws.close();
  });

  it("sends a diff larger than a WebSocket message in frames within MAX_SERVER_FRAME_BYTES, live and on resume", async () => {
    const w = freshWorld();
    await stub(w).sedimentation(open("ann"));
    const ann = await subscribe(w, "rw:ann");
    const before = ann.frames[1] as SnapshotFrame;
    // 60,000 movements written inside the object and left touched: the next sediment's diff carries them all (over 1 MiB).
    const ROWS = 60_000;
    await runInDurableObject(stub(w), (_, state) => {
      state.storage.sql.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
        INSERT INTO movements (account_id, amount, transfer_id, at) SELECT 'acct-1-0', CASE i % 2 WHEN 0 THEN 1 ELSE -1 END, NULL, 0 FROM n`);
    });
    ann.send(deposit("acct-1-0", 3), "big");
    const whole = async (c: Client, from: number) => {
      const done = () => c.frames.slice(from).some((f) => f.t === "diff" && !f.more);
      for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
      const parts = diffs(c.frames.slice(from));
      const bytes = c.raw.slice(from).filter((t) => t.startsWith('{"t":"diff"')).map((t) => new TextEncoder().encode(t).length);
      expect(bytes.reduce((a, b) => a + b)).toBeGreaterThan(1024 * 1024);
      expect(Math.max(...bytes)).toBeLessThanOrEqual(MAX_SERVER_FRAME_BYTES);
      expect(parts.length).toBeGreaterThanOrEqual(3);
      return joinDiff(parts)!;
    };
    const live = await whole(ann, 2);
    expect(live).toMatchObject({ sedimentId: 2, prevHash: before.hash });
    expect(live.changes).toHaveLength(ROWS + 2);
    expect(live.changes).toContainEqual({ table: "movements", op: "upsert", row: [ROWS + 1, "acct-1-0", 3] });
    // A subscriber resuming from before it gets the same frames.
    const late = await connect(syncPath(w), { token: "rw:ann" });
    late.hello({ sedimentId: before.sedimentId, hash: before.hash });
    expect(await whole(late, 1)).toStrictEqual(live);
    ann.ws.close();
    late.ws.close();
  });

  it("closes with 4413 when a published row cannot fit in any frame, rather than resyncing forever", async () => {
    const w = freshWorld();
    await stub(w).sedimentation(open("ann"));
    await runInDurableObject(stub(w), (_, state) => {
      state.storage.sql.exec("INSERT INTO movements (account_id, amount, transfer_id, at) VALUES (?, 1, NULL, 0)", "x".repeat(MAX_SERVER_FRAME_BYTES));
    });
    const ann = await connect(syncPath(w), { token: "rw:ann" });
    ann.hello();
    expect(await ann.closed).toMatchObject({ code: SYNC_CLOSE.tooLarge });
    // The snapshot's frames before the row went out; the row's own frame never did.
    expect(ann.frames.at(-1)).toMatchObject({ t: "snapshot", more: true });
  });

  it("applies a send once by its key: repeated after a reconnect, it gets the same Seal", async () => {
    const w = freshWorld();
    const first = await subscribe(w, "rw:ann");
    first.send(open("ann"), "once");
    const sealOf = (frames: ServerFrame[]) => frames.find((f) => f.t === "seal");
    await first.until(4);
    first.ws.close();
    const second = await subscribe(w, "rw:ann");
    second.send(open("ann"), "once");
    await second.until(3);
    expect(sealOf(second.frames)).toStrictEqual(sealOf(first.frames));
    expect((await stub(w).sediments(0, 10)).sediments).toHaveLength(1);
    second.ws.close();
  });
});
