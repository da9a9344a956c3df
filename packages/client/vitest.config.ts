import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The client's tests run in plain Node 22 on node:sqlite, against a real Sedimenter (test/server.ts).
// One core, its sources: the inventory law the tests load imports it by name.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@noema\/core$/, replacement: source("../core/src/index.ts") },
      { find: /^@noema\/core\/runtime$/, replacement: source("../core/src/runtime.ts") },
      { find: /^@noema\/core\/sync$/, replacement: source("../core/src/sync.ts") },
      { find: /^@noema\/core\/sql$/, replacement: source("../core/src/sql.ts") },
    ],
  },
  test: {
    name: "client",
    include: ["test/**/*.test.ts"],
    // node:sqlite says it is experimental on first load; a green run stays quiet.
    execArgv: ["--disable-warning=ExperimentalWarning"],
  },
});
