import { sha256Hex } from "@noema/core/internal";
import { nobleSha256Hex } from "@noema/core/runtime";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { installFastHash, nodeSha256 } from "../src/hash.js";

describe("the hash port in workerd", () => {
  const native = nodeSha256();

  it("finds node:crypto's SHA-256, synchronous", () => {
    expect(native).toBeDefined();
    expect(native!("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("gives exactly the hashes of the pure-JS one, for any text (multi-byte, lone surrogates, past the reused buffer)", () => {
    for (const text of ["", "abc", "é", "\ud83d", "a\udc00b", "😀".repeat(10), "x".repeat(5462), "é".repeat(6000)]) expect(native!(text)).toBe(nobleSha256Hex(text));
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 7000 }), (text) => {
        expect(native!(text)).toBe(nobleSha256Hex(text));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes the same before and after an Attractor's hash port moves from the pure-JS hash to node:crypto's", async () => {
    installFastHash();
    const text = "é".repeat(4000);
    const same = (from: number) => {
      for (let i = from; i < from + 16; i++) expect(sha256Hex(`${i}${text}`)).toBe(nobleSha256Hex(`${i}${text}`));
    };
    // 64 Ki characters: past the point where the port loads node:crypto, in a timer after this turn.
    same(0);
    await new Promise((turn) => setTimeout(turn, 0));
    same(16);
  });
});
