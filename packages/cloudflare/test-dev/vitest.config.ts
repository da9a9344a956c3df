import { defineConfig } from "vitest/config";

// Node tests that drive `wrangler dev` of the test Worker (../test/wrangler.jsonc) as a user would.
export default defineConfig({
  test: { name: "cloudflare-dev", include: ["**/*.test.ts"], setupFiles: ["../test/setup.ts"], environment: "node", testTimeout: 120_000 },
});
