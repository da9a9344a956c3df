import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Plain Node 22: the CLI is spawned from its build (dist/, from `npm test`'s build step) on real
// law modules, and the checker's tests run the core on node:sqlite. In-process code uses one core,
// its sources, as the core's own tests do (they share the test ledger).
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@noema\/core$/, replacement: source("../core/src/index.ts") },
      { find: /^@noema\/core\/runtime$/, replacement: source("../core/src/runtime.ts") },
      { find: /^@noema\/core\/check$/, replacement: source("../core/src/check.ts") },
    ],
  },
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    // Tests that check-emit.test.ts writes to type-check, never to run.
    exclude: ["test/.emitted/**", "**/node_modules/**"],
    testTimeout: 60_000,
    // node:sqlite says it is experimental on first load; a green run stays quiet.
    execArgv: ["--disable-warning=ExperimentalWarning"],
  },
});
