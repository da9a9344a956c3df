import type { z } from "zod";
import type { OperationSpec, Vocabulary } from "./vocabulary.js";
import {
  CANCEL,
  checkStepArgs,
  FREEZE,
  DEFAULT_LIMITS,
  limitIssues,
  nomosStamp,
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

/** Steps of a frozen Intent: their outputs exist only when it wakes, so they give no Refs. */
export type FrozenStepBuilder<Ops extends Record<string, OperationSpec>> = {
  [K in keyof Ops]: (args: ArgsWithRefs<z.input<Ops[K]["args"]>>) => void;
};

export type StepBuilder<Ops extends Record<string, OperationSpec>> = {
  [K in keyof Ops]: (args: ArgsWithRefs<z.input<Ops[K]["args"]>>) => OutputRefs<z.output<Ops[K]["output"]>>;
} & {
  /**
   * Freezes the Intent built by `body` (its arguments may use this Intent's earlier outputs)
   * to wake `at` a time or after `delaySeconds`, atomically with the rest of this Intent.
   * A `key` makes a second freeze with the same key a no-op and lets `$cancel` find it.
   */
  $freeze(
    when: { at?: number | OutputRef<number>; delaySeconds?: number | OutputRef<number>; key?: string | OutputRef<string> },
    body: (step: FrozenStepBuilder<Ops>) => void,
  ): OutputRefs<{ cryoId: number; wakeAt: number }>;
  /** Cancels the frozen Intent with this key, if any, atomically with the rest of this Intent. */
  $cancel(args: { key: string | OutputRef<string> }): OutputRefs<{ cancelled: boolean }>;
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
  const refs = (index: number, outputs: readonly string[]) =>
    Object.fromEntries(outputs.map((output) => [output, { $ref: { step: index, output } }]));
  /** Appends a step and checks it where it stands, so an error names the call that made it. */
  const add = (op: string, args: Record<string, unknown>) => {
    const index = steps.length;
    steps.push({ op, args: args as IntentStep["args"] });
    const checked = checkStepArgs(vocabulary, steps, index);
    if (!checked.ok) throw new IntentValidationError(checked.issues);
    steps[index] = { op, args: checked.value };
    return index;
  };
  let frozen: IntentStep[] | null = null;
  const builder: Record<string, (...args: never[]) => unknown> = {};
  for (const [name, op] of Object.entries(vocabulary.operations)) {
    builder[name] = ((args: Record<string, unknown>) => {
      if (frozen) return void frozen.push({ op: name, args: args as IntentStep["args"] });
      return refs(add(name, args), Object.keys(op.output.shape));
    }) as never;
  }
  builder[FREEZE] = ((when: Record<string, unknown>, nested: (step: unknown) => void) => {
    if (frozen) throw new IntentValidationError([{ path: `steps.${steps.length}.args.intent.steps.${frozen.length}.op`, message: "a frozen Intent cannot itself freeze" }]);
    const inner: IntentStep[] = (frozen = []);
    try {
      nested(builder);
    } finally {
      frozen = null;
    }
    return refs(add(FREEZE, { ...when, intent: { steps: inner } }), ["cryoId", "wakeAt"]);
  }) as never;
  builder[CANCEL] = ((args: Record<string, unknown>) => {
    if (frozen) throw new IntentValidationError([{ path: `steps.${steps.length}.args.intent.steps.${frozen.length}.op`, message: "a frozen Intent cannot itself cancel" }]);
    return refs(add(CANCEL, args), ["cancelled"]);
  }) as never;
  body(builder as unknown as StepBuilder<Ops>);
  const { nomos } = vocabulary;
  const intent: Intent = { v: 1, nomos: nomosStamp(nomos), steps };
  if (options.idempotencyKey !== undefined) intent.idempotencyKey = options.idempotencyKey;
  // Steps were checked as they were added; the limits the Attractor also applies remain.
  const issues = limitIssues(intent, options.limits ?? DEFAULT_LIMITS);
  if (issues.length) throw new IntentValidationError(issues);
  return intent;
}
