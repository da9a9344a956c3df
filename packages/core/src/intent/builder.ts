import type { z } from "zod";
import type { OperationSpec, Vocabulary } from "./vocabulary.js";
import {
  checkStepArgs,
  DEFAULT_LIMITS,
  limitIssues,
  type Intent,
  type IntentLimits,
  type IntentStep,
  type Issue,
  type Ref,
} from "./wire.js";

/** A typed handle on an earlier step's output field. */
export interface OutputRef<T> extends Ref {
  readonly __type?: T;
}

/** Arguments as the builder accepts them: each top-level field a value or a Ref to an earlier output. */
export type ArgsWithRefs<A> = { [K in keyof A]: A[K] | OutputRef<NonNullable<A[K]>> };
export type OutputRefs<O> = { readonly [K in keyof O]-?: OutputRef<O[K]> };

export type StepBuilder<Ops extends Record<string, OperationSpec>> = {
  [K in keyof Ops]: (args: ArgsWithRefs<z.input<Ops[K]["args"]>>) => OutputRefs<z.output<Ops[K]["output"]>>;
};

/** Thrown on the client when an Intent would be refused for its shape; nothing was sent. */
export class IntentValidationError extends Error {
  override name = "IntentValidationError";
  constructor(readonly issues: Issue[]) {
    super(issues.map((i) => `${i.path || "(intent)"}: ${i.message}`).join("; "));
  }
}

export interface BuildOptions {
  idempotencyKey?: string;
  limits?: IntentLimits;
}

/**
 * Builds an Intent by calling operations in order. The body may pass one step's
 * outputs to later steps but cannot inspect them: outputs are Refs, not values,
 * so no branch can depend on them (the Arrow rule).
 */
export function buildIntent<Ops extends Record<string, OperationSpec>>(
  vocabulary: Vocabulary<Vocabulary["nomos"], Ops>,
  body: (step: StepBuilder<Ops>) => void,
  options: BuildOptions = {},
): Intent {
  const steps: IntentStep[] = [];
  const builder = {} as Record<string, (args: Record<string, unknown>) => Record<string, Ref>>;
  for (const [name, op] of Object.entries(vocabulary.operations)) {
    builder[name] = (args) => {
      const index = steps.length;
      steps.push({ op: name, args: args as IntentStep["args"] });
      const checked = checkStepArgs(vocabulary, steps, index);
      if (!checked.ok) throw new IntentValidationError(checked.issues);
      steps[index] = { op: name, args: checked.value };
      return Object.fromEntries(Object.keys(op.output.shape).map((output) => [output, { $ref: { step: index, output } }]));
    };
  }
  body(builder as StepBuilder<Ops>);
  const { nomos } = vocabulary;
  const intent: Intent = { v: 1, nomos: { name: nomos.name, version: nomos.version, hash: nomos.hash }, steps };
  if (options.idempotencyKey !== undefined) intent.idempotencyKey = options.idempotencyKey;
  // Steps were checked as they were added; the limits the Attractor also applies remain.
  const issues = limitIssues(intent, options.limits ?? DEFAULT_LIMITS);
  if (issues.length) throw new IntentValidationError(issues);
  return intent;
}
