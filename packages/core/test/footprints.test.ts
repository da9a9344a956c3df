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
import type { FootprintReader } from "../src/footprint/index.js";
import { footprintTable } from "../src/sql.js";

interface Registry {
  reader?: FootprintReader;
  tables: Map<string, unknown>;
}
const registry = () => (globalThis as Record<symbol, Registry>)[Symbol.for("noema.footprints")]!;

let parser: FootprintReader | undefined;
beforeEach(() => {
  parser = registry().reader;
  delete registry().reader;
  registry().tables.clear();
});
afterEach(() => {
  registry().reader = parser;
  registry().tables.clear();
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
  registry().reader = parser;
  try {
    return footprintTable([defineVocabulary(defineNomos({ name: "notes", version: 1, tables, invariants }), ops(returning))]);
  } finally {
    delete registry().reader;
  }
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
