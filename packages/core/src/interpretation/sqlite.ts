import * as z from "#zod";
import type { Json } from "../canonical/index.js";
import type { BuiltinHost } from "../builtin/index.js";
import { builtinStep } from "./builtins.js";
import type { Row, SqlExecutor } from "../host/index.js";
import {
  type Intent,
  hasRef,
  type InterpretationContext,
  type Vocabulary,
  resolveArgs,
  bindParams,
  statementsOf,
  strictArgs,
} from "../intent/index.js";
import { zodIssues } from "../issue/index.js";
import { Refusal, type Reason } from "../refusal/index.js";
import { beginCheck, firstViolation, type InvariantCheck, type ScopeMarks, type Violation } from "./scope.js";

// A composite key fails with every column listed: "UNIQUE constraint failed: t.a, t.b".
const CONSTRAINT = /(CHECK|UNIQUE|NOT NULL|PRIMARY KEY|FOREIGN KEY) constraint failed: ([A-Za-z0-9_."]+(?:, [A-Za-z0-9_."]+)*)/;

/** Maps a SQLite constraint error to a Reason, or returns null for errors that are bugs, not refusals. */
export function constraintReason(vocabulary: Vocabulary, error: unknown, step: number, op: string): Reason | null {
  const message = error instanceof Error ? error.message : String(error);
  const m = CONSTRAINT.exec(message);
  if (m) {
    const [, kind, name] = m as unknown as [string, string, string];
    const human = kind === "CHECK" ? vocabulary.nomos.checkMessages[name] : undefined;
    const text =
      human ??
      (kind === "UNIQUE" || kind === "PRIMARY KEY"
        ? `${name} must be unique`
        : kind === "NOT NULL"
          ? `${name} must not be null`
          : `${kind} constraint ${name} failed`);
    return { kind: "constraint", message: text, rule: name, step, op };
  }
  if (/cannot store .* value in .* column/.test(message)) {
    return { kind: "constraint", message: message.replace(/: SQLITE_\w+$/, ""), step, op };
  }
  return null;
}

/**
 * The SQLite Interpretation: runs every step, then every invariant (a scoped one only where
 * the steps wrote). It must run inside the host's transaction; a Refusal thrown here rolls
 * all of it back.
 */
export function interpret(
  vocabulary: Vocabulary,
  intent: Intent,
  db: SqlExecutor,
  context: Omit<InterpretationContext, "step">,
  host?: BuiltinHost,
): Json[] {
  const { outputs, check } = runSteps(vocabulary, intent, db, context, host);
  const row = check.columns ? db.exec(`SELECT ${check.columns}`, check.params)[0]! : {};
  refuseViolation(check.violation(row));
  return outputs;
}

/** Refuses for an invariant the Intent broke, naming the row it is refused for. */
export function refuseViolation(violation: Violation | undefined): void {
  if (!violation) return;
  throw new Refusal({
    kind: "invariant",
    message: `${violation.invariant.message} (violated by ${JSON.stringify(firstViolation(violation.rows))})`,
    rule: violation.name,
  });
}

/**
 * `interpret` without its last part: the steps run, and the invariant check is returned for
 * the caller to finish inside the same transaction (the Sedimenter reads it with the log row's
 * INSERT, then calls `refuseViolation`, and tells `marks` once it committed).
 */
export function runSteps(
  vocabulary: Vocabulary,
  intent: Intent,
  db: SqlExecutor,
  context: Omit<InterpretationContext, "step">,
  host?: BuiltinHost,
  marks?: ScopeMarks,
): { outputs: Json[]; check: InvariantCheck } {
  const outputs: Json[] = [];
  const check = beginCheck(db, vocabulary.nomos, marks);
  intent.steps.forEach((step, index) => {
    const builtin = builtinStep(step.op);
    if (builtin) {
      if (!host) throw new Refusal({ kind: "validation", message: `step ${index}: ${step.op} needs an Attractor to run in`, step: index, op: step.op });
      outputs.push(builtin.interpret({ vocabulary, intent, args: step.args, outputs, ctx: { ...context, step: index }, host }));
      return;
    }
    const op = vocabulary.operations[step.op];
    if (!op) throw new Refusal({ kind: "validation", message: `unknown operation "${step.op}"`, step: index });
    // Only a step with Refs needs validating again: the rest was parsed already, and values from Refs were not.
    const parsed = hasRef(step.args)
      ? z.safeParse(strictArgs(op), resolveArgs(step.args, outputs))
      : { success: true as const, data: step.args as Record<string, unknown>, error: undefined };
    if (!parsed.success) {
      throw new Refusal({
        kind: "validation",
        message: `step ${index} (${step.op}) has invalid arguments`,
        step: index,
        op: step.op,
        issues: zodIssues(parsed.error, ["steps", index, "args"]),
      });
    }
    const ctx = { ...context, step: index };
    const rows: Record<string, Row[]> = {};
    // A pair read by index: destructured, it made an iterator and its results per statement.
    for (const entry of statementsOf(op)) {
      const statement = entry[1];
      const params = bindParams(statement, parsed.data, ctx);
      let result: Row[];
      try {
        result = db.exec(statement.sql, params);
      } catch (error) {
        const reason = constraintReason(vocabulary, error, index, step.op);
        if (reason) throw new Refusal(reason);
        throw error;
      }
      const { expectation } = statement;
      if (expectation && result.length !== expectation.rows) {
        // The cause, if any, says more precisely why: it runs only now, not on the way to a Seal.
        const cause = expectation.cause?.expectation;
        const failed = cause && db.exec(expectation.cause!.sql, bindParams(expectation.cause!, parsed.data, ctx)).length !== cause.rows ? cause : expectation;
        throw new Refusal({ kind: failed.kind ?? "expectation", message: failed.refusal(parsed.data as never), step: index, op: step.op });
      }
      rows[entry[0]] = result;
    }
    outputs.push(op.result(rows, parsed.data, ctx) as Json);
  });
  return { outputs, check };
}
