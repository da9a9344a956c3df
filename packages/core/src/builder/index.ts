import type { input, output } from "zod/v4/core";
import type { Json } from "../canonical/index.js";
import type { BuiltinStep } from "../builtin/index.js";
import { BUILTIN_STEPS, checkStepArgs } from "../interpretation/index.js";
import {
  DEFAULT_LIMITS,
  type Intent,
  type IntentLimits,
  type IntentStep,
  canonicalIntent,
  isRef,
  limitIssues,
  nomosStamp,
  type OperationSpec,
  type Ref,
  shapeOf,
  resolveValue,
  type Vocabulary,
} from "../intent/index.js";
import { recordChecked } from "../intent/checked.js";
import { formatIssues, type Issue, issue } from "../issue/index.js";
import type { SuccessSeal } from "../seal/types.js";

/** A typed handle on an earlier step's output field. */
export interface OutputRef<T> extends Ref {
  readonly __type?: T;
}

/** Arguments as the builder accepts them: each top-level field a value or a Ref to an earlier output. */
export type ArgsWithRefs<A> = { [K in keyof A]: A[K] | OutputRef<NonNullable<A[K]>> };
/** The outputs of a step as the builder returns them: a Ref for each, to pass to a later step. */
export type OutputRefs<O> = { readonly [K in keyof O]-?: OutputRef<O[K]> };

/** Steps of a frozen Intent: their outputs exist only when it wakes, so they give no Refs. */
export type FrozenStepBuilder<Ops extends Record<string, OperationSpec>> = {
  [K in keyof Ops]: (args: ArgsWithRefs<input<Ops[K]["args"]>>) => void;
};

/** The `s` of `buildIntent(law, (s) => …)`: one method per operation of the law, each adding a step. */
export type StepBuilder<Ops extends Record<string, OperationSpec>> = {
  [K in keyof Ops]: (args: ArgsWithRefs<input<Ops[K]["args"]>>) => OutputRefs<output<Ops[K]["output"]>>;
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
  /**
   * Sends `intent` (built with the target's vocabulary) to the Attractor of binding
   * `to.attractor` named `to.name`, atomically with the rest of this Intent: stored in the
   * outbox, delivered at least once, applied once under its key. Without a `key` one is
   * derived from this World, the sediment and the step; a key already used sends nothing.
   */
  $send(args: { to: { attractor: string; name: string }; key?: string | OutputRef<string> }, intent: Intent): OutputRefs<{ messageId: number; key: string }>;
};

/** Thrown on the client when an Intent would be refused for its shape; nothing was sent. */
export class IntentValidationError extends Error {
  override name = "IntentValidationError";
  constructor(readonly issues: Issue[]) {
    super(formatIssues(issues));
  }
}

/** Options of `buildIntent`: an idempotency key, and limits other than `DEFAULT_LIMITS`. */
export interface BuildOptions {
  idempotencyKey?: string;
  limits?: IntentLimits;
}

declare const resultType: unique symbol;

/** An Intent as `buildIntent` returns it: plain wire data, typed with what its body returned. */
export type BuiltIntent<R = void> = Intent & { readonly [resultType]?: R };

/** What a body's return value becomes once the Intent is sealed: each Ref replaced by the output it names. */
export type ResultOf<R> =
  R extends OutputRef<infer T> ? T : R extends readonly unknown[] ? { [K in keyof R]: ResultOf<R[K]> } : R extends object ? { [K in keyof R]: ResultOf<R[K]> } : R;

// What each body returned, kept beside the Intent: the Intent itself stays plain wire data.
const results = new WeakMap<Intent, unknown>();

/** A step the builder offers: an operation of the law or a built-in, its outputs, and the Refs to them by step index. */
interface BuilderStep {
  op: string;
  builtin?: BuiltinStep;
  outputs: readonly string[];
  refs: Readonly<Record<string, Ref>>[];
}

/** The builder's target: never read, its methods come from the law (see `stepsOf`). */
const EMPTY = Object.freeze({});
const builderSteps = new WeakMap<Vocabulary, ReadonlyMap<string, BuilderStep>>();

/** The steps of the law's builder, made once per vocabulary rather than once per Intent. */
function stepsOf(vocabulary: Vocabulary): ReadonlyMap<string, BuilderStep> {
  let out = builderSteps.get(vocabulary);
  if (!out) {
    const steps = new Map<string, BuilderStep>();
    for (const [op, spec] of Object.entries(vocabulary.operations)) steps.set(op, { op, outputs: Object.keys(shapeOf(spec.output)), refs: [] });
    for (const builtin of Object.values(BUILTIN_STEPS)) steps.set(builtin.op, { op: builtin.op, builtin, outputs: builtin.outputs, refs: [] });
    builderSteps.set(vocabulary, (out = steps));
  }
  return out;
}

/** The Refs to the outputs of the step at `index`: the same for every Intent, so made once and frozen. */
function refsOf(step: BuilderStep, index: number): Readonly<Record<string, Ref>> {
  return (step.refs[index] ??= Object.freeze(Object.fromEntries(step.outputs.map((output) => [output, Object.freeze({ $ref: Object.freeze({ output, step: index }) })]))));
}

