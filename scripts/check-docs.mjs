// The docs are tested: every TypeScript block of the README, docs/ and the packages' READMEs is
// type-checked against the built packages (as doctests are run), and every relative link and
// anchor resolves. `npm run check-docs`; CI runs it after the build.
//
// How blocks become modules, per Markdown file:
// - a block whose first line is `// some/path.ts` is that file of the page's project (later
//   blocks import it as `./some/path.js`);
// - any other block is a module of its own that sees, without writing the import, every name
//   the page's file blocks export (a snippet that uses `counterLaw` gets it from `src/law.ts`),
//   and every name an earlier block of the page imported (a page shows its imports once, as a
//   doctest shares its setup);
// - a snippet may import the reference app by package name (`@noema/inventory/src/law.js`).
// Every page's project starts as the scaffold's (`packages/create-noema/template/src`, what
// `npm create noema` writes): its file blocks replace or add files, so `./law.js` is the counter
// law unless the page shows its own. `Env` binds `COUNTER` to the scaffold's `CounterAttractor` and
// anything else loosely, unless the page has a `worker-configuration.d.ts` block of its own.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const out = join(root, ".doc-check");
const LANGS = new Set(["ts", "tsx", "typescript"]);
const FILE_HEADER = /^\/\/ ([\w./-]+\.tsx?)\s*$/;

/** The Markdown files that users read: the front page, docs/ and each package's README. */
function pages() {
  const found = ["README.md"];
  const walk = (dir) => {
    for (const name of readdirSync(join(root, dir))) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith(".md")) found.push(path);
    }
  };
  if (existsSync(join(root, "docs"))) walk("docs");
  for (const dir of ["packages", "apps"]) {
    for (const name of readdirSync(join(root, dir))) {
      for (const readme of [join(dir, name, "README.md"), join(dir, name, "template", "README.md")]) {
        if (existsSync(join(root, readme))) found.push(readme);
      }
    }
  }
  return found;
}

/** Fenced blocks with their language and the line they start on. */
function blocks(text) {
  const result = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(fence); j++) body.push(lines[j].slice(indent.length));
    result.push({ lang, line: i + 1, code: body.join("\n") });
    i = j;
  }
  return result;
}

/** GitHub's anchor for a heading. */
const slug = (heading) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]*>/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");

function anchorsOf(text) {
  const seen = new Map();
  const anchors = new Set();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) fenced = !fenced;
    const h = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const problems = [];
const COUNTER = 'DurableObjectNamespace<import("../../packages/create-noema/template/src/attractor.js").CounterAttractor>';

function checkLinks(page, text) {
  const withoutCode = text.replace(/^(\s*)(`{3,}|~{3,})[\s\S]*?^\1\2/gm, "").replace(/`[^`\n]*`/g, "");
  for (const [, target] of withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [path, anchor] = target.split("#");
    const file = path ? resolve(root, dirname(page), decodeURIComponent(path)) : join(root, page);
    if (!existsSync(file)) {
      problems.push(`${page}: link to ${target}: no such file`);
      continue;
    }
    if (anchor && file.endsWith(".md") && !anchorsOf(readFileSync(file, "utf8")).has(anchor)) {
      problems.push(`${page}: link to ${target}: no heading with that anchor`);
    }
  }
}

const exportedNames = (code) => [
  ...code.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:const|let|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm),
].map((m) => m[1]);
/** Each name an import statement binds, as an import of that name alone (relative specifiers
 * made relative to the page's root, where snippets live). */
function importsOf(code, from) {
  const found = [];
  for (const [, typeOnly, clause, spec] of code.matchAll(/^import\s+(type\s+)?([\w$*{][^;]*?)\s+from\s+["']([^"']+)["'];?/gm)) {
    const source = spec.startsWith(".") ? `./${join(dirname(from), spec)}` : spec;
    const kw = typeOnly ? "import type" : "import";
    const braces = /\{([^}]*)\}/.exec(clause);
    const rest = clause.replace(/\{[^}]*\}/, "").replace(/,/g, " ").trim();
    const star = /^\*\s+as\s+([\w$]+)$/.exec(rest);
    if (star) found.push({ name: star[1], line: `${kw} * as ${star[1]} from "${source}";` });
    else if (rest) found.push({ name: rest, line: `${kw} ${rest} from "${source}";` });
    for (const part of braces ? braces[1].split(",") : []) {
      const m = /^\s*(type\s+)?([\w$]+)(?:\s+as\s+([\w$]+))?\s*$/.exec(part);
      if (m) found.push({ name: m[3] ?? m[2], line: `${kw} { ${m[1] ?? ""}${m[2]}${m[3] ? ` as ${m[3]}` : ""} } from "${source}";` });
    }
  }
  return found;
}
const declares = (code, name) =>
  new RegExp(`(?:\\b(?:const|let|var|function\\*?|class|interface|type|enum)\\s+${name}\\b)|(?:import[^;]*\\b${name}\\b[^;]*from)`).test(code);

