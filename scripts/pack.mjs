// `npm run pack`: builds every publishable package and writes one tarball each into packs/,
// e.g. packs/create-noema-0.1.0.tgz, as `npm publish` would upload them.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const packs = join(root, "packs");
const PUBLISHED = ["packages/core", "packages/cloudflare", "packages/inspector", "packages/cli", "packages/create-noema", "packages/client"];

const npm = (args) => execFileSync("npm", args, { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
// A clean build, so that no file of a deleted source is left in dist/.
npm(["exec", "--", "tsc", "-b", "tsconfig.build.json", "--clean"]);
npm(["run", "build", "--silent"]);
rmSync(packs, { recursive: true, force: true });
mkdirSync(packs);
npm(["pack", "--silent", "--pack-destination", packs, ...PUBLISHED.flatMap((w) => ["--workspace", w])]);
for (const file of readdirSync(packs).sort()) console.log(`packs/${file}`);
