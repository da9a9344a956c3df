import { contentHash, normalizeSql } from "../canonical/index.js";
import { type Expectation, holeStructure, type Intent, type OperationSpec, operationSchemas, operationsOf, statementsOf, type Vocabulary } from "../intent/index.js";
import {
  emptyFootprint,
  type Footprint,
  type FootprintEntry,
  footprintEntry,
  footprintKey,
  type FootprintLaws,
  type FootprintTable,
  lawText,
  mergeFootprints,
  statementFootprint,
} from "../footprint/index.js";

export { type Footprint, SieveDerivationError, statementFootprint } from "../footprint/index.js";

/**
 * What an Intent depends on: element key → its hash under the Nomos the Intent was built for.
 * Keys: `table:T`, `column:T.c`, `shape:T` (T is inserted into, so its whole set of columns
 * matters), `write:T` (T is written, so its table constraints and invariants apply),
 * `invariant:N` (checked after the Intent, over a table it writes) and `op:name` (the
 * vocabulary operation's own definition).
 */
export type Sieve = Readonly<Record<string, string>>;

const footprints = new WeakMap<Vocabulary, Map<string, Footprint>>();
const opHashes = new WeakMap<OperationSpec, string>();
const invariantTables = new WeakMap<Vocabulary["nomos"], Map<string, Set<string>>>();

/** The union of an operation's statements' footprints, derived once per vocabulary. */
export function operationFootprint(vocabulary: Vocabulary, op: string): Footprint {
  let byOp = footprints.get(vocabulary);
  if (!byOp) footprints.set(vocabulary, (byOp = new Map()));
  let fp = byOp.get(op);
  if (!fp) {
    const spec = vocabulary.operations[op];
    if (!spec) throw new Error(`unknown operation "${op}"`);
    fp = emptyFootprint();
    for (const [, s] of statementsOf(spec)) {
      mergeFootprints(fp, statementFootprint(vocabulary.nomos, s.sql));
      // What a refusal's cause reads is part of what the operation depends on.
      const cause = s.expectation?.cause;
      if (cause) mergeFootprints(fp, statementFootprint(vocabulary.nomos, cause.sql));
    }
    byOp.set(op, fp);
  }
  return fp;
}

/** The tables each invariant reads. */
export function tablesOfInvariants(nomos: Vocabulary["nomos"]): Map<string, Set<string>> {
  let out = invariantTables.get(nomos);
  if (!out) {
    out = new Map(Object.entries(nomos.invariants).map(([name, inv]) => [name, statementFootprint(nomos, inv.violations).tables]));
    invariantTables.set(nomos, out);
  }
  return out;
}

const code = (fn: unknown) => normalizeSql(String(fn));

/** An expectation as the operation hash sees it; a cause is listed only when there is one, so hashes without stay as they were. */
function expectStructure(e: Expectation<never>): Record<string, unknown> {
  const { cause } = e;
  const own = { rows: e.rows, kind: e.kind ?? "expectation" };
  if (!cause) return own;
  return { ...own, cause: { sql: normalizeSql(cause.sql), holes: cause.holes.map(holeStructure), expect: cause.expectation ? expectStructure(cause.expectation) : null } };
}

/**
 * The hash of an operation's definition: argument and output schemas, each statement's name,
 * SQL, what each hole binds (with the source of computed values), its expectation, and the
 * code that builds the output. A change to any of them changes what an Intent naming the
 * operation means.
 */
export function operationHash(op: OperationSpec): string {
  let hash = opHashes.get(op);
  if (!hash) {
    hash = contentHash({
      ...operationSchemas(op),
      statements: statementsOf(op).map(([name, s]) => ({
        name,
        sql: normalizeSql(s.sql),
        holes: s.holes.map(holeStructure),
        expect: s.expectation ? expectStructure(s.expectation) : null,
      })),
      result: code(op.result),
    });
    opHashes.set(op, hash);
  }
  return hash;
}

const sieves = new WeakMap<Vocabulary, Map<string, Sieve>>();
const sieveHashes = new WeakMap<Sieve, string>();

