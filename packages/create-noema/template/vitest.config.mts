import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd, against real SQLite-backed Durable Objects, with the bindings of wrangler.jsonc.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" }, miniflare: { bindings: { NOEMA_API_TOKEN: "test-token" } } })],
  test: { include: ["test/**/*.test.ts"] },
});
