import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/** The folders of src/, bottom first: each may import only from folders before it (and itself). */
const LAYERS = [
  "canonical",
  "host",
  "issue",
  "nomos",
  "intent",
  "sieve",
  "connection",
  "refusal",
  "cryostasis",
  "interpretation",
  "admission",
  "seal",
  "builder",
] as const;

const SRC = join(import.meta.dirname, "../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** Every relative module an `import … from` or `export … from` statement names. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((m) => m[1]!);
}

describe("layers", () => {
  it("every folder of src/ is in the layer order", () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect([...folders].sort()).toEqual([...LAYERS].sort());
  });

  it("no file imports from a folder above its own", () => {
    const upward: string[] = [];
    for (const file of sources(SRC)) {
      const [own] = relative(SRC, file).split("/");
      // The entry point at the root sits above every folder.
      if (!own || own.endsWith(".ts")) continue;
      const rank = LAYERS.indexOf(own as (typeof LAYERS)[number]);
      for (const spec of importsOf(file)) {
        const [target] = relative(SRC, join(file, "..", spec)).split("/");
        const targetRank = LAYERS.indexOf(target as (typeof LAYERS)[number]);
        if (targetRank > rank) upward.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
