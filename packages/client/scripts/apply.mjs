// Bundles apply.bench.ts (TypeScript: the inventory law's sources, the test server) and runs it in Node 22.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "noema-client-apply-"));
try {
  const out = join(dir, "apply.mjs");
  await build({
    entryPoints: [here("./apply.bench.ts")], bundle: true, format: "esm", platform: "node", outfile: out, logLevel: "silent",
    alias: { "@noema/core": here("../../core/src/index.ts"), "@noema/core/runtime": here("../../core/src/runtime.ts"), "@noema/core/sync": here("../../core/src/sync.ts") },
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  execFileSync(process.execPath, ["--disable-warning=ExperimentalWarning", out], { stdio: "inherit" });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
