import { defineConfig } from "vitest/config";

// Browser tests of the inspector: Debian chromium driven by playwright-core against `wrangler dev`.
export default defineConfig({
  test: {
    name: "ui",
    include: ["**/*.test.ts"],
    globalSetup: ["./setup.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The tamper test opens the DO's SQLite file with node:sqlite, which says it is experimental; a green run stays quiet.
    execArgv: ["--disable-warning=ExperimentalWarning"],
  },
});
