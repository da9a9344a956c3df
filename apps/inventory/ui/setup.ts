// Starts `wrangler dev` of the reference app on a free localhost port with a fresh persist
// directory, waits (bounded) until it answers, and stops it after the run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startWranglerDev } from "../../../scripts/wrangler-dev.js";
// @ts-expect-error: a plain .mjs build script, without types.
import { buildStore } from "../scripts/store.mjs";

export const WRITE_TOKEN = "ui-write-token";
export const READ_TOKEN = "ui-read-token";
const READY_MS = 45_000;

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
    persistDir: string;
  }
}

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..");

export default async function setup(project: TestProject) {
  // The storefront is served as static assets from dist/assets/store/: build it first.
  await buildStore();
  const persistDir = mkdtempSync(join(tmpdir(), "noema-ui-"));
  const dev = await startWranglerDev({ cwd: appDir, persistDir, vars: { NOEMA_API_TOKEN: WRITE_TOKEN, NOEMA_READ_TOKENS: READ_TOKEN }, ready: { path: "/health" }, readyMs: READY_MS }).catch((error: unknown) => {
    rmSync(persistDir, { recursive: true, force: true });
    throw error;
  });
  project.provide("baseURL", dev.base);
  project.provide("persistDir", persistDir);
  return async () => {
    await dev.stop();
    rmSync(persistDir, { recursive: true, force: true });
  };
}
