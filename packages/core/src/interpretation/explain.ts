import type { Intent, InterpretationContext, Ref, SqlValue, Vocabulary } from "../intent/index.js";

export interface ExplainedStatement {
  sql: string;
  /** Bound values; a Ref stands where the value comes from an earlier step at run time. */
  params: (SqlValue | Ref)[];
}

export interface Explanation {
  steps: { op: string; statements: ExplainedStatement[] }[];
  /** Read-only checks run after the last step, before commit. */
  invariants: { name: string; sql: string }[];
  context: Omit<InterpretationContext, "step">;
}

/**
 * The explain Interpretation: the exact `sql.exec()` sequence an Intent would run,
 * with parameters, without running anything. The Intent must already be parsed.
 */
export function explain(vocabulary: Vocabulary, intent: Intent, context: Omit<InterpretationContext, "step">): Explanation {
  return {
    steps: intent.steps.map((step, index) => {
      const op = vocabulary.operations[step.op]!;
      // A parsed Intent already carries schema defaults; Ref fields pass through as Refs.
      const args = step.args as never;
      return {
        op: step.op,
        statements: op.statements.map((s) => ({
          sql: s.sql,
          params: [...s.params(args, { ...context, step: index })] as (SqlValue | Ref)[],
        })),
      };
    }),
    invariants: Object.entries(vocabulary.nomos.invariants).map(([name, i]) => ({ name, sql: i.violations })),
    context,
  };
}
