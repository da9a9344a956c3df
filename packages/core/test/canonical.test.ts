import fc from "fast-check";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { canonicalJson, contentHash, joinedHash, normalizeSql, sameJson, sha256Hex, textHash, useSha256, utf8Length } from "../src/canonical/index.js";
import { canonicalSedimentText, hashCanonicalSediment } from "../src/seal/chain.js";

/** Rebuilds a JSON value with every object's keys in a random order. */
function shuffleKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rand));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => [k, shuffleKeys(v, rand)] as const);
    entries.sort(() => rand() - 0.5);
    return Object.fromEntries(entries);
  }
  return value;
}

// -0 is excluded: JSON has no negative zero, so it cannot come back from a round trip.
const jsonValue = fc.jsonValue().filter((v) => !Object.is(v, -0));

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("drops undefined fields, as JSON does", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it("is the same text whatever order the keys were written in", () => {
    fc.assert(
      fc.property(jsonValue, fc.integer(), (value, seed) => {
        let state = seed;
        const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
        expect(canonicalJson(shuffleKeys(value, rand))).toBe(canonicalJson(value));
      }),
    );
  });

  it("survives a JSON round trip unchanged", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it("is the text every stored hash was made from: keys in the built-in sort's order, small objects and large", () => {
    // The definition the log's hashes were computed with; a new sort must not change one of them.
    const sorted = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sorted);
      if (v === null || typeof v !== "object") return v;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if ((v as Record<string, unknown>)[k] !== undefined) out[k] = sorted((v as Record<string, unknown>)[k]);
      return out;
    };
    const key = fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom("a", "B", "é", "\u{1F600}", "10", "9"));
    const wide = fc.dictionary(key, fc.oneof(fc.integer(), fc.string()), { maxKeys: 40 });
    fc.assert(
      fc.property(fc.oneof(jsonValue, wide, fc.array(wide)), (value) => {
        expect(canonicalJson(value)).toBe(JSON.stringify(sorted(value)));
        // Keys already in order at every depth, as most Intents arrive: written without a copy, the same text.
        const inOrder = sorted(value);
        expect(canonicalJson(inOrder)).toBe(JSON.stringify(inOrder));
      }),
    );
    // What a value in key order may still hold that JSON would write differently from a sorted copy.
    class Money {
      amount = 1;
      toJSON() {
        return "1 EUR";
      }
    }
    const date = new Date(0);
    const withToJson = Object.assign([1], { toJSON: () => "array" });
    for (const value of [
      { a: date, b: [date] },
      { a: new Money(), b: { c: new Money() } },
      { a: undefined, b: 1, c: { d: undefined } },
      { a: undefined, b: { d: 1, c: 2 }, e: undefined, f: [{ h: 1, g: 2 }] },
      { 10: 1, 9: 2, a: 3 },
      { a: { 2: "x", b: 1 } },
      { a: withToJson },
      // eslint-disable-next-line no-sparse-arrays
      { a: [1, , 3] },
      [{ b: 1, a: 2 }, { a: 1 }],
    ]) {
      expect(canonicalJson(value)).toBe(JSON.stringify(sorted(value)));
    }
  });

  it("distinguishes values that differ", () => {
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
    expect(canonicalJson({ a: "1" })).not.toBe(canonicalJson({ a: 1 }));
  });

  it("keeps an own \"__proto__\" key, as JSON.parse makes one: its value is hashed like any other's", () => {
    const parsed = (text: string) => JSON.parse(text) as unknown;
    expect(canonicalJson(parsed('{"b":{"__proto__":1},"a":0}'))).toBe('{"a":0,"b":{"__proto__":1}}');
    expect(canonicalJson(parsed('{"__proto__":[1]}'))).not.toBe(canonicalJson(parsed('{"__proto__":[2]}')));
    expect(sameJson(parsed('{"__proto__":1}'), parsed('{"__proto__":2}'))).toBe(false);
  });
});

