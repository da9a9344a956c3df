import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

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
    expect(await refused.json()).toMatchObject({ success: false });

    const read = await SELF.fetch(`https://example.com/counters/${id}`);
    expect(await read.json()).toStrictEqual({ id, value: 3 });
  });

  it("answers 400 for arguments the law does not accept", async () => {
    const res = await post("/counters/x/add", { amount: -1 });
    expect(res.status).toBe(400);
  });
});
