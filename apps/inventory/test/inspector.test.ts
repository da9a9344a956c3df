import { runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { buildIntent, type Sediment } from "@noema/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InventoryAttractor } from "../src/attractor.js";
import { stockChart } from "../src/inspector.js";
import { inventoryLaw } from "../src/law.js";
import { inventory } from "../src/vocabulary.js";
import { api, attractor, freshProduct, READ_TOKEN, TOKEN } from "./helpers.js";

// The inspector as a browser meets it, without the browser: cookies, Origin and headers by hand.
const ORIGIN = "https://noema.test";
const get = (path: string, cookie?: string) => SELF.fetch(`${ORIGIN}${path}`, { headers: cookie ? { Cookie: cookie } : {}, redirect: "manual" });
const post = (path: string, form: Record<string, string>, headers: Record<string, string> = { Origin: ORIGIN }) =>
  SELF.fetch(`${ORIGIN}${path}`, { method: "POST", body: new URLSearchParams(form), headers, redirect: "manual" });

async function signIn(token: string) {
  const res = await post("/inspector/sign-in", { token });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("Set-Cookie")!;
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  expect(cookie).toMatch(/Secure/);
  expect(cookie).toMatch(/Path=\/inspector/);
  return cookie.split(";")[0]!;
}

/** Runs the product's alarm until its outbox is empty: the first stocking's catalog message, delivered and its receipt recorded. */
async function deliver(productId: string) {
  for (let i = 0; i < 5 && (await attractor(productId).outbox()).messages.length > 0; i++) await runDurableObjectAlarm(attractor(productId));
  expect((await attractor(productId).outbox()).messages).toEqual([]);
}

describe("inspector", () => {
  it("shows only the sign-in page without a token, with the security headers", async () => {
    for (const path of ["/inspector", "/inspector/worlds", "/inspector/worlds/sku-1", "/inspector/law", "/inspector/worlds/sku-1/newer?after=0"]) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      const html = await res.text();
      expect(html).toContain('type="password"');
      expect(html).toContain("API token");
      expect(res.headers.get("Content-Security-Policy")).toMatch(/script-src 'self'.*frame-ancestors 'none'/);
      expect(res.headers.get("Content-Security-Policy")).not.toMatch(/unsafe-/);
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    }
    expect((await get("/inspector/worlds", "noema_inspector=wrong")).status).toBe(401);
  });

  it("serves its script and stylesheet itself, with their types, the script within 50 KiB gzip", async () => {
    const script = await get("/inspector/assets/client.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    const gzip = await new Response(script.body!.pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
    expect(gzip.byteLength).toBeLessThanOrEqual(50 * 1024);
    expect((await get("/inspector/assets/style.css")).headers.get("Content-Type")).toMatch(/^text\/css/);
  });

  it("refuses a wrong token and any POST from another origin or none", async () => {
    expect((await post("/inspector/sign-in", { token: "wrong" })).status).toBe(401);
    for (const headers of [{ Origin: "https://evil.test" }, {} as Record<string, string>]) {
      const res = await post("/inspector/sign-in", { token: TOKEN }, headers);
      expect(res.status).toBe(403);
      expect(res.headers.get("Set-Cookie")).toBeNull();
    }
  });

  it("signs in, never echoes the token, and signs out", async () => {
    const cookie = await signIn(TOKEN);
    const worlds = await get("/inspector/worlds", cookie);
    expect(worlds.status).toBe(200);
    const html = await worlds.text();
    expect(html).toContain("full access");
    expect(html).not.toContain(TOKEN);
    const out = await post("/inspector/sign-out", {}, { Origin: ORIGIN, Cookie: cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get("Set-Cookie")).toMatch(/noema_inspector=;.*Max-Age=0/);
  });

  it("shows a World: law, chain, log with escaped keys, Precedents; a read token reads it too", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 5 })).status).toBe(200);
    const xss = "<img src=x onerror=alert(1)>";
    const intent = { ...buildIntent(inventory, (s) => void s.adjust({ locationId: "main", delta: -1, reason: "sale" })), idempotencyKey: xss };
    expect((await api("POST", `/api/products/${p}/intents`, intent)).status).toBe(200);
    expect((await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: -99, reason: "sale" })).status).toBe(409);
    for (const token of [TOKEN, READ_TOKEN]) {
      const res = await get(`/inspector/worlds/${p}`, await signIn(token));
      expect(res.status).toBe(200);
      const html = await res.text();
      // A receipt of the catalog message may have joined the log by now.
      expect(html).toMatch(/Newest verified: #1 to #[23]/);
      expect(html).toContain("setStock");
      expect(html).not.toContain(xss);
      expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
      expect(html).toMatch(/data-precedent="1"/);
      expect(html).toContain(token === TOKEN ? "full access" : "read only");
    }
    const cookie = await signIn(READ_TOKEN);
    const newer = await get(`/inspector/worlds/${p}/newer?after=1`, cookie);
    expect(await newer.json()).toEqual({ newer: 1 });
    const filtered = await (await get(`/inspector/worlds/${p}?kind=validation`, cookie)).text();
    expect(filtered).not.toMatch(/data-precedent=/);
  });

  it("opens a World from the Worlds form and shows the Connection from v1 to v2", async () => {
    const cookie = await signIn(TOKEN);
    const open = await get("/inspector/worlds?id=sku-9", cookie);
    expect(open.status).toBe(303);
    expect(open.headers.get("Location")).toBe("/inspector/worlds/sku-9");
    expect((await get("/inspector/worlds?id=bad%20id", cookie)).status).toBe(400);
    const law = await (await get("/inspector/law?from=1&to=2", cookie)).text();
    expect(law).toContain('data-connection="1-2"');
    expect(law).toContain("column:reservations.channel");
    expect(law).toMatch(/badge Curved/);
  });

  it("composes an Intent from the JSON Schemas: explains it, sediments it with full access, refuses to sediment with a read token", async () => {
    const p = freshProduct();
    const form = { locationId: "main", quantity: "4", $idempotencyKey: "", $action: "explain" };
    const writer = await signIn(TOKEN);
    const path = `/inspector/worlds/${p}/compose?op=setStock`;
    const page = await (await get(path, writer)).text();
    expect(page).toContain('name="quantity"');
    const explained = await post(path, form, { Origin: ORIGIN, Cookie: writer });
    expect(explained.status).toBe(200);
    expect(await explained.text()).toContain("Explained: nothing ran");
    expect((await api("GET", `/api/products/${p}/sediments`)).body.sediments).toHaveLength(0);
    const sent = await post(path, { ...form, $action: "sediment" }, { Origin: ORIGIN, Cookie: writer });
    expect(sent.status).toBe(200);
    expect(await sent.text()).toContain("Sealed");
    expect((await api("GET", `/api/products/${p}/sediments`)).body.sediments).toHaveLength(1);
    expect((await post(path, { ...form, $action: "sediment" }, { Origin: "https://evil.test", Cookie: writer })).status).toBe(403);

    const reader = await signIn(READ_TOKEN);
    const readPage = await (await get(path, reader)).text();
    expect(readPage).not.toContain('value="sediment"');
    expect(readPage).toContain("A read-only token can explain but not sediment.");
    expect((await post(path, form, { Origin: ORIGIN, Cookie: reader })).status).toBe(200);
    expect((await post(path, { ...form, $action: "sediment" }, { Origin: ORIGIN, Cookie: reader })).status).toBe(403);
    expect((await api("GET", `/api/products/${p}/sediments`)).body.sediments).toHaveLength(1);
  });

  it("shows each table of the law held, paged, with the numbers the API gives, and a stock chart", async () => {
    const p = freshProduct();
    for (const loc of ["a", "b", "c"]) expect((await api("PUT", `/api/products/${p}/stock/${loc}`, { quantity: 10 })).status).toBe(200);
    expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "b", quantity: 4 })).status).toBe(201);
    const cookie = await signIn(READ_TOKEN);
    const html = await (await get(`/inspector/worlds/${p}?table=stock`, cookie)).text();
    const snapshot = (await api("GET", `/api/products/${p}`)).body as { locations: { locationId: string; quantity: number; reserved: number }[] };
    const b = snapshot.locations.find((l) => l.locationId === "b")!;
    expect(html).toMatch(new RegExp(`data-column="location_id">b</td><td class="num" data-column="quantity">${b.quantity}</td><td class="num" data-column="reserved">${b.reserved}</td>`));
    // A time column reads as a UTC date-time, its stored epoch milliseconds in the title.
    const stock = await attractor(p).rows("stock");
    const updatedAt = Number(stock.rows.find((r) => r[0] === "b")![stock.columns.indexOf("updated_at")]);
    const iso = new Date(updatedAt).toISOString();
    expect(html).toContain(`<td data-column="updated_at"><time datetime="${iso}" title="${updatedAt}">${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC</time></td>`);
    // The chart of b ends at what the API says: the reservation added to the stock before it.
    expect(html).toMatch(/data-series="b"[^]*?data-line="reserved">reserved <span class="num">4</);
    expect(html).toMatch(/data-series="b"[^]*?data-line="available">available <span class="num">6</);
    // Paged by the table's own cursor; a table the law does not hold is named, not queried.
    const first = await attractor(p).rows("stock", { limit: 2 });
    expect(first.rows.map((r) => r[0])).toEqual(["a", "b"]);
    expect((await attractor(p).rows("stock", { after: first.next!, limit: 2 })).rows.map((r) => r[0])).toEqual(["c"]);
    await runInDurableObject(attractor(p), (o: InventoryAttractor) => expect(() => o.rows("sqlite_master")).toThrow(/has no table "sqlite_master"/));
    const unknown = await (await get(`/inspector/worlds/${p}?table=sqlite_master`, cookie)).text();
    expect(unknown).toContain("has no table sqlite_master");
    expect(unknown).toContain('data-table="stock"');
  });

  it("opens each log entry to its explain, and a picked or pasted Intent to its Sieve and Connection", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 3 })).status).toBe(200);
    const cookie = await signIn(READ_TOKEN);
    const html = await (await get(`/inspector/worlds/${p}`, cookie)).text();
    expect(html).toMatch(/data-explain="0">-- step 0: setStock\nUPDATE stock SET quantity = \?/);
    const picked = await (await get(`/inspector/law/intent?world=${p}&sediment=1`, cookie)).text();
    expect(picked).toContain("The Intent of sediment #1");
    expect(picked).toMatch(/data-connection-type="Flat"/);
    expect(picked).toContain("column:stock.quantity");
    const v1 = { v: 1, nomos: { name: "inventory", version: 1, hash: inventoryLaw.at(1)!.nomos.hash }, steps: [{ op: "reserve", args: { locationId: "main", quantity: 1 } }] };
    const pasted = await post("/inspector/law/intent", { intent: JSON.stringify(v1) }, { Origin: ORIGIN, Cookie: cookie });
    expect(pasted.status).toBe(200);
    const text = await pasted.text();
    expect(text).toMatch(/Built against v1: <span class="badge Curved"/);
    expect(text).toMatch(/column:reservations.channel<\/td>[^]*?data-relevant="true"/);
    const bad = await post("/inspector/law/intent", { intent: "{" }, { Origin: ORIGIN, Cookie: cookie });
    expect(bad.status).toBe(400);
    expect((await post("/inspector/law/intent", { intent: "{}" }, { Origin: "https://evil.test", Cookie: cookie })).status).toBe(403);
  });

  it("tells an open page each new head over the Attractor's WebSocket (a Seal, a wake), behind the cookie and Origin check", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 3 })).status).toBe(200);
    await deliver(p);
    const start = (await attractor(p).sediments(0, 1000)).sediments.length;
    const path = `/inspector/worlds/${p}/live`;
    expect((await SELF.fetch(`${ORIGIN}${path}`, { headers: { Upgrade: "websocket", Origin: ORIGIN } })).status).toBe(401);
    const cookie = await signIn(READ_TOKEN);
    expect((await SELF.fetch(`${ORIGIN}${path}`, { headers: { Upgrade: "websocket", Origin: "https://evil.test", Cookie: cookie } })).status).toBe(403);
    const res = await SELF.fetch(`${ORIGIN}${path}`, { headers: { Upgrade: "websocket", Origin: ORIGIN, Cookie: cookie } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const heads: number[] = [];
    const got = (n: number) => new Promise<void>((resolve) => ws.addEventListener("message", function on(e) {
      heads.push((JSON.parse(e.data as string) as { head: number }).head);
      if (heads.length >= n) { ws.removeEventListener("message", on); resolve(); }
    }));
    const hello = got(1);
    ws.accept();
    await hello;
    const next = got(2);
    expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1 })).status).toBe(201);
    await next;
    expect(heads).toEqual([start, start + 1]);
    // The reservation's frozen release, made due and woken by the alarm: announced too.
    await runInDurableObject(attractor(p), (_, state) => void state.storage.sql.exec("UPDATE _noema_cryostasis SET wake_at = 0"));
    const woken = got(3);
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    await woken;
    expect(heads).toEqual([start, start + 1, start + 2]);
    const entries = await (await get(`/inspector/worlds/${p}/entries?after=${start}`, cookie)).text();
    expect(entries).toMatch(new RegExp(`^<ol class="log" data-log=""><li data-sediment="${start + 2}" id="s-${start + 2}">[^]*data-origin="woken"[^]*<li data-sediment="${start + 1}"`));
    ws.close();
  });

  it("checks the newest entries on every render and the whole chain only when asked", async () => {
    const p = freshProduct();
    const setStock = (quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity }));
    for (const quantity of [1, 2, 3]) expect((await attractor(p).sedimentation(setStock(quantity))).success).toBe(true);
    expect(await attractor(p).verifyTail(2)).toMatchObject({ ok: true, from: 2, length: 3 });
    const cookie = await signIn(READ_TOKEN);
    const full = await (await get(`/inspector/worlds/${p}?verify=full`, cookie)).text();
    expect(full).toContain("Verified: all 3 sediment(s)");
    // The header also says what the background pass last verified, read without verifying anything.
    expect(await (await get(`/inspector/worlds/${p}`, cookie)).text()).toContain('data-checkpoint="none"');
    await attractor(p).reverify();
    expect(await runDurableObjectAlarm(attractor(p))).toBe(true);
    const { checkpoint } = await attractor(p).chainStatus();
    expect(checkpoint).toMatchObject({ sedimentId: 3 });
    expect(await (await get(`/inspector/worlds/${p}`, cookie)).text()).toContain(`Checkpoint: all through #3 <code title="${checkpoint!.hash}">${checkpoint!.hash.slice(0, 12)}</code>`);
  });

  it("pages the frozen Intents in wake order: 50 at once, then the rest after the last shown", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 1 })).status).toBe(200);
    const release = (i: number) => buildIntent(inventory, (s) => void s.release({ reservationId: `r-${i}` }));
    const at = Date.now() + 3_600_000;
    for (let i = 0; i < 51; i++) await attractor(p).freeze(release(i), { at: at + i, key: `k-${i}` });
    const cookie = await signIn(READ_TOKEN);
    const first = await (await get(`/inspector/worlds/${p}`, cookie)).text();
    expect(first.match(/data-cryo=/g)).toHaveLength(50);
    const more = first.match(/href="([^"]*frozenAfter=[^"]*)">More frozen Intents/)![1]!.replaceAll("&amp;", "&");
    const rest = await (await get(more, cookie)).text();
    expect(rest.match(/data-cryo=/g)).toHaveLength(1);
    expect(rest).toContain(">k-50<");
    expect(rest).toContain("First frozen Intents");
    expect(rest).not.toContain("More frozen Intents");
  });

  it("charts every operation that moves stock; after a cancelHold, which does not say what it released, the location waits for its next stock output", () => {
    const sediment = (steps: [op: string, args: Record<string, unknown>, output: Record<string, unknown>][]) =>
      ({ sedimentId: 2, timestamp: 2, intent: { v: 1, steps: steps.map(([op, args]) => ({ op, args })) }, outputs: steps.map(([, , output]) => output) }) as unknown as Sediment;
    const stock = (quantity: number, reserved: number) => ({ locationId: "main", quantity, reserved, available: quantity - reserved });
    const known = () => ({ quantity: 10, reserved: 3, available: 7 });
    const reserve = ["reserve", { locationId: "main", quantity: 2 }, { reservationId: "r-2-0", locationId: "main", quantity: 2, expiresAt: 9, orderId: null, channel: "direct" }] as const;
    const cancelHold = ["cancelHold", { reservationId: "o.0", locationId: "main", quantity: 3 }, { reservationId: "o.0", status: "released" }] as const;
    for (const op of ["setStock", "adjust", "release", "commit"]) {
      expect(stockChart.points(sediment([[op, {}, stock(8, 1)]]), () => undefined), op).toEqual([{ series: "main", values: { quantity: 8, reserved: 1, available: 7 } }]);
    }
    expect(stockChart.points(sediment([[...reserve]]), known)).toEqual([{ series: "main", values: { quantity: 10, reserved: 5, available: 5 } }]);
    expect(stockChart.points(sediment([[...cancelHold], [...reserve]]), known)).toEqual([{ series: "main", values: null }]);
    expect(stockChart.points(sediment([[...cancelHold], ["setStock", {}, stock(4, 0)], [...reserve]]), known).at(-1)).toEqual({ series: "main", values: { quantity: 4, reserved: 2, available: 2 } });
  });

  it("samples a long log boundedly: oldest first, no repeats, the newest quarter in a row; the tail check finds a tampered entry it covers", async () => {
    const p = freshProduct();
    const stub = attractor(p);
    const setStock = (quantity: number) => buildIntent(inventory, (s) => void s.setStock({ locationId: "main", quantity }));
    for (let q = 1; q <= 260; q++) expect((await stub.sedimentation(setStock(q))).success).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: 300 }), async (count) => {
        const ids = (await stub.sampleSediments(count)).map((s) => s.sedimentId);
        const n = Math.min(count, 200);
        expect(ids.length).toBeLessThanOrEqual(n);
        expect(ids[0]).toBe(1);
        expect(ids.at(-1)).toBe(260);
        for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
        const recent = Math.floor(n / 4);
        expect(ids.slice(-recent)).toEqual(Array.from({ length: recent }, (_, i) => 260 - recent + 1 + i));
      }),
      { numRuns: 15 },
    );
    expect(await stub.verifyTail(10)).toMatchObject({ ok: true, from: 251, length: 260 });
    await runInDurableObject(stub, (o: InventoryAttractor, state) => {
      state.storage.sql.exec(`UPDATE _noema_sediment SET outputs = replace(outputs, '255', '9999') WHERE sediment_id = 255`);
      expect(o.verifyTail(10)).toEqual({ ok: false, from: 251, length: 260, brokenAt: 255 });
      // Before the window it says nothing: that is what the full verify is for.
      expect(o.verifyTail(5)).toMatchObject({ ok: true, from: 256 });
    });
  });

  it("shows a World's outbox, then the receipt once delivered, and the catalog on the Worlds page", async () => {
    const p = freshProduct();
    expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 3 })).status).toBe(200);
    const cookie = await signIn(READ_TOKEN);
    const [message] = (await attractor(p).outbox()).messages;
    const waiting = await (await get(`/inspector/worlds/${p}`, cookie)).text();
    expect(waiting).toMatch(new RegExp(`data-message="${message!.messageId}">[^]*catalog:${p}[^]*CATALOG_ATTRACTOR`));
    // The trail: sent in sediment #1, still waiting for its first attempt.
    const trail = (html: string) => [...html.matchAll(/data-event="(\w+)"/g)].map((m) => m[1]);
    expect(trail(waiting)).toEqual(["sent", "waiting"]);
    await deliver(p);
    const [receipt] = (await attractor(p).receipts()).receipts;
    const done = await (await get(`/inspector/worlds/${p}`, cookie)).text();
    expect(done).toContain("Nothing waiting.");
    expect(done).toMatch(new RegExp(`data-receipt="${receipt!.messageId}"[^]*data-outcome="sealed"`));
    expect(done).toContain('data-origin="receipt"');
    expect(trail(done)).toEqual(["sent", "sealed", "recorded"]);
    expect(done).toContain(`was recorded as sediment <a href="/inspector/worlds/${p}?after=0#s-2">#2</a> <span class="muted">(no operations)</span>`);
    const worlds = await (await get(`/inspector/worlds?from=${p.slice(0, -1)}`, cookie)).text();
    expect(worlds).toContain(`href="/inspector/worlds/${p}"`);
  });
});
