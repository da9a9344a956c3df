import { defineConfig } from "vitest/config";

// The CLI runs in plain Node 22: its check tests use node:sqlite, so no workerd here.
export default defineConfig({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    // node:sqlite says it is experimental on first load; a green run stays quiet.
    execArgv: ["--disable-warning=ExperimentalWarning"],
  },
});
