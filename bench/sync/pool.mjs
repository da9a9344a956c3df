// One subscriber's latency from the Seal over several runs of the budget command: every run's samples
// (`sealMs` of its results, in the order written) pooled per side, their quantiles and ratios, the
// A/A control's beside them; and how many of each side's writes over its p99, per run, fell in an
// episode (a write of another side within EPISODE_WRITES of it was over that side's p95), which
// says whether a tail is one side's or the machine's.
//
//   node bench/sync/pool.mjs <results.json>...
import { readFileSync } from "node:fs";
import { quantile as q } from "./measure.mjs";

const EPISODE_WRITES = 2;
const SIDES = ["noema", "hand", "control"];
const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.995];

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node bench/sync/pool.mjs <results.json>... (runs of bench/run.mjs with BENCH_SYNC_SUBSCRIBERS=1)");
  process.exit(2);
}
const sorted = (xs) => [...xs].sort((a, b) => a - b);

const pooled = Object.fromEntries(SIDES.map((s) => [s, []]));
for (const file of files) {
  const samples = JSON.parse(readFileSync(file, "utf8")).runs[0].sync.latency["1"].sealMs;
  const p95 = Object.fromEntries(SIDES.map((s) => [s, q(sorted(samples[s]), 0.95)]));
  const inEpisode = (side, i) => SIDES.some((o) => o !== side && samples[o].slice(Math.max(0, i - EPISODE_WRITES), i + EPISODE_WRITES + 1).some((y) => y >= p95[o]));
  const tails = SIDES.map((side) => {
    const p99 = q(sorted(samples[side]), 0.99);
    const top = samples[side].flatMap((x, i) => (x >= p99 ? [i] : []));
    // Of all its writes, the share in an episode: what chance alone would put there.
    const any = samples[side].filter((_, i) => inEpisode(side, i)).length / samples[side].length;
    return `${side} ${top.filter((i) => inEpisode(side, i)).length}/${top.length} (of all its writes ${(any * 100).toFixed(0)} %)`;
  });
  console.log(`${file}: writes over the side's p99 in an episode: ${tails.join(", ")}`);
  for (const side of SIDES) pooled[side].push(...samples[side]);
}
const all = Object.fromEntries(SIDES.map((s) => [s, sorted(pooled[s])]));
console.log(`\npooled, ${all.noema.length} samples a side: quantile  noema/hand  (A/A control/hand)  [noema / hand / control ms]`);
for (const p of QUANTILES) {
  const [n, h, c] = SIDES.map((s) => q(all[s], p));
  console.log(`  p${String(p * 100).padEnd(4)}  ${(n / h).toFixed(3)}  (A/A ${(c / h).toFixed(3)})  [${n.toFixed(2)} / ${h.toFixed(2)} / ${c.toFixed(2)}]`);
}
