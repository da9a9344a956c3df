// The in-DO sync figure of several bench Worker bundles at once, alternated try by try on the same
// machine load: one `wrangler dev` per bundle, a World per side with one subscriber each, then
// `/sync-inside` (k writes in one request, each broadcast) for Noema and the baseline in turn.
//   node bench/sync/inside-ab.mjs <tries> <k> <bundle folder>...
// A bundle folder is what `BENCH_DIST=<folder> node bench/run.mjs` leaves (its index.js). Prints per
// bundle the fastest and the median µs per write of each side. The k writes share one transaction, as
// the in-DO figure's do (see docs/internals/benchmark.md, Stop 31, on what that does to SQLite's journal).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devServer } from "../dev.mjs";
import { freePort } from "../startup/measure.mjs";
import { BENCH_HELLO } from "./measure.mjs";

const [tries, k, ...bundles] = process.argv.slice(2);
if (!(Number(tries) > 0 && Number(k) > 0 && bundles.length > 0)) throw new Error("usage: node bench/sync/inside-ab.mjs <tries> <k> <bundle folder>...");
const TOKEN = "bench-token";
const tmp = mkdtempSync(join(tmpdir(), "noema-inside-ab-"));
const servers = [];
process.on("exit", () => {
  for (const server of servers) server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** `wrangler dev` serving one frozen bundle, once it answers. */
async function serve(bundle, i) {
  const server = devServer(bundle, tmp, { name: `wrangler-${i}`, port: await freePort(), log: true });
  servers.push(server);
  await server.ready();
  return server;
}

/** An open WebSocket: Noema's once its snapshot arrived, the baseline's once open. */
function subscribe(url, noema) {
  return new Promise((ready, fail) => {
    const ws = new globalThis.WebSocket(url); // Node 22's (undici)
    ws.addEventListener("open", () => (noema ? ws.send(BENCH_HELLO) : ready(ws)));
    ws.addEventListener("message", (e) => String(e.data).startsWith('{"t":"snapshot"') && ready(ws));
    ws.addEventListener("error", () => fail(new Error(`WebSocket to ${url} failed`)));
  });
}

const worlds = [];
for (const [i, bundle] of bundles.entries()) {
  const { url, post } = await serve(bundle, i);
  const names = { noema: `inside-ab-noema-${i}`, hand: `inside-ab-hand-${i}` };
  await post("/sync-setup", { target: "noema", name: names.noema });
  await post("/sync-setup", { target: "hand-chain", name: names.hand });
  const ws = url.replace(/^http/, "ws");
  const sockets = [await subscribe(`${ws}/api/products/${names.noema}/sync?token=${TOKEN}`, true), await subscribe(`${ws}/sync/hand/${names.hand}`, false)];
  worlds.push({ bundle, post, names, sockets, us: { noema: [], hand: [] } });
}
for (let t = 0; t < Number(tries); t++) {
  for (let j = 0; j < worlds.length; j++) {
    const w = worlds[(j + t) % worlds.length];
    for (const side of t % 2 ? ["noema", "hand"] : ["hand", "noema"]) {
      const { ms } = await w.post("/sync-inside", { target: side === "noema" ? "noema" : "hand-chain", name: w.names[side], k });
      w.us[side].push((ms * 1000) / Number(k));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const w of worlds) {
  const { noema, hand } = w.us;
  const f = (xs) => `fastest ${Math.min(...xs).toFixed(0)}, median ${median(xs).toFixed(0)} µs`;
  console.log(`${w.bundle}: noema ${f(noema)}; hand ${f(hand)}; noema / hand ${(Math.min(...noema) / Math.min(...hand)).toFixed(2)}× (fastest), ${(median(noema) / median(hand)).toFixed(2)}× (medians)`);
  for (const s of w.sockets) s.close(1000);
}
process.exit(0);
