import { defineConfig } from "vitest/config";

// The package's own pages rendered in plain Node (Hono JSX to HTML); the inspector in a browser
// and in workerd is tested where an app mounts it (apps/inventory/ui, apps/inventory/test).
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "hono/jsx" } },
  test: { name: "inspector", include: ["test/**/*.test.ts"], environment: "node" },
});
