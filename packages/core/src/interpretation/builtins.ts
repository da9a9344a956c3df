import type { ArgValue, IntentStep, StepScope, Vocabulary } from "../intent/index.js";
import { checkOpArgs, operationOutputs } from "../intent/index.js";
import type { ParseResult } from "../issue/index.js";
import type { BuiltinStep } from "../builtin/index.js";
import { cryostasisFeature } from "../cryostasis/index.js";
import { messagesFeature } from "../message/index.js";

/**
 * The built-in steps, by name: every layer that meets a `$` step looks it up here. Each feature
 * brings its own (see builtin/feature.ts); the registry sits above them, where they are run.
 */
export const BUILTIN_STEPS: Readonly<Record<string, BuiltinStep>> = Object.freeze(
  Object.fromEntries([cryostasisFeature, messagesFeature].flatMap((f) => f.steps.map((step) => [step.op, step]))),
);

/** The built-in step of this name, or undefined (own properties only). */
export function builtinStep(op: string): BuiltinStep | undefined {
  return Object.hasOwn(BUILTIN_STEPS, op) ? BUILTIN_STEPS[op] : undefined;
}

/** The outputs a step declares: a built-in's, a vocabulary operation's, or undefined when unknown. */
export function outputsOf(vocabulary: Vocabulary, op: string): readonly string[] | undefined {
  return builtinStep(op)?.outputs ?? operationOutputs(vocabulary, op);
}

/** A StepScope with `outputsOf` as a method: no closure (a named function, in a bundle that keeps names) per step checked. */
class Scope implements StepScope {
  constructor(
    readonly vocabulary: Vocabulary,
    readonly steps: readonly IntentStep[],
    readonly index: number,
  ) {}

  outputsOf(op: string): readonly string[] | undefined {
    return outputsOf(this.vocabulary, op);
  }
}

/** The scope step `index` of `steps` is checked in. */
export function stepScope(vocabulary: Vocabulary, steps: readonly IntentStep[], index: number): StepScope {
  return new Scope(vocabulary, steps, index);
}

/** Validates the arguments of step `index`: a vocabulary operation or a built-in step. */
export function checkStepArgs(vocabulary: Vocabulary, steps: readonly IntentStep[], index: number): ParseResult<Record<string, ArgValue>> {
  const step = steps[index]!;
  const at = ["steps", index];
  const scope = stepScope(vocabulary, steps, index);
  const builtin = builtinStep(step.op);
  if (builtin) return builtin.check(scope, step.args, at);
  return checkOpArgs(scope, step.op, step.args, at);
}
