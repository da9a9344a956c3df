// The optimistic apply in a browser (issue 19 §4: <= 2 ms per Intent, median, on the inventory law),
// run by `npm run bench` (BENCH_SYNC_APPLY sends; BENCH_ONLY=sync for the sync figures alone).
// Bundles @noema/client with the inventory law and the storefront's publication into a page in
// Chromium, connects it to an in-page socket that answers hello with a welcome and a snapshot (one
// location, a million units) and never seals, and times `send` of a reserve of the cart's own: with
// the send queue in memory (the apply alone: predict, interpret on sqlite-wasm, the balance check)
// and in IndexedDB (the apply after the durable write). A first round warms sqlite-wasm up.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
/** The budget: median ms per optimistic send, queue in memory. */
export const APPLY_TARGET_MS = 2;
const WARM = 10;

const page = `
import { NoemaClient, memoryQueue } from "@noema/client";
import { indexedDbQueue, openBrowserDatabase } from "@noema/client/browser";
import { buildIntent } from "@noema/core";
import { SYNC_PROTOCOL } from "@noema/core/sync";
import { inventoryLaw } from "../../apps/inventory/src/law.js";
import { inventoryPublication } from "../../apps/inventory/src/publication.js";

const nomos = inventoryLaw.latest.nomos;
const HASH = "0".repeat(64);
/** A socket that welcomes, sends one snapshot and then listens: every send stays pending, applied on the replica. */
function socket() {
  const s = {
    onopen: null, onmessage: null, onclose: null, onerror: null,
    send(data) {
      if (JSON.parse(data).t !== "hello") return;
      const say = (frame) => s.onmessage({ data: JSON.stringify(frame) });
      say({ t: "welcome", protocol: SYNC_PROTOCOL, world: { attractor: "InventoryAttractor", name: "bench", nomosVersion: nomos.version, nomosHash: nomos.hash }, law: { version: nomos.version, hash: nomos.hash }, behind: false, readOnly: false });
      say({ t: "snapshot", sedimentId: 1, hash: HASH, tables: {
        stock: { columns: ["location_id", "quantity", "reserved", "updated_at"], key: ["location_id"], rows: [["main", 1000000, 0, 0]] },
        reservations: { columns: ["id", "location_id", "quantity", "status", "expires_at"], key: ["id"], rows: [] },
      } });
    },
    close() {},
  };
  setTimeout(() => s.onopen?.({}), 0);
  return s;
}

async function timeSends(queue, n) {
  const client = await NoemaClient.connect({ url: "ws://bench/sync", law: inventoryLaw, database: await openBrowserDatabase(), queue, publication: inventoryPublication, subject: "cart-bench", socket });
  while (client.state.status !== "online") await new Promise((r) => setTimeout(r, 5));
  const times = [];
  let optimistic = 0;
  for (let i = 0; i < n; i++) {
    const intent = buildIntent(inventoryLaw.latest, (s) => void s.reserve({ locationId: "main", quantity: 1, orderId: "cart-bench", reservationId: "r-" + i + "-" + Math.random().toString(36).slice(2) }));
    const t0 = performance.now();
    const sent = await client.send(intent);
    times.push(performance.now() - t0);
    if (sent.prediction.mode === "optimistic") optimistic++;
  }
  client.close();
  return { times, optimistic };
}

// A first round warms sqlite-wasm up (its code is compiled in tiers as it runs); the second is timed.
window.bench = async (n) => {
  await timeSends(memoryQueue(), n);
  return { memory: await timeSends(memoryQueue(), n), indexedDb: await timeSends(indexedDbQueue("noema-apply-bench"), n) };
};
`;

/** Median and spread of `send` in Chromium, per queue: `{ memory, indexedDb }`, each `{ median, p10, p90, n, optimistic }` in ms. */
export async function optimisticApply(root, sends) {
  const out = mkdtempSync(join(tmpdir(), "noema-apply-"));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    await build({
      stdin: { contents: page, resolveDir: here, loader: "ts", sourcefile: "apply-page.ts" },
      outdir: out, entryNames: "bench", bundle: true, splitting: true, format: "esm", platform: "browser", target: "es2022", minify: true, logLevel: "warning",
    });
    const sqlite = join(root, "node_modules", "@sqlite.org", "sqlite-wasm", "dist", "sqlite3.wasm");
    const tab = await browser.newPage();
    const errors = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    // Served from memory on a localhost origin (a secure context: the client draws its keys with crypto.randomUUID).
    await tab.route("http://localhost:1/**", (route) => {
      const name = new URL(route.request().url()).pathname.slice(1) || "index.html";
      if (name === "index.html") return route.fulfill({ contentType: "text/html", body: '<!doctype html><script type="module" src="bench.js"></script>' });
      if (name === "sqlite3.wasm") return route.fulfill({ contentType: "application/wasm", body: readFileSync(sqlite) });
      return route.fulfill({ contentType: "text/javascript", body: readFileSync(join(out, name)) });
    });
    await tab.goto("http://localhost:1/");
    await tab.waitForFunction(() => "bench" in globalThis, undefined, { timeout: 20_000 });
    const result = await tab.evaluate((n) => globalThis.bench(n), sends + WARM);
    if (errors.length) throw new Error(errors.join("\n"));
    const stats = ({ times, optimistic }) => {
      const t = times.slice(WARM).sort((a, b) => a - b);
      const at = (q) => t[Math.min(t.length - 1, Math.floor(q * t.length))];
      return { median: at(0.5), p10: at(0.1), p90: at(0.9), n: t.length, sent: times.length, optimistic };
    };
    return { memory: stats(result.memory), indexedDb: stats(result.indexedDb), targetMs: APPLY_TARGET_MS };
  } finally {
    await browser.close();
    rmSync(out, { recursive: true, force: true });
  }
}
