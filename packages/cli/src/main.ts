#!/usr/bin/env node
// `noema`: inspect a Noema law from the command line (DDL, hashes, explain, Connection) and check it.
// Installs the SQL parser first: every law this process loads has its SQL read and checked.
import "@noema/core/sql";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { build } from "./build.js";
import { CHECK_HELP, runCheck } from "./check/command.js";
import { connectionReport, ddl, explainIntent, hash } from "./commands.js";
import { CliError, EXIT_USAGE, usageError } from "./errors.js";
import { loadLaw } from "./load.js";

const DEFAULT_LAW = "src/law.ts";

const HELP = `noema: inspect and check a Noema law

Usage: noema <command> [options]

Commands:
  build [<module>...]          read every statement of the law with the SQL parser and write what
                               each one touches next to it (src/law.ts -> src/law.footprints.ts),
                               which the law's module imports first: a Worker then derives
                               Sieves without the parser. Run it after changing the law
                               (npm test, start and deploy of a new project do)
      --check                  write nothing; exit 1 if a generated module is missing or stale
  ddl                          print the law's CREATE statements (latest version)
      --version <n>            of version n instead
      --internal               also Noema's own tables (_noema_*), as an Attractor creates them
  hash                         print name, version and hash of every version of the law
  explain <intent.json>        parse an Intent as an Attractor would and print the SQL it runs,
                               its parameters and its Sieve, without running anything
      --now <ms>               the clock the Intent sees (default: now)
  connection --from <n> --to <m> [--intent <intent.json>]
                               print the classified diff (Flat, Curved, Critical) between two
                               versions; with --intent, relative to that Intent's Sieve
                               (changes that count for it are marked *)
  check [options]              explore every sequence of Intents up to a depth on an in-memory
                               SQLite and check the law's properties (noema check --help);
                               its options follow it, as below

Options for every command but check:
  --law <module>               the module exporting the law: a Lineage (lineage(...)) or a
                               Vocabulary (defineVocabulary(...)); TypeScript is fine
                               (default: ${DEFAULT_LAW}); build takes every law it exports,
                               and more modules as arguments
  --export <name>              which export, when the module exports several laws
  --json                       print JSON instead of text
  -h, --help                   print this help

Exit codes: 0 done, 2 bad input (missing module, no law, invalid JSON or Intent, unknown version).

${CHECK_HELP}`;

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new CliError(`--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

async function main(argv: string[]): Promise<string> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        law: { type: "string", default: DEFAULT_LAW },
        export: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "string" },
        internal: { type: "boolean", default: false },
        now: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        intent: { type: "string" },
        check: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") return HELP;
  // check parses its own options (see the dispatch below): here it was preceded by one.
  if (command === "check") throw new CliError("check's options go after it: noema check [options]");
  const commands = ["build", "ddl", "hash", "explain", "connection"];
  if (!commands.includes(command)) throw new CliError(`unknown command "${command}" (try noema --help)`);
  if (values.check && command !== "build") throw new CliError(`--check is an option of build, not of ${command}`);
  if (command === "build") {
    const { written, stale } = await build(rest.length > 0 && values.law === DEFAULT_LAW ? rest : [values.law, ...rest], { check: values.check });
    if (!values.check) return written.map((f) => `wrote ${f}`).join("\n");
    if (stale.length === 0) return "the generated footprints are up to date";
    process.exitCode = 1;
    return `out of date: ${stale.join(", ")} (run noema build)`;
  }
  if (command !== "explain" && rest.length > 0) throw new CliError(`${command} takes no argument "${rest[0]}"`);
  const { law } = await loadLaw(values.law, values.export);
  const json = values.json;
  switch (command) {
    case "ddl": {
      const version = integer("version", values.version);
      return ddl(law, { ...(version !== undefined ? { version } : {}), internal: values.internal, json });
    }
    case "hash":
      return hash(law, { json });
    case "explain": {
      const [file, ...extra] = rest;
      if (file === undefined) throw new CliError("explain needs an Intent file: noema explain <intent.json>");
      if (extra.length > 0) throw new CliError(`explain takes one Intent file, got ${rest.length}`);
      const now = integer("now", values.now);
      return explainIntent(law, readJson(file), { ...(now !== undefined ? { now } : {}), json });
    }
    default: {
      const from = integer("from", values.from);
      const to = integer("to", values.to);
      if (from === undefined || to === undefined) throw new CliError("connection needs --from <n> and --to <m>");
      return connectionReport(law, { from, to, ...(values.intent !== undefined ? { intent: readJson(values.intent) } : {}), json });
    }
  }
}

function fail(error: unknown): void {
  const usage = usageError(error);
  if (usage) {
    process.stderr.write(`noema: ${usage.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    process.stderr.write(`noema: unexpected error\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}

const [first, ...afterFirst] = process.argv.slice(2);
// check has options of its own and an exit code of its own (1: a check failed); it prints its report itself.
if (first === "check") runCheck(afterFirst).then((code) => void (process.exitCode = code), fail);
else main(process.argv.slice(2)).then((out) => process.stdout.write(out.endsWith("\n") ? out : `${out}\n`), fail);
