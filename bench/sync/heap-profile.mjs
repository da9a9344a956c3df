// What one subscriber's write allocates in workerd's heap, by function: V8's sampling heap profiler
// over n writes of the sync latency figure (one `/sync-write` request each, broadcast to one
// subscriber, a WebSocket in this process), on a fresh World of one side.
//
//   node bench/sync/heap-profile.mjs <bench Worker folder> <noema|hand> [n=500] [out.heapprofile]
//
// The folder is one `BENCH_DIST` of bench/run.mjs bundled (its index.js). Two profiles of the same
// writes: every allocation (objects later collected included: what drives the scavenges), and what
// was still live when sampling stopped (what survived, and so was promoted or soon will be: what
// drives major GCs; workerd's inspector does not answer HeapProfiler.collectGarbage).
// Prints bytes per write by function, self and inclusive.
// The Worker, and every object, share the one isolate under `wrangler dev`: its request routing is
// in the figures of both sides.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devServer } from "../dev.mjs";
import { openInspector } from "../inspector.mjs";
import { subscribe, writes } from "./one-subscriber.mjs";

const [distArg, side, n = "500", out = join(tmpdir(), `noema-sync-${side}.heapprofile`)] = process.argv.slice(2);
if (!distArg || (side !== "noema" && side !== "hand")) {
  console.error("usage: node bench/sync/heap-profile.mjs <bench Worker folder> <noema|hand> [n] [out.heapprofile]");
  process.exit(2);
}
/** Mean bytes between samples: small enough for a few hundred bytes per write to show. */
const SAMPLE_BYTES = 256;
const ROWS = 30;
const WARMUP = 200;
const target = side === "noema" ? "noema" : "hand-chain";

const tmp = mkdtempSync(join(tmpdir(), "noema-heap-"));
const dev = devServer(distArg, tmp, { inspector: true });
const { post, stop } = dev;
process.on("exit", stop);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

/** Bytes per write by function name (anonymous ones by line), self and inclusive (once per stack). */
function byFunction(profile, count) {
  const self = new Map();
  const inclusive = new Map();
  const name = (x) => `${x.callFrame.functionName || `(anonymous :${x.callFrame.lineNumber + 1})`}`;
  const walk = (x, stack) => {
    const key = name(x);
    const own = (x.selfSize ?? 0) / count;
    self.set(key, (self.get(key) ?? 0) + own);
    const here = new Set([...stack, key]);
    for (const k of here) inclusive.set(k, (inclusive.get(k) ?? 0) + own);
    for (const c of x.children ?? []) walk(c, here);
  };
  walk(profile.head, new Set());
  const top = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, ROWS);
  return { self: top(self), inclusive: top(inclusive), total: [...self.values()].reduce((a, b) => a + b, 0) };
}

const print = (title, { self, inclusive, total }) => {
  console.log(`\n${title}: ${total.toFixed(0)} B per write`);
  console.log("inclusive B/write");
  for (const [k, v] of inclusive) console.log(`${v.toFixed(0).padStart(9)}  ${k}`);
  console.log("self B/write");
  for (const [k, v] of self) console.log(`${v.toFixed(0).padStart(9)}  ${k}`);
};

try {
  await dev.ready();
  const name = `heap-${side}-${Date.now().toString(36)}`;
  await post("/sync-setup", { target, name });
  const sub = await subscribe(dev.url, side, name);
  await writes(post, target, name, sub, WARMUP);
  const [t] = await (await fetch(`http://127.0.0.1:${dev.inspectorPort}/json`)).json();
  // wrangler's inspector proxy accepts local origins only.
  const { send, close } = await openInspector(t.webSocketDebuggerUrl, { Origin: "http://127.0.0.1" });
  await send("HeapProfiler.enable");
  const count = Number(n);
  const results = {};
  for (const [key, collected] of [
    ["allocated", true],
    ["live", false],
  ]) {
    await send("HeapProfiler.startSampling", { samplingInterval: SAMPLE_BYTES, includeObjectsCollectedByMajorGC: collected, includeObjectsCollectedByMinorGC: collected });
    await writes(post, target, name, sub, count);
    // A heap snapshot collects all garbage first (workerd's inspector does not answer HeapProfiler.collectGarbage).
    if (!collected) await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const { result } = await send("HeapProfiler.stopSampling");
    results[key] = result.profile;
  }
  close();
  sub.ws.close(1000);
  const liveOut = out.replace(/(\.heapprofile)?$/, ".live.heapprofile");
  writeFileSync(out, JSON.stringify(results.allocated));
  writeFileSync(liveOut, JSON.stringify(results.live));
  console.log(`${side}: ${count} writes after ${WARMUP} warm-up, one subscriber; profiles (Chrome DevTools opens them): ${out}, ${liveOut}`);
  print("allocated (collected objects included)", byFunction(results.allocated, count));
  print("still live when sampling stopped", byFunction(results.live, count));
} finally {
  stop();
}
