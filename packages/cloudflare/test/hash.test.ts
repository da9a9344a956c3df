import { sha256 } from "@noble/hashes/sha2.js";
import { sha256Hex } from "@noema/core/internal";
import { builtinSha256Hex, textHash } from "@noema/core/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { handleSha256, hashSha256, installFastHash, nativeHashInstalled, nodeSha256 } from "../src/hash.js";

/** A SHA-256 of another's making (pure JS), which every path must agree with. */
const nobleSha256Hex = textHash(sha256);

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

  it("gives exactly the hashes of a pure-JS one, for any text (multi-byte, lone surrogates, past the reused buffer), by every path", () => {
    for (const hash of [native!, hashSha256(createHash), builtinSha256Hex]) {
      for (const text of ["", "abc", "é", "\ud83d", "a\udc00b", "😀".repeat(10), "x".repeat(5462), "é".repeat(6000)]) expect(hash(text)).toBe(nobleSha256Hex(text));
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 7000 }), (text) => {
          expect(hash(text)).toBe(nobleSha256Hex(text));
        }),
        { numRuns: 150 },
      );
    }
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
