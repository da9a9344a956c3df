import type { z } from "zod";
import type { Row, SqlValue } from "../host/index.js";
import type { Nomos } from "../nomos/index.js";

export type { Row, SqlValue } from "../host/index.js";

/** What an Interpretation knows beyond the Intent: used for time and for deterministic ids. */
export interface InterpretationContext {
  /** Milliseconds since the epoch, fixed for the whole Intent. */
  now: number;
  /** The sedimentId this Intent receives if it commits. */
  sedimentId: number;
  /** Index of the step being interpreted. */
  step: number;
}

export interface StatementSpec<A> {
  /** Static SQL with `?` placeholders: the Sieve is derived from this text, so it never varies per call. */
  sql: string;
  params: (args: A, ctx: InterpretationContext) => readonly SqlValue[];
  /** Refuse the whole Intent unless the statement returns exactly `rows` rows (use RETURNING). */
  expect?: { rows: number; refusal: (args: A) => string; kind?: "expectation" | "not_found" };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any object schema
export type ObjectSchema = z.ZodObject<any>;

export interface OperationSpec<A extends ObjectSchema = ObjectSchema, O extends ObjectSchema = ObjectSchema> {
  description: string;
  args: A;
  output: O;
  statements: readonly StatementSpec<z.output<A>>[];
  /** Builds the declared output from the rows each statement returned. */
  result: (rows: readonly Row[][], args: z.output<A>, ctx: InterpretationContext) => z.output<O>;
}

export interface Vocabulary<
  N extends Nomos = Nomos,
  Ops extends Record<string, OperationSpec> = Record<string, OperationSpec>,
> {
  readonly nomos: N;
  readonly operations: Ops;
}

/** SQLite's limit on bound parameters per statement. */
export const MAX_BOUND_PARAMETERS = 100;

export class VocabularyDefinitionError extends Error {
  override name = "VocabularyDefinitionError";
}

/** Counts `?` placeholders outside string literals and quoted identifiers. */
export function countPlaceholders(sql: string): number {
  let count = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "?") count++;
  }
  return count;
}

// Built once per schema or statement: rebuilding a strict Zod schema per call costs more than the parse itself.
const strictSchemas = new WeakMap<ObjectSchema, ObjectSchema>();
const placeholderCounts = new WeakMap<object, number>();

/** The operation's argument schema with unknown keys refused. */
export function strictArgs(op: OperationSpec): ObjectSchema {
  let strict = strictSchemas.get(op.args);
  if (!strict) strictSchemas.set(op.args, (strict = op.args.strict()));
  return strict;
}

/** `countPlaceholders` of a statement's SQL, counted once. */
export function placeholdersOf(statement: StatementSpec<never>): number {
  let n = placeholderCounts.get(statement);
  if (n === undefined) placeholderCounts.set(statement, (n = countPlaceholders(statement.sql)));
  return n;
}

/** Typed helper so `args` in statements and `result` are inferred from the schemas. */
export function operation<A extends ObjectSchema, O extends ObjectSchema>(spec: OperationSpec<A, O>): OperationSpec<A, O> {
  return spec;
}

export function defineVocabulary<N extends Nomos, const Ops extends Record<string, OperationSpec>>(
  nomos: N,
  operations: Ops,
): Vocabulary<N, Ops> {
  for (const [name, op] of Object.entries(operations)) {
    if (!/^[a-z][A-Za-z0-9]{0,63}$/.test(name)) {
      throw new VocabularyDefinitionError(`operation name "${name}" must be camelCase letters and digits`);
    }
    if (op.statements.length === 0) throw new VocabularyDefinitionError(`operation "${name}" has no statements`);
    op.statements.forEach((s, i) => {
      const n = countPlaceholders(s.sql);
      if (n > MAX_BOUND_PARAMETERS) {
        throw new VocabularyDefinitionError(
          `operation "${name}" statement ${i} has ${n} placeholders; SQLite in Durable Objects binds at most ${MAX_BOUND_PARAMETERS}`,
        );
      }
    });
  }
  return Object.freeze({ nomos, operations });
}
