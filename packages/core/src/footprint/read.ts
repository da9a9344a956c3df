import * as sqliteBuild from "node-sql-parser/build/sqlite.js";
import { SieveDerivationError } from "./error.js";

type ParserClass = typeof sqliteBuild.Parser;
// The build is CommonJS: bundlers expose it as named exports, Node's ESM loader as `default`.
const build = sqliteBuild as unknown as { Parser?: ParserClass; default?: { Parser: ParserClass } };
let parser: InstanceType<ParserClass> | undefined;
const sqlParser = (): InstanceType<ParserClass> => (parser ??= new (build.Parser ?? build.default!.Parser)());
const OPTIONS = { database: "sqlite" } as const;

/** A node of node-sql-parser's syntax tree. */
export type Node = Record<string, unknown>;

/** Words outside quotes, comments and parentheses, upper-cased, with their offsets: enough to find clause keywords. */
function topLevelWords(sql: string): { word: string; start: number; end: number }[] {
  const out: { word: string; start: number; end: number }[] = [];
  let depth = 0;
  for (let i = 0; i < sql.length; ) {
    const ch = sql[i]!;
    const close = ch === "'" || ch === '"' || ch === "`" ? ch : ch === "[" ? "]" : undefined;
    const skipTo = (end: number, width: number) => (end < 0 ? sql.length : end + width);
    if (close) i = skipTo(sql.indexOf(close, i + 1), 1);
    else if (sql.startsWith("--", i)) i = skipTo(sql.indexOf("\n", i), 1);
    else if (sql.startsWith("/*", i)) i = skipTo(sql.indexOf("*/", i + 2), 2);
    else if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[\w$]/.test(sql[j]!)) j++;
      if (depth === 0) out.push({ word: sql.slice(i, j).toUpperCase(), start: i, end: j });
      i = j;
    } else {
      if (ch === "(") depth++;
      else if (ch === ")") depth--;
      i++;
    }
  }
  return out;
}

/**
 * The statement with what the grammar misreads and the footprint never needs masked, keeping
 * every offset: each `?` becomes `0` (a bound value names no table or column, and the grammar
 * refuses `?` in LIMIT and OFFSET), and each backslash inside a '…' string a space (the grammar
 * reads it as an escape, SQLite does not: `ESCAPE '\'`).
 */
function masked(sql: string): string {
  let out = "";
  for (let i = 0; i < sql.length; ) {
    const ch = sql[i]!;
    const close = ch === "'" || ch === '"' || ch === "`" ? ch : ch === "[" ? "]" : undefined;
    const commentEnd = sql.startsWith("--", i) ? "\n" : sql.startsWith("/*", i) ? "*/" : undefined;
    const end = close ? sql.indexOf(close, i + 1) : commentEnd ? sql.indexOf(commentEnd, i + 2) : i;
    const to = end < 0 ? sql.length : close ? end + 1 : commentEnd ? end + commentEnd.length : i + 1;
    const part = sql.slice(i, to);
    out += ch === "'" ? part.replaceAll("\\", " ") : !close && !commentEnd && ch === "?" ? "0" : part;
    i = to;
  }
  return out;
}

/**
 * Where a name first stands in the statement as a word (bare or "quoted", any case), outside
 * strings and comments: the position an error about that name points at.
 */
export function offsetOfName(sql: string, name: string): number | undefined {
  const text = masked(sql);
  const lower = name.toLowerCase();
  for (const m of text.matchAll(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\/|"((?:[^"]|"")*)"|`([^`]*)`|\[([^\]]*)\]|([A-Za-z_][\w$]*)/g)) {
    const word = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (word?.toLowerCase() === lower) return m.index;
  }
  return undefined;
}

/** Text written for the parser, or a slice [from, to) of the statement as written. */
type Piece = string | readonly [from: number, to: number];

