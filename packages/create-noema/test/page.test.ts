// The scaffolded project's counter page in Chromium, against `wrangler dev` of the project: scaffolded
// from this repository's template, its packages resolved from this repository's build (node_modules
// linked to the root's), not from tarballs; .ci/run installs the tarballs and builds the page.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../../../scripts/wrangler-dev.js";
import { scaffold } from "../src/index.js";

const ROOT_MODULES = fileURLToPath(new URL("../../../node_modules", import.meta.url));
const READY_MS = 45_000;

let dir: string;
let dev: WranglerDev | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  dir = scaffold(join(mkdtempSync(join(tmpdir(), "create-noema-page-")), "app")).dir;
  symlinkSync(ROOT_MODULES, join(dir, "node_modules"), "dir");
  const built = spawnSync(process.execPath, ["scripts/build-page.mjs"], { cwd: dir, encoding: "utf8" });
  expect(built.stderr).toBe("");
  expect(built.status).toBe(0);
  dev = await startWranglerDev({ cwd: dir, persistDir: join(dir, ".wrangler", "state"), vars: {}, ready: { path: "/counters/ready" }, readyMs: READY_MS });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, READY_MS + 30_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(join(dir, ".."), { recursive: true, force: true });
});

/** The page of one counter in a browser context of its own; every request it makes is recorded, with any error. */
async function counterPage(id: string, seen: { requests: string[]; errors: string[] }): Promise<Page> {
  const page = await (await browser!.newContext()).newPage();
  page.on("request", (r) => seen.requests.push(r.url()));
  page.on("pageerror", (e) => seen.errors.push(e.message));
  page.on("console", (m) => void (m.type() === "error" && seen.errors.push(m.text())));
  await page.goto(`${dev!.base}/#${id}`);
  await page.locator("body[data-status=online]").waitFor({ timeout: 20_000 });
  return page;
}

describe("the scaffolded counter page (@noema/client, SQLite in WebAssembly)", () => {
  it("adds at once on the page that clicks, live on another, and loads nothing from elsewhere", async () => {
    const id = `c-${Date.now().toString(36)}`;
    const seen = { requests: [] as string[], errors: [] as string[] };
    const [a, b] = [await counterPage(id, seen), await counterPage(id, seen)];
    expect(await a.textContent("#count")).toBe("0");

    // Optimistic: the count changes in the same task as the click's send, before any answer could arrive, with the send pending.
    const atOnce = await a.evaluate(
      () =>
        new Promise<{ count: string | null; status: string | null }>((resolve) => {
          const count = document.querySelector("#count")!;
          new MutationObserver(() => resolve({ count: count.textContent, status: document.querySelector("#status")!.textContent })).observe(count, { childList: true, characterData: true, subtree: true });
          document.querySelector<HTMLButtonElement>("#add")!.click();
        }),
    );
    expect(atOnce).toStrictEqual({ count: "1", status: "online, 1 pending" });
    await expect.poll(() => a.textContent("#status")).toBe("online");
    await expect.poll(() => b.textContent("#count")).toBe("1");

    // Another client, over HTTP: both pages show it.
    const res = await fetch(`${dev!.base}/counters/${id}/add`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ amount: 2 }) });
    expect(res.status).toBe(200);
    for (const page of [a, b]) await expect.poll(() => page.textContent("#count")).toBe("3");
    await b.click("#add");
    await expect.poll(() => a.textContent("#count")).toBe("4");

    expect(seen.errors).toStrictEqual([]);
    // The page, its chunks and sqlite3.wasm come from the Worker's origin: no CDN.
    expect(seen.requests.filter((url) => new URL(url).origin !== dev!.base)).toStrictEqual([]);
    expect(seen.requests.map((url) => new URL(url).pathname)).toContain("/sqlite3.wasm");
  });
});
