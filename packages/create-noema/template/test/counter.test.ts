import { env, exports } from "cloudflare:workers";
import { Attractor } from "@noema/cloudflare";
import { testWorld } from "@noema/cloudflare/testing";
import { buildIntent } from "@noema/core";
import { type DiffFrame, parseServerFrame, type ServerFrame, SYNC_PROTOCOL, SYNC_SUBPROTOCOL } from "@noema/core/sync";
import { describe, expect, it } from "vitest";
import * as worker from "../src/index.js";
import { counterLaw, counterNomos } from "../src/law.js";

/** The token vitest.config.mts gives the test Worker. */
const TEST_TOKEN = "test-token";
const HOUR = 60 * 60 * 1000;
/** A counter no other test uses: each one is its own Durable Object. */
const fresh = () => `c-${crypto.randomUUID().slice(0, 8)}`;

// The Worker itself (exports.default), through its HTTP routes, into a real SQLite-backed Durable Object in workerd.
const fetch = (path: string, init?: RequestInit) => exports.default.fetch(new Request(`https://example.com${path}`, init));
const post = (path: string, body: unknown) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

// The deployed bundle does not keep class names (wrangler.jsonc), but these tests' bundle does: an
// Attractor without its own `static attractor` would pass here and fail when it starts deployed.
it("every Attractor the Worker exports declares its name", () => {
  const attractors = Object.entries(worker).filter(([, v]) => typeof v === "function" && v.prototype instanceof Attractor);
  expect(attractors.map(([name]) => name)).toContain("CounterAttractor");
  // Its own: a subclass of another Attractor would otherwise name its Worlds as its parent's.
  for (const [name, cls] of attractors) expect(Object.hasOwn(cls, "attractor"), `${name} declares static attractor`).toBe(true);
});

describe("counter over HTTP", () => {
  it("adds and takes, and refuses to go below zero", async () => {
    const id = fresh();
    const added = await post(`/counters/${id}/add`, { amount: 5 });
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ success: true, outputs: [{ id, value: 5 }] });

    const taken = await post(`/counters/${id}/take`, { amount: 2 });
    expect(await taken.json()).toMatchObject({ success: true, outputs: [{ id, value: 3 }] });

    const refused = await post(`/counters/${id}/take`, { amount: 4 });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "refused" }, seal: { success: false } });

    const read = await fetch(`/counters/${id}`);
    expect(await read.json()).toStrictEqual({ id, value: 3 });
  });

  it("answers 400 for arguments the law does not accept", async () => {
    const res = await post("/counters/x/add", { amount: -1 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_input" } });
  });

  it("serves Noema's generic routes behind the token", async () => {
    expect((await fetch("/api/nomos")).status).toBe(401);
    const res = await fetch("/api/nomos", { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(200);
  });
});

// The Attractor itself, with the testing kit: Intents built against its law, Seals and refusals, its rows and its clock.
describe("counter law", () => {
  it("seals an add, refuses a take below zero, and keeps the row as it was", async () => {
    const id = fresh();
    const world = testWorld(env.COUNTER, id);
    const sealed = await world.expectSealed((s) => s.add({ id, amount: 5 }));
    expect(sealed.outputs).toStrictEqual([{ id, value: 5 }]);
    const refused = await world.expectRefused((s) => s.take({ id, amount: 6 }), "constraint");
    expect(refused.reason.message).toBe("a counter cannot go below zero");
    expect(await world.rows("counters")).toStrictEqual([{ id, value: 5 }]);
  });

  it("a take frozen for an hour runs when the hour has passed", async () => {
    const id = fresh();
    const world = testWorld(env.COUNTER, id);
    await world.expectSealed((s) => {
      s.add({ id, amount: 5 });
      s.$freeze({ delaySeconds: HOUR / 1000 }, (later) => void later.take({ id, amount: 2 }));
    });
    await world.advance(HOUR - 1000);
    expect(await world.rows("counters")).toStrictEqual([{ id, value: 5 }]);
    await world.advance(1000);
    expect(await world.rows("counters")).toStrictEqual([{ id, value: 3 }]);
  });
});

/** Subscribes to one counter as the page does (the token as a subprotocol, as a browser offers it); every frame is validated. */
async function subscribe(id: string) {
  const res = await fetch(`/api/${id}/sync`, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `${SYNC_SUBPROTOCOL}, visitor` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: ServerFrame[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  ws.addEventListener("message", (e) => {
    const parsed = parseServerFrame(e.data);
    if (!parsed.ok) throw new Error(`bad frame ${String(e.data)}`);
    frames.push(parsed.value);
    for (const w of waiting.filter((w) => frames.length >= w.n)) w.resolve();
  });
  ws.accept();
  ws.send(JSON.stringify({ t: "hello", protocol: SYNC_PROTOCOL, law: { version: counterNomos.version, hash: counterNomos.hash } }));
  const until = (n: number) => (frames.length >= n ? Promise.resolve(frames) : new Promise<ServerFrame[]>((resolve) => waiting.push({ n, resolve: () => resolve(frames) })));
  return { ws, until };
}

// The counter page's route (GET /api/<id>/sync): what @noema/client speaks, frame by frame.
describe("counter live", () => {
  it("a subscriber gets the counter as a snapshot, then each increment as a diff on the chain", async () => {
    const id = fresh();
    expect((await post(`/counters/${id}/add`, { amount: 2 })).status).toBe(200);
    const page = await subscribe(id);
    const [welcome, snapshot] = await page.until(2);
    expect(welcome).toMatchObject({ t: "welcome", readOnly: false, behind: false });
    expect(snapshot).toMatchObject({ t: "snapshot", sedimentId: 1, tables: { counters: { columns: ["id", "value"], rows: [[id, 2]] } } });

    // Another client adds over HTTP: the page gets the changed row, chained to the snapshot's hash.
    expect((await post(`/counters/${id}/add`, { amount: 3 })).status).toBe(200);
    const [, , diff] = await page.until(3);
    expect(diff).toStrictEqual({ t: "diff", sedimentId: 2, hash: expect.any(String), prevHash: (snapshot as { hash: string }).hash, changes: [{ table: "counters", op: "upsert", row: [id, 5] }] });

    // The page's own increment goes over the socket: its Seal under its idempotency key, then its diff.
    const add = buildIntent(counterLaw, (s) => void s.add({ id, amount: 1 }));
    page.ws.send(JSON.stringify({ t: "send", intent: { ...add, idempotencyKey: "page-1" } }));
    const [, , , seal, mine] = await page.until(5);
    expect((mine as DiffFrame).changes).toStrictEqual([{ table: "counters", op: "upsert", row: [id, 6] }]);
    expect(seal).toMatchObject({ t: "seal", key: "page-1", seal: { success: true, outputs: [{ id, value: 6 }] } });
    page.ws.close();
  });
});
