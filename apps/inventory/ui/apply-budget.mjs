// The optimistic apply's budget (issue 19: ≤ 2 ms per Intent, median, on the inventory law), in Chromium:
//   node apps/inventory/ui/apply-budget.mjs [sends=50]
// Bundles @noema/client with the inventory law and the storefront's publication, connects it to an
// in-page socket that answers hello with a welcome and a snapshot (one location, a million units)
// and never seals, and times `send` of a reserve of the cart's own: with the send queue in memory
// (the apply alone: predict, interpret on sqlite-wasm, the balance check) and in IndexedDB (the
// apply and the durable write before it). Warm-up sends are discarded; prints medians and spreads.
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const sends = Number(process.argv[2] ?? 50);
const WARM = 10;
const out = mkdtempSync(join(tmpdir(), "noema-apply-"));

const page = `
import { NoemaClient, memoryQueue } from "@noema/client";
import { indexedDbQueue, openBrowserDatabase } from "@noema/client/browser";
import { buildIntent } from "@noema/core";
import { SYNC_PROTOCOL } from "@noema/core/sync";
import { inventoryLaw } from "../src/law.js";
import { inventoryPublication } from "../src/publication.js";

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

await build({
  stdin: { contents: page, resolveDir: here, loader: "ts", sourcefile: "apply-budget-page.ts" },
  outdir: out,
  entryNames: "bench",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  logLevel: "warning",
});
const sqlite = join(here, "..", "..", "..", "node_modules", "@sqlite.org", "sqlite-wasm", "dist", "sqlite3.wasm");

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(e.message));
  // The bench's files, served from memory on a localhost origin (a secure context: the client draws its keys with crypto.randomUUID).
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
  const stats = (all) => {
    const t = all.slice(WARM).sort((a, b) => a - b);
    const at = (q) => t[Math.min(t.length - 1, Math.floor(q * t.length))];
    return `median ${at(0.5).toFixed(3)} ms (p10 ${at(0.1).toFixed(3)}, p90 ${at(0.9).toFixed(3)}, n=${t.length})`;
  };
  console.log(`send, queue in memory (the optimistic apply): ${stats(result.memory.times)}; optimistic ${result.memory.optimistic}/${sends + WARM}`);
  console.log(`send, queue in IndexedDB (apply + durable write): ${stats(result.indexedDb.times)}; optimistic ${result.indexedDb.optimistic}/${sends + WARM}`);
} finally {
  await browser.close();
  rmSync(out, { recursive: true, force: true });
}
