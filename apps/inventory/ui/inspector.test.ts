import { mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { orderShard } from "../src/orders/shards.js";
import { READ_TOKEN, WRITE_TOKEN } from "./setup.js";

const baseURL = inject("baseURL");
const persistDir = inject("persistDir");
const artifacts = join(dirname(fileURLToPath(import.meta.url)), "artifacts");
const XSS = "<img src=x onerror=alert(1)>";
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

let browser: Browser;
let context: BrowserContext;
let page: Page;
const dialogs: string[] = [];

async function api(method: string, path: string, body?: unknown, token = WRITE_TOKEN) {
  const res = await fetch(`${baseURL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A screenshot of the page as it is, at desktop and phone width (neither scrolling sideways), after an accessibility check with no serious or critical violation. */
async function shoot(name: string) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, name).toEqual([]);
  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(viewport);
    // Nothing wider than the screen: wide tables scroll inside their own box.
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name} at ${size}`).toBeLessThanOrEqual(viewport.width);
    await page.screenshot({ path: join(artifacts, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}

async function signIn(token = WRITE_TOKEN) {
  await page.goto(`${baseURL}/inspector/sign-in`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/inspector\/worlds$/);
}

const product = (tag: string) => `ui-${tag}-${Date.now()}`;

/** A product's first stocking also lists it in the catalog: stock it, then wait for that message's receipt (sediment 2) to be recorded. */
async function stockFirst(p: string, quantity: number) {
  expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity })).status).toBe(200);
  for (let i = 0; i < 100 && (await api("GET", `/api/products/${p}/outbox`)).body.messages.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect((await api("GET", `/api/products/${p}/receipts`)).body.receipts).toHaveLength(1);
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  page = await context.newPage();
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
});

