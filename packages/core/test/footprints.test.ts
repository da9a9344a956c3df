// A Worker carries no SQL parser: it derives Sieves from the footprints `noema build` generated
// (footprintTable, registered with registerFootprints). These tests take the parser away, as a
// Worker's bundle does, and check that the generated footprints give the same Sieves, and that a
// missing or stale one is an error when the law is defined, naming the statement and the fix.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { inventoryV1, inventoryV2 } from "./fixtures/inventory.js";
import { ledger } from "./ledger.js";
import { defineNomos, defineVocabulary, integer, NomosDefinitionError, operation, registerFootprints, sql, type TableSpec, text, type Vocabulary, VocabularyDefinitionError } from "../src/index.js";
import { sieveOf } from "../src/sieve/index.js";
import { type FootprintReader, lawText } from "../src/footprint/index.js";
import { footprintLaws, footprintTable } from "../src/sql.js";
import { builtinSha256Hex, useSha256 } from "../src/runtime.js";

interface Registry {
  reader?: FootprintReader;
  tables: Map<string, unknown>;
  hashes?: Map<string, string>;
}
const registry = () => (globalThis as Record<symbol, Registry>)[Symbol.for("noema.footprints")]!;

let parser: FootprintReader | undefined;
beforeEach(() => {
  parser = registry().reader;
  delete registry().reader;
  registry().tables.clear();
  registry().hashes?.clear();
});
afterEach(() => {
  registry().reader = parser;
  registry().tables.clear();
  registry().hashes?.clear();
  useSha256(undefined);
});

const tables = { notes: { columns: { id: text().primaryKey(), body: text().notNull(), n: integer().notNull() } } };
const ops = (returning: string) => ({
  write: operation({
    description: "Writes a note.",
    args: z.object({ id: z.string() }),
    output: z.object({}),
    statements: ({ arg }) => ({ insert: sql`INSERT INTO notes (id, body, n) VALUES (${arg.id}, 'x', 1) RETURNING ${sql([returning] as unknown as TemplateStringsArray)}` }),
    result: () => ({}),
  }),
});
const invariants = { positive: { violations: "SELECT id FROM notes WHERE n < 0", message: "n is never negative" } };

/** Defines the notes law with the parser, as `noema build` does, and returns its generated footprints. */
function built(returning = "id"): ReturnType<typeof footprintTable> {
  return generated(returning).table;
}

/** The generated footprints of the notes law and the canonical text of each law they are for, as `noema build` writes both. */
function generated(returning = "id") {
  registry().reader = parser;
  try {
    const laws = [defineVocabulary(defineNomos({ name: "notes", version: 1, tables, invariants }), ops(returning))];
    return { table: footprintTable(laws), texts: footprintLaws(laws) };
  } finally {
    delete registry().reader;
  }
}

/** Counts the SHA-256 hashes taken from now on. */
function countHashes(): { count: number } {
  const hashes = { count: 0 };
  useSha256((text) => {
    hashes.count++;
    return builtinSha256Hex(text);
  });
  return hashes;
}

