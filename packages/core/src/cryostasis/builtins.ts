import * as z from "#zod";
import { canonicalJson, type Json, sameJson } from "../canonical/index.js";
import { type BuiltinStep, explainedValue, invalidStep, keyIssue, prefixed, splitRefs } from "../builtin/index.js";
import {
  type ArgValue,
  canonicalIntent,
  checkOpArgs,
  definedArgs,
  type IntentStep,
  isBuiltinOp,
  hasRef,
  isRef,
  nomosStamp,
  type Ref,
  resolveArgs,
  resolveValue,
  stepSchema,
  strictArgs,
  wellFormedStep,
} from "../intent/index.js";
import { type Issue, issue, zodIssues } from "../issue/index.js";
import { once } from "../once.js";
import { Refusal } from "../refusal/index.js";
import { sieveHash, sieveOf } from "../sieve/index.js";
import { CANCEL_SQL, FREEZE_SQL } from "./store.js";

/** The furthest ahead an Intent may be frozen. */
export const MAX_FREEZE_MS = 366 * 24 * 60 * 60 * 1000;
const MS_PER_DAY = 86_400_000;

/** When to wake, as a `$freeze` step or `freeze()` gives it: exactly one of the two. */
export interface WakeWhen {
  at?: unknown;
  delaySeconds?: unknown;
}

/**
 * The wake-time rule: exactly one of `at` (whole milliseconds) or `delaySeconds` (whole
 * seconds, at least 1), in the future and at most MAX_FREEZE_MS ahead. Without `now` (an
 * Intent being parsed) only what does not depend on the clock is checked. `verb` says
 * whether the value was given ("be") or came from a Ref ("resolve to").
 */
export function wakeTime(when: WakeWhen, now: number | undefined, verb: "be" | "resolve to" = "be"): { ok: true; wakeAt: number | undefined } | { ok: false; issue: Issue } {
  // No closures here: this runs twice per `$freeze`, and a bundle that keeps names wraps each one made.
  if ((when.at === undefined) === (when.delaySeconds === undefined)) return wakeIssue([], "give exactly one of at or delaySeconds");
  if (when.at !== undefined && (!wholeNumber(when.at) || when.at < 0)) return wakeIssue(["at"], `must ${verb} whole milliseconds`);
  if (when.delaySeconds !== undefined && (!wholeNumber(when.delaySeconds) || when.delaySeconds < 1)) {
    return wakeIssue(["delaySeconds"], `must ${verb} a whole number of seconds, at least 1`);
  }
  const field = when.at !== undefined ? "at" : "delaySeconds";
  if (now === undefined) return when.at === undefined && (when.delaySeconds as number) * 1000 > MAX_FREEZE_MS ? wakeIssue([field], TOO_FAR) : NO_WAKE_TIME;
  const wakeAt = (when.at as number | undefined) ?? now + (when.delaySeconds as number) * 1000;
  if (wakeAt <= now) return wakeIssue([field], `wake time ${new Date(wakeAt).toISOString()} is not in the future`);
  if (wakeAt > now + MAX_FREEZE_MS) return wakeIssue([field], TOO_FAR);
  return { ok: true, wakeAt };
}

function wakeIssue(path: string[], message: string): { ok: false; issue: Issue } {
  return { ok: false, issue: issue("invalid_value", path, message) };
}
function wholeNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}
const TOO_FAR = `wake time is more than ${MAX_FREEZE_MS / MS_PER_DAY} days ahead`;
/** Checked without a clock: the rules hold, the time is not known yet. */
const NO_WAKE_TIME = Object.freeze({ ok: true as const, wakeAt: undefined });

/** Built-in steps of Cryostasis: brought by cryostasisFeature (index.ts). */
export const FREEZE = "$freeze";
export const CANCEL = "$cancel";

/** Arguments of a `$freeze` step: when, an optional key, and the Intent to freeze (its Refs name the outer steps). */
export interface FreezeArgs {
  at?: number | Ref;
  delaySeconds?: number | Ref;
  key?: string | Ref;
  intent: { steps: IntentStep[] };
}

// Time and key are checked by their rules above; the schema covers the shape. Built on first use:
// most `$freeze` steps are recognised without it (wellFormedFreeze), and a cold start pays for no schema.
const freezeArgs = once(() =>
  z.strictObject({
    at: z.optional(z.unknown()),
    delaySeconds: z.optional(z.unknown()),
    key: z.optional(z.unknown()),
    intent: z.strictObject({ steps: z.array(stepSchema()).check(z.minLength(1, "a frozen Intent needs at least one step")) }),
  }),
);
const cancelArgs = once(() => z.strictObject({ key: z.optional(z.unknown()) }));
/** What `cancelArgs` accepts as it is: no field but `key` (a loop, no closure per call). */
function onlyKey(rest: Record<string, unknown>): boolean {
  for (const k of Object.keys(rest)) if (k !== "key") return false;
  return true;
}

