import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

/** The token vitest.config.mts gives the test Worker. */
const TEST_TOKEN = "test-token";

// Through the Worker's HTTP routes, into a real SQLite-backed Durable Object in workerd.
const post = (path: string, body: unknown) =>
  SELF.fetch(`https://example.com${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("counter", () => {
  it("adds and takes, and refuses to go below zero", async () => {
    const id = `c-${crypto.randomUUID().slice(0, 8)}`;
    const added = await post(`/counters/${id}/add`, { amount: 5 });
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ success: true, outputs: [{ id, value: 5 }] });

    const taken = await post(`/counters/${id}/take`, { amount: 2 });
    expect(await taken.json()).toMatchObject({ success: true, outputs: [{ id, value: 3 }] });

    const refused = await post(`/counters/${id}/take`, { amount: 4 });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "refused" }, seal: { success: false } });

    const read = await SELF.fetch(`https://example.com/counters/${id}`);
    expect(await read.json()).toStrictEqual({ id, value: 3 });
  });

  it("answers 400 for arguments the law does not accept", async () => {
    const res = await post("/counters/x/add", { amount: -1 });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_input" } });
  });

  it("serves Noema's generic routes behind the token", async () => {
    expect((await SELF.fetch("https://example.com/api/nomos")).status).toBe(401);
    const res = await SELF.fetch("https://example.com/api/nomos", { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(200);
  });
});
