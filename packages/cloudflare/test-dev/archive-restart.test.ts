// `wrangler dev` restarts keep the archive: the R2 objects and the Attractor's SQLite both live
// under the persist folder, so a second `wrangler dev` on it serves the same log.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIntent } from "@noema/core";
import { afterAll, expect, it } from "vitest";
import { ledger } from "../test/ledger/vocabulary.js";

const TOKEN = "dev-token";
const READY_MS = 60_000;
const testDir = join(dirname(fileURLToPath(import.meta.url)), "../test");
const persistDir = mkdtempSync(join(tmpdir(), "noema-archive-dev-"));
afterAll(() => rmSync(persistDir, { recursive: true, force: true }));

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

/** Starts `wrangler dev` on the persist folder; resolves with its URL and a stop function once it answers. */
async function wranglerDev(): Promise<{ base: string; stop: () => Promise<void> }> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = ["dev", "--config", join(testDir, "wrangler.jsonc"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", persistDir, "--show-interactive-dev-session=false", "--var", `LEDGER_TOKEN:${TOKEN}`];
  // Its own process group, so stopping it also stops workerd.
  const child: ChildProcess = spawn(join(testDir, "../../../node_modules/.bin/wrangler"), args, {
    cwd: testDir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid, "SIGTERM");
    await exited;
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${base}/archived/ledgers/probe/nomos`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2_000) })).ok) return { base, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev was not ready within ${READY_MS} ms:\n${output}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of several shapes, checked by the assertions
async function call(base: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}/archived/ledgers/shop${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}


it("a wrangler dev restart keeps the archive: the same log, verified, served from R2", async () => {
  let dev = await wranglerDev();
  let before: unknown;
  try {
    await call(dev.base, "/intents", buildIntent(ledger, (s) => void s.open({ holder: "alice" })));
    for (let i = 1; i <= 6; i++) await call(dev.base, "/intents", buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: i })));
    // The real alarm archives the first full segment of five.
    for (let i = 0; i < 200 && (await call(dev.base, "/archive")).segments.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await call(dev.base, "/archive")).segments.map((s: { first: number; last: number }) => [s.first, s.last])).toEqual([[1, 5]]);
    before = await call(dev.base, "/sediments?limit=100");
  } finally {
    await dev.stop();
  }
  dev = await wranglerDev();
  try {
    const archive = await call(dev.base, "/archive");
    expect(archive.segments).toHaveLength(1);
    expect(archive.liveRows).toBe(2);
    expect(await call(dev.base, "/sediments?limit=100")).toEqual(before);
    expect(archive.deep).toMatchObject({ ok: true, length: 7, archive: { segments: 1, archivedThrough: 5, deep: true } });
  } finally {
    await dev.stop();
  }
});
