// What the kill -9 runs (`npm run load:hot`, `npm run load:orders`) share: the inventory app under
// `wrangler dev` with a persist dir of its own, killed and restarted on the same state and port,
// and checks printed as they pass or fail.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWranglerDev } from "../scripts/wrangler-dev.ts";

const appDir = fileURLToPath(new URL("../apps/inventory", import.meta.url));

/** Writes a run's figures to bench/results/<file> as indented JSON. */
export function writeResult(file, result) {
  const dir = fileURLToPath(new URL("results", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), `${JSON.stringify(result, null, 2)}\n`);
}

/** A number from the environment, or `fallback` when it is not set. */
export const num = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

/**
 * Starts `wrangler dev` of apps/inventory on a fresh persist dir (`noema-<label>-…`), with
 * NOEMA_API_TOKEN set to `token`. `base` follows restarts; `kill()` SIGKILLs wrangler and workerd
 * (their process group) and starts them again on the same state and port; `stop()` ends it,
 * leaving the persist dir to be read; `remove()` deletes it.
 */
export async function inventoryDev({ label, token, readyMs }) {
  const persistDir = mkdtempSync(join(tmpdir(), `noema-${label}-`));
  const start = (port) => startWranglerDev({ cwd: appDir, persistDir, vars: { NOEMA_API_TOKEN: token }, ready: { path: "/health" }, readyMs, ...(port ? { port } : {}) });
  // The storefront's assets folder must exist for wrangler dev to start.
  const { buildStore } = await import(join(appDir, "scripts/store.mjs"));
  await buildStore();
  let dev = await start();
  const port = Number(new URL(dev.base).port);
  return {
    persistDir,
    get base() {
      return dev.base;
    },
    async kill() {
      await dev.kill();
      dev = await start(port);
    },
    stop: () => dev.stop(),
    async remove() {
      await dev.stop().catch(() => undefined);
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/** Checks printed as they run (`ok` or `FAIL`); `finish()` prints the verdict and sets the exit code (1 when one failed). */
export function checks() {
  const failures = [];
  return {
    failures,
    check(ok, what) {
      console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
      if (!ok) failures.push(what);
    },
    finish() {
      console.log(failures.length ? `\n${failures.length} check(s) failed` : "\nall checks passed");
      process.exitCode = failures.length ? 1 : 0;
    },
  };
}
