import { env, runInDurableObject } from "cloudflare:test";
import { AttractorDefinitionError } from "@noema/cloudflare";
import { buildIntent, type Sediment } from "@noema/core";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { ArchiveAttractor, type Fault, PlainArchiveAttractor, SEGMENT_ENTRIES, UnboundArchiveAttractor } from "./archive/attractors.js";
import { ledger } from "./ledger/vocabulary.js";

const freshName = () => `archive-${crypto.randomUUID()}`;
const archived = (name: string) => env.ARCHIVE_ATTRACTOR.getByName(name);

/** Polls until `done` holds, on the real alarm's time. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Opens an account, then deposits until the log holds `n` sediments. */
async function fill(stub: ReturnType<typeof archived>, n: number, from = 0) {
  for (let i = from; i < n; i++) {
    const intent = i === 0 ? buildIntent(ledger, (s) => void s.open({ holder: "alice" })) : buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: i }));
    const seal = await stub.sedimentation(intent);
    if (!seal.success) throw new Error(seal.reason.message);
  }
}

/** Every sediment, page by page of `limit`, checking each page's cursor. */
async function readAll(stub: { sediments(after?: number, limit?: number): Promise<{ sediments: Sediment[]; next?: number }> }, limit: number) {
  const all: Sediment[] = [];
  for (let after = 0; ; ) {
    const page = await stub.sediments(after, limit);
    all.push(...page.sediments);
    if (page.next === undefined) return all;
    expect(page.sediments).toHaveLength(limit);
    expect(page.next).toBe(page.sediments[page.sediments.length - 1]!.sedimentId);
    after = page.next;
  }
}

/** A second instance on the same storage and bucket: what a restart or an eviction leaves. */
const reopen = (name: string) =>
  runInDurableObject(archived(name), async (_, state) => {
    const fresh = new ArchiveAttractor(state, env);
    await state.blockConcurrencyWhile(async () => {});
    return { verify: await fresh.verify(), deep: await fresh.verify({ deep: true }), sediments: await readAll(fresh, 3) };
  });

/** Sealed segments, once the real alarm has archived `segments` of them. */
async function archivedSegments(name: string, segments: number) {
  await until(async () => (await archived(name).archiveSegments()).length >= segments, `${segments} segments`);
  return archived(name).archiveSegments();
}

