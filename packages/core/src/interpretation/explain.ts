import { builtinStep } from "../cryostasis/index.js";
import {
  type ArgValue,
  countPlaceholders,
  type Intent,
  type InterpretationContext,
  isRef,
  type Ref,
  type SqlValue,
  type StatementSpec,
  type Vocabulary,
} from "../intent/index.js";
import { intentSieve, type Sieve } from "../sieve/index.js";

/** A bound value that the operation computes from data references: known only at run time. */
export interface ComputedParam {
  $computedFrom: Ref[];
}

export interface ExplainedStatement {
  sql: string;
  /** Bound values; a Ref stands where an earlier step's output is bound as is. */
  params: (SqlValue | Ref | ComputedParam)[];
}

export interface Explanation {
  steps: { op: string; statements: ExplainedStatement[] }[];
  /** Read-only checks run after the last step, before commit. */
  invariants: { name: string; sql: string }[];
  /** The schema elements the Intent depends on, derived from its SQL. */
  sieve: Sieve;
  context: Omit<InterpretationContext, "step">;
}

// Two runs with different stand-ins tell apart params bound from a Ref as is, params computed from one, and constants.
const standIn = (run: 0 | 1, k: number) => Number.MIN_SAFE_INTEGER + 2 * k + run;

function explainParams(
  statement: StatementSpec<never>,
  args: Record<string, ArgValue>,
  ctx: InterpretationContext,
): ExplainedStatement["params"] {
  const refs = Object.entries(args).filter((e): e is [string, Ref] => isRef(e[1]));
  if (refs.length === 0) return [...statement.params(args as never, ctx)];
  const computed: ComputedParam = { $computedFrom: refs.map(([, r]) => r) };
  const run = (which: 0 | 1) => {
    const substituted: Record<string, unknown> = { ...args };
    refs.forEach(([key], k) => (substituted[key] = standIn(which, k)));
    return statement.params(substituted as never, ctx);
  };
  let a: readonly SqlValue[];
  let b: readonly SqlValue[];
  try {
    [a, b] = [run(0), run(1)];
  } catch {
    return Array.from({ length: countPlaceholders(statement.sql) }, () => computed);
  }
  return a.map((value, i) => {
    const k = refs.findIndex((_, k) => value === standIn(0, k) && b[i] === standIn(1, k));
    if (k >= 0) return refs[k]![1];
    return Object.is(value, b[i]) ? value : computed;
  });
}

/**
 * The explain Interpretation: the exact `sql.exec()` sequence an Intent would run,
 * with parameters, without running anything. The Intent must already be parsed.
 */
export function explain(vocabulary: Vocabulary, intent: Intent, context: Omit<InterpretationContext, "step">): Explanation {
  return {
    steps: intent.steps.map((step, index) => {
      // Built-in steps write the Attractor's own Cryostasis table.
      const builtin = builtinStep(step.op);
      if (builtin) return { op: step.op, statements: [builtin.explain(vocabulary, intent, step.args, context)] };
      const op = vocabulary.operations[step.op]!;
      // A parsed Intent already carries schema defaults.
      return {
        op: step.op,
        statements: op.statements.map((s) => ({
          sql: s.sql,
          params: explainParams(s as StatementSpec<never>, step.args, { ...context, step: index }),
        })),
      };
    }),
    invariants: Object.entries(vocabulary.nomos.invariants).map(([name, i]) => ({ name, sql: i.violations })),
    sieve: intentSieve(vocabulary, intent),
    context,
  };
}
