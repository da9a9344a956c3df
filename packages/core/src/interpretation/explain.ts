import { builtinStep } from "./builtins.js";
import {
  type ArgValue,
  bindValue,
  type Intent,
  type InterpretationContext,
  isRef,
  type Ref,
  type SqlValue,
  type Statement,
  statementsOf,
  type Vocabulary,
} from "../intent/index.js";
import { intentSieve, type Sieve } from "../sieve/index.js";

/** A bound value that the operation computes from data references: known only at run time. */
export interface ComputedParam {
  $computedFrom: Ref[];
}

/** One statement of an explanation: the SQL and the values it would bind. */
export interface ExplainedStatement {
  sql: string;
  /** Bound values (an array or object as the JSON text bound); a Ref stands where an earlier step's output is bound. */
  params: (SqlValue | Ref | ComputedParam)[];
}

/** What `explain` gives: each step's statements with their values, and the invariants checked before commit. */
export interface Explanation {
  steps: { op: string; statements: ExplainedStatement[] }[];
  /** Read-only checks run after the last step, before commit. */
  invariants: { name: string; sql: string }[];
  /** The schema elements the Intent depends on, derived from its SQL. */
  sieve: Sieve;
  context: Omit<InterpretationContext, "step">;
}

/** A computed value with the Refs it read: shown as `{$computedFrom}` when it read any, else as its value. */
function explainComputed(compute: (args: never, ctx: InterpretationContext) => SqlValue, args: Record<string, ArgValue>, ctx: InterpretationContext): SqlValue | ComputedParam {
  const read: Ref[] = [];
  // A Ref's value is known only at run time: the computation sees undefined there, and its result is not shown.
  const traced = new Proxy(args, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (!isRef(value)) return value;
      if (!read.includes(value)) read.push(value);
      return undefined;
    },
  });
  try {
    const value = compute(traced as never, ctx);
    return read.length > 0 ? { $computedFrom: read } : value;
  } catch (error) {
    if (read.length > 0) return { $computedFrom: read };
    throw error;
  }
}

/** The values a statement binds: an argument that is a Ref shows as that Ref, a value computed from Refs as `{$computedFrom}`. */
function explainParams(statement: Statement<never, object>, args: Record<string, ArgValue>, ctx: InterpretationContext): ExplainedStatement["params"] {
  return statement.holes.map((h) => {
    if (h.kind === "ctx") return ctx[h.name];
    if (h.kind === "computed") return explainComputed(h.compute, args, ctx);
    const value = args[h.name];
    return isRef(value) ? value : bindValue(value);
  });
}

/**
 * The explain Interpretation: the exact `sql.exec()` sequence an Intent would run,
 * with parameters, without running anything. The Intent must already be parsed.
 */
export function explain(vocabulary: Vocabulary, intent: Intent, context: Omit<InterpretationContext, "step">): Explanation {
  return {
    steps: intent.steps.map((step, index) => {
      // Built-in steps write the Attractor's own internal tables (Cryostasis, outbox).
      const builtin = builtinStep(step.op);
      if (builtin) return { op: step.op, statements: [builtin.explain(vocabulary, intent, step.args, context)] };
      const op = vocabulary.operations[step.op]!;
      // A parsed Intent already carries schema defaults.
      return {
        op: step.op,
        statements: statementsOf(op).map(([, s]) => ({ sql: s.sql, params: explainParams(s, step.args, { ...context, step: index }) })),
      };
    }),
    invariants: Object.entries(vocabulary.nomos.invariants).map(([name, i]) => ({ name, sql: i.violations })),
    sieve: intentSieve(vocabulary, intent),
    context,
  };
}