/** The content hash of a Sieve, computed once per Sieve object (Sieves from `sieveOf` are shared). */
export function sieveHash(sieve: Sieve): string {
  let hash = sieveHashes.get(sieve);
  if (!hash) sieveHashes.set(sieve, (hash = contentHash(sieve)));
  return hash;
}

/** The Sieve of a set of operations under their vocabulary, derived once per set. */
export function sieveOf(vocabulary: Vocabulary, ops: Iterable<string>): Sieve {
  const names = [...new Set(ops)].sort();
  const key = names.join(",");
  let byOps = sieves.get(vocabulary);
  if (!byOps) sieves.set(vocabulary, (byOps = new Map()));
  let sieve = byOps.get(key);
  if (!sieve) byOps.set(key, (sieve = Object.freeze(deriveSieve(vocabulary, names))));
  return sieve;
}

function deriveSieve(vocabulary: Vocabulary, ops: readonly string[]): Sieve {
  const { elements } = vocabulary.nomos as { elements: Record<string, string> };
  const out: Record<string, string> = {};
  const fp = emptyFootprint();
  for (const op of new Set(ops)) {
    mergeFootprints(fp, operationFootprint(vocabulary, op));
    out[`op:${op}`] = operationHash(vocabulary.operations[op]!);
  }
  for (const t of fp.tables) out[`table:${t}`] = elements[`table:${t}`]!;
  for (const c of fp.columns) out[`column:${c}`] = elements[`column:${c}`]!;
  for (const t of fp.inserts) out[`shape:${t}`] = elements[`shape:${t}`]!;
  for (const t of fp.writes) out[`write:${t}`] = elements[`table:${t}`]!;
  for (const [name, tables] of tablesOfInvariants(vocabulary.nomos)) {
    if ([...tables].some((t) => fp.writes.has(t))) out[`invariant:${name}`] = elements[`invariant:${name}`]!;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Computed from the Intent's static structure: which operations it names. Never listed by hand. */
export function intentSieve(vocabulary: Vocabulary, intent: Intent): Sieve {
  // An Intent that freezes another depends on the frozen Intent's operations too.
  return sieveOf(vocabulary, operationsOf(intent));
}

/**
 * The footprint of every statement of these vocabularies (each operation's, its expectations'
 * causes', its Nomos's invariants'), by Nomos hash and statement: what `noema build` writes for
 * a Worker, which then derives every Sieve without the SQL parser.
 */
export function footprintTable(vocabularies: Iterable<Vocabulary>): FootprintTable {
  const byNomos = new Map<string, Map<string, FootprintEntry>>();
  for (const { nomos, operations } of vocabularies) {
    let bySql = byNomos.get(nomos.hash);
    if (!bySql) byNomos.set(nomos.hash, (bySql = new Map()));
    const add = (sql: string) => bySql.set(footprintKey(sql), footprintEntry(statementFootprint(nomos, sql)));
    for (const spec of Object.values(operations)) {
      for (const [, s] of statementsOf(spec)) {
        add(s.sql);
        if (s.expectation?.cause) add(s.expectation.cause.sql);
      }
    }
    for (const invariant of Object.values(nomos.invariants)) add(invariant.violations);
  }
  return Object.fromEntries(byKey(byNomos).map(([hash, bySql]) => [hash, Object.fromEntries(byKey(bySql))]));
}

/**
 * The canonical text of each Nomos of these vocabularies, by its hash: what `noema build` writes
 * beside their footprints, so that a Worker finds them by its law's text without hashing the law.
 */
export function footprintLaws(vocabularies: Iterable<Vocabulary>): FootprintLaws {
  const out = new Map<string, string>();
  for (const { nomos } of vocabularies) {
    const text = lawText(nomos);
    if (text !== undefined) out.set(nomos.hash, text);
  }
  return Object.fromEntries(byKey(out));
}

/** A map's entries in key order: what `noema build` writes does not depend on the order laws were read. */
const byKey = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
