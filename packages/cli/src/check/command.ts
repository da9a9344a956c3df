// `noema check`: explores a law's reachable states on an in-memory SQLite and reports each check.
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { check, type CheckDefinition, type CheckReport, CheckSetupError, DEFAULT_DEPTH, DEFAULT_START, formatReport, MAX_DEPTH } from "@noema/core/check";
import { CliError, EXIT_USAGE, usageError } from "../errors.js";
import { loadModule } from "../load.js";
import { BINDING_NAME, emittable, emitTest } from "./emit.js";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export { EXIT_USAGE };

const DEFAULT_MODULE = "src/check.ts";
const MAX_WALKS = 1_000_000;
const MAX_WALK_LENGTH = 1000;
/** Quick runs stay quiet: progress lines start once a run has taken this long. */
const PROGRESS_AFTER_MS = 2000;

export const CHECK_HELP = `noema check: explore every sequence of Intents up to a depth and check the law's properties

Usage: noema check [--law <module>] [--depth k] [--property name]... [--walks n] [--json]
                   [--emit-test <file> --binding <name>]

  --law <module>     a module exporting a check definition ({ law, actions, properties, liveness })
                     as "check" or default, or just a law (Lineage or Vocabulary) (default: ${DEFAULT_MODULE})
  --export <name>    which export, when the module exports several
  --depth <k>        actions from the empty state, 1..${MAX_DEPTH} (default: ${DEFAULT_DEPTH})
  --property <name>  only this check (repeatable): a property's name, or replay, migration,
                     reforge, cryostasis, guards
  --max-states <n>   stop each version's exploration after n distinct states
  --walks <n>        then n random walks from the empty state, checking the safety properties
                     past the depth (unexhaustive; a failure is shrunk by dropping steps)
  --walk-length <n>  moves per walk (default: 3 × depth)
  --seed <n>         seed of the walks (default: 1); the same seed walks the same paths
  --json             print the report as JSON
  --emit-test <file> write the shortest failed check as a vitest test for workerd that imports the
                     law module, builds its Intents with the definition's actions against the law
                     under test (@noema/cloudflare/testing) and asserts the property: it fails
                     while the law has the fault and passes once it is fixed
  --binding <name>   the Attractor's Durable Object binding in the test Worker (with --emit-test)

The module is bundled without type-checking it: run tsc --noEmit for that.
Properties are SQL that returns the rows breaking them; :now in one is the checker's clock.
Progress goes to stderr once a run takes more than ${PROGRESS_AFTER_MS / 1000} s. Reference: docs/check.md.
Exit codes: 0 every check holds, 1 a check failed (counterexamples printed), 2 bad input.
`;

const out = (text: string) => void process.stdout.write(text);
const err = (text: string) => void process.stderr.write(text);

const isLaw = (x: unknown): boolean =>
  typeof x === "object" && x !== null && (("operations" in x && "nomos" in x) || ("versions" in x && "evolutions" in x));
const isDefinition = (x: unknown): x is CheckDefinition => typeof x === "object" && x !== null && "law" in x && isLaw((x as CheckDefinition).law);

/** A module's check definition, the export it came from, and whether that export is a definition or a bare law. */
interface Loaded {
  definition: CheckDefinition;
  exportName: string;
  isDefinition: boolean;
}

/** The check definition a module exports: `check`, `default`, the only definition, or else its law with derived actions. */
function definitionOf(exports: Record<string, unknown>, module: string, name: string | undefined): Loaded {
  if (name !== undefined) {
    const value = exports[name];
    if (isDefinition(value)) return { definition: value, exportName: name, isDefinition: true };
    if (isLaw(value)) return { definition: { law: value as CheckDefinition["law"] }, exportName: name, isDefinition: false };
    throw new CliError(`${module} has no export "${name}" that is a check definition or a law`);
  }
  const definitions = Object.entries(exports).filter(([, v]) => isDefinition(v));
  const preferred = definitions.find(([k]) => k === "check" || k === "default") ?? (definitions.length === 1 ? definitions[0] : undefined);
  if (preferred) return { definition: preferred[1] as CheckDefinition, exportName: preferred[0], isDefinition: true };
  if (definitions.length > 1) throw new CliError(`${module} exports several check definitions (${definitions.map(([k]) => k).join(", ")}): pick one with --export`);
  const laws = Object.entries(exports).filter(([, v]) => isLaw(v));
  const lineages = laws.filter(([, v]) => typeof v === "object" && v !== null && "versions" in v);
  const candidates = lineages.length ? lineages : laws;
  const law = candidates.find(([k]) => k === "law" || k === "default") ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (law) return { definition: { law: law[1] as CheckDefinition["law"] }, exportName: law[0], isDefinition: false };
  if (candidates.length === 0) throw new CliError(`${module} exports no law and no check definition`);
  throw new CliError(`${module} exports several laws (${candidates.map(([k]) => k).join(", ")}): pick one with --export`);
}

