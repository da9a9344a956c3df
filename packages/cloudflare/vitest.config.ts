import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// A second Attractor (a ledger) built from the public API alone, tested inside workerd.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./test/wrangler.jsonc" }, miniflare: { bindings: { LEDGER_TOKEN: "ledger-token, ledger-next", LEDGER_READ_TOKENS: "reader-1,reader-2" } } })],
  test: { name: "cloudflare", include: ["test/**/*.test.ts"], setupFiles: ["./test/setup.ts"], testTimeout: 60_000 },
});
