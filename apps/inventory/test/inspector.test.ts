import { SELF } from "cloudflare:test";
import { buildIntent } from "@noema/core";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { api, freshProduct, READ_TOKEN, TOKEN } from "./helpers.js";

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
      expect(html).toContain("Verified: 2 sediment(s)");
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

  it("composes an Intent from the JSON Schemas: explains it, sends it with full access, refuses to send with a read token", async () => {
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
    const sent = await post(path, { ...form, $action: "send" }, { Origin: ORIGIN, Cookie: writer });
    expect(sent.status).toBe(200);
    expect(await sent.text()).toContain("Sealed");
    expect((await api("GET", `/api/products/${p}/sediments`)).body.sediments).toHaveLength(1);
    expect((await post(path, { ...form, $action: "send" }, { Origin: "https://evil.test", Cookie: writer })).status).toBe(403);

    const reader = await signIn(READ_TOKEN);
    const readPage = await (await get(path, reader)).text();
    expect(readPage).not.toContain('value="send"');
    expect((await post(path, form, { Origin: ORIGIN, Cookie: reader })).status).toBe(200);
    expect((await post(path, { ...form, $action: "send" }, { Origin: ORIGIN, Cookie: reader })).status).toBe(403);
    expect((await api("GET", `/api/products/${p}/sediments`)).body.sediments).toHaveLength(1);
  });
});