/**
 * Builds an Intent by calling operations in order. The body may pass one step's
 * outputs to later steps but cannot inspect them: outputs are Refs, not values,
 * so no branch can depend on them (the Arrow rule). What the body returns (Refs, or
 * objects and arrays of them) is read back from the Seal with `resultOf`.
 */
export function buildIntent<Ops extends Record<string, OperationSpec>, R = void>(
  vocabulary: Vocabulary<Vocabulary["nomos"], Ops>,
  body: (step: StepBuilder<Ops>) => R,
  options: BuildOptions = {},
): BuiltIntent<R> {
  const building = new Building(vocabulary);
  const result = body(building.builder as StepBuilder<Ops>);
  const { nomos } = vocabulary;
  const intent = canonicalIntent(nomosStamp(nomos), building.steps, options.idempotencyKey);
  // Steps were checked as they were added; the limits the Attractor also applies remain.
  const limits = options.limits ?? DEFAULT_LIMITS;
  const issues = limitIssues(intent, limits);
  if (issues.length) throw new IntentValidationError(issues);
  recordChecked(intent, vocabulary, limits);
  if (result !== undefined) results.set(intent, result);
  return intent as BuiltIntent<R>;
}

type StepMethod = (args: Record<string, unknown>, nested?: unknown) => unknown;

/**
 * One Intent being built, and the handler of its builder's Proxy. A class rather than closures
 * made per Intent: a bundle that keeps names (wrangler's does) names each such closure with a
 * `defineProperty` call every time it is made.
 */
class Building implements ProxyHandler<object> {
  readonly steps: IntentStep[] = [];
  readonly builder: unknown = new Proxy(EMPTY, this);
  /** The frozen Intent's steps while a `$freeze` body runs. */
  private frozen: IntentStep[] | null = null;
  /** One method per step name, made when the body first names it: a law has many operations, a body calls few. */
  private methods: Map<string, StepMethod> | undefined;

  constructor(private readonly vocabulary: Vocabulary) {}

  get(_: object, name: string | symbol): StepMethod | undefined {
    const step = typeof name === "string" ? stepsOf(this.vocabulary).get(name) : undefined;
    if (!step) return undefined;
    const methods = (this.methods ??= new Map());
    let method = methods.get(step.op);
    if (!method) methods.set(step.op, (method = this.method(step)));
    return method;
  }

  private method(step: BuilderStep): StepMethod {
    return (args, nested) => this.call(step, args, nested);
  }

  /** Appends a step and checks it where it stands, so an error names the call that made it. */
  private add(op: string, args: Record<string, unknown>): number {
    const { steps } = this;
    const index = steps.length;
    steps.push({ args: args as IntentStep["args"], op });
    const checked = checkStepArgs(this.vocabulary, steps, index);
    if (!checked.ok) throw new IntentValidationError(checked.issues);
    steps[index] = { args: checked.value, op };
    return index;
  }

  private call(step: BuilderStep, args: Record<string, unknown>, nested?: unknown): unknown {
    const { builtin } = step;
    const { frozen } = this;
    if (!builtin) {
      if (frozen) return void frozen.push({ args: args as IntentStep["args"], op: step.op });
      return refsOf(step, this.add(step.op, args));
    }
    if (frozen) throw new IntentValidationError([issue("not_allowed", ["steps", this.steps.length, "args", "intent", "steps", frozen.length, "op"], `a frozen Intent cannot itself ${builtin.op.slice(1)}`)]);
    if (!builtin.carries) return refsOf(step, this.add(builtin.op, args));
    // Another Attractor's Intent, built with its own vocabulary: carried as it is.
    if (builtin.carries === "intent") return refsOf(step, this.add(builtin.op, { ...args, intent: nested }));
    const inner: IntentStep[] = (this.frozen = []);
    try {
      (nested as ((step: unknown) => void) | undefined)?.(this.builder);
    } finally {
      this.frozen = null;
    }
    return refsOf(step, this.add(builtin.op, { ...args, intent: { steps: inner } }));
  }
}

/** `buildIntent` that returns the issues instead of throwing them. */
export function safeBuildIntent<Ops extends Record<string, OperationSpec>, R = void>(
  vocabulary: Vocabulary<Vocabulary["nomos"], Ops>,
  body: (step: StepBuilder<Ops>) => R,
  options: BuildOptions = {},
): { ok: true; intent: BuiltIntent<R> } | { ok: false; issues: Issue[] } {
  try {
    return { ok: true, intent: buildIntent(vocabulary, body, options) };
  } catch (error) {
    if (error instanceof IntentValidationError) return { ok: false, issues: error.issues };
    throw error;
  }
}

function resolveResult(value: unknown, outputs: readonly Json[]): unknown {
  if (isRef(value)) return resolveValue(value, outputs);
  if (Array.isArray(value)) return value.map((v) => resolveResult(v, outputs));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveResult(v, outputs)]));
  return value;
}

/**
 * The typed result of a sealed Intent: what its body returned, with each Ref replaced by
 * the output it names in the Seal. Works on a Seal from any source, a native RPC stub
 * included, given the Intent `buildIntent` returned.
 */
export function resultOf<R>(intent: BuiltIntent<R>, seal: Pick<SuccessSeal, "outputs">): ResultOf<R> {
  return resolveResult(results.get(intent), seal.outputs) as ResultOf<R>;
}