describe("generated footprints (a Worker without the SQL parser)", () => {
  it("give every operation of a law the Sieve the parser gives", () => {
    const laws = [inventoryV1, inventoryV2, ledger];
    registry().reader = parser;
    const table = footprintTable(laws);
    const expected = laws.map((v) => Object.keys(v.operations).map((op) => sieveOf(v, [op])));
    delete registry().reader;
    registerFootprints(table);
    // Vocabularies defined afresh (the fixtures' Sieves are cached on their objects), from the table alone.
    const again = laws.map((v: Vocabulary) => defineVocabulary(defineNomos<Record<string, TableSpec>, number>({ ...v.nomos }), v.operations));
    expect(again.map((v) => Object.keys(v.operations).map((op) => sieveOf(v, [op])))).toEqual(expected);
  });

  it("a law without them is refused when it is defined, naming the operation, the statement and the fix", () => {
    const nomos = defineNomos({ name: "notes", version: 1, tables, invariants });
    expect(() => defineVocabulary(nomos, ops("id"))).toThrow(NomosDefinitionError);
    expect(() => defineVocabulary(nomos, ops("id"))).toThrow(/^invariant "positive": no footprints were generated for Nomos notes v1 .*: run `noema build` .*; in: SELECT id FROM notes WHERE n < 0$/);
  });

  it("a stale one (the SQL changed since noema build) is refused when the law is defined, naming the statement", () => {
    registerFootprints(built("id"));
    const nomos = defineNomos({ name: "notes", version: 1, tables, invariants });
    expect(() => defineVocabulary(nomos, ops("id"))).not.toThrow();
    expect(() => defineVocabulary(nomos, ops("body"))).toThrow(VocabularyDefinitionError);
    expect(() => defineVocabulary(nomos, ops("body"))).toThrow(
      /^operation "write" statement "insert": the footprints generated for this Nomos do not cover this statement \(the law changed since\): run `noema build` .*; in: INSERT INTO notes \(id, body, n\) VALUES \(\?, 'x', 1\) RETURNING body$/,
    );
  });

  it("are found by the law's canonical text: the law is never hashed, and its hash is the one noema build wrote", () => {
    const { table, texts } = generated("id");
    registerFootprints(table, texts);
    const hashes = countHashes();
    const nomos = defineNomos({ name: "notes", version: 1, tables, invariants });
    expect(() => defineVocabulary(nomos, ops("id"))).not.toThrow();
    expect(Object.keys(table)).toEqual([nomos.hash]);
    expect(hashes.count).toBe(0);
    expect(nomos.hash).toBe(builtinSha256Hex(lawText(nomos)!));
  });

  it("with the parser installed (noema build), the law is hashed: a hash edited into the generated file is not written out again", () => {
    const { table, texts } = generated("id");
    const [[hash, text]] = Object.entries(texts) as [[string, string]];
    const forged = "0".repeat(64);
    registerFootprints({ [forged]: table[hash]! }, { [forged]: text });
    registry().reader = parser;
    const nomos = defineNomos({ name: "notes", version: 1, tables, invariants });
    expect(nomos.hash).toBe(hash);
    expect(Object.keys(footprintLaws([defineVocabulary(nomos, ops("id"))]))).toEqual([hash]);
  });

  it("a law whose tables changed since (the same SQL) is refused when it is defined, with or without the canonical texts", () => {
    const changed = { notes: { columns: { ...tables.notes.columns, extra: text() } } };
    for (const withTexts of [true, false]) {
      const { table, texts } = generated("id");
      registerFootprints(table, withTexts ? texts : {});
      const nomos = defineNomos({ name: "notes", version: 1, tables: changed, invariants });
      expect(() => defineVocabulary(nomos, ops("id"))).toThrow(/^invariant "positive": no footprints were generated for Nomos notes v1 /);
    }
  });

  it("generated without the canonical texts (before noema build wrote them), they are found by the law's hash", () => {
    registerFootprints(built("id"));
    const hashes = countHashes();
    expect(() => defineVocabulary(defineNomos({ name: "notes", version: 1, tables, invariants }), ops("id"))).not.toThrow();
    expect(hashes.count).toBe(1);
  });

  it("registered after the Nomos is defined (imported after it), they still check its invariants with the first vocabulary", () => {
    const nomos = defineNomos({ name: "notes", version: 1, tables, invariants: { bad: { violations: "SELECT id FROM nowhere", message: "-" } } });
    expect(() => defineVocabulary(nomos, ops("id"))).toThrow(/^invariant "bad": no footprints were generated/);
  });
});

declare global {
  interface ImportMeta {
    glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, string>;
  }
}

describe("the Worker's entry points", () => {
  const sources = Object.fromEntries(
    Object.entries(import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true })).map(([path, text]) => [path.slice("../src/".length), text]),
  );
  /** Every module a file reaches through its static imports, relative to src/, and the packages they name. */
  function reach(entry: string): { files: Set<string>; packages: Set<string> } {
    const files = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (files.has(file)) return;
      files.add(file);
      for (const m of sources[file]!.matchAll(/^(?:(?:import|export)\b[^;]*?\bfrom\s+|import\s+)"([^"]+)"/gms)) {
        const target = m[1]!;
        if (!target.startsWith(".")) packages.add(target);
        else {
          const parts = file.split("/").slice(0, -1);
          for (const seg of target.split("/")) {
            if (seg === "..") parts.pop();
            else if (seg !== ".") parts.push(seg);
          }
          visit(parts.join("/").replace(/\.js$/, ".ts"));
        }
      }
    };
    visit(entry);
    return { files, packages };
  }

  it("@noema/core and @noema/core/runtime never import node-sql-parser: only @noema/core/sql (and the checker) do", () => {
    for (const entry of ["index.ts", "runtime.ts"]) expect([...reach(entry).packages].filter((p) => p.startsWith("node-sql-parser"))).toEqual([]);
    expect([...reach("sql.ts").packages]).toContain("node-sql-parser/build/sqlite.js");
  });
});
