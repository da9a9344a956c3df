import { env, exports } from "cloudflare:workers";
import { testWorld } from "@noema/cloudflare/testing";
import { describe, expect, it } from "vitest";

/** The token vitest.config.mts gives the test Worker. */
const TEST_TOKEN = "test-token";
const HOUR = 60 * 60 * 1000;
/** A counter no other test uses: each one is its own Durable Object. */
const fresh = () => `c-${crypto.randomUUID().slice(0, 8)}`;

// The Worker itself (exports.default), through its HTTP routes, into a real SQLite-backed Durable Object in workerd.
const fetch = (path: string, init?: RequestInit) => exports.default.fetch(new Request(`https://example.com${path}`, init));
const post = (path: string, body: unknown) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

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