describe("history archived to R2", () => {
  it("a full segment leaves SQLite for R2; the chain, paging and a restart see one log", async () => {
    const name = freshName();
    const stub = archived(name);
    await fill(stub, 2 * SEGMENT_ENTRIES + 2);
    const segments = await archivedSegments(name, 2);
    expect(segments.map((s) => [s.segment, s.kind, s.first, s.last, s.count])).toEqual([
      [1, "sediment", 1, 5, 5],
      [2, "sediment", 6, 10, 5],
    ]);
    expect(segments[1]!.firstPrevHash).toBe(segments[0]!.headHash);
    expect(await stub.liveRows()).toBe(2);

    // The object is NDJSON of the sediments in their wire form, with the manifest as metadata.
    const object = await env.NOEMA_ARCHIVE.get(segments[0]!.key);
    const lines = (await object!.text()).trimEnd().split("\n").map((l) => JSON.parse(l) as Sediment);
    expect(lines.map((l) => l.sedimentId)).toEqual([1, 2, 3, 4, 5]);
    expect(object!.customMetadata).toMatchObject({ first: "1", last: "5", count: "5", headHash: segments[0]!.headHash, contentHash: segments[0]!.contentHash });

    const verify = await stub.verify();
    expect(verify).toMatchObject({ ok: true, length: 12, archive: { segments: 2, archivedThrough: 10, deep: false } });
    const all = await readAll(stub, 3);
    expect(all.map((s) => s.sedimentId)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(all[5]!.prevHash).toBe(all[4]!.hash);

    const again = await reopen(name);
    expect(again.verify).toEqual(verify);
    expect(again.deep).toMatchObject({ ok: true, length: 12, archive: { deep: true } });
    expect(again.sediments).toEqual(all);
    // The next sediment continues the chain from the archived head.
    await fill(stub, 13, 12);
    expect(await stub.verify()).toMatchObject({ ok: true, length: 13 });
  });

  it("an archived Intent with an idempotency key still answers with its Seal instead of applying twice", async () => {
    const name = freshName();
    const stub = archived(name);
    await fill(stub, 1);
    const keyed = buildIntent(ledger, (s) => void s.deposit({ accountId: "acct-1-0", amount: 7 }), { idempotencyKey: "pay-1" });
    const first = await stub.sedimentation(keyed);
    await fill(stub, SEGMENT_ENTRIES, 2);
    await archivedSegments(name, 1);
    expect(await stub.liveRows()).toBe(0);
    expect(await stub.sedimentation(keyed)).toEqual(first);
    expect((await stub.accounts())[0]!.balance).toBe(7 + 2 + 3 + 4);
  });

  it("tampering with an archived entry is named by its segment and entry", async () => {
    const name = freshName();
    const stub = archived(name);
    await fill(stub, 2 * SEGMENT_ENTRIES);
    const [, second] = await archivedSegments(name, 2);
    const object = (await env.NOEMA_ARCHIVE.get(second!.key))!;
    const text = await object.text();
    // Sediment 8 deposited 7: now it claims 700, with its metadata left as it was.
    const forged = text.replace('"amount":7}', '"amount":700}');
    expect(forged).not.toBe(text);
    await env.NOEMA_ARCHIVE.put(second!.key, forged, { customMetadata: object.customMetadata! });

    // The manifests still agree; re-reading the segment finds the entry.
    expect(await stub.verify()).toMatchObject({ ok: true });
    const deep = await stub.verify({ deep: true });
    expect(deep).toMatchObject({ ok: false, brokenAt: 8, length: 7, archive: { broken: { segment: 2, key: second!.key, problem: "entry", entry: 8 } } });
    expect(deep.archive?.broken?.message).toMatch(/segment 2 .*entry 8 does not match its hash/);
    // Paging refuses to serve it rather than returning forged history.
    const refused = await runInDurableObject(stub, (instance: ArchiveAttractor) => instance.sediments(5, 10).then(() => undefined, (error: unknown) => error));
    expect(String(refused)).toMatch(/segment 2 .*entry 8/);
  });

  it("a deleted archived object is named as missing", async () => {
    const name = freshName();
    const stub = archived(name);
    await fill(stub, 2 * SEGMENT_ENTRIES);
    const [first] = await archivedSegments(name, 2);
    await env.NOEMA_ARCHIVE.delete(first!.key);
    for (const v of [await stub.verify(), await stub.verify({ deep: true })]) {
      expect(v).toMatchObject({ ok: false, brokenAt: 1, archive: { broken: { segment: 1, key: first!.key, problem: "missing" } } });
      expect(v.archive?.broken?.message).toMatch(/segment 1 \(sediments 1\.\.5, .*\): the object is missing/);
    }
  });

  it.each<[Fault[], string]>([
    [["put fails"], "the write fails"],
    [["put lost"], "the write is acknowledged but never lands"],
    [["get fails"], "the read-back fails"],
    [["get corrupt"], "the read-back differs"],
  ])("R2 failing during archival loses nothing: %s (%s); the next run archives", async (faults) => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const name = freshName();
      const stub = archived(name);
      await stub.inject(faults);
      await fill(stub, SEGMENT_ENTRIES);
      const before = await readAll(stub, 100);
      await until(async () => (await stub.faultsLeft()).length === 0, "the fault to be met");
      // Met during the alarm run, which then failed: nothing recorded, nothing removed.
      await until(async () => error.mock.calls.some((c) => /archive failed/.test(String(c[0]))), "the failure to be logged");
      expect(await stub.archiveSegments()).toEqual([]);
      expect(await stub.liveRows()).toBe(SEGMENT_ENTRIES);
      expect(await readAll(stub, 100)).toEqual(before);
      expect(await stub.verify({ deep: true })).toMatchObject({ ok: true, length: SEGMENT_ENTRIES });

      // A retry (here from a fresh instance, which retries at once) archives it whole.
      await runInDurableObject(stub, async (_, state) => {
        const fresh = new ArchiveAttractor(state, env);
        await state.blockConcurrencyWhile(async () => {});
        await fresh.alarm();
      });
      expect((await stub.archiveSegments()).map((s) => [s.first, s.last])).toEqual([[1, SEGMENT_ENTRIES]]);
      expect(await stub.liveRows()).toBe(0);
      expect(await readAll(stub, 100)).toEqual(before);
      expect(await stub.verify({ deep: true })).toMatchObject({ ok: true, length: SEGMENT_ENTRIES });
    } finally {
      error.mockRestore();
    }
  });

  it("paging across archived segments and the live log returns the unarchived log, page for page", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 * SEGMENT_ENTRIES + 4 }), fc.integer({ min: 1, max: 2 * SEGMENT_ENTRIES + 1 }), async (n, limit) => {
        const name = freshName();
        const stub = archived(name);
        // Archival held back until the unarchived log is read.
        await stub.inject(Array<Fault>(100).fill("put fails"));
        await fill(stub, n);
        const reference = await readAll(stub, 1000);
        await stub.inject([]);
        const segments = Math.floor(n / SEGMENT_ENTRIES);
        await runInDurableObject(stub, async (_, state) => {
          const fresh = new ArchiveAttractor(state, env);
          await state.blockConcurrencyWhile(async () => {});
          for (let i = 0; i < segments; i++) await fresh.alarm();
        });
        expect(await stub.archiveSegments()).toHaveLength(segments);
        expect(await stub.liveRows()).toBe(n - segments * SEGMENT_ENTRIES);
        expect(await readAll(stub, limit)).toEqual(reference);
        // Any cursor, not only a page boundary.
        const after = Math.floor(n / 2);
        expect((await stub.sediments(after, limit)).sediments).toEqual(reference.slice(after, after + limit));
      }),
      { numRuns: 12 },
    );
    error.mockRestore();
  });
});

