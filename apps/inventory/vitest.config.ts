import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export const TEST_TOKEN = "test-token";
export const READ_TOKEN = "read-token";

export default defineConfig({
  plugins: [
    cloudflareTest({
      // The app's Worker plus test-only Attractor classes (older or failing laws); see test/worker.ts.
      wrangler: { configPath: "./test/wrangler.test.jsonc" },
      miniflare: { bindings: { NOEMA_API_TOKEN: TEST_TOKEN, NOEMA_READ_TOKENS: READ_TOKEN } },
    }),
  ],
  test: { name: "inventory", include: ["test/**/*.test.ts"], setupFiles: ["./test/setup.ts"], testTimeout: 60_000 },
});