/** `$freeze` arguments as `freezeArgs` reads them. */
interface FreezeShape {
  at?: unknown;
  delaySeconds?: unknown;
  key?: unknown;
  intent: { steps: { op: string; args: Record<string, unknown> }[] };
}
/** In canonical order. */
const FREEZE_KEYS = ["at", "delaySeconds", "intent", "key"];
const plainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The usual `$freeze` arguments, recognised without Zod: a strict subset of what `freezeArgs` accepts, with the same data. */
function wellFormedFreeze(rest: Record<string, unknown>): rest is Record<string, unknown> & FreezeShape {
  if (!Object.keys(rest).every((k) => FREEZE_KEYS.includes(k))) return false;
  const { intent } = rest;
  if (!plainObject(intent) || Object.keys(intent).some((k) => k !== "steps")) return false;
  return Array.isArray(intent.steps) && intent.steps.length > 0 && intent.steps.every(wellFormedStep);
}

export const freezeStep: BuiltinStep = {
  op: FREEZE,
  description: "Freezes an Intent to wake at a time or after a delay, atomically with the rest of this Intent.",
  refFields: ["at", "delaySeconds", "key"],
  outputs: ["cryoId", "wakeAt"],
  carries: "steps",
  check(scope, given, at) {
    const { rest, refs, issues } = splitRefs(scope, given, this.refFields, at);
    const argsAt = [...at, "args"];
    // Given values follow the rules now; values from Refs when they are resolved.
    const when = wakeTime({ at: refs.at ?? given.at, delaySeconds: refs.delaySeconds ?? given.delaySeconds }, undefined);
    const timeFromRef = refs.at !== undefined || refs.delaySeconds !== undefined;
    if (!when.ok && (!timeFromRef || when.issue.path.length === 0)) issues.push(prefixed(when.issue, argsAt));
    if (rest.key !== undefined) {
      const bad = keyIssue(rest.key);
      if (bad) issues.push(prefixed(bad, argsAt));
    }
    let data: FreezeShape;
    if (wellFormedFreeze(rest)) data = rest;
    else {
      const parsed = freezeArgs().safeParse(rest);
      if (!parsed.success) return { ok: false, issues: [...issues, ...zodIssues(parsed.error, argsAt)] };
      data = parsed.data;
    }
    const nested: IntentStep[] = [];
    data.intent.steps.forEach((step, j) => {
      const path = [...argsAt, "intent", "steps", j];
      if (isBuiltinOp(step.op)) {
        issues.push(issue("not_allowed", [...path, "op"], `a frozen Intent cannot itself ${step.op.slice(1)}`));
        return;
      }
      // A frozen step's Refs name the outer Intent's earlier steps: they are resolved when it is frozen.
      const r = checkOpArgs(scope, step.op, step.args, path);
      if (r.ok) nested.push({ args: r.value, op: step.op });
      else issues.push(...r.issues);
    });
    if (issues.length) return { ok: false, issues };
    // Keys in canonical order (see canonicalIntent): canonicalJson writes the step without a copy.
    const out: Record<string, ArgValue> = {};
    for (const key of FREEZE_KEYS) {
      const value = key === "intent" ? ({ steps: nested } as unknown as Json) : (refs[key] ?? (data[key as keyof FreezeShape] as ArgValue | undefined));
      if (value !== undefined) out[key] = value;
    }
    return { ok: true, value: out };
  },
  interpret({ vocabulary, intent, args, outputs, ctx, host }) {
    const a = args as unknown as FreezeArgs;
    const verb = isRef(a.at) || isRef(a.delaySeconds) ? "resolve to" : "be";
    const when = wakeTime({ at: resolveValue(a.at, outputs), delaySeconds: resolveValue(a.delaySeconds, outputs) }, ctx.now, verb);
    if (!when.ok) throw invalidStep(ctx.step, FREEZE, when.issue);
    const key = resolveValue(a.key, outputs);
    const badKey = key === undefined ? undefined : keyIssue(key, "resolve to");
    if (badKey) throw invalidStep(ctx.step, FREEZE, badKey);
    // The frozen steps were checked when the Intent was parsed; only values that came from Refs are new.
    // Stored once: as a reference to this step when the sediment alone derives exactly this Intent
    // (see frozenFromStep): stamped, and every resolved value as its parse keeps it.
    let steps = a.intent.steps;
    let exact = intent.nomos !== undefined;
    for (let j = 0; j < a.intent.steps.length; j++) {
      const step = a.intent.steps[j]!;
      if (!hasRef(step.args)) continue;
      const resolved = resolveArgs(step.args, outputs);
      const parsed = z.safeParse(strictArgs(vocabulary.operations[step.op]!), resolved);
      if (!parsed.success) {
        throw new Refusal({
          kind: "validation",
          message: `step ${ctx.step} ($freeze): frozen step ${j} (${step.op}) has invalid arguments`,
          step: ctx.step,
          op: FREEZE,
          issues: zodIssues(parsed.error, ["steps", ctx.step, "args", "intent", "steps", j, "args"]),
        });
      }
      const parsedArgs = definedArgs(parsed.data as Record<string, ArgValue>);
      // sameJson takes a key holding undefined as absent, as definedArgs leaves it.
      if (exact) exact = sameJson(resolved, parsedArgs);
      if (steps === a.intent.steps) steps = [...steps];
      steps[j] = { args: parsedArgs, op: step.op };
    }
    const frozen = canonicalIntent(intent.nomos ?? nomosStamp(vocabulary.nomos), steps, undefined);
    const source = exact ? { sedimentId: ctx.sedimentId, step: ctx.step } : undefined;
    const stored = host.freeze({ wakeAt: when.wakeAt!, key: key as string | undefined, intent: frozen, now: ctx.now, source });
    return { cryoId: stored.cryoId, wakeAt: stored.wakeAt };
  },
  // The frozen Intent is shown with its Refs, resolved when it is frozen. A stamped Intent's is
  // stored as a reference to this step (intent NULL), which is what the sediment derives it from;
  // the Sieve and the World are bound by the ids the Attractor's storage gives them, named here.
  explain(vocabulary, intent, args, context) {
    const a = args as unknown as FreezeArgs;
    const wakeAt = a.at !== undefined ? explainedValue(a.at) : isRef(a.delaySeconds) ? { $computedFrom: [a.delaySeconds] } : context.now + (a.delaySeconds as number) * 1000;
    const frozen = canonicalJson({ v: 1, nomos: intent.nomos ?? nomosStamp(vocabulary.nomos), steps: a.intent.steps });
    const sieve = sieveHash(sieveOf(vocabulary, a.intent.steps.map((s) => s.op)));
    const step = intent.steps.findIndex((s) => s.args === args);
    const source = intent.nomos ? [null, context.sedimentId, step] : [frozen, null, null];
    return { sql: FREEZE_SQL, params: ["(the next cryo_id)", wakeAt, ...source, `(the id of Sieve ${sieve})`, vocabulary.nomos.version, "(this Attractor's World id)", explainedValue(a.key), context.now] };
  },
};

