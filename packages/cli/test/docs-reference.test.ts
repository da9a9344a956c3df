import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as core from "@noema/core";
import * as internal from "@noema/core/internal";
import * as runtime from "@noema/core/runtime";
import { describe, expect, it } from "vitest";
import { entryExports, ENTRY_POINTS as GENERATED } from "../../../scripts/api-reference.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const page = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");

/** The entry points docs/reference/api.md documents, and their sources: the generator's list, its one home. */
const ENTRY_POINTS: Record<string, string> = Object.fromEntries(GENERATED.map((e) => [e.name, e.file]));

/** Every name each entry point exports, sorted, as TypeScript sees them (the generator's reading, its one home). */
function exported(): Record<string, string[]> {
  return Object.fromEntries(entryExports().map((e) => [e.name, e.exports.map((x) => x.name).sort()]));
}

/** The names each `## \`entry\`` section of the page lists as `- \`name\``. */
function listed(text: string): Record<string, string[]> {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    const heading = /^## `([^`]+)`$/.exec(line);
    if (heading) sections[heading[1]!] = current = [];
    const item = /^- `([\w$]+)` \((?:class|function|const|type)\)/.exec(line);
    if (item) current?.push(item[1]!);
  }
  return Object.fromEntries(Object.entries(sections).map(([k, v]) => [k, v.sort()]));
}

describe("docs/reference/api.md", () => {
  it("documents every entry point a published package exports (all but ./internal and ./package.json)", () => {
    const published = ["core", "cloudflare", "inspector", "client"].flatMap((dir) => {
      const pkg = JSON.parse(page(`packages/${dir}/package.json`)) as { name: string; exports: Record<string, unknown> };
      return Object.keys(pkg.exports)
        .filter((path) => path !== "./internal" && path !== "./package.json")
        .map((path) => (path === "." ? pkg.name : `${pkg.name}${path.slice(1)}`));
    });
    expect(Object.keys(ENTRY_POINTS).sort()).toStrictEqual(published.sort());
  });

  it("lists exactly what each entry point exports, one line each (node scripts/api-reference.mjs)", () => {
    expect(listed(page("docs/reference/api.md"))).toStrictEqual(exported());
  }, 60_000);

  it("says what each export is for: every name has a doc comment", () => {
    const bare = page("docs/reference/api.md")
      .split(/^## /m)
      .flatMap((section) => section.split("\n").filter((line) => /^- `[\w$]+` \((?:class|function|const|type)\)$/.test(line)));
    expect(bare).toStrictEqual([]);
  });
});

describe("docs/reference/limits.md", () => {
  it("gives each constant, and each of DEFAULT_LIMITS, the value the packages have", () => {
    const constants: Record<string, unknown> = { ...internal, ...core, ...runtime };
    const rows = [...page("docs/reference/limits.md").matchAll(/^\| `([A-Z_]+)(?:\.(\w+))?` \| (\d+) \|/gm)];
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((r) => r[1] === "DEFAULT_LIMITS").map((r) => r[2]).sort()).toStrictEqual(Object.keys(core.DEFAULT_LIMITS).sort());
    for (const [, name, field, value] of rows) {
      const actual = field === undefined ? constants[name!] : (constants[name!] as Record<string, unknown>)[field];
      expect([name, field, actual]).toStrictEqual([name, field, Number(value)]);
    }
  });
});

describe("docs/reference/storage.md", () => {
  it("describes every internal table the packages create", () => {
    const sources = [...readdirSync(`${ROOT}packages`, { recursive: true, encoding: "utf8" })]
      .filter((f) => /^(core|cloudflare)\/src\/.*\.tsx?$/.test(f))
      .map((f) => readFileSync(`${ROOT}packages/${f}`, "utf8"))
      .join("\n");
    const created = new Set([...sources.matchAll(/CREATE TABLE IF NOT EXISTS (_noema_\w+)/g)].map((m) => m[1]!));
    expect(created.size).toBeGreaterThan(10);
    const described = new Set([...page("docs/reference/storage.md").matchAll(/^\| `(_noema_\w+)` \|/gm)].map((m) => m[1]!));
    expect([...created].filter((t) => !described.has(t))).toStrictEqual([]);
  });
});
