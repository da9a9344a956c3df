import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const cli = join(root, "packages/cli");
/** Node 22 first on the PATH, as npm scripts have it: the bin's `#!/usr/bin/env node` finds it. */
const env = { ...process.env, PATH: [dirname(process.execPath), process.env["PATH"]].join(delimiter) };

describe("the noema bin in this repository", () => {
  it("is a committed file outside dist/, so npm links it in a fresh clone before the build", () => {
    const { bin } = JSON.parse(readFileSync(join(cli, "package.json"), "utf8")) as { bin: { noema: string } };
    expect(bin.noema).toBe("./bin/noema.js");
    const shim = readFileSync(join(cli, bin.noema), "utf8");
    expect(shim.startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(shim).toContain('import "../dist/main.js";');
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { bin?: Record<string, string> }> };
    expect(lock.packages["packages/cli"]?.bin).toStrictEqual({ noema: "bin/noema.js" });
  });

  it("node_modules/.bin/noema runs the CLI, and so does npx --no-install noema", () => {
    const link = join(root, "node_modules/.bin/noema");
    expect(existsSync(link)).toBe(true);
    const linked = spawnSync(link, ["--help"], { cwd: root, env, encoding: "utf8" });
    expect(linked.stderr).toBe("");
    expect(linked.status).toBe(0);
    expect(linked.stdout).toMatch(/^Usage: noema /m);
    const npx = spawnSync("npx", ["--no-install", "noema", "check", "--help"], { cwd: root, env, encoding: "utf8" });
    expect(npx.status, npx.stderr).toBe(0);
    expect(npx.stdout).toContain("noema check");
  });
});
