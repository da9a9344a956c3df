// The storefront (@noema/client in Chromium) against `wrangler dev` of the reference app when
// things go wrong: wrangler killed with SIGKILL while subscribed, and sends queued offline across
// a reload while the server moves to a newer law (the test-only v4 of law-v4.ts), for an app
// still on v3 and for one updated to v4. This file runs its own `wrangler dev` (it kills and
// restarts it, and changes its law), on one persist directory and one port.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIntent, type Intent } from "@noema/core";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../../scripts/wrangler-dev.js";
import { inventoryLaw } from "../src/law.js";
// @ts-expect-error: a plain .mjs build script, without types.
import { buildStore } from "../scripts/store.mjs";
import { COMMIT_CRITICAL } from "./law-v4.js";
import { WRITE_TOKEN } from "./setup.js";

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, "..");
const artifacts = join(here, "artifacts");
/** The storefront bundle built on the v4 law (the app's next release), next to the v3 one in dist/assets/store/. */
const STORE_V4 = "store-v4";
const READY_MS = 45_000;
/** Long enough for a restart of wrangler and the client's reconnect backoff (at most 10 s). */
const BACK_MS = 30_000;

let browser: Browser;
let persistDir: string;
let dev: WranglerDev | undefined;
let port: number | undefined;

/** `wrangler dev` of the reference app on this file's persist directory, under v3 (src/index.ts) or v4 (server-v4.ts), on the same port each time. */
async function serve(law: "v3" | "v4"): Promise<WranglerDev> {
  const started = await startWranglerDev({
    cwd: appDir,
    ...(law === "v4" ? { config: join(here, "wrangler.v4.jsonc") } : {}),
    persistDir,
    ...(port ? { port } : {}),
    vars: { NOEMA_API_TOKEN: WRITE_TOKEN },
    ready: { path: "/health" },
    readyMs: READY_MS,
  });
  port = Number(new URL(started.base).port);
  return started;
}

const base = () => `http://127.0.0.1:${port}`;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base()}${path}`, {
    method,
    headers: { Authorization: `Bearer ${WRITE_TOKEN}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function stock(product: string, levels: Record<string, number>) {
  for (const [location, quantity] of Object.entries(levels)) expect((await api("PUT", `/api/products/${product}/stock/${location}`, { quantity })).status).toBe(200);
}

/** What the server holds, as the storefront shows it: per location, in stock, reserved, available. */
async function serverCells(product: string) {
  const { body } = await api("GET", `/api/products/${product}`);
  return Object.fromEntries((body.locations as any[]).map((l) => [l.locationId, [String(l.quantity), String(l.reserved), String(l.available)]]));
}

async function pageCells(page: Page) {
  const rows = await page.locator("tr[data-location]").all();
  return Object.fromEntries(await Promise.all(rows.map(async (r) => [await r.getAttribute("data-location"), await r.locator("td.n").allTextContents()])));
}

async function reservationsOf(product: string, cart: string) {
  const { body } = await api("GET", `/api/products/${product}`);
  return (body.reservations as any[]).filter((r) => r.orderId === cart);
}

const storeUrl = async (product: string, cart: string, bundle = "store") => {
  const { status, body } = await api("POST", "/api/sync-tokens", { subject: cart });
  expect(status).toBe(201);
  return `${base()}/${bundle}/#product=${product}&token=${body.token}&cart=${cart}`;
};

/** Opens the storefront in `context` and waits (bounded) for its snapshot; page errors fail the wait loudly. */
async function open(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Not "load": the page's own wait for online follows, and a loaded machine can take long to fetch the SQLite WASM.
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60_000 });
  await page.locator("body[data-status=online]").waitFor({ timeout: 30_000 }).catch(() => expect(errors).toEqual([]));
  return page;
}

async function reserve(page: Page, location: string, quantity: number) {
  await page.getByLabel(`Quantity to reserve at ${location}`).fill(String(quantity));
  await page.getByRole("button", { name: `Reserve at ${location}` }).click();
}

/**
 * Queues a send the page has no button for (it only reserves) the way the client queues one:
 * an entry of its IndexedDB queue (`indexedDbQueue`, database `noema-store-<product>-<cart>`).
 */
async function enqueue(page: Page, database: string, intent: Intent) {
  await page.evaluate(
    async ({ database, intent }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open(database);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction("queue", "readwrite");
        tx.objectStore("queue").add({ key: intent.idempotencyKey, intent });
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    },
    { database, intent },
  );
}

/** Online, the cart reserves 1 at north and it is sealed: the reservation the Flat send cancels later. */
async function reserveOnline(page: Page, product: string, cart: string) {
  await reserve(page, "north", 1);
  await expect.poll(() => page.locator("#last").textContent(), { timeout: 10_000 }).toMatch(/^Reserved 1 at north \(sediment \d+\)\.$/);
  const [held] = await reservationsOf(product, cart);
  expect(held).toMatchObject({ locationId: "north", quantity: 1 });
  return held as { id: string };
}

