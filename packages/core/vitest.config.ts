import { defineConfig } from "vitest/config";

// The core is runtime-agnostic, so its unit tests run in plain Node: proof that it needs no Workers API.
export default defineConfig({ test: { name: "core", include: ["test/**/*.test.ts"] } });
