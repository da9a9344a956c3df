import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const own = JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string };

function createNoema(cwd: string, ...args: string[]) {
  return createNoemaOn(process.versions.node, cwd, ...args);
}

/** Runs create-noema as if on Node.js `version` (process.versions.node is set before it starts). */
function createNoemaOn(version: string, cwd: string, ...args: string[]) {
  const preload = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:${JSON.stringify(version)}})`;
  const r = spawnSync(process.execPath, ["--import", preload, BIN, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))]))
    .sort();
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

describe("create-noema", () => {
  it("writes a complete Worker project named after its folder, depending on the registry", () => {
    const cwd = mkdtempSync(join(tmpdir(), "create-noema-"));
    const r = createNoema(cwd, "My App");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cd My App");
    const dir = join(cwd, "My App");
    expect(files(dir)).toStrictEqual([
      ".dev.vars",
      ".gitignore",
      ".nvmrc",
      "README.md",
      "package.json",
      "page/index.html",
      "page/main.ts",
      "page/tsconfig.json",
      "scripts/build-page.mjs",
      "src/attractor.ts",
      "src/index.ts",
      "src/law.footprints.ts",
      "src/law.ts",
      "src/secrets.d.ts",
      "test/counter.test.ts",
      "tsconfig.json",
      "vitest.config.mts",
      "wrangler.jsonc",
    ]);
    expect(read(dir, ".nvmrc").trim()).toBe("22");
    expect(read(dir, ".gitignore")).toContain("worker-configuration.d.ts");
    expect(read(dir, ".gitignore")).toContain(".dev.vars");
    expect(read(dir, ".dev.vars")).toMatch(/^NOEMA_API_TOKEN="[\w-]{32}"\n$/);
    expect(read(dir, "wrangler.jsonc")).toContain('"name": "my-app"');
    expect(read(dir, "wrangler.jsonc")).toMatch(/"new_sqlite_classes": \["CounterAttractor"\]/);
    expect(read(dir, "README.md").split("\n")[0]).toBe("# my-app");
    expect(read(dir, "src/attractor.ts")).toContain("extends Attractor.of(counterLaw)<Env>");
    expect(read(dir, "vitest.config.mts")).toContain('cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" }');

    const tsconfig = read(dir, "tsconfig.json");
    for (const flag of ['"moduleResolution": "bundler"', '"strict": true', '"exactOptionalPropertyTypes": true', '"noUncheckedIndexedAccess": true', '"noPropertyAccessFromIndexSignature": true']) {
      expect(tsconfig).toContain(flag);
    }

    const pkg = JSON.parse(read(dir, "package.json"));
    expect(pkg.name).toBe("my-app");
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(["build", "start", "test", "typecheck", "deploy", "types", "postinstall"]));
    expect(pkg.scripts.types).toBe("wrangler types");
    // The Worker carries no SQL parser: every way to run it first writes the law's footprints with the CLI;
    // what serves the counter page (dev, deploy) builds it too, into the assets folder wrangler serves.
    expect(pkg.scripts.build).toBe("noema build && node scripts/build-page.mjs");
    for (const script of ["start", "deploy"]) expect(pkg.scripts[script]).toMatch(/^npm run build && /);
    expect(pkg.scripts.test).toMatch(/^noema build && /);
    expect(pkg.scripts.typecheck).toBe("tsc && tsc -p page");
    expect(read(dir, "wrangler.jsonc")).toContain('"assets": { "directory": "./dist/assets" }');
    expect(read(dir, ".gitignore")).toContain("dist/");
    expect(read(dir, "src/law.ts")).toMatch(/^(\/\/[^\n]*\n)*import "\.\/law\.footprints\.js";/);
    const range = `^${own.version}`;
    expect(pkg.dependencies).toStrictEqual({ "@noema/client": range, "@noema/cloudflare": range, "@noema/core": range, hono: "^4.10.0", zod: "^4.1.0" });
    expect(pkg.devDependencies).toMatchObject({ "@noema/cli": range, esbuild: "0.28.2", wrangler: "4.156.2", "@cloudflare/vitest-plugin": "1.5.0", vitest: "^5.1.1", typescript: "~6.0.3" });
    // The page's esbuild is the one the pinned wrangler bundles with, so that npm installs one.
    const wrangler = JSON.parse(readFileSync(fileURLToPath(new URL("../../../node_modules/wrangler/package.json", import.meta.url)), "utf8"));
    expect(wrangler.version).toBe(pkg.devDependencies.wrangler);
    expect(pkg.devDependencies.esbuild).toBe(wrangler.dependencies.esbuild);
    // wrangler needs Node.js 22.12: the project says so, and so does its README.
    expect(pkg.engines).toStrictEqual({ node: ">=22.12" });
    expect(read(dir, "README.md")).toContain("Node.js 22.12 or later");
    expect(r.stderr).toBe("");
  });

  it("warns, and still writes the project, when Node.js is older than 22.12", () => {
    const cwd = mkdtempSync(join(tmpdir(), "create-noema-"));
    for (const [version, warned] of [["20.18.0", true], ["22.11.0", true], ["22.12.0", false], ["24.1.0", false]] as const) {
      const r = createNoemaOn(version, cwd, `app-${version}`);
      expect(r.code).toBe(0);
      expect(files(join(cwd, `app-${version}`))).toContain("package.json");
      if (warned) expect(r.stderr).toBe(`create-noema: warning: this is Node.js ${version}; the project needs Node.js 22.12 or later (wrangler requires it): switch before npm install (nvm use reads .nvmrc)\n`);
      else expect(r.stderr).toBe("");
    }
  });

  it("the repository's README says what Node.js wrangler needs, as the scaffold's engines do", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
    const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("```sh", readme.indexOf("## Quick start")));
    expect(quickStart).toContain("wrangler needs\nNode.js 22.12 or later");
    expect(quickStart).toContain("`npm create noema` needs Node.js 22.12 or later");
    expect(quickStart).not.toMatch(/Node\.js 20 or later and npm;/);
  });

  it("the project's test uses the testing kit and no deprecated API of the vitest plugin", () => {
    const test = readFileSync(fileURLToPath(new URL("../template/test/counter.test.ts", import.meta.url)), "utf8");
    expect(test).toContain('from "@noema/cloudflare/testing"');
    expect(test).toMatch(/testWorld\(env\.COUNTER, /);
    // SELF and env of cloudflare:test are deprecated for exports and env of cloudflare:workers.
    expect(test).not.toMatch(/\bSELF\b/);
    expect(test).not.toContain('"cloudflare:test"');
  });

  it("depends on the tarballs of a folder with --packs, by relative file: paths", () => {
    const cwd = mkdtempSync(join(tmpdir(), "create-noema-"));
    const packs = join(cwd, "packs");
    mkdirSync(packs);
    for (const name of ["noema-core", "noema-cloudflare", "noema-client", "noema-cli", "create-noema"]) writeFileSync(join(packs, `${name}-${own.version}.tgz`), "");
    const r = createNoema(cwd, "app", "--packs", packs, "--name", "ledger");
    expect(r.code).toBe(0);
    const dir = join(cwd, "app");
    const pkg = JSON.parse(read(dir, "package.json"));
    expect(pkg.name).toBe("ledger");
    expect(read(dir, "wrangler.jsonc")).toContain('"name": "ledger"');
    expect(pkg.dependencies["@noema/core"]).toBe(`file:../packs/noema-core-${own.version}.tgz`);
    expect(pkg.dependencies["@noema/cloudflare"]).toBe(`file:../packs/noema-cloudflare-${own.version}.tgz`);
    expect(pkg.dependencies["@noema/client"]).toBe(`file:../packs/noema-client-${own.version}.tgz`);
    expect(pkg.devDependencies["@noema/cli"]).toBe(`file:../packs/noema-cli-${own.version}.tgz`);
  });

  it("refuses, with one line and exit 2, a folder in use, missing tarballs or no folder", () => {
    const cwd = mkdtempSync(join(tmpdir(), "create-noema-"));
    mkdirSync(join(cwd, "taken"));
    writeFileSync(join(cwd, "taken", "x"), "");
    for (const [args, message] of [
      [["taken"], /taken exists and is not empty/],
      [["app", "--packs", cwd], /no noema-core-<version>\.tgz in/],
      [[], /name the folder to create/],
      [["app", "--frob"], /--frob/],
    ] as const) {
      const r = createNoema(cwd, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it("documents its options with --help", () => {
    const r = createNoema(tmpdir(), "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--packs <folder>");
    expect(r.stdout).toContain("--name <name>");
  });
});
