import { defineConfig } from "vitest/config";

// Plain Node 22: the CLI is spawned from its build (dist/, from `npm test`'s build step) on real
// law modules, and the checker's tests run the core on node:sqlite.
export default defineConfig({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // node:sqlite says it is experimental on first load; a green run stays quiet.
    execArgv: ["--disable-warning=ExperimentalWarning"],
  },
});
