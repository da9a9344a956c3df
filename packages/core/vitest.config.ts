import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The core is runtime-agnostic, so its unit tests run in plain Node: proof that it needs no Workers API.
// Tests load the inventory law, which imports the core by name: one core, these sources, not dist/.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@noema\/core$/, replacement: source("./src/index.ts") },
      { find: /^@noema\/core\/runtime$/, replacement: source("./src/runtime.ts") },
      { find: /^@noema\/core\/check$/, replacement: source("./src/check.ts") },
      { find: /^@noema\/core\/sql$/, replacement: source("./src/sql.ts") },
    ],
  },
  // The tests define laws with any SQL: they read it with the parser, as the CLI does.
  test: { name: "core", include: ["test/**/*.test.ts"], setupFiles: ["./test/setup.ts"] },
});
