// `wrangler dev` serving a bundled bench Worker (a `BENCH_DIST` folder of bench/run.mjs): what the
// side scripts (profile-cpu.mjs, sync/heap-profile.mjs, sync/inside-ab.mjs, orders/strace.mjs) share.
import { spawn } from "node:child_process";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, URLSearchParams } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** How often, and how many times, `/health` is asked before wrangler dev is given up on (90 s). */
const READY_EVERY_MS = 250;
const READY_TRIES = 360;

/**
 * Starts `wrangler dev` on the bundle in `dist` (its index.js, not bundled again) in a process group
 * of its own, its config and store in `dir` (suffixed by `name`, so one folder can hold several).
 * - `port`: where it listens (default: a random one from 20,000); with `inspector`, V8's inspector
 *   listens on the next port.
 * - `observability`: the config's setting (default off); wrangler's local trace store follows
 *   `X_LOCAL_OBSERVABILITY` in the environment, which the child inherits.
 * - `log`: its output goes to `<dir>/<name>.log` (default: discarded).
 * `post(path, query)` sends a bench route its query and returns the JSON answer; `ready()` resolves
 * once `/health` answers; `stop()` ends the whole group.
 */
export function devServer(dist, dir, { name = "wrangler", port = 20_000 + Math.floor(Math.random() * 20_000), inspector = false, observability = false, log = false } = {}) {
  // The file has only whole-line comments.
  const { $schema: _schema, ...base } = JSON.parse(readFileSync(join(root, "bench/worker/wrangler.jsonc"), "utf8").replace(/^\s*\/\/.*$/gm, ""));
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ ...base, main: join(resolve(dist), "index.js"), no_bundle: true, observability: { enabled: observability } }));
  const args = ["dev", "--config", config, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", join(dir, `${name}-persist`)];
  if (inspector) args.push("--inspector-port", String(port + 1));
  const out = log ? openSync(join(dir, `${name}.log`), "a") : "ignore";
  const child = spawn(join(root, "node_modules", ".bin", "node"), [join(root, "node_modules", "wrangler", "bin", "wrangler.js"), ...args], {
    cwd: root,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    inspectorPort: inspector ? port + 1 : undefined,
    async post(path, query) {
      const res = await fetch(`${url}${path}?${new URLSearchParams(query)}`, { method: "POST" });
      const text = await res.text();
      if (!res.ok) throw new Error(`${path} -> ${res.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text);
    },
    async ready() {
      for (let i = 0; i < READY_TRIES; i++) {
        try {
          if ((await fetch(`${url}/health`)).ok) return;
        } catch {
          // not listening yet
        }
        await sleep(READY_EVERY_MS);
      }
      throw new Error(`wrangler dev of ${dist} did not answer within ${(READY_TRIES * READY_EVERY_MS) / 1000} s${log ? `: see ${join(dir, `${name}.log`)}` : ""}`);
    },
    stop() {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // gone already
      }
    },
  };
}
