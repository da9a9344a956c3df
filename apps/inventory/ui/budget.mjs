// The inspector's budgets, measured against a running `wrangler dev` of the reference app:
//   node apps/inventory/ui/budget.mjs http://127.0.0.1:8787 <write token> [sediments=10000]
// Fills one product's log to that many sediments (stock, reservations, adjustments, releases on
// 8 locations), then times the World page's first render (time to first byte and to the last
// byte, warm: the first requests are discarded) and gzips its client script.
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { URLSearchParams } from "node:url";
import { gzipSync } from "node:zlib";

const [base, token, wanted = "10000"] = process.argv.slice(2);
if (!base || !token) throw new Error("usage: node budget.mjs <base URL> <write token> [sediments]");
const target = Number(wanted);
const product = `budget-${target}`;
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
const call = async (method, path, body) => {
  const res = await fetch(`${base}/api/products/${product}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
};

async function fill() {
  const head = async () => (await call("GET", `/verify`)).body.length ?? 0;
  let have = await head();
  const started = Date.now();
  // Each worker its own location: setStock, then reserve / adjust / release in turn.
  const worker = async (w) => {
    const loc = `loc-${w}`;
    let open;
    for (let i = 0; have < target; i++) {
      const step = i % 4;
      if (i === 0) await call("PUT", `/stock/${loc}`, { quantity: 1000 });
      else if (step === 1) open = (await call("POST", "/reservations", { locationId: loc, quantity: 1 + (i % 5) })).body.reservation?.id;
      else if (step === 2) await call("POST", "/adjustments", { locationId: loc, delta: i % 3 === 0 ? 5 : -2, reason: "adjust" });
      else if (step === 3 && open) await call("DELETE", `/reservations/${open}`);
      else await call("PUT", `/stock/${loc}`, { quantity: 1000 + (i % 50) });
      have++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  console.log(`log of ${product}: ${await head()} sediments (filled in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function signIn() {
  const res = await fetch(`${base}/inspector/sign-in`, { method: "POST", body: new URLSearchParams({ token }), headers: { Origin: base }, redirect: "manual" });
  return res.headers.get("set-cookie").split(";")[0];
}

async function time(url, cookie) {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { Cookie: cookie } });
  const reader = res.body.getReader();
  let first;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    first ??= performance.now();
    if (done) break;
    bytes += value.length;
  }
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return { ttfb: first - t0, total: performance.now() - t0, bytes };
}

await fill();
const cookie = await signIn();
const page = `${base}/inspector/worlds/${product}`;
for (let i = 0; i < 3; i++) await time(page, cookie);
const runs = [];
for (let i = 0; i < 15; i++) runs.push(await time(page, cookie));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`World page, warm, ${runs.length} runs: median first byte ${median(runs.map((r) => r.ttfb)).toFixed(0)} ms, median complete ${median(runs.map((r) => r.total)).toFixed(0)} ms, max complete ${Math.max(...runs.map((r) => r.total)).toFixed(0)} ms, ${(runs[0].bytes / 1024).toFixed(0)} KiB of HTML`);
const script = Buffer.from(await (await fetch(`${base}/inspector/assets/client.js`, { headers: { Cookie: cookie } })).arrayBuffer());
console.log(`page JavaScript: ${script.length} B, ${gzipSync(script).length} B gzip (budget 51200 B)`);
