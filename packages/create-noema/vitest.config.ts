import { defineConfig } from "vitest/config";

// Scaffolds into temp folders with the built bin (dist/). The scaffolded project itself is
// installed, tested and deployed (dry run) by .ci/run's consumer path.
export default defineConfig({ test: { name: "create-noema", include: ["test/**/*.test.ts"], testTimeout: 30_000 } });
