import { defineConfig } from "vitest/config";

// Spawns the built CLI (dist/, from `npm test`'s build step) in Node on real law modules.
export default defineConfig({ test: { name: "cli", include: ["test/**/*.test.ts"], testTimeout: 30_000 } });