/**
 * Offline, three sends wait in the page's durable queue, one per Connection under v4: reserve 2
 * at main (Curved: reforged), a commit of the north reservation (Critical: v4 stops every v3
 * commit) and a cancelHold of it (Flat: unchanged in v4).
 */
async function queueThreeOffline(page: Page, product: string, cart: string, held: { id: string }) {
  await page.locator("body[data-status=offline]").waitFor({ timeout: 10_000 });
  await reserve(page, "main", 2);
  await expect.poll(() => page.locator("#status").textContent()).toBe("offline, 1 pending");
  const queue = `noema-store-${product}-${cart}`;
  const commit = buildIntent(inventoryLaw.latest, (s) => void s.commit({ reservationId: held.id }));
  await enqueue(page, queue, { ...commit, idempotencyKey: `commit-${held.id}` });
  const cancel = buildIntent(inventoryLaw.latest, (s) => void s.cancelHold({ reservationId: held.id, locationId: "north", quantity: 1 }));
  await enqueue(page, queue, { ...cancel, idempotencyKey: `cancel-${held.id}` });
}

/** The sediments of a product after `after`, with how each came to run (its origin). */
async function sedimentsAfter(product: string, after: number) {
  const { body } = await api("GET", `/api/products/${product}/sediments?after=${after}`);
  return (body.sediments as any[]).map((s) => ({ op: s.intent.steps[0].op, args: s.intent.steps[0].args, origin: s.origin?.steps?.map((st: any) => `${st.connection}${st.reforged ? " reforged" : ""}`) }));
}

/** The storefront's bundle under the v4 law (the app's next release), into dist/assets/store-v4/. */
const buildStoreV4 = () => buildStore({ name: STORE_V4, law: join(here, "store-law-v4.ts") });

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  persistDir = mkdtempSync(join(tmpdir(), "noema-resilience-"));
  [browser, dev] = await Promise.all([
    chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }),
    buildStoreV4().then(() => serve("v3")),
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

