import { normalizeSql } from "../canonical/index.js";
import { SieveDerivationError } from "./error.js";

/** What a footprint reads of a Nomos: its name, version and hash (for messages and lookups) and its tables' columns. */
export interface Schema {
  readonly name: string;
  readonly version: number;
  readonly hash: string;
  readonly tables: Readonly<Record<string, { readonly columns: Readonly<Record<string, unknown>> }>>;
}

/** What one SQL statement touches, in the vocabulary of a Nomos. */
export interface Footprint {
  /** Every table read or written. */
  tables: Set<string>;
  /** Every `table.column` named, read or written. */
  columns: Set<string>;
  /** Tables written by INSERT, UPDATE or DELETE. */
  writes: Set<string>;
  /** Tables written by INSERT: they depend on the table's whole set of columns. */
  inserts: Set<string>;
}

export const emptyFootprint = (): Footprint => ({ tables: new Set(), columns: new Set(), writes: new Set(), inserts: new Set() });

export function mergeFootprints(into: Footprint, from: Footprint): Footprint {
  for (const key of ["tables", "columns", "writes", "inserts"] as const) for (const v of from[key]) into[key].add(v);
  return into;
}

/** A footprint as `noema build` writes it: tables, columns, writes, inserts. */
export type FootprintEntry = readonly [tables: readonly string[], columns: readonly string[], writes: readonly string[], inserts: readonly string[]];

/**
 * The footprints of a law's statements, as `noema build` derives them with the SQL parser: by
 * Nomos hash, then by statement (its SQL, normalized). A Worker registers it (the generated
 * module does) and derives every Sieve from it, without the parser.
 */
export type FootprintTable = Readonly<Record<string, Readonly<Record<string, FootprintEntry>>>>;

/** Reads a statement's footprint from its SQL: node-sql-parser's, which `@noema/core/sql` installs. */
export type FootprintReader = (nomos: Schema, sql: string) => Footprint;

/**
 * The canonical text of each law hashed in a FootprintTable, by its hash: what `noema build` hashed.
 * A Worker finds its law's footprints by that text, so it does not hash the law while its modules load.
 */
export type FootprintLaws = Readonly<Record<string, string>>;

interface Registry {
  reader?: FootprintReader;
  tables: Map<string, Readonly<Record<string, FootprintEntry>>>;
  /** Law hash by canonical text, from `FootprintLaws` (older generated modules give none). */
  hashes?: Map<string, string>;
  /** Each Nomos's canonical text (what its hash covers), given by `defineNomos` of any copy of the core. */
  texts?: WeakMap<Schema, string>;
}

// On globalThis under a registered symbol: the CLI installs the parser in its own copy of the core,
// and the law it loads reads it from the project's copy.
const REGISTRY = Symbol.for("noema.footprints");
const registry = (): Registry => ((globalThis as { [REGISTRY]?: Registry })[REGISTRY] ??= { tables: new Map() });

/** Installs the SQL parser: every footprint is then read from the SQL, and generated ones are not needed. */
export function useFootprintReader(reader: FootprintReader): void {
  registry().reader = reader;
}

/** Records the canonical text a Nomos's hash covers: its generated footprints are found by it. */
export function setLawText(nomos: Schema, text: string): void {
  (registry().texts ??= new WeakMap()).set(nomos, text);
}

/** The canonical text a Nomos's hash covers, when `defineNomos` made it. */
export const lawText = (nomos: Schema): string | undefined => registry().texts?.get(nomos);

/**
 * The hash `noema build` wrote for a law's canonical text, if its footprints were registered with
 * it: the same text gives the same hash. Not with the parser installed (the CLI, tests): there the
 * law is hashed, so `noema build` never writes out again a hash it read from an edited file.
 */
export function registeredLawHash(text: string): string | undefined {
  const r = registry();
  return r.reader ? undefined : r.hashes?.get(text);
}

/** Whether a footprint of this Nomos can be found now: with the parser, or with footprints generated for it. */
export function footprintsAvailable(nomos: Schema): boolean {
  const r = registry();
  return r.reader !== undefined || r.tables.has(nomos.hash);
}

/**
 * Registers the footprints `noema build` derived for a law: the module it generates next to the
 * law calls this, and the law's module imports that one before it defines a vocabulary. `laws`
 * gives the canonical text of each law hashed, so that the Worker finds them without hashing its law.
 */
export function registerFootprints(table: FootprintTable, laws: FootprintLaws = {}): void {
  const r = registry();
  for (const [hash, statements] of Object.entries(table)) r.tables.set(hash, { ...r.tables.get(hash), ...statements });
  for (const [hash, text] of Object.entries(laws)) (r.hashes ??= new Map()).set(text, hash);
}

/** The text the parser reads of a statement, and the generated footprints are keyed by. */
export const footprintKey = normalizeSql;

export const footprintEntry = (fp: Footprint): FootprintEntry => [[...fp.tables].sort(), [...fp.columns].sort(), [...fp.writes].sort(), [...fp.inserts].sort()];

const footprints = new WeakMap<Schema, Map<string, Footprint>>();

/**
 * What one statement touches, found once per Nomos and SQL text: read from the SQL where the
 * parser is installed (the CLI, tests), else found in the footprints `noema build` generated.
 * It throws SieveDerivationError for SQL it cannot read, that names a table or column the Nomos
 * does not declare, or that no generated footprint covers; a law runs it on every statement when
 * it is defined.
 */
export function statementFootprint(nomos: Schema, sql: string): Footprint {
  let bySql = footprints.get(nomos);
  if (!bySql) footprints.set(nomos, (bySql = new Map()));
  let fp = bySql.get(sql);
  if (!fp) bySql.set(sql, (fp = find(nomos, sql)));
  return fp;
}

function find(nomos: Schema, sql: string): Footprint {
  const { reader, tables } = registry();
  if (reader) return reader(nomos, sql);
  const forNomos = tables.get(nomos.hash);
  const entry = forNomos?.[footprintKey(sql)];
  if (!entry) {
    const why = forNomos
      ? "the footprints generated for this Nomos do not cover this statement (the law changed since)"
      : `no footprints were generated for Nomos ${nomos.name} v${nomos.version} (hash ${nomos.hash.slice(0, 12)}…), or the module that defines the law does not import them first`;
    throw new SieveDerivationError(`${why}: run \`noema build\` (in Node or a test, import "@noema/core/sql" first to read the SQL instead)`, sql);
  }
  const [tablesOf, columns, writes, inserts] = entry;
  return { tables: new Set(tablesOf), columns: new Set(columns), writes: new Set(writes), inserts: new Set(inserts) };
}
