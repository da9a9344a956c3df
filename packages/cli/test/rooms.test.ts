import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

/** Tests use fixtures of their own package: none names a module under apps/ (except the end-to-end runs listed here) or another package's tests. */

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** File → the paths into apps/ it may name, each the reference app run as a user runs it (see the file). */
const END_TO_END: Record<string, string[]> = {
  "check-cli.test.ts": ["apps/inventory/src/check.ts"],
  // noema build --check: the app's generated footprints are what its law gives now.
  "cli.test.ts": ["apps/inventory/src/law.ts", "apps/inventory/src/catalog/vocabulary.ts", "apps/inventory/src/orders/vocabulary.ts"],
};

describe("tests stay in their own room", () => {
  test("no test or fixture of the CLI names a module under apps/, beyond the documented end-to-end runs, or another package's tests", () => {
    const named: Record<string, string[]> = {};
    for (const file of readdirSync(HERE, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))) {
      // A quoted path (import, dynamic import or file) into the apps or another package's test/; comments may mention them.
      const paths = [...readFileSync(HERE + file, "utf8").matchAll(/["'`]([^"'`\n]*(?:\bapps\/|\.\.\/\.\.\/[\w-]+\/test\/)[^"'`\n]*)["'`]/g)].map((m) => m[1]!);
      if (paths.length > 0 && file !== "rooms.test.ts") named[file.split("\\").join("/")] = paths;
    }
    expect(named).toEqual(END_TO_END);
  });
});
