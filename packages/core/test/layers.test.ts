import { describe, expect, it } from "vitest";

// The core's tsconfig has no Node types: Vite's glob import reads the sources instead of node:fs.
declare global {
  interface ImportMeta {
    glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, string>;
  }
}

/** The README's Layout section, where a newcomer reads the layer order. */
const README = Object.values(import.meta.glob("../../../README.md", { query: "?raw", import: "default", eager: true }))[0]!;

/** The folders of src/, bottom first: each may import only from folders before it (and itself). */
const LAYERS = [
  "canonical",
  "host",
  "issue",
  "footprint",
  "nomos",
  "intent",
  "sieve",
  "connection",
  "refusal",
  "builtin",
  "cryostasis",
  "message",
  "interpretation",
  "admission",
  "seal",
  "sync",
  "builder",
  "check",
  "escrow",
] as const;

/** Source text by path relative to src/, e.g. `seal/sedimenter.ts`. */
const SOURCES = Object.fromEntries(
  Object.entries(import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true })).map(([path, text]) => [path.slice("../src/".length), text]),
);

/** This package's tests and fixtures, by path relative to test/. */
const TESTS = Object.fromEntries(
  Object.entries(import.meta.glob("./**/*.ts", { query: "?raw", import: "default", eager: true })).map(([path, text]) => [path.slice("./".length), text]),
);

/** Every relative module an `import … from` or `export … from` statement names, as a path relative to src/. */
function importsOf(file: string): string[] {
  const dir = file.split("/").slice(0, -1);
  return [...SOURCES[file]!.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((m) => {
    const parts = [...dir];
    for (const seg of m[1]!.split("/")) {
      if (seg === "..") parts.pop();
      else if (seg !== ".") parts.push(seg);
    }
    return parts.join("/");
  });
}

describe("layers", () => {
  it("every folder of src/ is in the layer order", () => {
    const folders = new Set(Object.keys(SOURCES).filter((f) => f.includes("/")).map((f) => f.split("/")[0]!));
    expect([...folders].sort()).toEqual([...LAYERS].sort());
  });

  it("the README's Layout lists every folder of src/, in the layer order", () => {
    const listed = [...README.matchAll(/^ {2}src\/([a-z]+)\s/gm)].map((m) => m[1]);
    expect(listed).toEqual([...LAYERS]);
  });

  it("no file imports from a folder above its own", () => {
    const upward: string[] = [];
    for (const file of Object.keys(SOURCES)) {
      // The entry points at the root sit above every folder.
      if (!file.includes("/")) continue;
      const rank = LAYERS.indexOf(file.split("/")[0] as (typeof LAYERS)[number]);
      for (const target of importsOf(file)) {
        const targetRank = LAYERS.indexOf(target.split("/")[0] as (typeof LAYERS)[number]);
        if (targetRank > rank) upward.push(`${file} imports ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("tests use fixtures of their own: no test names a module under apps/", () => {
    // A quoted path (import, dynamic import or file) that reaches into the apps; comments may mention them.
    const intoApps = Object.entries(TESTS).flatMap(([file, text]) => [...text.matchAll(/["'`]([^"'`\n]*\bapps\/[^"'`\n]*)["'`]/g)].map((m) => `${file}: ${m[1]}`));
    expect(intoApps).toEqual([]);
  });

  it("type-level assertions stand outside it(), where `npm run typecheck` is what checks them", () => {
    // expectTypeOf does nothing at run time: inside an it() it would read as a test that passes whatever the type.
    const inside: string[] = [];
    for (const [file, text] of Object.entries(TESTS)) {
      let open: string | undefined;
      text.split("\n").forEach((line, i) => {
        const start = /^(\s*)(?:it|test)(?:\.\w+)*\(/.exec(line);
        if (open === undefined && start) open = `${start[1]}})`;
        else if (open !== undefined && line.startsWith(open)) open = undefined;
        else if (open !== undefined && line.includes("expectTypeOf(")) inside.push(`${file}:${i + 1}`);
      });
    }
    expect(inside).toEqual([]);
  });
});
