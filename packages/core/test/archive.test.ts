import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ArchivedSegment, SegmentWriter, segmentContentHash, verifyManifestChain, verifySegmentText } from "../src/seal/archive.js";
import { GENESIS_HASH, sedimentHash } from "../src/seal/chain.js";
import type { Sediment } from "../src/seal/types.js";

const world = { attractor: "A", name: "a", nomosVersion: 1, nomosHash: "h" };

/** A valid chain of `amounts.length` sediments after `after`, linked from `prevHash`. */
function chain(amounts: number[], after = 0, prevHash = GENESIS_HASH): Sediment[] {
  const out: Sediment[] = [];
  for (const [i, amount] of amounts.entries()) {
    const entry = { sedimentId: after + i + 1, prevHash, timestamp: 1000 + i, intent: { v: 1 as const, nomos: { name: "n", version: 1, hash: "h" }, steps: [{ op: "put", args: { amount, note: "ü😀\u2028" } }] }, outputs: [{ amount }], world };
    const hash = sedimentHash(entry);
    out.push({ ...entry, hash });
    prevHash = hash;
  }
  return out;
}

function encode(entries: Sediment[]) {
  const writer = new SegmentWriter("sediment");
  for (const e of entries) writer.add(e);
  return writer.finish();
}
const indexed = (entries: Sediment[], segment: number): ArchivedSegment => ({ ...encode(entries).manifest, segment, key: `k${segment}`, archivedAt: 0 });

describe("archived segments", () => {
  it("a segment verifies as written, and changing any one entry is named by that entry", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 1e6 }), { minLength: 1, maxLength: 20 }), fc.nat(), async (amounts, pick) => {
        const entries = chain(amounts);
        const { text, manifest } = encode(entries);
        // Hashed line by line as written, and again in slices when read: the same hash.
        expect(await segmentContentHash(text)).toBe(manifest.contentHash);
        const s = indexed(entries, 1);
        expect(await verifySegmentText(s, text)).toBeUndefined();
        const victim = entries[pick % entries.length]!;
        const lines = text.split("\n");
        lines[victim.sedimentId - 1] = JSON.stringify({ ...victim, outputs: [{ amount: -1 }] });
        expect(await verifySegmentText(s, lines.join("\n"))).toMatchObject({ segment: 1, problem: "entry", entry: victim.sedimentId });
        expect(await verifySegmentText(s, undefined)).toMatchObject({ problem: "missing", entry: 1 });
      }),
    );
  });

  it("the manifest chain links each segment to the one before and the live log to the last", () => {
    const first = chain([1, 2, 3]);
    const second = chain([4, 5], 3, first[2]!.hash);
    const segments = [indexed(first, 1), indexed(second, 2)];
    const anchor = { sedimentId: 5, hash: second[1]!.hash };
    expect(verifyManifestChain(segments, anchor)).toBeUndefined();
    // A segment whose first prevHash is not the previous head.
    const forged = indexed(chain([4, 5], 3, GENESIS_HASH), 2);
    expect(verifyManifestChain([segments[0]!, forged], { sedimentId: 5, hash: forged.headHash })).toMatchObject({ segment: 2, problem: "chain", entry: 4 });
    // A missing middle, and a live log that does not continue from the archive.
    expect(verifyManifestChain([segments[1]!], anchor)).toMatchObject({ segment: 2, problem: "chain" });
    expect(verifyManifestChain(segments, { sedimentId: 5, hash: GENESIS_HASH })).toMatchObject({ segment: 2, problem: "chain", entry: 5 });
  });
});
