// `wrangler dev` restarts keep the archive: the R2 objects and the Attractor's SQLite both live
// under the persist folder, so a second `wrangler dev` on it serves the same log.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIntent } from "@noema/core";
import { afterAll, expect, it } from "vitest";
import { startWranglerDev } from "../../../scripts/wrangler-dev.js";
import { ledger } from "../test/ledger/vocabulary.js";

const TOKEN = "dev-token";
const READY_MS = 60_000;
const testDir = join(dirname(fileURLToPath(import.meta.url)), "../test");
const persistDir = mkdtempSync(join(tmpdir(), "noema-archive-dev-"));
afterAll(() => rmSync(persistDir, { recursive: true, force: true }));

/** Starts `wrangler dev` of the test Worker on the persist folder. */
const wranglerDev = () =>
  startWranglerDev({
    cwd: testDir,
    config: join(testDir, "wrangler.jsonc"),
    persistDir,
    vars: { LEDGER_TOKEN: TOKEN },
    ready: { path: "/archived/ledgers/probe/nomos", headers: { Authorization: `Bearer ${TOKEN}` } },
    readyMs: READY_MS,
  });

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