describe("archival by age, and precedents", () => {
  it("sediments and precedents past their age are archived; precedents page across the archive", async () => {
    const stub = env.AGED_ARCHIVE_ATTRACTOR.getByName(freshName());
    await stub.sedimentation(buildIntent(ledger, (s) => void s.open({ holder: "alice" })));
    const refused = await stub.sedimentation(buildIntent(ledger, (s) => void s.deposit({ accountId: "nobody", amount: 1 })));
    expect(refused.success).toBe(false);
    await until(async () => (await stub.archiveSegments()).length === 2, "both archived");
    expect((await stub.archiveSegments()).map((s) => [s.kind, s.first, s.last])).toEqual([
      ["sediment", 1, 1],
      ["precedent", 1, 1],
    ]);
    const refusal = await stub.sedimentation(buildIntent(ledger, (s) => void s.deposit({ accountId: "nobody", amount: 2 })));
    expect(refusal.success).toBe(false);
    const all = await stub.precedents();
    expect(all.precedents.map((p) => [p.precedentId, p.reason.kind])).toEqual([
      [1, "not_found"],
      [2, "not_found"],
    ]);
    expect((await stub.precedents({ after: 1 })).precedents.map((p) => p.precedentId)).toEqual([2]);
    expect((await stub.precedents({ kind: "constraint" })).precedents).toEqual([]);
    expect(await stub.verify({ deep: true })).toMatchObject({ ok: true, length: 1 });
  });
});

describe("static archive is checked when the Attractor starts", () => {
  it("a binding the Worker does not have fails, saying where to add it", async () => {
    await runInDurableObject(archived(freshName()), (_, state) => {
      expect(() => new UnboundArchiveAttractor(state, env)).toThrow(AttractorDefinitionError);
      expect(() => new UnboundArchiveAttractor(state, env)).toThrow(/UnboundArchiveAttractor\.archive names the R2 binding "NO_SUCH_BUCKET".*r2_buckets/);
    });
  });

  it("settings not made by archive() fail, naming archive() and its subpath", async () => {
    await runInDurableObject(archived(freshName()), (_, state) => {
      expect(() => new PlainArchiveAttractor(state, env)).toThrow(/PlainArchiveAttractor\.archive must be made by archive\(\) of @noema\/cloudflare\/archive/);
    });
  });
});

