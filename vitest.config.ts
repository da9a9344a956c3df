import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { projects: ["packages/core", "packages/cli", "packages/create-noema", "packages/client", "packages/cloudflare", "packages/cloudflare/test-dev", "packages/inspector", "apps/inventory", "apps/inventory/ui"] },
});
