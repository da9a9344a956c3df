// Writes docs/reference/api.md from the packages' entry points: every export, one line each, with
// the first sentence of its doc comment. `node scripts/api-reference.mjs` after changing an export
// list; packages/cli/test/docs-reference.test.ts fails while the page and the exports differ.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Each published entry point and the source file that defines it. */
export const ENTRY_POINTS = [
  { name: "@noema/core", file: "packages/core/src/index.ts", what: "writing a law: define a Nomos, a Vocabulary or a Lineage, build and explain Intents, and the types of Seals, Reasons and limits" },
  { name: "@noema/core/runtime", file: "packages/core/src/runtime.ts", what: "what a host needs to run a law: the Sedimenter and what constructing and driving it takes, the host ports, the hashing hook" },
  { name: "@noema/core/sql", file: "packages/core/src/sql.ts", what: "the SQL parser, for the CLI, tests and scripts (a Worker carries what `noema build` derived)" },
  { name: "@noema/core/check", file: "packages/core/src/check.ts", what: "the model checker behind `noema check`" },
  { name: "@noema/core/sync", file: "packages/core/src/sync.ts", what: "the sync protocol: frames, close codes and their validators, shared by server and client" },
  { name: "@noema/core/escrow", file: "packages/core/src/escrow/index.ts", what: "hot Worlds: the escrow law of a quantity split across shards, and `splittable`" },
  { name: "@noema/client", file: "packages/client/src/index.ts", what: "the sync client: a live, optimistic, offline replica of one World" },
  { name: "@noema/client/node", file: "packages/client/src/node.ts", what: "the client's replica database and send queue on node:sqlite" },
  { name: "@noema/client/browser", file: "packages/client/src/browser.ts", what: "the client's replica database on sqlite-wasm and send queue in IndexedDB" },
  { name: "@noema/client/react", file: "packages/client/src/react.ts", what: "the client's React hooks" },
  { name: "@noema/cloudflare", file: "packages/cloudflare/src/index.ts", what: "the Attractor Durable Object base class and the types its RPC methods answer with" },
  { name: "@noema/cloudflare/archive", file: "packages/cloudflare/src/archive.ts", what: "history archived to R2: `archive()`, the value of an Attractor's `static archive`" },
  { name: "@noema/cloudflare/escrow", file: "packages/cloudflare/src/escrow.ts", what: "hot Worlds: the EscrowAttractor (a coordinator and its shards) and shard routing" },
  { name: "@noema/cloudflare/http", file: "packages/cloudflare/src/http/index.ts", what: "the Hono layer: routes, auth, input checks, the error envelope" },
  { name: "@noema/cloudflare/testing", file: "packages/cloudflare/src/testing/index.ts", what: "the testing kit for workerd tests" },
  { name: "@noema/inspector", file: "packages/inspector/src/index.ts", what: "the inspector's pages, mounted on a Worker's Hono app" },
];

/** The exports of each entry point as TypeScript sees them: name, kind and the doc comment's first sentence. */
export function entryExports() {
  const files = ENTRY_POINTS.map((e) => join(root, e.file));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    jsx: ts.JsxEmit.ReactJSX,
    jsxImportSource: "hono/jsx",
    types: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return ENTRY_POINTS.map((entry, i) => {
    const module = checker.getSymbolAtLocation(program.getSourceFile(files[i]));
    const exports = checker.getExportsOfModule(module).map((e) => {
      const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      const kind =
        target.flags & ts.SymbolFlags.Class ? "class"
        : target.flags & ts.SymbolFlags.Function ? "function"
        : target.flags & ts.SymbolFlags.Value ? "const"
        : "type";
      // A deprecated name shows what replaces it (its @deprecated text) instead of its description.
      const deprecated = target.getJsDocTags(checker).find((t) => t.name === "deprecated");
      const doc = ts.displayPartsToString(deprecated ? deprecated.text : target.getDocumentationComment(checker)).replace(/\s+/g, " ").trim();
      // The first sentence, or what comes before the first colon or semicolon that ends a clause.
      const first = (/^(.*?)[.:;](\s|$)/.exec(doc)?.[1] ?? doc).trim();
      return { name: e.name, kind, doc: first ? `${deprecated ? "Deprecated: " : ""}${first}.` : "", deprecated: Boolean(deprecated) };
    });
    exports.sort((a, b) => (a.name.toLowerCase() === b.name.toLowerCase() ? (a.name < b.name ? -1 : 1) : a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
    return { ...entry, exports };
  });
}

export function render() {
  const lines = [
    "# API reference",
    "",
    "Every export of every entry point, one line each: its kind and the first sentence of its doc",
    "comment (the `.d.ts` of each package has the whole comment and the signature). Generated by",
    "`node scripts/api-reference.mjs` from the entry points' sources; `packages/cli/test/docs-reference.test.ts`",
    "fails when this page and the exports differ. The concepts behind the names are in `docs/concepts/`.",
    "",
    "`@noema/core/internal` is not listed: it holds what the tests of the other packages and the",
    "benchmark reach inside the core, and is **not part of the public API**: any release may change",
    "or remove it. Import the entry points below.",
    "",
  ];
  for (const entry of entryExports()) {
    lines.push(`## \`${entry.name}\``, "", `${entry.what[0].toUpperCase()}${entry.what.slice(1)} (\`${entry.file}\`).`, "");
    for (const e of entry.exports) lines.push(`- \`${e.name}\` (${e.kind})${e.doc ? `: ${e.doc}` : ""}`);
    lines.push("");
  }
  return lines.join("\n");
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  writeFileSync(join(root, "docs/reference/api.md"), render());
}
