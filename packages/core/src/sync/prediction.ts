// What a sync client may run on its own replica: decided from the law's statements before
// anything runs, against what the client holds of the World (the publication's tables,
// columns and scope). A client runs an Intent locally only when the server would read
// nothing there that the client lacks.
import { statementFootprint } from "../footprint/index.js";
import type { SqlExecutor } from "../host/index.js";
import { type Intent, statementsOf, type Statement, type Vocabulary } from "../intent/index.js";
import { SCOPE_PREFIX } from "../interpretation/scope.js";
import type { Nomos } from "../nomos/index.js";
import { tablesOfInvariants } from "../sieve/index.js";

/** What a client holds of one table of its World. */
export interface HeldTable {
  /** The columns it sees. */
  readonly columns: readonly string[];
  /** Every row and column is here, under the law's own DDL. */
  readonly whole: boolean;
  /** Set when the server sends only the subscriber's own rows: the column that holds their subject. */
  readonly scope?: string | undefined;
}

/** One element of an Intent's Sieve (`table:T`, `column:T.c`, `write:T`, `invariant:N`) the client cannot stand in for, and why. */
export interface UnseenElement {
  element: string;
  why: string;
}

/** How a client can predict an Intent: what it cannot see (pending if any), and the balances to check once it ran. */
export interface PredictionPlan {
  unseen: UnseenElement[];
  /**
   * Balance invariants over a table the client holds only in part. Each is checked where the
   * Intent moved a balance: if it moves none, the server reads no row the client lacks; if it
   * does, only running it tells, and the send turns pending then (`movedBalance`).
   */
  balances: string[];
}

/** Splits a list at its top-level commas (not those inside parentheses or quotes); undefined when its parentheses do not balance. */
function topLevel(list: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let quote = "";
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return undefined;
    else if (c === "," && depth === 0) {
      out.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(list.slice(start).trim());
  return depth === 0 ? out : undefined;
}

const unquote = (name: string) => name.replace(/^"(.*)"$/s, "$1").replaceAll('""', '"');
const PLAIN_INSERT = /^INSERT INTO ("(?:[^"]|"")+"|\w+) \(([^()]*)\) VALUES \((.*)\)(?: RETURNING [^()]*)?$/is;

/**
 * The table of a plain `INSERT INTO T (…) VALUES (…)` (one row, no SELECT, no upsert) whose
 * scope column is bound to an argument equal to `subject`: it writes one row of the
 * subscriber's own and reads nothing.
 */
function ownInsert(statement: Statement<never, object>, args: Readonly<Record<string, unknown>>, held: (table: string) => HeldTable | undefined, subject: string | undefined): string | undefined {
  if (subject === undefined) return undefined;
  const m = PLAIN_INSERT.exec(statement.sql);
  if (!m) return undefined;
  const table = unquote(m[1]!);
  const scope = held(table)?.scope;
  if (scope === undefined) return undefined;
  const columns = topLevel(m[2]!)?.map(unquote);
  const values = topLevel(m[3]!);
  // A subquery among the values reads, and an upsert (ON CONFLICT) reads the row it conflicts with: neither is a plain INSERT.
  if (!columns || !values || /\bSELECT\b/i.test(m[3]!)) return undefined;
  const at = columns.indexOf(scope);
  if (at < 0 || values.length !== columns.length || values[at] !== "?") return undefined;
  // Holes are numbered in the order their `?`s appear, and the column list has none.
  const hole = statement.holes[values.slice(0, at).join(",").split("?").length - 1];
  return hole?.kind === "arg" && args[hole.name] === subject ? table : undefined;
}

/**
 * Decides, from the statements of the operations an Intent names and before anything runs,
 * what a client holding `held` of the World (as subscriber `subject`) cannot run locally.
 * A table it does not hold, a column it does not see, a write to a table it holds in part, and
 * any read of a table scoped to the subscriber are unseen; a plain INSERT of one of the
 * subscriber's own rows (its scope column bound to `subject`) is not. An invariant over a table
 * held in part is unseen, unless it is a balance (see `PredictionPlan.balances`).
 */