// The README is the front page: what Noema is, an example, install, the glossary, links. The rest
// belongs on a page of docs/.
const README_MAX_LINES = 250;
const readmeLines = readFileSync(join(root, "README.md"), "utf8").trimEnd().split("\n").length;
if (readmeLines > README_MAX_LINES) problems.push(`README.md: ${readmeLines} lines, over the front page's ${README_MAX_LINES}: move a section to docs/`);

rmSync(out, { recursive: true, force: true });
let count = 0;
for (const page of pages()) {
  const text = readFileSync(join(root, page), "utf8");
  checkLinks(page, text);
  const dir = join(out, page.replace(/\.md$/, "").replace(/[^\w]+/g, "_"));
  const files = [];
  const snippets = [];
  const imported = [];
  for (const block of blocks(text)) {
    if (!LANGS.has(block.lang)) continue;
    count++;
    const header = FILE_HEADER.exec(block.code.split("\n", 1)[0]);
    if (header) files.push({ path: header[1], code: block.code, line: block.line });
    else snippets.push({ ...block, earlier: [...imported] });
    imported.push(...importsOf(block.code, header ? header[1] : "x.ts"));
  }
  if (files.length === 0 && snippets.length === 0) continue;
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "packages/create-noema/template/src"), join(dir, "src"), { recursive: true });
  const exported = files.flatMap((f) => exportedNames(f.code).map((name) => ({ name, from: f.path })));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), `// ${page}:${f.line}\n${f.code}\n`);
  }
  for (const s of snippets) {
    const imports = exported
      .filter(({ name }) => new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`).test(s.code) && !declares(s.code, name))
      .map(({ name, from }) => `import { ${name} } from "./${from.replace(/\.tsx?$/, ".js")}";`);
    const provided = new Set(exported.map((e) => e.name));
    for (const { name, line } of s.earlier) {
      if (provided.has(name) || declares(s.code, name) || !new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`).test(s.code)) continue;
      provided.add(name);
      imports.push(line);
    }
    // A line of its own for the imports, so the block's own lines keep their numbers after it.
    writeFileSync(join(dir, `line-${s.line}.${s.lang === "tsx" ? "tsx" : "ts"}`), `${imports.join(" ")}\n${s.code}\nexport {};\n`);
  }
  if (!files.some((f) => f.path.endsWith("worker-configuration.d.ts"))) {
    // Bindings are the page's own business: any namespace will do for the Noema calls it shows.
    writeFileSync(join(dir, "env.d.ts"), [
        "/* eslint-disable @typescript-eslint/no-explicit-any */",
        // One declaration for every page (global interfaces merge): the scaffold's own class.
        `interface Env { [binding: string]: any; COUNTER: ${COUNTER} }`,
        `declare namespace Cloudflare { interface Env { [binding: string]: any; COUNTER: ${COUNTER} } interface Exports { [name: string]: any } }`,
        "",
      ].join("\n"));
  }
}

mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify(
    {
      extends: "../tsconfig.base.json",
      compilerOptions: {
        types: ["@cloudflare/workers-types", "@cloudflare/vitest-plugin/types"],
        jsx: "react-jsx",
        jsxImportSource: "hono/jsx",
        noPropertyAccessFromIndexSignature: false,
      },
      include: ["**/*.ts", "**/*.tsx"],
    },
    null,
    2,
  ),
);
try {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(out, "tsconfig.json")], { cwd: root, stdio: "pipe" });
} catch (error) {
  // tsc's paths point into .doc-check; name the Markdown page and line instead.
  for (const line of String(error.stdout).split("\n").filter((l) => /error TS/.test(l))) {
    const m = /^\.doc-check\/([^(]+)\((\d+),(\d+)\): (.*)$/.exec(line.trim());
    if (!m) {
      problems.push(line.trim());
      continue;
    }
    const [, file, row, , message] = m;
    const source = readFileSync(join(out, file), "utf8");
    const at = /^\/\/ (.+):(\d+)$/.exec(source.split("\n", 1)[0]);
    const snippet = /line-(\d+)\.tsx?$/.exec(file);
    const page = at?.[1] ?? pages().find((p) => file.startsWith(p.replace(/\.md$/, "").replace(/[^\w]+/g, "_") + "/"));
    // The file's line 1 is the header (or the imports): the block's first line is the fence + 1.
    const start = Number(at?.[2] ?? snippet?.[1] ?? 0);
    problems.push(`${page ?? file}:${start + Number(row) - 1}: ${message}`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`check-docs: ${problems.length} problem(s) in the docs`);
  process.exit(1);
}
console.log(`check-docs: ${count} TypeScript blocks type-check, every relative link resolves`);
rmSync(out, { recursive: true, force: true });