describe("sameJson", () => {
  // A frozen Intent is stored by reference only when sameJson says the derived one is the same.
  it("says two values are the same exactly when their canonical JSON is, key order and undefined fields aside", () => {
    // One digit changed, never 9 to 0: "-90" would become "-00", which is not JSON.
    const mutate = (v: unknown, rand: () => number): unknown => (rand() < 0.5 ? v : JSON.parse(JSON.stringify(v).replace(/\d/, (d) => (d === "9" ? "8" : String(Number(d) + 1)))));
    fc.assert(
      fc.property(jsonValue, jsonValue, fc.integer(), (a, b, seed) => {
        let state = seed;
        const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
        const copy = mutate(shuffleKeys(a, rand), rand);
        expect(sameJson(a, copy)).toBe(canonicalJson(a) === canonicalJson(copy));
        expect(sameJson(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
      }),
    );
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: [1, { b: 2 }] }, { a: [1, { b: "2" }] })).toBe(false);
  });
});

describe("sha256Hex and contentHash", () => {
  it("is SHA-256 in lower-case hex", () => {
    // FIPS 180-2 test vectors.
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("hashes UTF-8 bytes", () => {
    // "é" is the two UTF-8 bytes c3 a9 (the single Latin-1 byte e9 would give de2e33…).
    expect(sha256Hex("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });

  it("hashes pieces as their joined text, written into the buffer (UTF-8 as TextEncoder writes it) or joined where they do not fit", () => {
    const noble = (text: string) => bytesToHex(sha256(utf8ToBytes(text)));
    const pieces = fc.array(fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.constantFrom("\ud83d", "\ude00", "x".repeat(3000))), { maxLength: 8 });
    fc.assert(
      fc.property(pieces, (p) => {
        expect(joinedHash(p)).toBe(noble(p.join("")));
      }),
      { numRuns: 500 },
    );
    // A host's hash that takes text only: the pieces are joined for it.
    const seen: string[] = [];
    useSha256((text) => (seen.push(text), noble(text)));
    try {
      expect(joinedHash(["a", "é", "b"])).toBe(noble("aéb"));
      expect(seen).toEqual(["aéb"]);
    } finally {
      useSha256(undefined);
    }
    // A host's bytes hash made by textHash: written into the buffer, hashed by it.
    let calls = 0;
    useSha256(textHash((bytes) => (calls++, sha256(bytes))));
    try {
      expect(joinedHash(["a", "é", "\ud83d\ude00"])).toBe(noble("aé\ud83d\ude00"));
      expect(calls).toBe(1);
    } finally {
      useSha256(undefined);
    }
  });

  it("hashes a log entry as the text it is defined by, whatever its hashes, numbers and origin", () => {
    const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 });
    const entry = fc.record({
      sedimentId: fc.oneof(fc.nat(), fc.double()),
      prevHash: fc.oneof(hex, fc.string({ unit: "binary" })),
      timestamp: fc.oneof(fc.nat(), fc.integer({ min: -1e15, max: 1e15 })),
      intent: fc.string({ unit: "binary" }),
      outputs: fc.string({ unit: "binary" }),
      origin: fc.option(fc.string({ unit: "binary" }), { nil: undefined }),
      worldHash: fc.oneof(hex, fc.string({ unit: "binary" })),
    });
    fc.assert(
      fc.property(entry, (c) => {
        expect(hashCanonicalSediment(c)).toBe(sha256Hex(canonicalSedimentText(c)));
      }),
      { numRuns: 500 },
    );
    expect(canonicalSedimentText({ sedimentId: 2, prevHash: "ab", timestamp: 3, intent: "{}", outputs: "[]", origin: null, worldHash: "cd" })).toBe(
      '{"intent":{},"outputs":[],"prevHash":"ab","sedimentId":2,"timestamp":3,"world":"cd"}',
    );
  });

  it("hashes exactly what noble hashes of utf8ToBytes, short (the reused buffer) or long, after long ones too", () => {
    const noble = (text: string) => bytesToHex(sha256(utf8ToBytes(text)));
    // Around the reused buffer's size (16 KiB of UTF-8, 3 bytes per unit at most), multi-byte text and a lone surrogate.
    const texts = ["", "abc", "é", "\ud83d", "😀".repeat(10), "x".repeat(5461), "x".repeat(5462), "é".repeat(6000), "abc"];
    for (const text of texts) expect(sha256Hex(text)).toBe(noble(text));
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 6000 }), (text) => {
        expect(sha256Hex(text)).toBe(noble(text));
      }),
      { numRuns: 200 },
    );
  });

  it("hashes as noble does at every length of a block's padding (the built-in SHA-256 on 16-bit halves)", () => {
    const noble = (text: string) => bytesToHex(sha256(utf8ToBytes(text)));
    // Lengths 55 and 56 split where the length's 8 bytes still fit in the last block; 64 fills it.
    for (let n = 0; n <= 200; n++) expect(sha256Hex("a".repeat(n))).toBe(noble("a".repeat(n)));
  });

  it("counts UTF-8 bytes as TextEncoder writes them, short or long", () => {
    for (const text of ["", "abc", "é", "\ud83d", "a\udc00b", "😀".repeat(10), "x".repeat(5462), "é".repeat(6000)]) expect(utf8Length(text)).toBe(utf8ToBytes(text).length);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 7000 }), (text) => {
        expect(utf8Length(text)).toBe(utf8ToBytes(text).length);
      }),
      { numRuns: 200 },
    );
  });

  it("contentHash is the hash of the canonical JSON, so key order does not matter", () => {
    expect(contentHash({ b: 2, a: 1 })).toBe(sha256Hex('{"a":1,"b":2}'));
    expect(contentHash({ b: 2, a: 1 })).toBe(contentHash({ a: 1, b: 2 }));
    expect(contentHash({ a: 1, b: 2 })).not.toBe(contentHash({ a: 1, b: 3 }));
  });
});

