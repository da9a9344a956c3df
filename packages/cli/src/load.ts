import { mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { lineage, type Lineage, type Vocabulary } from "@noema/core";
import { build, type Plugin } from "esbuild";
import { CliError } from "./errors.js";

export const isVocabulary = (x: unknown): x is Vocabulary =>
  typeof x === "object" && x !== null && "operations" in x && "nomos" in x && typeof (x as Vocabulary).nomos?.hash === "string";
export const isLineage = (x: unknown): x is Lineage =>
  typeof x === "object" && x !== null && Array.isArray((x as Lineage).versions) && typeof (x as Lineage).connect === "function";

/** The nearest folder holding node_modules: the bundle is written there so its bare imports resolve as the law's do. */
function cacheDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (exists(join(dir, "node_modules"))) return join(dir, "node_modules", ".cache", "noema");
    if (dirname(dir) === dir) return from;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

let loads = 0;

/**
 * The footprints `noema build` generates next to a law are left out: the CLI reads the SQL with
 * the parser, and a missing or stale file must not stop `noema build` from writing it afresh.
 */
const withoutGeneratedFootprints: Plugin = {
  name: "noema-without-generated-footprints",
  setup(b) {
    b.onResolve({ filter: /^\.{1,2}\/.*\.footprints(\.[jt]s)?$/ }, (a) => ({ path: a.path, namespace: "noema-footprints" }));
    b.onLoad({ filter: /.*/, namespace: "noema-footprints" }, () => ({ contents: "", loader: "js" }));
  },
};

/**
 * Imports a module written in TypeScript (or JavaScript) and returns its exports: esbuild bundles
 * the user's own files, leaving packages (@noema/core, zod) to Node, so the module uses the
 * project's installed core. Every command loads through here: `noema check` reads a check
 * definition from the exports, the others a law.
 */
export async function loadModule(modulePath: string): Promise<Record<string, unknown>> {
  const file = resolve(modulePath);
  if (!exists(file)) throw new CliError(`no law module at ${modulePath} (pass --law <module>)`);
  const outDir = cacheDir(dirname(file));
  mkdirSync(outDir, { recursive: true });
  // A fresh name per load: ES modules are cached by URL, and a process may load several modules (or one twice).
  const outfile = join(outDir, `law-${process.pid}-${Date.now()}-${loads++}.mjs`);
  try {
    await build({ entryPoints: [file], outfile, bundle: true, packages: "external", platform: "node", format: "esm", target: "node22", logLevel: "silent", plugins: [withoutGeneratedFootprints] });
    return (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors?.[0];
    const detail = first ? `${first.location ? `${first.location.file}:${first.location.line}: ` : ""}${first.text}` : error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot load ${modulePath}: ${detail.split("\n")[0]}`);
  } finally {
    rmSync(outfile, { force: true });
  }
}

/** Loads the law a module exports (see loadModule): a Lineage, or a Vocabulary made a one-version Lineage. */
export async function loadLaw(modulePath: string, exportName?: string): Promise<{ law: Lineage; name: string }> {
  return pick(await loadModule(modulePath), modulePath, exportName);
}

function pick(exports: Record<string, unknown>, modulePath: string, exportName: string | undefined): { law: Lineage; name: string } {
  const asLaw = (name: string, value: unknown) => {
    if (isLineage(value)) return { law: value, name };
    if (isVocabulary(value)) return { law: lineage(value), name };
    return undefined;
  };
  if (exportName !== undefined) {
    const found = asLaw(exportName, exports[exportName]);
    if (!found) throw new CliError(`${modulePath} has no export "${exportName}" that is a Lineage or a Vocabulary`);
    return found;
  }
  const laws = Object.entries(exports).flatMap(([name, value]) => asLaw(name, value) ?? []);
  // A module that exports a lineage usually exports its versions' vocabularies too: the lineage is the law.
  const lineages = laws.filter((l) => isLineage(exports[l.name]));
  const candidates = lineages.length > 0 ? lineages : laws;
  const preferred = candidates.find((l) => l.name === "default" || l.name === "law");
  if (preferred) return preferred;
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw new CliError(`${modulePath} exports no law (a Lineage from lineage() or a Vocabulary from defineVocabulary())`);
  throw new CliError(`${modulePath} exports several laws (${candidates.map((l) => l.name).join(", ")}): pick one with --export <name>`);
}