/** The parser's "Expected …" list cut to its first alternatives: the full list runs to dozens. */
function expectation(error: unknown): string {
  const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  const m = /^Expected (.*) but (.*) found\.$/.exec(message);
  if (!m) return message;
  const alternatives = m[1]!.split(", ");
  const shown = alternatives.length > 6 ? [...alternatives.slice(0, 6), "…"].join(", ") : m[1]!;
  return `expected ${shown} but found ${m[2]!}`;
}

/**
 * Parses a form of the statement assembled from pieces of it (and text written in between), and
 * maps a syntax error's position back to the statement as written.
 */
function parse(sql: string, pieces: readonly Piece[]): Node {
  const source = masked(sql);
  let text = "";
  const spans: { at: number; from: number; length: number }[] = [];
  for (const p of pieces) {
    if (typeof p !== "string") spans.push({ at: text.length, from: p[0], length: p[1] - p[0] });
    text += typeof p === "string" ? p : source.slice(p[0], p[1]);
  }
  try {
    const ast = sqlParser().astify(text, OPTIONS) as unknown as Node | Node[];
    if (Array.isArray(ast)) throw new SieveDerivationError("a statement must be one SQL statement", sql);
    return ast;
  } catch (error) {
    if (error instanceof SieveDerivationError) throw error;
    const offset = (error as { location?: { start: { offset: number } } }).location?.start.offset;
    // A position in written text maps to the next piece of the statement: that is where the reading stopped.
    const span = offset === undefined ? undefined : spans.find((s) => offset < s.at + s.length) ?? spans.at(-1);
    const origin = span && offset !== undefined ? span.from + Math.max(0, Math.min(offset - span.at, span.length)) : undefined;
    throw new SieveDerivationError(`cannot read this SQL: ${expectation(error)}`, sql, origin);
  }
}

/** Keywords that begin the statement a WITH clause precedes. */
const BODIES = new Set(["SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"]);
/** The conflict resolutions of `UPDATE OR …`: they change what happens on a conflict, not what the statement touches. */
const RESOLUTIONS = new Set(["ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"]);

/**
 * One clause of an upsert (`ON CONFLICT [(target) [WHERE …]] DO NOTHING | DO UPDATE SET … [WHERE …]`):
 * the target's columns and WHERE as a SELECT's, and the update's assignments and WHERE.
 */
export interface Upsert {
  target?: { columns: unknown; where: unknown };
  set?: Node[];
  where?: unknown;
}

/**
 * Reads an INSERT or REPLACE (from `start`). node-sql-parser's SQLite grammar has no upsert
 * clause and no RETURNING after INSERT … SELECT, so both are cut off and parsed on their own:
 * RETURNING as the column list of a SELECT, each upsert's target as a SELECT's columns and
 * WHERE, its DO UPDATE as an UPDATE's assignments and WHERE. The footprint resolves them in the
 * target table's scope, where SQLite resolves them, so what it counts is the same.
 */
