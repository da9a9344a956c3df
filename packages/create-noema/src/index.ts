#!/usr/bin/env node
// `npm create noema@latest <dir>`: writes a Cloudflare Worker project with one Noema Attractor.
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const EXIT_USAGE = 2;
const templateDir = fileURLToPath(new URL("../template", import.meta.url));
const own = JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string };

/** The versions the template is tested with (those of the Noema repository that released it). */
const NOEMA_RANGE = `^${own.version}`;
const DEV_DEPENDENCIES: Record<string, string> = {
  "@cloudflare/vitest-plugin": "1.5.0",
  "@noema/cli": NOEMA_RANGE,
  // Builds the counter page (scripts/build-page.mjs); the version wrangler bundles with, so npm installs it once.
  esbuild: "0.28.2",
  typescript: "~6.0.3",
  vitest: "^5.1.1",
  wrangler: "4.156.2",
};
const DEPENDENCIES: Record<string, string> = {
  "@noema/client": NOEMA_RANGE,
  "@noema/cloudflare": NOEMA_RANGE,
  "@noema/core": NOEMA_RANGE,
  hono: "^4.10.0",
  zod: "^4.1.0",
};
const NOEMA_PACKAGES = ["@noema/core", "@noema/cloudflare", "@noema/client", "@noema/cli"];
/** The oldest Node.js a project runs on: wrangler (install, dev, test, deploy) refuses anything older. */
const NODE_MIN = "22.12";

const HELP = `create-noema: write a Cloudflare Worker project with a Noema Attractor

Usage: npm create noema@latest <dir> [-- --packs <folder>]
       create-noema <dir> [--name <worker-name>] [--packs <folder>]

  <dir>             the folder to create (must not exist, or be empty)
  --name <name>     the Worker's name (default: the folder's name)
  --packs <folder>  depend on the Noema tarballs in <folder> (from \`npm run pack\` in the
                    Noema repository) instead of the registry
  -h, --help        print this help
`;

class UsageError extends Error {}

/** A Worker name: lower case letters, digits and dashes, as Cloudflare accepts. */
function workerName(raw: string): string {
  const name = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  if (!name) throw new UsageError(`cannot make a Worker name of "${raw}": pass --name`);
  return name;
}

/** file: specifiers for the Noema tarballs found in a folder, relative to the project. */
function packSpecifiers(packs: string, projectDir: string): Record<string, string> {
  const dir = resolve(packs);
  if (!existsSync(dir)) throw new UsageError(`no folder ${packs}`);
  const files = readdirSync(dir);
  const out: Record<string, string> = {};
  for (const pkg of NOEMA_PACKAGES) {
    const prefix = `${pkg.replace("@", "").replace("/", "-")}-`;
    const tarball = files.filter((f) => f.startsWith(prefix) && f.endsWith(".tgz") && /^\d/.test(f.slice(prefix.length))).sort().at(-1);
    if (!tarball) throw new UsageError(`no ${prefix}<version>.tgz in ${packs} (run \`npm run pack\` in the Noema repository)`);
    out[pkg] = `file:${relative(projectDir, join(dir, tarball)) || "."}`;
  }
  return out;
}

export function scaffold(dir: string, options: { name?: string; packs?: string } = {}): { dir: string; name: string; token: string } {
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new UsageError(`${dir} exists and is not empty`);
  const name = workerName(options.name ?? basename(target));
  const fromPacks = options.packs !== undefined ? packSpecifiers(options.packs, target) : {};
  const pin = (deps: Record<string, string>) => Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, fromPacks[k] ?? v]));

  cpSync(templateDir, target, { recursive: true });
  // npm leaves .gitignore out of tarballs, so the template carries it as _gitignore.
  renameSync(join(target, "_gitignore"), join(target, ".gitignore"));
  for (const file of ["wrangler.jsonc", "README.md"]) {
    const path = join(target, file);
    writeFileSync(path, readFileSync(path, "utf8").replaceAll("{{name}}", name));
  }
  const pkg = {
    name,
    version: "0.0.0",
    private: true,
    type: "module",
    engines: { node: `>=${NODE_MIN}` },
    scripts: {
      types: "wrangler types",
      postinstall: "wrangler types",
      // noema build reads the law's SQL with the parser and writes what the Worker derives Sieves
      // from (src/law.footprints.ts), so the Worker carries no parser: every way to run it rebuilds it.
      // Then the counter page into dist/assets/ (wrangler's static assets); the tests need only the law.
      build: "noema build && node scripts/build-page.mjs",
      start: "npm run build && wrangler dev",
      test: "noema build && vitest run",
      // The Worker and its tests (workerd), then the page (the browser's DOM).
      typecheck: "tsc && tsc -p page",
      deploy: "npm run build && wrangler deploy",
    },
    dependencies: pin(DEPENDENCIES),
    devDependencies: pin(DEV_DEPENDENCIES),
    // npm 11 runs a dependency's install script only when allowed: wrangler needs these two.
    allowScripts: { esbuild: true, workerd: true },
  };
  writeFileSync(join(target, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  // The /api routes' token for `wrangler dev` (gitignored); production's is `wrangler secret put NOEMA_API_TOKEN`.
  const token = randomBytes(24).toString("base64url");
  writeFileSync(join(target, ".dev.vars"), `NOEMA_API_TOKEN="${token}"\n`, { mode: 0o600 });
  return { dir: target, name, token };
}

/** A warning when this Node.js is older than the project needs: its `npm install` would fail in wrangler. */
function nodeWarning(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [minMajor = 0, minMinor = 0] = NODE_MIN.split(".").map(Number);
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return undefined;
  return `create-noema: warning: this is Node.js ${version}; the project needs Node.js ${NODE_MIN} or later (wrangler requires it): switch before npm install (nvm use reads .nvmrc)\n`;
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: "string" }, packs: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const [dir, ...extra] = positionals;
  if (dir === undefined) throw new UsageError("name the folder to create: npm create noema@latest my-app");
  if (extra.length > 0) throw new UsageError(`one folder, got ${positionals.length}`);
  const { dir: target, name, token } = scaffold(dir, {
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.packs !== undefined ? { packs: values.packs } : {}),
  });
  const cd = relative(process.cwd(), target) || ".";
  process.stdout.write(`Wrote ${name} to ${target} (API token for wrangler dev in .dev.vars: ${token})\n\n  cd ${cd}\n  npm install\n  npm start\n  npm test\n`);
  const warning = nodeWarning(process.versions.node);
  if (warning) process.stderr.write(warning);
}

// Run as a bin (npm links it, so compare real paths), not when imported by a test.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    // parseArgs reports an unknown option as a TypeError with a code.
    const usage = error instanceof UsageError || (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"));
    if (!usage) throw error;
    process.stderr.write(`create-noema: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
  }
}
