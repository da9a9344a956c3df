import { type Json, setOwn } from "../canonical/index.js";
import type { SqlValue } from "../host/index.js";
import {
  type ArgValue,
  type Intent,
  type InterpretationContext,
  isRef,
  looksLikeRef,
  MAX_KEY_LENGTH,
  type Ref,
  refIssues,
  type StepScope,
  type Vocabulary,
} from "../intent/index.js";
import { type Issue, issue, type ParseResult } from "../issue/index.js";
import { Refusal } from "../refusal/index.js";

/** Where a message goes: the Worker binding of the target Attractor class, and the name it is addressed by. */
export interface MessageTarget {
  attractor: string;
  name: string;
}

/**
 * Where built-in steps go: the host's own stores, inside the same transaction as the rest of
 * the Intent (Cryostasis for `$freeze`/`$cancel`, the outbox for `$send`).
 */
export interface BuiltinHost {
  /** Stores the frozen Intent (`now` is the freezing Intent's time); with a pending key, returns that entry instead. */
  freeze(request: { wakeAt: number; key?: string | undefined; intent: Intent; now: number; source?: { sedimentId: number; step: number } | undefined }): { cryoId: number; wakeAt: number };
  cancel(key: string): boolean;
  /** Stores a message in the outbox; with a key already sent, stores nothing and returns that message. */
  send(request: { to: MessageTarget; intent: Intent; key?: string | undefined; now: number; sedimentId: number; step: number }): { messageId: number; key: string };
}

/** A statement a built-in step runs, as explain shows it. */
export interface BuiltinStatement {
  sql: string;
  params: (SqlValue | Ref | { $computedFrom: Ref[] })[];
}

/** What a built-in step is given when it runs inside the Interpretation. */
export interface BuiltinRun {
  vocabulary: Vocabulary;
  intent: Intent;
  args: Record<string, ArgValue>;
  outputs: readonly Json[];
  ctx: InterpretationContext;
  host: BuiltinHost;
}

/** One built-in step: its arguments and outputs, and how it is checked, run and explained. */
export interface BuiltinStep {
  readonly op: `$${string}`;
  readonly description: string;
  /** Fields that may be Refs to earlier outputs. */
  readonly refFields: readonly string[];
  readonly outputs: readonly string[];
  /**
   * What it carries at `args.intent`, which decides how the builder takes it: "steps" of this
   * law to run later (a body), an "intent" built with another Attractor's law (a built Intent), or nothing.
   */
  readonly carries: "steps" | "intent" | false;
  check(scope: StepScope, args: Record<string, unknown>, at: PropertyKey[]): ParseResult<Record<string, ArgValue>>;
  interpret(run: BuiltinRun): Json;
  explain(vocabulary: Vocabulary, intent: Intent, args: Record<string, ArgValue>, context: Omit<InterpretationContext, "step">): BuiltinStatement;
}

/** The key rule of built-in steps (freeze and message keys): a string of 1 to MAX_KEY_LENGTH characters. */
export function keyIssue(key: unknown, verb: "be" | "resolve to" = "be"): Issue | undefined {
  if (typeof key === "string" && key.length >= 1 && key.length <= MAX_KEY_LENGTH) return undefined;
  return issue("invalid_value", ["key"], `must ${verb} a string of 1–${MAX_KEY_LENGTH} characters`);
}

/** Splits Ref-valued fields off a built-in's arguments and checks them as Refs. */
export function splitRefs(scope: StepScope, given: Record<string, unknown>, fields: readonly string[], at: PropertyKey[]) {
  const refs: Record<string, Ref> = {};
  const issues: Issue[] = [];
  let split = false;
  for (const key of fields) {
    const value = given[key];
    if (!Object.hasOwn(given, key) || !looksLikeRef(value)) continue;
    issues.push(...refIssues(scope, value, [...at, "args", key]));
    refs[key] = value as Ref;
    split = true;
  }
  if (!split) return { rest: { ...given }, refs, issues };
  // A copy without them (setOwn keeps an own "__proto__" a key); no `delete`, which leaves an object slow to read.
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(refs, key)) continue;
    setOwn(rest, key, given[key]);
  }
  return { rest, refs, issues };
}

export const prefixed = (i: Issue, at: PropertyKey[]): Issue => ({ ...i, path: [...at.map((k) => (typeof k === "number" ? k : String(k))), ...i.path] });

/** `step N (op): message`, at the step's argument `path`. */
export function invalidStep(index: number, op: string, found: Issue): Refusal {
  return new Refusal({ kind: "validation", message: `step ${index} (${op}): ${found.message}`, step: index, op, issues: [prefixed(found, ["steps", index, "args"])] });
}

/** A value as explain shows it: a given value, or the Ref it comes from. */
export const explainedValue = (v: ArgValue | undefined): SqlValue | Ref => (v === undefined ? null : isRef(v) ? v : (v as SqlValue));
