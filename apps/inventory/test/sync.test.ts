import { SELF } from "cloudflare:test";
import { buildIntent } from "@noema/core";
import { type DiffFrame, parseServerFrame, type ServerFrame, SYNC_CLOSE, SYNC_PROTOCOL, SYNC_SUBPROTOCOL } from "@noema/core/sync";
import { describe, expect, it } from "vitest";
import { inventoryNomosV3 } from "../src/nomos.js";
import { inventory } from "../src/vocabulary.js";
import { api, freshProduct, READ_TOKEN } from "./helpers.js";

/** A subscriber of one product, its token offered as a browser offers it (a subprotocol); every frame validated. */
async function subscribe(productId: string, token: string) {
  const res = await SELF.fetch(`https://noema.test/api/products/${productId}/sync`, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `${SYNC_SUBPROTOCOL}, ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const raw: string[] = [];
  const frames: ServerFrame[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  ws.addEventListener("message", (e) => {
    raw.push(e.data as string);
    const parsed = parseServerFrame(e.data);
    if (!parsed.ok) throw new Error(`bad frame ${e.data as string}`);
    frames.push(parsed.value);
    for (const w of waiting.filter((w) => frames.length >= w.n)) w.resolve();
  });
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.accept();
  ws.send(JSON.stringify({ t: "hello", protocol: SYNC_PROTOCOL, law: { version: inventoryNomosV3.version, hash: inventoryNomosV3.hash } }));
  const until = (n: number) => (frames.length >= n ? Promise.resolve(frames) : new Promise<ServerFrame[]>((resolve) => waiting.push({ n, resolve: () => resolve(frames) })));
  return { ws, raw, frames, until, closed };
}

const tokenFor = async (subject: string) => ((await api("POST", "/api/sync-tokens", { subject })).body as { token: string }).token;

describe("the storefront's live stock", () => {
  it("publishes stock levels to every customer, and each customer's reservations to that customer alone", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 5 })).status).toBe(200);
    const [ann, bob] = await Promise.all([subscribe(p, await tokenFor("cart-ann")), subscribe(p, await tokenFor("cart-bob"))]);
    await ann.until(2);
    await bob.until(2);
    expect(ann.frames[1]).toMatchObject({ t: "snapshot", tables: { stock: { columns: ["location_id", "quantity", "reserved", "updated_at"], rows: [["main", 5, 0, expect.any(Number)]] }, reservations: { rows: [] } } });

    // Ann reserves over her socket, as the storefront does: the Intent carries her cart as orderId.
    const reserve = buildIntent(inventory, (s) => void s.reserve({ locationId: "main", quantity: 2, orderId: "cart-ann", ttlSeconds: 600 }));
    ann.ws.send(JSON.stringify({ t: "send", intent: { ...reserve, idempotencyKey: "ann-1" } }));
    // Her Seal first, then the diff: her client settles both at once and never counts the reserve twice.
    const frames = await ann.until(4);
    expect(frames[2]).toMatchObject({ t: "seal", key: "ann-1", seal: { success: true } });
    const annDiff = frames[3] as DiffFrame;
    expect(annDiff.changes).toContainEqual({ table: "stock", op: "upsert", row: ["main", 5, 2, expect.any(Number)] });
    expect(annDiff.changes.filter((c) => c.table === "reservations")).toMatchObject([{ op: "upsert", row: [expect.any(String), "main", 2, "active", expect.any(Number)] }]);
    const [, , bobDiff] = await bob.until(3);
    expect((bobDiff as DiffFrame).changes).toStrictEqual([{ table: "stock", op: "upsert", row: ["main", 5, 2, expect.any(Number)] }]);
    for (const text of bob.raw) expect(text).not.toContain("cart-ann");
    // The reservations' hidden columns are in no snapshot or diff, not even of the subscriber's own (its Seal is its own Intent's output).
    const published = [...ann.raw, ...bob.raw].filter((text) => /^\{"t":"(snapshot|diff)"/.test(text));
    expect(published).toHaveLength(4);
    for (const text of published) for (const hidden of ["order_id", "channel", "created_at", "closed_at"]) expect(text).not.toContain(hidden);
    ann.ws.close();
    bob.ws.close();
  });

  it("lets a read token watch the stock but not send, and refuses a forged subscriber token", async () => {
    const p = freshProduct();
    const reader = await subscribe(p, READ_TOKEN);
    expect((await reader.until(2))[0]).toMatchObject({ t: "welcome", readOnly: true });
    const forged = (await tokenFor("cart-ann")).replace(/^s\.[^.]+/, "s.Y2FydC1ib2I");
    expect(await (await subscribe(p, forged)).closed).toBe(SYNC_CLOSE.unauthorized);
    reader.ws.close();
  });
});