describe("the inspector in a browser", () => {
  it("shows no page without a token, only the sign-in form", async () => {
    for (const path of ["/inspector", "/inspector/worlds", "/inspector/worlds/sku-1", "/inspector/law"]) {
      const res = await page.goto(`${baseURL}${path}`);
      expect(res?.status(), path).toBe(401);
      await expect.poll(() => page.getByLabel("API token").getAttribute("type")).toBe("password");
      expect(await page.locator("main h2, [data-chain]").count()).toBe(0);
    }
    await shoot("sign-in");
  });

  it("signs in and out; a wrong token stays out", async () => {
    await page.goto(`${baseURL}/inspector/sign-in`);
    await page.getByLabel("API token").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("not valid");
    await signIn();
    expect(await page.content()).not.toContain(WRITE_TOKEN);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "noema_inspector", httpOnly: true, sameSite: "Strict" });
    expect(await page.evaluate(() => document.cookie)).toBe("");
    await shoot("worlds");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/sign-in$/);
    expect(await context.cookies()).toEqual([]);
    expect((await page.goto(`${baseURL}/inspector/worlds`))?.status()).toBe(401);
  });

  it("opens a product typed on the Worlds page; its numbers match the API", async () => {
    const p = product("world");
    await stockFirst(p, 10);
    expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 3 })).status).toBe(201);
    expect((await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: -50, reason: "sale" })).status).toBe(409);
    await signIn();
    // Listed in the catalog, which its first stocking fed by a message.
    expect(await page.locator("[data-catalog] a", { hasText: p }).count()).toBe(1);
    await page.getByLabel("Product id").fill(p);
    await page.getByRole("button", { name: "Open" }).click();
    await page.waitForURL(new RegExp(`/inspector/worlds/${p}$`));
    const verify = (await api("GET", `/api/products/${p}/verify`)).body;
    const log = (await api("GET", `/api/products/${p}/sediments`)).body;
    const frozen = (await api("GET", `/api/products/${p}/cryostasis`)).body;
    const precedents = (await api("GET", `/api/products/${p}/precedents`)).body;
    const nomos = (await api("GET", `/api/products/${p}/nomos`)).body;
    expect(await page.locator("[data-chain=ok]").textContent()).toBe(`Newest verified: #1 to #${verify.length}, head ${verify.head.slice(0, 12)}`);
    expect(await page.locator("[data-sediment]").count()).toBe(log.sediments.length);
    expect(await page.locator("[data-cryo]").count()).toBe(frozen.pending.length);
    expect(await page.locator("[data-precedent]").count()).toBe(precedents.precedents.length);
    expect(await page.locator("main").textContent()).toContain(`v${nomos.held.version} ${nomos.held.hash.slice(0, 12)}`);
    // Messages: nothing waiting, the catalog message's receipt as the API lists it.
    const receipts = (await api("GET", `/api/products/${p}/receipts`)).body.receipts;
    expect(await page.locator("[data-outbox] [data-message]").count()).toBe(0);
    expect(await page.locator("[data-receipt]").count()).toBe(receipts.length);
    expect(await page.locator(`[data-receipt="${receipts[0].messageId}"] [data-outcome]`).textContent()).toBe(receipts[0].outcome);
    expect(await page.locator('[data-sediment="2"] [data-origin=receipt]').count()).toBe(1);
    // The state: the stock table and the chart's latest values are the snapshot's.
    const snapshot = (await api("GET", `/api/products/${p}`)).body;
    const row = page.locator('table[data-table="stock"] tbody tr').first();
    for (const [column, key] of [["location_id", "locationId"], ["quantity", "quantity"], ["reserved", "reserved"]] as const) {
      expect(await row.locator(`[data-column=${column}]`).textContent()).toBe(String(snapshot.locations[0][key]));
    }
    // Its updated_at as a UTC date-time, the stored epoch milliseconds in the tooltip.
    const updatedAt = row.locator("[data-column=updated_at] time");
    expect(await updatedAt.textContent()).toBe(`${new Date(Number(await updatedAt.getAttribute("title"))).toISOString().slice(0, 23).replace("T", " ")} UTC`);
    const chart = page.locator('figure[data-series="main"]');
    for (const line of ["quantity", "reserved", "available"]) expect(await chart.locator(`[data-line=${line}] .num`).textContent()).toBe(String(snapshot.locations[0][line]));
    expect(await chart.locator("svg path.line").count()).toBe(3);
    // An entry opens to its Intent, outputs, Seal and explain.
    await page.locator(`[data-sediment="3"] summary`).click();
    expect(await page.locator(`[data-sediment="3"] pre`).first().textContent()).toContain('"op": "reserve"');
    expect(await page.locator(`[data-sediment="3"] pre[data-explain="0"]`).textContent()).toMatch(/UPDATE stock SET reserved = reserved \+ \?/);
    expect(await page.locator(`[data-sediment="3"] pre[data-explain="1"]`).textContent()).toContain("$freeze");
    await shoot("world");
  });

  it("shows a new reservation live, without a reload, over the WebSocket", async () => {
    const p = product("live");
    await stockFirst(p, 4);
    await signIn();
    const polls: string[] = [];
    page.on("request", (r) => void (r.url().includes("/newer") && polls.push(r.url())));
    const socket = page.waitForEvent("websocket");
    await page.goto(`${baseURL}/inspector/worlds/${p}`);
    expect((await socket).url()).toBe(`${baseURL.replace("http", "ws")}/inspector/worlds/${p}/live`);
    const live = page.locator("[data-live]");
    await expect.poll(() => live.getAttribute("data-live-state")).toBe("open");
    expect(await live.isVisible()).toBe(false);
    // Anything set on this window is lost by a reload.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1 })).status).toBe(201);
    await page.locator('[data-sediment="3"].new').waitFor({ timeout: 10_000 });
    expect(await page.locator("[data-sediment]").count()).toBe(3);
    expect(await page.locator('[data-sediment="3"] summary').textContent()).toContain("reserve, $freeze");
    expect(await live.textContent()).toContain("1 new sediment(s)");
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    expect(polls).toEqual([]);
    await shoot("world-live");
  });

  it("falls back to asking every few seconds when the WebSocket is refused", async () => {
    const p = product("poll");
    await stockFirst(p, 4);
    await signIn();
    await page.routeWebSocket(/\/live$/, (ws) => ws.close());
    try {
      await page.goto(`${baseURL}/inspector/worlds/${p}`);
      await expect.poll(() => page.locator("[data-live]").getAttribute("data-live-state")).toBe("polling");
      expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1 })).status).toBe(201);
      // The fallback asks every 5 s.
      await page.locator('[data-sediment="3"].new').waitFor({ timeout: 12_000 });
    } finally {
      await page.unrouteAll();
    }
  });

  it("follows an order across Worlds: its lines as the API shows them, and a trail in time order whose deliveries link to the product's sediment, which links back", async () => {
    const [p1, p2] = [product("order-a"), product("order-b")];
    await stockFirst(p1, 5);
    await stockFirst(p2, 5);
    expect((await api("PUT", `/api/products/${p1}/stock/side`, { quantity: 3 })).status).toBe(200);
    const orderId = `order-${Date.now()}`;
    const lines = [
      { productId: p1, locationId: "main", quantity: 2 },
      { productId: p2, locationId: "main", quantity: 1 },
      { productId: p1, locationId: "side", quantity: 1 },
    ];
    expect((await api("POST", "/api/orders", { orderId, lines })).status).toBe(202);
    // The lines' messages are delivered by the order's alarm under wrangler dev.
    const settled = async () => ((await api("GET", `/api/orders/${orderId}`)).body.order.lines as { status: string }[]).every((l) => l.status !== "pending");
    for (let i = 0; i < 200 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 50));
    const order = (await api("GET", `/api/orders/${orderId}`)).body.order;
    expect(order.lines.map((l: { status: string }) => l.status)).toEqual(["reserved", "reserved", "reserved"]);
    await signIn();
    // The order lives in its shard, the only order there in this run.
    const shard = orderShard(orderId);
    await page.goto(`${baseURL}/inspector/orders/worlds/${shard}`);
    // First on the page: the order's status and lines, as the orders API shows them, each product linked to its World.
    const rows = page.locator("[data-overview-table] tbody tr");
    expect(await rows.locator('[data-column="order"]').allTextContents()).toEqual(order.lines.map(() => orderId));
    expect(await rows.locator('[data-column="order status"]').allTextContents()).toEqual(order.lines.map(() => order.status));
    expect(await rows.locator('[data-column="status"]').allTextContents()).toEqual(order.lines.map((l: { status: string }) => l.status));
    expect(await rows.locator('[data-column="product"] a').allTextContents()).toEqual(lines.map((l) => l.productId));
    expect(await rows.locator('[data-column="product"] a').first().getAttribute("href")).toBe(`/inspector/worlds/${p1}`);
    // The trail: every message sent in sediment #1, sealed there, its receipt recorded here; in time order, cause before effect.
    const events = await page.locator("[data-trail] > li").evaluateAll((lis) =>
      lis.map((li) => ({ kind: li.getAttribute("data-event")!, at: Number(li.getAttribute("data-at")), message: li.getAttribute("data-trail-message")! })),
    );
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((a, b) => a - b));
    const messages = await page.locator("[data-receipts] [data-receipt]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-receipt")!));
    expect(messages).toHaveLength(3);
    for (const m of messages) expect(events.filter((e) => e.message === m).map((e) => e.kind), `message ${m}`).toEqual(["sent", "sealed", "recorded"]);
    for (const sent of await page.locator('[data-trail] > li[data-event="sent"]').allTextContents()) expect(sent).toContain("Here, sediment #1 (createOrder");
    await shoot("order");
    // A delivery opens the product's World at the sediment that sealed it, which links back to the order's.
    const delivery = page.locator(`[data-trail] > li[data-event="sealed"] a[data-other-side][href^="/inspector/worlds/${p2}?"]`);
    const sealed = Number((await delivery.textContent())!.replace("sediment #", ""));
    await delivery.click();
    await page.waitForURL(new RegExp(`/inspector/worlds/${p2}\\?after=\\d+#s-${sealed}$`));
    const back = page.locator(`[data-sediment="${sealed}"] [data-origin=message] a`);
    expect(await back.textContent()).toContain(`OrderAttractor ${shard} #1`);
    await back.click();
    await page.waitForURL(new RegExp(`/inspector/orders/worlds/${shard}\\?after=\\d+#s-1$`));
  });

  it("shows an idempotency key holding markup as text and runs no script", async () => {
    const p = product("xss");
    await stockFirst(p, 1);
    const intent = { v: 1, idempotencyKey: XSS, steps: [{ op: "adjust", args: { locationId: "main", delta: 1, reason: "purchase" } }] };
    expect((await api("POST", `/api/products/${p}/intents`, intent)).status).toBe(200);
    await signIn();
    await page.goto(`${baseURL}/inspector/worlds/${p}`);
    await page.locator(`[data-sediment="3"] summary`).click();
    expect(await page.locator(`[data-sediment="3"] summary`).textContent()).toContain(`key ${XSS}`);
    expect(await page.locator("img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("shows the Connection from v1 to v2 as a table of classified changes", async () => {
    await signIn();
    await page.goto(`${baseURL}/inspector/law`);
    await page.getByLabel("From").selectOption("1");
    await page.getByLabel("To").selectOption("2");
    await page.getByRole("button", { name: "Compare" }).click();
    const table = page.locator('table[data-connection="1-2"]');
    const report = (await api("POST", "/api/connection", { from: 1, to: 2 })).body;
    const changes = report.steps[0].changes as { element: string; effect: string }[];
    expect(await table.locator("tbody tr").count()).toBe(changes.length);
    for (const change of changes) expect(await table.locator("tr", { hasText: change.element }).first().locator(".badge").textContent()).toBe(change.effect);
    expect(await page.locator("#connection > p .badge").textContent()).toBe(report.type);
    await shoot("law");
  });

  it("shows a pasted v1 Intent's Sieve and the Connection it would get, as the API computes it", async () => {
    await signIn();
    await page.goto(`${baseURL}/inspector/law`);
    await page.getByRole("link", { name: "The Sieve and Connection of an Intent" }).click();
    const v1 = (await api("GET", "/api/nomos")).body.versions[0];
    const intent = { v: 1, nomos: { name: "inventory", version: 1, hash: v1.hash }, steps: [{ op: "reserve", args: { locationId: "main", quantity: 1 } }] };
    await page.getByLabel("Intent (JSON)").fill(JSON.stringify(intent, null, 2));
    await page.getByRole("button", { name: "Show Sieve and Connection" }).click();
    const report = (await api("POST", "/api/connection", { from: 1, intent })).body;
    expect(await page.locator("[data-connection-type]").textContent()).toBe(report.type);
    const relevant = report.steps.flatMap((s: { changes: { element: string; relevant: boolean }[] }) => s.changes.filter((c) => c.relevant).map((c) => c.element));
    expect(relevant.length).toBeGreaterThan(0);
    const shown = await page.locator('td[data-relevant="true"]').evaluateAll((tds) => tds.map((td) => td.parentElement!.querySelector("td")!.textContent));
    expect(shown).toEqual(relevant);
    expect(JSON.parse((await page.locator("pre[data-sieve]").textContent())!)).toHaveProperty(["column:reservations.quantity"]);
    await shoot("law-intent");
  });

  it("lets a read-only token read everything and refuses its writes with 403", async () => {
    const p = product("read");
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 2 })).status).toBe(200);
    expect((await api("GET", `/api/products/${p}/sediments`, undefined, READ_TOKEN)).status).toBe(200);
    const write = await api("PUT", `/api/products/${p}/stock/main`, { quantity: 3 }, READ_TOKEN);
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe("forbidden");
    await signIn(READ_TOKEN);
    await page.goto(`${baseURL}/inspector/worlds/${p}`);
    expect(await page.locator("header.top .badge").textContent()).toBe("read only");
    expect(await page.locator("[data-chain=ok]").count()).toBe(1);
  });

  it("composes a reservation from its form: explain shows the SQL, Sediment seals it", async () => {
    const p = product("compose");
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 8 })).status).toBe(200);
    await signIn();
    await page.goto(`${baseURL}/inspector/worlds/${p}`);
    await page.getByRole("link", { name: "Compose an Intent" }).click();
    await page.getByLabel("Operation").selectOption("reserve");
    await page.getByRole("button", { name: "Choose" }).click();
    await page.getByLabel("locationId").fill("main");
    await page.getByLabel("quantity", { exact: true }).fill("2");
    await page.getByRole("button", { name: "Explain" }).click();
    expect(await page.locator("#result h2").textContent()).toBe("Explained: nothing ran");
    expect(await page.locator("#result pre[data-sql]").allTextContents()).toContainEqual(expect.stringMatching(/INSERT INTO reservations/));
    await shoot("compose");
    await page.getByRole("button", { name: "Sediment" }).click();
    expect(await page.locator("#result h2").textContent()).toBe("Sealed");
    const snapshot = (await api("GET", `/api/products/${p}`)).body;
    expect(snapshot.locations[0]).toMatchObject({ locationId: "main", quantity: 8, reserved: 2 });
  });

  it("turns the chain status red after a log row is tampered with on disk", async () => {
    const p = product("tamper");
    await stockFirst(p, 5);
    for (const quantity of [6, 7]) expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity })).status).toBe(200);
    await signIn();
    await page.goto(`${baseURL}/inspector/worlds/${p}`);
    expect(await page.locator("[data-chain=ok]").count()).toBe(1);
    const file = sqliteOf(p);
    const db = new DatabaseSync(file);
    try {
      db.prepare("UPDATE _noema_sediment SET hash = ? WHERE sediment_id = 2").run(Buffer.from("f".repeat(64), "hex"));
    } finally {
      db.close();
    }
    await page.reload();
    const broken = page.locator("[data-chain=broken]");
    expect(await broken.textContent()).toBe("Broken at sediment #2 (checked #1 to #4)");
    expect(await broken.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe("rgb(179, 20, 27)");
    expect(await page.locator(`[data-sediment="2"]`).getAttribute("class")).toBe("broken");
    await shoot("world-broken");
  });
});

/** The SQLite file of the product's Durable Object under wrangler's persist directory. */
function sqliteOf(productId: string): string {
  const dir = join(persistDir, "v3", "do");
  for (const ns of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, ns))) {
      if (!f.endsWith(".sqlite")) continue;
      const path = join(dir, ns, f);
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        const worlds = db.prepare("SELECT world FROM _noema_world").all() as { world: string }[];
        if (worlds.some((w) => (JSON.parse(w.world) as { name: string }).name === productId)) return path;
      } catch {
        // Not an Attractor's file, or not one with a log yet.
      } finally {
        db.close();
      }
    }
  }
  throw new Error(`no SQLite file holds ${productId}`);
}