function readInsert(sql: string, start: number, words: ReturnType<typeof topLevelWords>): Node {
  const conflicts = words.flatMap((w, i) => (w.word === "ON" && words[i + 1]?.word === "CONFLICT" ? [i] : []));
  const returning = words.find((w) => w.word === "RETURNING");
  const end = returning?.start ?? sql.length;
  const cut = conflicts.length > 0 ? words[conflicts[0]!]!.start : end;
  // DEFAULT VALUES fills every column with its default, as VALUES without a column list fills every column.
  const byDefault = words.findIndex((w, i) => w.word === "DEFAULT" && words[i + 1]?.word === "VALUES" && w.start < cut);
  const ast = parse(sql, byDefault >= 0 ? [[start, words[byDefault]!.start], "VALUES (NULL)"] : [[start, cut]]);
  ast.returning = returning ? parse(sql, ["SELECT ", [returning.end, sql.length]]).columns : null;
  ast.upserts = conflicts.map((i, k): Upsert => {
    const conflict = words[i + 1]!;
    const to = k + 1 < conflicts.length ? words[conflicts[k + 1]!]!.start : end;
    const inClause = words.filter((w) => w.start > conflict.start && w.start < to);
    const doWord = inClause.find((w) => w.word === "DO");
    if (!doWord) throw new SieveDerivationError("cannot read this SQL: ON CONFLICT without DO", sql, conflict.start);
    const upsert: Upsert = {};
    const targetText = sql.slice(conflict.end, doWord.start);
    if (targetText.trim() !== "") {
      const where = inClause.find((w) => w.word === "WHERE" && w.start < doWord.start);
      const open = sql.indexOf("(", conflict.end);
      const close = sql.lastIndexOf(")", where?.start ?? doWord.start);
      if (open < 0 || close < open || sql.slice(conflict.end, open).trim() !== "") {
        throw new SieveDerivationError("cannot read this SQL: an ON CONFLICT target is a parenthesized column list", sql, conflict.end + 1);
      }
      const select = parse(sql, ["SELECT ", [open + 1, close], ...(where ? [" ", [where.start, doWord.start] as const] : [])]);
      upsert.target = { columns: select.columns, where: select.where };
    }
    const action = inClause.filter((w) => w.start > doWord.start);
    if (action[0]?.word === "NOTHING" && action.length === 1) return upsert;
    if (action[0]?.word !== "UPDATE") throw new SieveDerivationError("cannot read this SQL: ON CONFLICT … DO must be followed by NOTHING or UPDATE", sql, doWord.end + 1);
    // The table name is a stand-in: only the assignments and the WHERE are read.
    const update = parse(sql, ["UPDATE _ ", [action[0].end, to]]);
    upsert.set = (update.set as Node[] | undefined) ?? [];
    upsert.where = update.where;
    return upsert;
  });
  return ast;
}

const statements = new Map<string, Node>();

/**
 * The syntax tree of one statement, read once per SQL text. SQLite syntax the parser's grammar
 * lacks is read in parts whose footprint is the same: a WITH clause before INSERT, UPDATE or
 * DELETE is parsed on its own and attached to the statement; `UPDATE OR <resolution>` is read
 * as UPDATE; RETURNING is read on its own after INSERT, UPDATE and DELETE, and upsert clauses as
 * in readInsert.
 */
export function readStatement(sql: string): Node {
  let ast = statements.get(sql);
  if (ast) return ast;
  const words = topLevelWords(sql);
  let start = 0;
  let ctes: unknown = null;
  if (words[0]?.word === "WITH") {
    const body = words.find((w) => BODIES.has(w.word));
    if (body && body.word !== "SELECT" && body.word !== "VALUES") {
      ctes = parse(sql, [[0, body.start], "SELECT 1"]).with;
      start = body.start;
    }
  }
  const rest = words.filter((w) => w.start >= start);
  const [head, or, resolution] = rest;
  if (head?.word === "INSERT" || head?.word === "REPLACE") ast = readInsert(sql, start, rest);
  else if (head?.word === "UPDATE" || head?.word === "DELETE") {
    // The grammar reads RETURNING only in some positions (not after a DELETE without WHERE):
    // it is cut off and read as a SELECT's columns, in the written table's scope, as for INSERT.
    const returning = rest.find((w) => w.word === "RETURNING");
    const end = returning?.start ?? sql.length;
    const orResolution = head.word === "UPDATE" && or?.word === "OR" && resolution && RESOLUTIONS.has(resolution.word);
    ast = orResolution ? parse(sql, ["UPDATE ", [resolution.end, end]]) : parse(sql, [[start, end]]);
    if (returning) ast.returning = parse(sql, ["SELECT ", [returning.end, sql.length]]).columns;
  } else ast = parse(sql, [[start, sql.length]]);
  if (ctes) ast.with = ctes;
  statements.set(sql, ast);
  return ast;
}