export function predictionPlan(vocabulary: Vocabulary, intent: Pick<Intent, "steps">, held: (table: string) => HeldTable | undefined, subject: string | undefined): PredictionPlan {
  const unseen = new Map<string, string>();
  const add = (element: string, why: string) => void (unseen.has(element) || unseen.set(element, why));
  const written = new Set<string>();
  for (const step of intent.steps) {
    const spec = vocabulary.operations[step.op];
    if (!spec) {
      add(`op:${step.op}`, `${step.op} is not an operation of this client's law`);
      continue;
    }
    const args = (step.args ?? {}) as Record<string, unknown>;
    for (const [, s] of statementsOf(spec)) {
      for (const statement of s.expectation?.cause ? [s, s.expectation.cause as Statement<never, object>] : [s]) {
        const fp = statementFootprint(vocabulary.nomos, statement.sql);
        for (const t of fp.writes) written.add(t);
        const own = ownInsert(statement, args, held, subject);
        for (const t of fp.tables) {
          if (t === own) continue;
          const table = held(t);
          if (!table) add(`table:${t}`, `${t} is not published to this client`);
          else if (table.scope !== undefined) add(`table:${t}`, `${step.op} reads ${t}, which this client holds only its own rows of`);
          else if (fp.writes.has(t) && !table.whole) add(`write:${t}`, `${step.op} writes ${t}, which this client does not see whole`);
        }
        for (const c of fp.columns) {
          const [t = "", column = ""] = c.split(/\.(.*)/s);
          if (t === own) continue;
          const table = held(t);
          if (table && !table.columns.includes(column)) add(`column:${c}`, `${step.op} names ${c}, which is not published to this client`);
        }
      }
    }
  }
  const balances: string[] = [];
  for (const [name, tables] of tablesOfInvariants(vocabulary.nomos)) {
    if (![...tables].some((t) => written.has(t))) continue;
    const partial = [...tables].filter((t) => !held(t)?.whole);
    if (partial.length === 0) continue;
    // A balance is checked where it moved, from the rows the Intent wrote; every table it reads must be here, in part at least.
    if (vocabulary.nomos.invariants[name]?.scope?.balance && partial.every((t) => held(t) !== undefined)) balances.push(name);
    else add(`invariant:${name}`, `invariant ${name} reads ${partial.join(", ")}, which this client does not hold whole`);
  }
  const sorted = [...unseen].sort(([a], [b]) => (a < b ? -1 : 1)).map(([element, why]) => ({ element, why }));
  return { unseen: sorted, balances };
}

/** The newest mark of each balance's key table, before an Intent runs (0 when it has none yet). */
export function balanceMarks(db: SqlExecutor, balances: readonly string[]): number[] {
  return balances.map((name) => {
    const table = `${SCOPE_PREFIX}${name}`;
    const exists = db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).length > 0;
    return exists ? Number(db.exec(`SELECT COALESCE(MAX(mark), 0) AS n FROM "${table}"`, [])[0]!.n) : 0;
  });
}

/**
 * After an Intent ran (before its transaction ends): the first balance it moved at some key,
 * or a row it added or removed there, so that the server will read that key's rows whole.
 */
export function movedBalance(db: SqlExecutor, nomos: Nomos, balances: readonly string[], before: readonly number[]): string | undefined {
  return balances.find((name, i) => {
    const table = `${SCOPE_PREFIX}${name}`;
    if (db.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).length === 0) return false;
    // The key table's columns, as the scope plan names them: k0, k1, … one per key column.
    const group = (nomos.invariants[name]?.scope?.key ?? []).map((_, k) => `k${k}`).join(", ");
    return db.exec(`SELECT 1 FROM "${table}" WHERE mark > ? GROUP BY ${group} HAVING SUM(d) != 0 OR MAX(e) = 1 LIMIT 1`, [before[i] ?? 0]).length > 0;
  });
}
