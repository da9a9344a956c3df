// `node bench/check.mjs`: figures of `noema check` on the inventory law.
//   1. distinct states per second and the time to each depth (4, 6, 8) on v2, safety properties only,
//      in one run stopped at BENCH_CHECK_MAX_STATES distinct states, with the app's actions at two
//      locations and at one;
//   2. at depth BENCH_CHECK_DEPTH on the v1 → v2 lineage (v1 is where the migration checks run), the
//      cost of the replay, migration (+ Cryostasis across laws) and liveness checks relative to safety alone.
// Sizes: BENCH_CHECK_MAX_STATES=20000, BENCH_CHECK_DEPTH=4.
import { rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const outfile = `${here}check/.bundle-${process.pid}.mjs`;
const maxStates = Number(process.env.BENCH_CHECK_MAX_STATES ?? 20_000);
const depth = Number(process.env.BENCH_CHECK_DEPTH ?? 4);

if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`bench/check.mjs needs Node 22 (node:sqlite); this is ${process.version}: run it with node_modules/.bin on PATH`);
  process.exit(2);
}
process.removeAllListeners("warning"); // node:sqlite's "experimental" notice
await build({ entryPoints: [`${here}check/entry.ts`], outfile, bundle: true, platform: "node", format: "esm", target: "node22", logLevel: "warning", external: ["node:*"] });
let bench;
try {
  bench = await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
const safety = bench.inventoryProperties.map((p) => p.name);

for (const [label, oneLocation] of [["locations A and B", false], ["location A only", true]]) {
  console.log(`1. v2, safety properties only, ${label}, up to ${maxStates} distinct states`);
  const levels = [];
  const began = Date.now();
  const report = bench.run({ law: "v2", depth: 20, oneLocation, only: safety, maxStates, onProgress: (p) => levels.push(p) });
  const total = (Date.now() - began) / 1000;
  const v = report.versions[0];
  for (const p of levels) console.log(`   depth ${String(p.depth).padStart(2)}: ${String(p.states).padStart(7)} states, ${String(p.transitions).padStart(8)} transitions, ${(p.ms / 1000).toFixed(2)} s`);
  // The last level counts only when the run was not stopped in the middle of it.
  const done = levels.filter((p, i) => i < levels.length - 1 || v.complete);
  for (const d of [4, 6, 8]) {
    const at = done.find((p) => p.depth === d);
    console.log(`   time to depth ${d}: ${at ? `${(at.ms / 1000).toFixed(2)} s (${at.states} states)` : `not reached within ${maxStates} states`}`);
  }
  console.log(`   ${(v.states / total).toFixed(0)} distinct states/s, ${(v.transitions / total).toFixed(0)} transitions/s`);
}

console.log(`2. v1 → v2 lineage at depth ${depth}: cost of each check relative to safety alone`);
const time = (only) => {
  const t = Date.now();
  const r = bench.run({ law: "lineage", depth, only });
  return { ms: Date.now() - t, states: r.versions.reduce((n, x) => n + x.states, 0), ok: r.ok };
};
const base = time(safety);
console.log(`   safety alone: ${(base.ms / 1000).toFixed(2)} s for ${base.states} states`);
for (const [label, extra] of [
  ["+ replay", ["replay"]],
  ["+ migration and Cryostasis across laws", ["migration", "cryostasis"]],
  ["+ liveness", bench.inventoryLiveness.map((p) => p.name)],
  ["+ everything", undefined],
]) {
  const r = time(extra ? [...safety, ...extra] : undefined);
  console.log(`   ${label}: ${(r.ms / 1000).toFixed(2)} s, ${(r.ms / base.ms).toFixed(2)}× safety alone${r.ok ? "" : " (a check failed)"}`);
}
