// Cold starts of several builds of the Noema Worker, interleaved with the hand-written one and the
// empty floor in the same run, so that a change's effect is not the machine's load moving:
//
//   node bench/startup/ab.mjs <samples> <bundle folder>...   # each folder holds a wrangler-built index.js
//   node bench/startup/ab.mjs 15 /tmp/before /tmp/after
//
// A folder is what `wrangler deploy --dry-run --outdir <folder> --config bench/startup/noema/wrangler.jsonc`
// writes (build each version of the repository into its own). Each sample starts every target in
// a fresh workerd on an empty store, as bench/startup/measure.mjs does for `npm run bench`; per
// folder it prints the medians, the range of the CPU times, and the ratios to the hand-written
// Worker: module evaluation (the unrouted start over the empty Worker's) and the first request; and
// each folder after the first against the first, as differences taken sample by sample.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configOf, STARTUP_REQUEST, STARTUP_SECOND, STARTUP_VARS, startup, upload, wranglerRunner } from "./measure.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [samplesArg, ...dirs] = process.argv.slice(2);
const samples = Number(samplesArg);
if (!(samples > 0) || dirs.length === 0) throw new Error("usage: node bench/startup/ab.mjs <samples> <bundle folder>...");

const tmp = mkdtempSync(join(tmpdir(), "noema-startup-ab-"));
const { run, tail } = wranglerRunner(root);
const folder = (name) => join(root, "bench", "startup", name);

// The same requests as bench/run.mjs's startup figures.
const request = STARTUP_REQUEST;
const second = STARTUP_SECOND;
const vars = STARTUP_VARS;
const target = (label, dir, outdir, req, sec) => ({ label, config: configOf(dir).config, outdir, request: req, second: sec, vars });
const built = {};
for (const name of ["empty", "hand"]) built[name] = await upload({ label: name, dir: folder(name), tmp, run, tail });
const s = await startup({
  targets: [
    target("empty", folder("empty"), built.empty.outdir, { method: "GET", path: "/" }),
    target("hand", folder("hand"), built.hand.outdir, request, second),
    ...dirs.map((d, i) => target(`noema${i}`, folder("noema"), resolve(d), request, second)),
  ],
  samples,
  tmp,
  workerd: join(root, "node_modules", "workerd", "bin", "workerd"),
  track: () => {},
});

const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const evalCpu = (label) => s[`${label}:eval`].firstCpuMs - s.empty.firstCpuMs;
const evalWall = (label) => s[`${label}:eval`].firstMs - s.empty.firstMs;
console.log(`${samples} samples each, medians (CPU time of workerd's threads; range over the samples)`);
for (const [label, name] of [["hand", "hand-written"], ...dirs.map((d, i) => [`noema${i}`, d])]) {
  const e = s[`${label}:eval`].samples.map((r) => r.firstCpuMs - s.empty.firstCpuMs);
  const f = s[label].samples.map((r) => r.firstCpuMs);
  const ratios =
    label === "hand"
      ? ""
      : `; / hand: module evaluation ${(evalCpu(label) / evalCpu("hand")).toFixed(2)}× CPU, ${(evalWall(label) / evalWall("hand")).toFixed(2)}× wall, first request ${(s[label].firstCpuMs / s.hand.firstCpuMs).toFixed(2)}× CPU, ${(s[label].firstMs / s.hand.firstMs).toFixed(2)}× wall`;
  console.log(`  ${name}: module evaluation ${evalCpu(label).toFixed(1)} ms CPU (${range(e)}), first request ${s[label].firstCpuMs.toFixed(1)} ms CPU (${range(f)})${ratios}`);
}

// Each sample starts every target in the same round, so a difference taken round by round leaves out
// what the load did to that round: a change of a few tenths of a ms shows here before it shows in the medians.
const quantile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
};
const paired = (label, key) => {
  const d = s[label].samples.map((r, i) => r.firstCpuMs - s[key].samples[i].firstCpuMs);
  return `${quantile(d, 0.5) >= 0 ? "+" : ""}${quantile(d, 0.5).toFixed(2)} ms (quartiles ${quantile(d, 0.25).toFixed(2)} to ${quantile(d, 0.75).toFixed(2)}, lower in ${d.filter((x) => x < 0).length} of ${d.length})`;
};
for (let i = 1; i < dirs.length; i++) {
  console.log(`  ${dirs[i]} against ${dirs[0]}, round by round: module evaluation ${paired(`noema${i}:eval`, "noema0:eval")}, first request ${paired(`noema${i}`, "noema0")}`);
}
