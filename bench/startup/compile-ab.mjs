// What a Worker bundle costs workerd to compile, apart from what its module scope costs to run:
// whether code a start never runs (a feature loaded with `import()`, say) is still paid for.
//
//   node bench/startup/compile-ab.mjs <samples> <bundle folder>...   # each holds a wrangler-built index.js
//   node bench/startup/compile-ab.mjs 21 /tmp/template /tmp/hand      # `wrangler deploy --dry-run --outdir` of
//                                                                      # bench/startup/noema and bench/startup/hand
//
// Per folder, two Workers whose main module is the same stub: one lists the bundle as a module and
// never imports it ("listed"), the other imports it on its first request ("imported"); a third,
// the stub alone, is the floor. Each sample starts every one in a fresh workerd and sends one
// request, interleaved, the order rotated, as measure.mjs does. workerd (its default module
// registry) compiles every module of a Worker when it loads it, imported or not: "listed" minus
// the floor is the bundle's compilation, "imported" minus "listed" its evaluation (module scope,
// with the first calls' compilation of what it calls). Medians of the CPU time of workerd's
// threads, with their range and lower quartile. Durable Objects are not bound: the bundle is only loaded.
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuMs, freePort, killGroup, workerdConfig } from "./measure.mjs";

const root = resolve(import.meta.dirname, "../..");
const [samplesArg, ...dirs] = process.argv.slice(2);
const samples = Number(samplesArg);
if (!(samples > 0) || dirs.length === 0) throw new Error("usage: node bench/startup/compile-ab.mjs <samples> <bundle folder>...");
const workerd = join(root, "node_modules", "workerd", "bin", "workerd");
const tmp = mkdtempSync(join(tmpdir(), "noema-compile-ab-"));
// As the template ships (nodejs_compat is the default from this date on).
const config = { compatibility_date: "2026-11-01" };

const STUB = `export default { fetch() { return new Response("ok"); } };\n`;
const IMPORTER = `export default { async fetch() { const m = await import("./bundle.js"); return new Response(String(Object.keys(m).length)); } };\n`;
const worker = (name, main, bundle) => {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "index.js"), main);
  if (bundle) copyFileSync(join(resolve(bundle), "index.js"), join(dir, "bundle.js"));
  return { label: name, dir };
};
const targets = [worker("floor", STUB), ...dirs.flatMap((d, i) => [worker(`listed${i}`, STUB, d), worker(`imported${i}`, IMPORTER, d)])];

const accepts = (port) =>
  new Promise((ok) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), ok(true)));
    socket.once("error", () => ok(false));
  });

/** One fresh workerd: CPU of its threads for the first request (the Worker's load with it). */
async function start(target, sample) {
  const port = await freePort();
  const store = join(tmp, `store-${target.label}-${sample}`);
  mkdirSync(store);
  const file = join(tmp, `${target.label}.capnp`);
  writeFileSync(file, workerdConfig({ config, outdir: target.dir, port, store, vars: {}, from: tmp }));
  const child = spawn(workerd, ["serve", file], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    const deadline = performance.now() + 30_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || performance.now() > deadline) throw new Error(`workerd for ${target.label} did not listen:\n${stderr}`);
      await sleep(1);
    }
    const cpu0 = cpuMs(child.pid);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const text = await res.text();
    if (!res.ok) throw new Error(`${target.label}: ${res.status} ${text.slice(0, 300)}\n${stderr}`);
    return cpuMs(child.pid) - cpu0;
  } finally {
    await killGroup(child);
  }
}

const cpu = Object.fromEntries(targets.map((t) => [t.label, []]));
for (let sample = -1; sample < samples; sample++) {
  for (let i = 0; i < targets.length; i++) {
    const target = targets[(i + Math.max(0, sample)) % targets.length];
    const ms = await start(target, sample + 1);
    if (sample >= 0) cpu[target.label].push(ms);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quartile = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 4)];
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}, lower quartile ${quartile(xs).toFixed(1)}`;
const floor = median(cpu.floor);
console.log(`${samples} samples each; CPU ms of workerd's threads for the first request, medians (range); floor ${floor.toFixed(1)} (${range(cpu.floor)})`);
for (const [i, d] of dirs.entries()) {
  const listed = median(cpu[`listed${i}`]);
  const imported = median(cpu[`imported${i}`]);
  console.log(
    `  ${d}: compilation ${(listed - floor).toFixed(1)} (listed ${range(cpu[`listed${i}`])}), evaluation ${(imported - listed).toFixed(1)} (imported ${range(cpu[`imported${i}`])})`,
  );
}
