import { sha256Hex } from "@noema/core/internal";
import { nobleSha256Hex, textHash } from "@noema/core/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Halves } from "../src/cold-sha256.js";
import { handleSha256, hashSha256, installFastHash, nativeHashInstalled, nodeSha256 } from "../src/hash.js";

/** The SHA-256 a cold isolate hashes with (see installFastHash), as a text hash. */
const coldSha256Hex = textHash(sha256Halves);

describe("the hash port in workerd", () => {
  const native = nodeSha256();
  const { createHash } = process.getBuiltinModule("node:crypto");

  it("finds node:crypto's SHA-256, synchronous", () => {
    expect(native).toBeDefined();
    expect(native!("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("reaches the native hash state in this workerd (a workerd that moved it would fall back to createHash)", () => {
    expect(handleSha256(createHash)).toBeDefined();
  });

  it("gives exactly the hashes of the pure-JS one, for any text (multi-byte, lone surrogates, past the reused buffer), by every path", () => {
    for (const hash of [native!, hashSha256(createHash), coldSha256Hex]) {
      for (const text of ["", "abc", "é", "\ud83d", "a\udc00b", "😀".repeat(10), "x".repeat(5462), "é".repeat(6000)]) expect(hash(text)).toBe(nobleSha256Hex(text));
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 7000 }), (text) => {
          expect(hash(text)).toBe(nobleSha256Hex(text));
        }),
        { numRuns: 150 },
      );
    }
  });

  it("gives the pure-JS hashes from a cold isolate's hash at every length of a block's padding", () => {
    // Lengths 55 and 56 split where the length's 8 bytes still fit in the last block; 64 fills it.
    for (let n = 0; n <= 200; n++) expect(coldSha256Hex("a".repeat(n))).toBe(nobleSha256Hex("a".repeat(n)));
  });

  it("hashes the same before and after an Attractor's hash port moves from the pure-JS hash to node:crypto's", async () => {
    installFastHash();
    const text = "é".repeat(4000);
    const same = (from: number) => {
      for (let i = from; i < from + 16; i++) expect(sha256Hex(`${i}${text}`)).toBe(nobleSha256Hex(`${i}${text}`));
    };
    // About 62 Ki characters: past the point where the port loads node:crypto, in a timer after this turn.
    same(0);
    await new Promise((turn) => setTimeout(turn, 0));
    expect(nativeHashInstalled()).toBe(true);
    same(16);
  });
});