describe("normalizeSql", () => {
  it("collapses whitespace runs to one space and trims", () => {
    expect(normalizeSql("  balance\n\t >=   0 \n")).toBe("balance >= 0");
  });

  it("keeps string literals exactly, including their whitespace and escaped quotes", () => {
    expect(normalizeSql("status  IN ('a  b',\n 'it''s   here')")).toBe("status IN ('a  b', 'it''s   here')");
    expect(normalizeSql("x = ' '")).not.toBe(normalizeSql("x = '  '"));
  });

  it("drops a -- comment with the rest of its line, so collapsing lines cannot make it swallow the statement", () => {
    expect(normalizeSql("UPDATE t SET a = 1 -- note\n WHERE id = ?")).toBe("UPDATE t SET a = 1 WHERE id = ?");
    expect(normalizeSql("SELECT 1 -- at the end")).toBe("SELECT 1");
    expect(normalizeSql("SELECT '--not a comment', \"--nor this\"")).toBe("SELECT '--not a comment', \"--nor this\"");
  });

  it("keeps quoted identifiers exactly", () => {
    expect(normalizeSql('"odd  name"   >  0')).toBe('"odd  name" > 0');
  });

  it("does not add or remove whitespace between tokens that had none", () => {
    expect(normalizeSql("a>=0")).toBe("a>=0");
    expect(normalizeSql("a>=0")).not.toBe(normalizeSql("a >= 0"));
  });

  const token = fc.constantFrom("balance", ">=", "0", "AND", "status", "IN", "('a  b', 'c')", "x<>y", "'it''s'", '"q  id"');
  const gap = fc.stringMatching(/^[ \t\n\r]{1,4}$/);

  it("gives the same text for any whitespace between the same tokens", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(token, gap, gap), { minLength: 1, maxLength: 8 }), gap, (parts, lead) => {
        const spaced = lead + parts.map(([t, g]) => t + g).join("");
        const otherwise = parts.map(([t, , g]) => g + t).join("") + lead;
        const single = parts.map(([t]) => t).join(" ");
        expect(normalizeSql(spaced)).toBe(single);
        expect(normalizeSql(otherwise)).toBe(single);
      }),
    );
  });

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", " ", "\n", "'", '"', "?", "(", ")") }), (sql) => {
        expect(normalizeSql(normalizeSql(sql))).toBe(normalizeSql(sql));
      }),
    );
  });
});
