// CPU profile of the breakdown's parts inside workerd: where a part's time goes by function, which
// the timed parts cannot say, and which a loaded machine disturbs less than their ratios (the
// shares of the functions in one run stay comparable while the wall times swing).
//
//   node bench/profile-cpu.mjs <bench Worker folder> <parts> [n=1000] [reps=3] [out.cpuprofile]
//
// The folder is one `BENCH_DIST` of bench/run.mjs bundled (its index.js); <parts> are breakdown
// parts as BENCH_PROFILE_PARTS takes them, e.g. sedimenterCommitted or sedimenterFreezeCommitted.
// It starts `wrangler dev` on that bundle with an inspector, runs the parts once to warm up, then
// records V8's CPU profile over one `/profile` request (n per part, reps rounds on fresh DOs).
// Prints µs per op (of n × reps) by function, inclusive and self, and writes the profile, which
// Chrome DevTools opens. Compare two builds by profiling each (names are kept in the bundle).
// <parts> may instead be `rpc:<target>:<c>` (e.g. rpc:noema:32): the Worker -> DO calls of the RPC
// figure, n calls with c in flight on a fresh DO per rep, Worker and DO in the one profile. Their
// (idle) and (program) rows are the commits and workerd's RPC machinery, not JavaScript.
// <parts> `wake`: the wake figure's request, n × reps entries frozen from code, woken by the alarm,
// then as many plain sedimentations of the same Intent (wakeDue against sedimentation in the tree).
// <parts> `sync:<target>` (noema or hand): n writes, each broadcast, inside one request to a World with
// one subscriber (a WebSocket in this process): the sync figure's in-DO part; `sync:noema-alone` (or
// `sync:hand-alone`) the same writes with no subscriber, to tell what the broadcast and capture add.
// <parts> may be `orders:<mode>:<c>` (e.g. orders:orders:16, orders:direct:16): the orders figure's n
// orders of 3 lines (through the OrderAttractor shards, or sent directly), c in flight, per rep.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { devServer } from "./dev.mjs";
import { openInspector } from "./inspector.mjs";
import { BENCH_HELLO } from "./sync/measure.mjs";

const [distArg, parts, n = "1000", reps = "3", out = join(tmpdir(), "noema-bench.cpuprofile")] = process.argv.slice(2);
if (!distArg || !parts) {
  console.error("usage: node bench/profile-cpu.mjs <bench Worker folder> <parts> [n] [reps] [out.cpuprofile]");
  process.exit(2);
}
const dist = resolve(distArg);
/** The sampling interval, µs: fine enough for functions of a few µs per op. */
const SAMPLE_US = 50;
const ROWS = 40;

const tmp = mkdtempSync(join(tmpdir(), "noema-profile-"));
const dev = devServer(dist, tmp, { inspector: true });
const { post } = dev;

async function profileRequest(name, count, rounds) {
  if (parts === "wake") return post("/wake", { name, n: String(count * rounds), plain: String(count * rounds) });
  if (parts.startsWith("sync:")) return syncWrites(parts.slice("sync:".length), name, count * rounds);
  if (parts.startsWith("orders:")) {
    const [, mode, c = "1"] = parts.split(":");
    let ms = 0;
    for (let r = 0; r < rounds; r++) ms += (await post("/orders", { mode, name: `${name}-${r}`, n: String(count), c })).ms;
    return { orders: count * rounds, c: Number(c), ms, msPerOrder: ms / (count * rounds) };
  }
  if (!parts.startsWith("rpc:")) return post("/profile", { name, n: String(count), reps: String(rounds), parts });
  const [, target, c = "1"] = parts.split(":");
  let ms = 0;
  for (let r = 0; r < rounds; r++) {
    await post("/setup", { target, name: `${name}-${r}` });
    ms += (await post("/rpc", { target, name: `${name}-${r}`, k: String(count), c })).ms;
  }
  return { calls: count * rounds, c: Number(c), ms, microsPerCall: (ms * 1000) / (count * rounds) };
}

/** n writes of the sync figure's in-DO part (`/sync-inside`: each write and its broadcast, in one request) to a fresh World of `target` with one subscriber. */
async function syncWrites(part, name, n) {
  // `noema-alone` / `hand-alone`: the same writes to a World nobody subscribes to (Noema's change capture never starts).
  const [side, alone] = part.split("-");
  const target = side === "noema" ? "noema" : "hand-chain";
  await post("/sync-setup", { target, name });
  if (alone) {
    const { ms } = await post("/sync-inside", { target, name, k: String(n) });
    return { writes: n, ms, microsPerWrite: (ms * 1000) / n };
  }
  const path = side === "noema" ? `/api/products/${name}/sync?token=bench-token` : `/sync/hand/${name}`;
  const ws = new globalThis.WebSocket(`${dev.url.replace(/^http/, "ws")}${path}`);
  await new Promise((ready, fail) => {
    ws.addEventListener("open", () => (side === "noema" ? ws.send(BENCH_HELLO) : ready()));
    ws.addEventListener("message", (e) => {
      const text = String(e.data);
      if (text.startsWith('{"t":"snapshot"')) ready();
    });
    ws.addEventListener("error", () => fail(new Error(`WebSocket ${path} failed`)));
  });
  const { ms } = await post("/sync-inside", { target, name, k: String(n) });
  ws.close(1000);
  return { writes: n, ms, microsPerWrite: (ms * 1000) / n };
}

/** µs per op by function name (anonymous ones by line), inclusive (once per stack) and self. */
function byFunction(profile, ops) {
  const nodes = new Map(profile.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const name = (x) => x.callFrame.functionName || `(anonymous :${x.callFrame.lineNumber + 1})`;
  const self = new Map();
  const inclusive = new Map();
  profile.samples.forEach((id, i) => {
    const us = (profile.timeDeltas[i] ?? 0) / ops;
    const leaf = name(nodes.get(id));
    self.set(leaf, (self.get(leaf) ?? 0) + us);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const key = name(nodes.get(at));
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + us);
      seen.add(key);
    }
  });
  const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, ROWS);
  return { self: top(self), inclusive: top(inclusive) };
}

try {
  await dev.ready();
  // A wake's warm-up hashes enough for the Attractor to have switched to node:crypto (see installFastHash) before the profile.
  await profileRequest("warm", parts === "wake" ? 1000 : 200, 1);
  const [target] = await (await fetch(`http://127.0.0.1:${dev.inspectorPort}/json`)).json();
  // wrangler's inspector proxy accepts local origins only.
  const { send, close } = await openInspector(target.webSocketDebuggerUrl, { Origin: "http://127.0.0.1" });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: SAMPLE_US });
  await send("Profiler.start");
  const timed = await profileRequest("profiled", Number(n), Number(reps));
  const { result } = await send("Profiler.stop");
  close();
  writeFileSync(out, JSON.stringify(result.profile));
  const ops = Number(n) * Number(reps) * parts.split(",").length;
  console.log(`timed under the profiler: ${JSON.stringify(timed)}`);
  console.log(`profile: ${out} (µs per op below are over all ${ops} ops of the parts, each part's n × reps)`);
  const { self, inclusive } = byFunction(result.profile, ops);
  console.log("inclusive µs/op");
  for (const [k, v] of inclusive) console.log(`${v.toFixed(1).padStart(9)}  ${k}`);
  console.log("self µs/op");
  for (const [k, v] of self) console.log(`${v.toFixed(1).padStart(9)}  ${k}`);
} finally {
  dev.stop();
}