export const cancelStep: BuiltinStep = {
  op: CANCEL,
  description: "Cancels the frozen Intent with this key, if any, atomically with the rest of this Intent.",
  refFields: ["key"],
  outputs: ["cancelled"],
  carries: false,
  check(scope, given, at) {
    const { rest, refs, issues } = splitRefs(scope, given, this.refFields, at);
    // Its one field is recognised without Zod (a cancel is in every API release); anything else the schema names.
    const parsed = onlyKey(rest) ? { success: true as const, data: rest as { key?: unknown } } : cancelArgs().safeParse(rest);
    if (!parsed.success) issues.push(...zodIssues(parsed.error, [...at, "args"]));
    const key = refs.key ?? (parsed.success ? parsed.data.key : undefined);
    if (key === undefined && parsed.success) issues.push(issue("invalid_type", [...at, "args", "key"], "is required"));
    else if (!refs.key && parsed.success) {
      const bad = keyIssue(key);
      if (bad) issues.push(prefixed(bad, [...at, "args"]));
    }
    return issues.length ? { ok: false, issues } : { ok: true, value: { key: key as ArgValue } };
  },
  interpret({ args, outputs, ctx, host }) {
    const key = resolveValue(args.key, outputs);
    const bad = keyIssue(key, "resolve to");
    if (bad) throw invalidStep(ctx.step, CANCEL, bad);
    return { cancelled: host.cancel(key as string) };
  },
  explain(_vocabulary, _intent, args) {
    return { sql: CANCEL_SQL, params: [explainedValue(args.key)] };
  },
};

