// Starts `wrangler dev` of the reference app on a free localhost port with a fresh persist
// directory, waits (bounded) until it answers, and stops it after the run.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev was not ready within ${READY_MS} ms:\n${output()}`);
}

export default async function setup(project: TestProject) {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const persistDir = mkdtempSync(join(tmpdir(), "noema-ui-"));
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persistDir,
    "--show-interactive-dev-session=false", "--var", `NOEMA_API_TOKEN:${WRITE_TOKEN}`, "--var", `NOEMA_READ_TOKENS:${READ_TOKEN}`];
  // Its own process group, so stopping it also stops workerd.
  const child = spawn(join(appDir, "../../node_modules/.bin/wrangler"), args, { cwd: appDir, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" } });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const stop = () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
  };
  const baseURL = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${baseURL}/health`, child, () => output);
  } catch (error) {
    stop();
    throw error;
  }
  project.provide("baseURL", baseURL);
  project.provide("persistDir", persistDir);
  return () => {
    stop();
    rmSync(persistDir, { recursive: true, force: true });
  };
}