function whole(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return Number(value);
}

/** Runs `noema check` with the arguments after `check`; returns the exit code. */
export async function runCheck(argv: readonly string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: {
          law: { type: "string", default: DEFAULT_MODULE },
          export: { type: "string" },
          depth: { type: "string" },
          property: { type: "string", multiple: true },
          "max-states": { type: "string" },
          walks: { type: "string" },
          "walk-length": { type: "string" },
          seed: { type: "string" },
          json: { type: "boolean", default: false },
          "emit-test": { type: "string" },
          binding: { type: "string" },
          help: { type: "boolean", short: "h", default: false },
        },
      });
    } catch (error) {
      throw new CliError(error instanceof Error ? error.message : String(error));
    }
    const { values } = parsed;
    if (values.help) {
      out(CHECK_HELP);
      return EXIT_OK;
    }
    const depth = whole("depth", values.depth, 1, MAX_DEPTH) ?? DEFAULT_DEPTH;
    const maxStates = whole("max-states", values["max-states"], 1, Number.MAX_SAFE_INTEGER);
    const walks = whole("walks", values.walks, 0, MAX_WALKS);
    const walkLength = whole("walk-length", values["walk-length"], 1, MAX_WALK_LENGTH);
    const seed = whole("seed", values.seed, 0, 2 ** 32 - 1);
    const emitTo = values["emit-test"];
    const binding = values.binding;
    if ((emitTo === undefined) !== (binding === undefined)) throw new CliError("--emit-test <file> and --binding <name> go together");
    if (binding !== undefined && !BINDING_NAME.test(binding)) throw new CliError(`--binding must be an identifier (the binding's name in wrangler config), got "${binding}"`);
    const exports = await loadModule(values.law);
    const loaded = definitionOf(exports, values.law, values.export);
    const { definition } = loaded;
    const { openSqliteHost } = await quietly(() => import("./host.js")).catch((error: unknown) => {
      // node:sqlite came with Node 22.5; on an older Node say so instead of printing a stack.
      if ((error as { code?: string }).code === "ERR_UNKNOWN_BUILTIN_MODULE") throw new CliError(`needs node:sqlite, which Node ${process.version} lacks: run it on Node 22.5 or later`);
      throw error;
    });
    const began = Date.now();
    const report = check(definition, {
      openDatabase: openSqliteHost,
      depth,
      ...(values.property ? { only: values.property } : {}),
      ...(maxStates !== undefined ? { maxStates } : {}),
      ...(walks !== undefined ? { walks } : {}),
      ...(walkLength !== undefined ? { walkLength } : {}),
      ...(seed !== undefined ? { seed } : {}),
      onProgress: (p) => {
        if (Date.now() - began > PROGRESS_AFTER_MS) err(`v${p.version} depth ${p.depth}: ${p.states} states, ${p.transitions} transitions, ${(p.ms / 1000).toFixed(1)} s\n`);
      },
    });
    out(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report, values.law)}\n`);
    if (emitTo !== undefined && binding !== undefined) emit(report, loaded, { file: emitTo, module: values.law, binding });
    return report.ok ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    const usage = error instanceof CheckSetupError ? error : usageError(error);
    if (usage) {
      err(`noema check: ${usage.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

/** The module as a test in `file`'s folder imports it: a relative path, TypeScript's `.ts` written `.js`. */
export function importSpecifier(file: string, module: string): string {
  const path = relative(dirname(resolve(file)), resolve(module)).split(sep).join("/").replace(/\.([cm]?)ts$/, ".$1js").replace(/\.tsx$/, ".js");
  return path.startsWith(".") ? path : `./${path}`;
}

/** Writes the test of the shortest failed check a test can assert, or says on stderr why there is none. */
function emit(report: CheckReport, loaded: Loaded, target: { file: string; module: string; binding: string }): void {
  const { found, why } = emittable(report.results, loaded.definition);
  if (!found) {
    err(`noema check: no test written to ${target.file}: ${why ?? "every check holds"}\n`);
    return;
  }
  const text = emitTest(found, {
    module: target.module,
    specifier: importSpecifier(target.file, target.module),
    exportName: loaded.exportName,
    definition: loaded.isDefinition,
    binding: target.binding,
    // The checker's empty state starts at DEFAULT_START: runCheck does not move it.
    start: DEFAULT_START,
  });
  try {
    writeFileSync(target.file, text);
  } catch (error) {
    throw new CliError(`cannot write ${target.file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  err(`noema check: wrote ${target.file}: ${found.result.name} (v${found.result.version}), ${found.result.counterexample.steps.length} steps\n`);
}

/** node:sqlite warns that it is experimental when first loaded; that warning is not the user's business. */
async function quietly<T>(load: () => Promise<T>): Promise<T> {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await load();
  } finally {
    process.emitWarning = emit;
  }
}
