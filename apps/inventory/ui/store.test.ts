import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WRITE_TOKEN } from "./setup.js";

const baseURL = inject("baseURL");
const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");

let browser: Browser;

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseURL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${WRITE_TOKEN}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Every frame a page receives over its WebSockets, as text. */
function framesOf(page: Page): string[] {
  const frames: string[] = [];
  page.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
  return frames;
}

/** A storefront page of `product` for one cart, in a browser context of its own, once its snapshot is in. */
async function storefront(product: string, cart: string): Promise<Page & { frames: string[] }> {
  const { status, body } = await api("POST", "/api/sync-tokens", { subject: cart });
  expect(status).toBe(201);
  const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const frames = framesOf(page);
  // Not "load": the wait for online follows, and a loaded machine can take long to fetch the SQLite WASM.
  await page.goto(`${baseURL}/store/#product=${product}&token=${body.token}&cart=${cart}`, { waitUntil: "domcontentloaded", timeout: 60_000 });
  await page.locator("body[data-status=online]").waitFor({ timeout: 30_000 }).catch(() => expect(errors).toEqual([]));
  return Object.assign(page, { frames });
}

const cells = (page: Page, location: string) => page.locator(`tr[data-location="${location}"] td.n`).allTextContents();

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** What a storefront must never receive: the columns the publication hides, another cart's subject and its reservations' ids. */
function expectNothingHidden(frames: readonly string[], otherCart: string, otherIds: readonly string[]) {
  const published = frames.filter((f) => /^\{"t":"(snapshot|diff)"/.test(f));
  expect(published.length).toBeGreaterThan(0);
  for (const frame of published) for (const hidden of ["order_id", "created_at", "closed_at", "channel"]) expect(frame).not.toContain(hidden);
  for (const frame of frames) for (const secret of [otherCart, ...otherIds]) expect(frame).not.toContain(secret);
}

describe("the storefront in a browser (@noema/client, React)", () => {
  it("shows one product's stock live in two contexts, a refusal's reason with nothing left of it, and cancels a reservation", async () => {
    const product = `store-${Date.now()}`;
    expect((await api("PUT", `/api/products/${product}/stock/main`, { quantity: 5 })).status).toBe(200);
    expect((await api("PUT", `/api/products/${product}/stock/north`, { quantity: 3 })).status).toBe(200);

    const a = await storefront(product, "cart-a");
    const b = await storefront(product, "cart-b");
    // in stock, reserved, available
    await expect.poll(() => cells(a, "main")).toEqual(["5", "0", "5"]);
    await expect.poll(() => cells(b, "north")).toEqual(["3", "0", "3"]);

    // A reservation in one context appears in the other: applied at once in its own (a row of its cart's own).
    await a.getByLabel("Quantity to reserve at main").fill("2");
    await a.getByRole("button", { name: "Reserve at main" }).click();
    await expect.poll(() => a.locator("#last").getAttribute("data-prediction")).toBe("optimistic");
    await expect.poll(() => a.locator("#last").textContent()).toMatch(/^Reserved 2 at main \(sediment \d+\)\.$/);
    await expect.poll(() => cells(a, "main")).toEqual(["5", "2", "3"]);
    await expect.poll(() => cells(b, "main")).toEqual(["5", "2", "3"]);
    // Its reservation is listed in its own page only.
    await expect.poll(() => a.locator("li[data-reservation]").count()).toBe(1);
    expect(await b.locator("li[data-reservation]").count()).toBe(0);

    // More than is available: the client runs it and finds it refused, so nothing shows; the server's reason does, and the stock is as it was, in both.
    await b.getByLabel("Quantity to reserve at main").fill("4");
    await b.getByRole("button", { name: "Reserve at main" }).click();
    await expect.poll(() => b.getByRole("alert").textContent()).toBe("not enough available stock at main to reserve 4");
    expect(await cells(b, "main")).toEqual(["5", "2", "3"]);
    expect(await cells(a, "main")).toEqual(["5", "2", "3"]);
    await expect.poll(() => b.locator("#status").textContent()).toBe("online");
    // The server agrees: one reservation, of 2.
    const server = (await api("GET", `/api/products/${product}`)).body;
    expect(server.locations.find((l: any) => l.locationId === "main")).toMatchObject({ quantity: 5, reserved: 2 });
    expect(server.reservations.map((r: any) => [r.locationId, r.quantity, r.orderId])).toEqual([["main", 2, "cart-a"]]);

    // b never received cart-a's reservation: not its id, not its cart, no hidden column.
    expectNothingHidden(b.frames, "cart-a", server.reservations.map((r: any) => r.id));

    await a.screenshot({ path: join(artifacts, "store-a.png"), fullPage: true });
    await b.screenshot({ path: join(artifacts, "store-b-refused.png"), fullPage: true });

    // Cancel: it reads the reservation, which the page holds only in part (its cart's rows), so it waits for its Seal.
    const [held] = server.reservations as { id: string }[];
    await a.getByRole("button", { name: `Cancel ${held!.id}` }).click();
    await expect.poll(() => a.locator("#last").getAttribute("data-prediction")).toBe("pending");
    await expect.poll(() => a.locator("#last").textContent()).toMatch(/^Cancelled 2 at main \(sediment \d+\)\.$/);
    expect(await a.locator("#last").getAttribute("data-why")).toContain("reservations");
    await expect.poll(() => cells(b, "main")).toEqual(["5", "0", "5"]);
    await expect.poll(() => a.locator("li[data-reservation]").count()).toBe(0);
  });

  it("shows an optimistic reservation before the server answers, and rolls a refused one back with its reason; no frame holds another cart's rows", async () => {
    const product = `optimistic-${Date.now()}`;
    expect((await api("PUT", `/api/products/${product}/stock/main`, { quantity: 5 })).status).toBe(200);
    const { status, body } = await api("POST", "/api/sync-tokens", { subject: "cart-c" });
    expect(status).toBe(201);
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    // The page's socket, passed through; while `holding`, what the server says waits, as on a slow network.
    let holding = false;
    const held: (string | Buffer)[] = [];
    const frames: string[] = [];
    let release: () => void = () => undefined;
    await page.routeWebSocket(/\/sync/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        frames.push(String(m));
        if (holding) held.push(m);
        else ws.send(m);
      });
      release = () => {
        holding = false;
        for (const m of held.splice(0)) ws.send(m);
      };
    });
    await page.goto(`${baseURL}/store/#product=${product}&token=${body.token}&cart=cart-c`, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.locator("body[data-status=online]").waitFor({ timeout: 30_000 });
    await expect.poll(() => cells(page, "main")).toEqual(["5", "0", "5"]);

    // Another cart takes 4 while this page hears nothing: it still shows 5 available.
    holding = true;
    const other = await api("POST", `/api/products/${product}/reservations`, { locationId: "main", quantity: 4, orderId: "cart-d" });
    expect(other.status).toBe(201);
    await page.getByLabel("Quantity to reserve at main").fill("2");
    await page.getByRole("button", { name: "Reserve at main" }).click();
    // At once, before any answer: the reservation is on screen, marked optimistic.
    await expect.poll(() => page.locator("#last").getAttribute("data-prediction")).toBe("optimistic");
    expect(await cells(page, "main")).toEqual(["5", "2", "3"]);
    expect(await page.locator("li[data-reservation]").count()).toBe(1);
    expect(await page.locator("#status").textContent()).toBe("online, 1 pending");
    await page.screenshot({ path: join(artifacts, "store-optimistic.png"), fullPage: true });

    // The server's answers arrive: the other cart's hold, then the refusal. The page rolls back and says why.
    // Everything the server said since cart-d's hold is held back, its Seal for this send included: the page showed it before any answer.
    await expect.poll(() => held.some((m) => String(m).startsWith('{"t":"seal"'))).toBe(true);
    release();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("not enough available stock at main to reserve 2");
    await expect.poll(() => cells(page, "main")).toEqual(["5", "4", "1"]);
    expect(await page.locator("li[data-reservation]").count()).toBe(0);
    expect(await page.locator("#last").textContent()).toBe("Reserving 2 at main: refused, rolled back.");
    expect(await page.locator("#status").textContent()).toBe("online");
    await page.screenshot({ path: join(artifacts, "store-rolled-back.png"), fullPage: true });

    // Nothing of cart-d's reservation reached this page but the stock it moved.
    expectNothingHidden(frames, "cart-d", [other.body.reservation.id]);
    await context.close();
  });
});
