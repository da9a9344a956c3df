import { describe, expect, it } from "vitest";

// Read as text through Vite, as layers.test.ts reads the sources: the core's tsconfig has no Node types.
declare global {
  interface ImportMeta {
    glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, string>;
  }
}

const text = (files: Record<string, string>) => Object.values(files)[0]!;
const SEAL_PAGE = text(import.meta.glob("../../../docs/concepts/seal.md", { query: "?raw", import: "default", eager: true }));
const SEAL_TYPES = text(import.meta.glob("../src/seal/types.ts", { query: "?raw", import: "default", eager: true }));
const HOST = text(import.meta.glob("../src/host/index.ts", { query: "?raw", import: "default", eager: true }));

/** The fields an interface declares, in the source as written. */
function fieldsOf(source: string, declaration: string): string[] {
  const start = source.indexOf(declaration);
  const body = source.slice(source.indexOf("{", start) + 1, source.indexOf("\n}", start));
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
}

describe("the Seal's shape, where people look for it", () => {
  const section = SEAL_PAGE.slice(SEAL_PAGE.indexOf("# Seal, sediment and Precedent"), SEAL_PAGE.indexOf("**Verification never blocks.**"));
  const documented = new Set([...section.matchAll(/^\| `([^|]+)` \|/gm)].flatMap((m) => m[1]!.split(/`, `/).map((f) => f.replace(/`/g, ""))));

  it("the Seal page's table (docs/concepts/seal.md) names every field of the Seal and its World, by its real name", () => {
    const seal = ["interface SealBase", "interface SuccessSeal", "interface RefusalSeal"].flatMap((d) => fieldsOf(SEAL_TYPES, d));
    const world = fieldsOf(HOST, "interface World").map((f) => `world.${f}`);
    expect(seal).toContain("world");
    const fields = [...seal.filter((f) => f !== "world"), ...world];
    expect(fields.filter((f) => !documented.has(f))).toStrictEqual([]);
    expect([...documented].filter((f) => !fields.includes(f))).toStrictEqual([]);
  });

  it("every field has a doc comment in the types", () => {
    for (const [source, declaration] of [[SEAL_TYPES, "interface SealBase"], [SEAL_TYPES, "interface SuccessSeal"], [SEAL_TYPES, "interface RefusalSeal"], [HOST, "interface World"]] as const) {
      const start = source.indexOf(declaration);
      const body = source.slice(source.indexOf("{", start) + 1, source.indexOf("\n}", start)).split("\n");
      body.forEach((line, i) => {
        if (/^ {2}\w+\??:/.test(line) && !/^ {2}success:/.test(line)) expect(body[i - 1], `${declaration}: ${line.trim()}`).toMatch(/\*\/$/);
      });
    }
  });
});
