// What a subscriber's writes leave behind in workerd's heap: two heap snapshots of one World's
// isolate, after a warm-up and after n more writes; the objects in the second that were not in the
// first (V8 keeps a node's id across snapshots), by kind, with one retaining path per kind.
//
//   [WARMUP=300] node bench/sync/heap-growth.mjs <bench Worker folder> <noema|hand> [n=1000]
//
// A kind whose count grows with n is kept per write: what fills the old generation and brings the
// major GCs of heap-profile.mjs's "still live" figure.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devServer } from "../dev.mjs";
import { openInspector } from "../inspector.mjs";
import { subscribe, writes } from "./one-subscriber.mjs";

const [distArg, side, n = "1000"] = process.argv.slice(2);
if (!distArg || (side !== "noema" && side !== "hand")) {
  console.error("usage: node bench/sync/heap-growth.mjs <bench Worker folder> <noema|hand> [n]");
  process.exit(2);
}
const WARMUP = Number(process.env.WARMUP ?? 300);
const KINDS = 25;
const target = side === "noema" ? "noema" : "hand-chain";
const tmp = mkdtempSync(join(tmpdir(), "noema-growth-"));
const dev = devServer(distArg, tmp, { inspector: true });
const { post, stop } = dev;
process.on("exit", stop);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

/** An inspector session that also takes heap snapshots, collected from their chunks. */
async function inspector(url) {
  let chunks = [];
  const session = await openInspector(url, { Origin: "http://127.0.0.1" }, (m) => {
    if (m.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(m.params.chunk);
  });
  const snapshot = async () => {
    chunks = [];
    await session.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    return JSON.parse(chunks.join(""));
  };
  return { ...session, snapshot };
}

/** A snapshot's nodes as arrays, and its edges reversed (who retains each node). */
function index(s) {
  const { node_fields: nf, edge_fields: ef, node_types: [types], edge_types: [edgeTypes] } = s.snapshot.meta;
  const N = nf.length;
  const E = ef.length;
  const [ti, ni, ii, si, ei] = ["type", "name", "id", "self_size", "edge_count"].map((f) => nf.indexOf(f));
  const [eti, eni, eto] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f));
  const count = s.nodes.length / N;
  const nodes = { type: [], name: [], id: [], size: [] };
  const retainers = Array.from({ length: count }, () => []);
  let edge = 0;
  for (let i = 0; i < count; i++) {
    const o = i * N;
    nodes.type.push(types[s.nodes[o + ti]]);
    nodes.name.push(s.strings[s.nodes[o + ni]]);
    nodes.id.push(s.nodes[o + ii]);
    nodes.size.push(s.nodes[o + si]);
    for (let k = 0; k < s.nodes[o + ei]; k++, edge += E) {
      const type = edgeTypes[s.edges[edge + eti]];
      if (type === "weak") continue;
      const nameOrIndex = s.edges[edge + eni];
      const label = type === "element" || type === "hidden" ? `[${nameOrIndex}]` : s.strings[nameOrIndex];
      retainers[s.edges[edge + eto] / N].push([i, `${type}:${label}`]);
    }
  }
  return { nodes, retainers };
}

const kindOf = (nodes, i) => `${nodes.type[i]} ${nodes.type[i] === "string" || nodes.type[i] === "concatenated string" || nodes.type[i] === "sliced string" ? "" : nodes.name[i].slice(0, 60)}`;

/** A shortest path from a root to node i, through retainers (breadth first, backwards). */
function path(ix, i, fresh) {
  const seen = new Map([[i, null]]);
  const queue = [i];
  while (queue.length) {
    const at = queue.shift();
    if (ix.nodes.type[at] === "synthetic" || seen.size > 200000) {
      const out = [];
      for (let x = at; seen.get(x); x = seen.get(x)[0]) {
        const [to, label] = seen.get(x);
        out.push(`${label} → ${kindOf(ix.nodes, to)}${fresh.has(to) ? " (new)" : ""}`);
      }
      return `${kindOf(ix.nodes, at)} ${out.join(" ")}`;
    }
    for (const [from, label] of ix.retainers[at]) {
      if (seen.has(from)) continue;
      seen.set(from, [at, label]);
      queue.push(from);
    }
  }
  return "(no path)";
}

try {
  await dev.ready();
  const name = `growth-${side}-${Date.now().toString(36)}`;
  await post("/sync-setup", { target, name });
  const sub = await subscribe(dev.url, side, name);
  await writes(post, target, name, sub, WARMUP);
  const [t] = await (await fetch(`http://127.0.0.1:${dev.inspectorPort}/json`)).json();
  const ins = await inspector(t.webSocketDebuggerUrl);
  await ins.send("HeapProfiler.enable");
  const before = index(await ins.snapshot());
  const known = new Set(before.nodes.id);
  const count = Number(n);
  await writes(post, target, name, sub, count);
  const after = index(await ins.snapshot());
  ins.close();
  sub.ws.close(1000);
  const fresh = new Set();
  const kinds = new Map();
  for (let i = 0; i < after.nodes.id.length; i++) {
    if (known.has(after.nodes.id[i])) continue;
    fresh.add(i);
    const k = kindOf(after.nodes, i);
    const e = kinds.get(k) ?? { count: 0, bytes: 0, sample: i };
    e.count++;
    e.bytes += after.nodes.size[i];
    kinds.set(k, e);
  }
  let total = 0;
  for (const e of kinds.values()) total += e.bytes;
  console.log(`${side}: ${count} writes after ${WARMUP}: ${fresh.size} new objects, ${total} B (${(total / count).toFixed(0)} B per write); heap ${before.nodes.size.reduce((a, b) => a + b, 0)} → ${after.nodes.size.reduce((a, b) => a + b, 0)} B`);
  // Code compiled during the writes (tier-ups, and re-optimizations after a deopt), by function.
  const compiled = new Map();
  for (const i of fresh) {
    if (after.nodes.name[i] !== "system / Code") continue;
    const owner = after.retainers[i].map(([from]) => from).find((f) => after.nodes.type[f] === "closure" || after.nodes.name[f].startsWith("system / SharedFunctionInfo"));
    const label = owner === undefined ? "?" : `${after.nodes.name[owner]}`;
    compiled.set(label, (compiled.get(label) ?? 0) + 1);
  }
  console.log(`code objects made during the writes, by function: ${[...compiled].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  for (const [k, e] of [...kinds].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, KINDS)) {
    console.log(`${(e.bytes / count).toFixed(1).padStart(8)} B/write ${String(e.count).padStart(7)}× ${k}`);
    console.log(`           ${path(after, e.sample, fresh)}`);
  }
} finally {
  stop();
}