describe("the storefront when the server dies or its law moves on", () => {
  it("resumes after a kill -9 of wrangler dev from the sediment it holds: no gap, no duplicate, a send made at the kill applied once", async () => {
    const product = `kill-${Date.now()}`;
    const cart = "cart-k";
    await stock(product, { main: 5 });
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const url = await storeUrl(product, cart);
    // Every frame the page receives, and the hellos it sends.
    const received: any[] = [];
    const hellos: any[] = [];
    const page = await context.newPage();
    page.on("websocket", (ws) => {
      ws.on("framereceived", (f) => received.push(JSON.parse(String(f.payload))));
      ws.on("framesent", (f) => {
        const frame = JSON.parse(String(f.payload));
        if (frame.t === "hello") hellos.push(frame);
      });
    });
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.locator("body[data-status=online]").waitFor({ timeout: 30_000 });
    await expect.poll(() => pageCells(page)).toEqual({ main: ["5", "0", "5"] });

    // A reserve, and wrangler and workerd killed at once: it may or may not have reached the Attractor.
    await reserve(page, "main", 1);
    await dev!.kill();
    await page.locator("body:not([data-status=online])").waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(artifacts, "resilience-killed.png"), fullPage: true });

    dev = await serve("v3");
    // Back on the same address: the client reconnects, resumes after its head, and its send is settled.
    await expect.poll(() => page.locator("#status").textContent(), { timeout: BACK_MS }).toBe("online");
    // A change made after the restart reaches it as the next diff.
    await stock(product, { north: 2 });
    await expect.poll(() => pageCells(page), { timeout: 10_000 }).toEqual(await serverCells(product));
    expect(await pageCells(page)).toEqual({ main: ["5", "1", "4"], north: ["2", "0", "2"] });
    expect((await reservationsOf(product, cart)).map((r) => [r.locationId, r.quantity])).toEqual([["main", 1]]);

    // Its chain check passed throughout: one snapshot (the first), every later hello resumed from
    // the head it held, and the diffs came one sediment after another, none twice.
    expect(hellos.length).toBeGreaterThan(1);
    expect(hellos[0].after).toBeUndefined();
    for (const hello of hellos.slice(1)) expect(hello.after?.sedimentId).toBeGreaterThan(0);
    expect(received.filter((f) => f.t === "snapshot")).toHaveLength(1);
    const diffs = received.filter((f) => f.t === "diff").map((f) => f.sedimentId as number);
    const first = received.find((f) => f.t === "snapshot").sedimentId as number;
    expect(diffs).toEqual(diffs.map((_, i) => first + 1 + i));
    const { body: verified } = await api("GET", `/api/products/${product}/verify`);
    expect(verified).toMatchObject({ ok: true, length: first + diffs.length });
    await page.screenshot({ path: join(artifacts, "resilience-resumed.png"), fullPage: true });
    await context.close();
  }, 90_000);

  it("sends queued offline under v3, the server moved to v4: an app still on v3 is told it is behind and the server carries them; an app updated to v4 carries them itself", async () => {
    const stamp = Date.now();
    // Two users of one product each: one whose app stays on v3 (reloaded from the v3 bundle), one whose app is updated to v4.
    const stays = { product: `law-${stamp}`, cart: "cart-l" };
    const updates = { product: `upd-${stamp}`, cart: "cart-u" };
    const users = await Promise.all(
      [stays, updates].map(async ({ product, cart }) => {
        await stock(product, { main: 10, north: 5 });
        const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
        const url = await storeUrl(product, cart);
        const page = await open(context, url);
        expect(await page.locator("#law").getAttribute("data-behind")).toBe("false");
        const held = await reserveOnline(page, product, cart);
        const { body } = await api("GET", `/api/products/${product}/sediments`);
        return { product, cart, context, page, url, held, head: (body.sediments as any[]).at(-1).sedimentId as number };
      }),
    );

    // Offline. Chromium's offline mode keeps an open WebSocket open, so the server going away for
    // its upgrade is what drops it; the sends wait in the page's durable queue.
    for (const u of users) await u.context.setOffline(true);
    await dev!.stop();
    for (const u of users) await queueThreeOffline(u.page, u.product, u.cart, u.held);
    await users[0]!.page.screenshot({ path: join(artifacts, "resilience-offline.png"), fullPage: true });
    // A reload while offline: the page is gone (the browser's error page), its queue is in IndexedDB.
    for (const u of users) await u.page.reload().catch(() => undefined);

    // The server comes back under v4 on the same state, the network is back and the users reload.
    dev = await serve("v4");
    const [v3, v4] = users as [(typeof users)[0], (typeof users)[0]];
    // The updating user's old tab goes first: Chromium reloads an offline error page by itself once the
    // network is back, and that v3 page would take the queue before the v4 page could.
    await v4.page.close();
    for (const u of users) await u.context.setOffline(false);
    await v3.page.goto(v3.url, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await v3.page.locator("body[data-status=online]").waitFor({ timeout: 30_000 });
    const page4 = await open(v4.context, await storeUrl(v4.product, v4.cart, STORE_V4));
    const refusal = `inventory v4 stops Intents of v3 at once: ${COMMIT_CRITICAL}`;

    // The app on v3: its law is older than the server's, it says so, and the server carries its sends.
    await expect.poll(() => v3.page.locator("#law").getAttribute("data-behind"), { timeout: 10_000 }).toBe("true");
    expect(await v3.page.locator("#law").textContent()).not.toBe("");
    await expect.poll(() => v3.page.locator("#status").textContent(), { timeout: BACK_MS }).toBe("online");
    await expect.poll(() => v3.page.getByRole("alert").textContent(), { timeout: 10_000 }).toBe(refusal);
    expect(await sedimentsAfter(v3.product, v3.head)).toEqual([
      // Curved: reforged by the server onto the web channel.
      { op: "reserve", args: expect.objectContaining({ locationId: "main", quantity: 2, channel: "web" }), origin: ["Curved reforged"] },
      // Flat: run as it was sent.
      { op: "cancelHold", args: expect.objectContaining({ locationId: "north", quantity: 1 }), origin: ["Flat"] },
    ]);
    const { body: precedents } = await api("GET", `/api/products/${v3.product}/precedents`);
    expect(precedents.precedents.map((p: any) => [p.reason.kind, p.reason.message])).toEqual([["connection", refusal]]);

    // The app updated to v4 carried them itself before sending: it is not behind, and the refused one never left the browser.
    expect(await page4.locator("#law").getAttribute("data-behind")).toBe("false");
    await expect.poll(() => page4.getByRole("alert").textContent(), { timeout: 10_000 }).toBe(refusal);
    await expect.poll(() => page4.locator("#status").textContent(), { timeout: BACK_MS }).toBe("online");
    expect(await sedimentsAfter(v4.product, v4.head)).toEqual([
      // Reforged by the app (onto the web channel) and sent as a v4 Intent: nothing left for the server to carry.
      { op: "reserve", args: expect.objectContaining({ locationId: "main", quantity: 2, channel: "web" }), origin: undefined },
      // Flat: sent as it was queued, under v3.
      { op: "cancelHold", args: expect.objectContaining({ locationId: "north", quantity: 1 }), origin: ["Flat"] },
    ]);
    expect((await api("GET", `/api/products/${v4.product}/precedents`)).body.precedents).toEqual([]);

    // Both pages show what the server holds.
    for (const [page, product] of [[v3.page, v3.product], [page4, v4.product]] as const) {
      await expect.poll(() => pageCells(page)).toEqual(await serverCells(product));
      expect(await pageCells(page)).toEqual({ main: ["10", "2", "8"], north: ["5", "0", "5"] });
    }
    await v3.page.screenshot({ path: join(artifacts, "resilience-behind.png"), fullPage: true });
    await page4.screenshot({ path: join(artifacts, "resilience-updated.png"), fullPage: true });
    for (const u of users) await u.context.close();
  }, 90_000);
});
