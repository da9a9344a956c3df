import * as z from "#zod";
import { clone } from "zod/v4/core";
import { type Json, utf8Length, utf8Within } from "../canonical/index.js";
import { type Issue, issue, type ParseResult, zodIssues } from "../issue/index.js";
import { MAX_NAME_LENGTH } from "../nomos/index.js";
import { once } from "../once.js";
import { type ObjectSchema, type OperationSpec, shapeOf, strict, strictArgs, type Vocabulary } from "./vocabulary.js";

/** A data reference: "the `output` field of step `step`". Only earlier steps may be named. */
export interface Ref {
  $ref: { step: number; output: string };
}

/** A step argument on the wire: JSON, or a Ref to an earlier step's output. */
export type ArgValue = Json | Ref;

/** One step of an Intent: the operation's name and its arguments. */
export interface IntentStep {
  op: string;
  args: Record<string, ArgValue>;
}

/** The Nomos an Intent was built against; checked by the Attractor before it runs. */
export interface NomosStamp {
  name: string;
  version: number;
  hash: string;
}

/** The stamp an Intent carries for the law it is built against. */
export function nomosStamp(nomos: Pick<NomosStamp, "name" | "version" | "hash">): NomosStamp {
  return { hash: nomos.hash, name: nomos.name, version: nomos.version };
}

/** Wire format version 1. Plain data: it crosses RPC and is stored as JSON unchanged. */
export interface Intent {
  v: 1;
  nomos?: NomosStamp;
  idempotencyKey?: string;
  steps: IntentStep[];
}

/**
 * An Intent with its keys in canonical order (as are a stamp's and a step's, `args` before `op`):
 * canonicalJson then writes it as it is, where a copy of every object out of order was a tenth of
 * a reservation's JavaScript with its `$freeze`.
 */
export function canonicalIntent(nomos: NomosStamp | undefined, steps: IntentStep[], idempotencyKey: string | undefined): Intent {
  const intent = {} as Intent;
  if (idempotencyKey !== undefined) intent.idempotencyKey = idempotencyKey;
  if (nomos) intent.nomos = nomos;
  intent.steps = steps;
  intent.v = 1;
  return intent;
}

/** The bounds an Intent must keep (`DEFAULT_LIMITS`, or an Attractor's `static limits`); the number of steps is `maxSteps`. */
export interface IntentLimits {
  maxSteps: number;
  /** Bytes of the Intent's JSON. */
  maxBytes: number;
  /** Upper bound for any string inside step arguments, whatever the operation allows. */
  maxStringLength: number;
  /** Upper bound for the elements of any array inside step arguments (an argument SQL reads with `json_each`), whatever the operation allows. */
  maxArrayLength: number;
}

/** Steps per Intent, frozen steps included. */
export const MAX_STEPS = 64;
/** Bytes of an Intent's JSON. */
export const MAX_INTENT_BYTES = 64 * 1024;
/** Characters of any string inside step arguments. */
export const MAX_STRING_LENGTH = 4096;
/** Elements of any array inside step arguments; the steps an Intent carries are bounded by MAX_STEPS instead. */
export const MAX_ARRAY_LENGTH = 1024;
/** Characters of an idempotency key or a freeze key. */
export const MAX_KEY_LENGTH = 128;

/** The Intent limits unless an Attractor sets its own: 64 steps, 64 KiB of JSON, 4096 characters per string, 1024 elements per array. */
export const DEFAULT_LIMITS: IntentLimits = { maxSteps: MAX_STEPS, maxBytes: MAX_INTENT_BYTES, maxStringLength: MAX_STRING_LENGTH, maxArrayLength: MAX_ARRAY_LENGTH };

export function isRef(value: unknown): value is Ref {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    "$ref" in value
  );
}

/** Whether any argument is a Ref, without an array of the values (this runs for every step). */
export function hasRef(args: Record<string, unknown>): boolean {
  for (const key in args) if (Object.hasOwn(args, key) && isRef(args[key])) return true;
  return false;
}

/**
 * Built-in steps are named with a leading `$` (the registry is in `interpretation/builtins.ts`);
 * operation names cannot start with one. A built-in may carry steps of this law to run later at
 * `args.intent` (`$freeze`), or a whole Intent of another Attractor's law (`$send`).
 */
export const isBuiltinOp = (op: string): boolean => op.startsWith("$");

/**
 * The steps of this law a built-in step carries at `args.intent.steps`, or none; unchecked
 * input is read with care. A whole Intent (it has its own `v`, as a message does) is under its
 * target's law, so none of its steps are this law's.
 */
export function carriedSteps(step: { op: string; args: unknown }): readonly IntentStep[] {
  if (!isBuiltinOp(step.op)) return [];
  const carried = (step.args as { intent?: { v?: unknown; steps?: unknown } } | null)?.intent;
  if (!carried || carried.v !== undefined) return [];
  return Array.isArray(carried.steps) ? (carried.steps as IntentStep[]) : [];
}

/** Every vocabulary operation an Intent names, those of the Intents it carries included. */
export function operationsOf(intent: Pick<Intent, "steps">): string[] {
  return intent.steps.flatMap((s) => (isBuiltinOp(s.op) ? carriedSteps(s).map((n) => n.op) : [s.op]));
}

/** The value a Ref points at among the outputs so far, or the value itself. */
export function resolveValue(value: ArgValue | undefined, outputs: readonly Json[]): unknown {
  return isRef(value) ? (outputs[value.$ref.step] as Record<string, Json> | undefined)?.[value.$ref.output] : value;
}

/** Arguments with every Ref replaced by the output it names. */
export function resolveArgs(args: Record<string, ArgValue>, outputs: readonly Json[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) out[key] = resolveValue(value, outputs);
  return out;
}

// Every schema here is built on first use (see `once`): most Refs, steps and envelopes never reach
// Zod (wellFormedRef, wellFormedEnvelope), and a cold start builds none.

/** An operation or output name: 1 to MAX_NAME_LENGTH characters. */
const nameSchema = once(() => z.string().check(z.minLength(1), z.maxLength(MAX_NAME_LENGTH)));

const refSchema = once(() =>
  z.strictObject({
    $ref: z.strictObject({ step: z.number().check(z.int(), z.gte(0)), output: nameSchema() }),
  }),
);

/** One step on the wire, before its arguments are checked. */
export const stepSchema = once(() =>
  z.strictObject({
    op: nameSchema(),
    // Not z.record: it silently drops a "__proto__" key, which must be refused as an unknown argument instead.
    args: z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "step arguments must be an object"),
  }),
);

const idempotencyKey = once(() => z.string().check(z.minLength(1, "must not be empty"), z.maxLength(MAX_KEY_LENGTH)));

/** The Intent around its steps, as untrusted input must have it; built on first use (see `once`). */
export const envelope = once(() =>
  z.strictObject({
    v: z.literal(1, { error: "wire format version must be 1" }),
    nomos: z.optional(z.strictObject({ name: nameSchema(), version: z.number().check(z.int(), z.gte(1)), hash: z.string().check(z.regex(/^[0-9a-f]{64}$/)) })),
    idempotencyKey: z.optional(idempotencyKey()),
    steps: z.array(stepSchema()).check(z.minLength(1, "an Intent needs at least one step")),
  }),
);

export type Envelope = z.output<ReturnType<typeof envelope>>;

const HASH = /^[0-9a-f]{64}$/;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const plainPrototype = (v: object) => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
const isName = (v: unknown) => typeof v === "string" && v.length >= 1 && v.length <= MAX_NAME_LENGTH;
/** True when every own key of `o` is one of `allowed`. */
const onlyKeys = (o: object, allowed: readonly string[]) => {
  // for…in, not Object.keys: no array per object. It also yields inherited keys, which only refuse more (Zod then decides).
  for (const key in o) if (!allowed.includes(key)) return false;
  return true;
};
/** An absent key, or one of 1 to MAX_KEY_LENGTH UTF-16 units: within `idempotencyKey`'s bounds in code points too. */
const plainKey = (key: unknown): boolean => key === undefined || (typeof key === "string" && key.length >= 1 && key.length <= MAX_KEY_LENGTH);

/**
 * The usual envelope, recognised without Zod: a strict subset of what `envelope` accepts, with
 * the same data. Anything else (every error among it) goes through `envelope`, which words the
 * issues; without code generation (as in Workers) a Zod object parse costs several times this.
 */
export function wellFormedEnvelope(input: unknown): input is Envelope {
  if (!isPlainObject(input) || input.v !== 1 || !onlyKeys(input, ["v", "nomos", "idempotencyKey", "steps"])) return false;
  const { nomos, idempotencyKey, steps } = input;
  if (nomos !== undefined) {
    if (!isPlainObject(nomos) || !onlyKeys(nomos, ["name", "version", "hash"]) || !isName(nomos.name)) return false;
    if (!Number.isSafeInteger(nomos.version) || (nomos.version as number) < 1 || typeof nomos.hash !== "string" || !HASH.test(nomos.hash)) return false;
  }
  if (!plainKey(idempotencyKey)) return false;
  return Array.isArray(steps) && steps.length > 0 && steps.every(wellFormedStep);
}

/** A step as `stepSchema` accepts it, recognised without Zod (see `wellFormedEnvelope`). */
export function wellFormedStep(step: unknown): step is { op: string; args: Record<string, unknown> } {
  return isPlainObject(step) && onlyKeys(step, ["op", "args"]) && isName(step.op) && isPlainObject(step.args);
}

/** A Ref as `refSchema` accepts it, recognised without Zod: most Refs are well formed. */
function wellFormedRef(value: unknown): value is Ref {
  if (!isPlainObject(value) || !onlyKeys(value, ["$ref"]) || !isPlainObject(value.$ref) || !onlyKeys(value.$ref, ["step", "output"])) return false;
  const { step, output } = value.$ref;
  return Number.isSafeInteger(step) && (step as number) >= 0 && isName(output);
}

/** Steps, the Intent's own or those a built-in carries (`args.intent.steps`): maxSteps bounds them, not maxArrayLength. */
const isStepList = (path: readonly PropertyKey[]) => path.length === 1 || (path[path.length - 1] === "steps" && path[path.length - 2] === "intent");

/** UTF-8 bytes a JSON text may take per UTF-16 unit of a string: a control character or a lone surrogate is written \uXXXX. */
const MAX_JSON_BYTES_PER_UNIT = 6;
/** The longest text JSON gives a number (-1.7976931348623157e+308 and the like). */
const MAX_NUMBER_CHARS = 24;
/** Nesting deeper than this is sized by JSON.stringify instead, which also finds cycles. */
const MAX_SIZED_DEPTH = 64;
/** The envelope around the steps (`v`, the stamp's punctuation, version and hash, the field names), generously. */
const ENVELOPE_BYTES = 256;

/** What the walk sizes (see parseEnvelope): the bytes left under the limit. */
interface Sizing {
  left: number;
}

/** Takes `bytes` from what is left; false once more was taken than the limit allows. Without sizing, always true. */
const take = (size: Sizing | undefined, bytes: number) => !size || (size.left -= bytes) >= 0;

/**
 * Strings and arrays longer than the limits anywhere in `value`; `path` is a stack, copied only
 * for an issue (most Intents have none). With `size`, it also takes from `size.left` at most
 * how many bytes `value` takes as JSON, and returns false (stopping early, issues incomplete)
 * once it cannot say cheaply: more than is left, not plain data, nested too deep, an array
 * over the limit. The size check then writes the JSON instead.
 */
function longValues(value: unknown, limits: IntentLimits, path: PropertyKey[], out: Issue[], size?: Sizing): boolean {
  if (typeof value === "string") {
    const max = limits.maxStringLength;
    if (value.length > max) out.push(issue("too_big", [...path], `string is ${value.length} characters; at most ${max} are allowed`));
    return take(size, 2 + value.length * MAX_JSON_BYTES_PER_UNIT);
  }
  if (typeof value === "number") return take(size, MAX_NUMBER_CHARS);
  // undefined is left out of an object, or written null in an array.
  if (typeof value === "boolean" || value === null || value === undefined) return take(size, 5);
  if (typeof value !== "object") return !size;
  if (size && path.length > MAX_SIZED_DEPTH) return false;
  // Walked by index or key, not by entries: this runs on every Intent, and pairs are garbage.
  if (Array.isArray(value)) {
    const max = limits.maxArrayLength;
    if (value.length > max && !isStepList(path)) {
      out.push(issue("too_big", [...path], `array has ${value.length} elements; at most ${max} are allowed`));
      return !size;
    }
    if (!take(size, 2 + value.length)) return false;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const sized = longValues(value[i], limits, path, out, size);
      path.pop();
      if (!sized) return false;
    }
    return true;
  }
  // Anything but a plain object may write itself (toJSON): its size is JSON.stringify's to say.
  if (size && !plainPrototype(value)) return false;
  if (!take(size, 2)) return false;
  for (const key of Object.keys(value)) {
    if (!take(size, 4 + key.length * MAX_JSON_BYTES_PER_UNIT)) return false;
    path.push(key);
    const sized = longValues((value as Record<string, unknown>)[key], limits, path, out, size);
    path.pop();
    if (!sized) return false;
  }
  return true;
}

/** What checking one step needs from the Intent around it. */
export interface StepScope {
  vocabulary: Vocabulary;
  steps: readonly IntentStep[];
  /** The step being checked: a Ref may name only steps before it. */
  index: number;
  /** The outputs a step declares (built-ins included), or undefined for an unknown operation. */
  outputsOf(op: string): readonly string[] | undefined;
}

const hasOp = (vocabulary: Vocabulary, name: string) => Object.hasOwn(vocabulary.operations, name);

/** The outputs a vocabulary operation declares, or undefined when it has none by that name. */
export function operationOutputs(vocabulary: Vocabulary, op: string): readonly string[] | undefined {
  return hasOp(vocabulary, op) ? Object.keys(shapeOf(vocabulary.operations[op]!.output)) : undefined;
}

/** Checks one Ref: well formed, naming an earlier step, and a declared output. */
export function refIssues(scope: StepScope, value: unknown, at: PropertyKey[]): Issue[] {
  let ref: Ref["$ref"];
  if (wellFormedRef(value)) ref = value.$ref;
  else {
    const parsed = refSchema().safeParse(value);
    if (!parsed.success) return zodIssues(parsed.error, at);
    ref = parsed.data.$ref;
  }
  const { index } = scope;
  const { step: target, output } = ref;
  if (target >= index) {
    const allowed = index === 0 ? "the first step has none before it" : `only outputs of steps 0..${index - 1} may be used`;
    return [issue("invalid_ref", at, `refers to step ${target}, but a step may only use outputs of earlier steps; ${allowed}`)];
  }
  const targetName = scope.steps[target]!.op;
  const declared = scope.outputsOf(targetName);
  if (declared && !declared.includes(output)) {
    return [issue("invalid_ref", at, `step ${target} (${targetName}) has no output "${output}"; it declares ${declared.join(", ") || "nothing"}`)];
  }
  return [];
}

/** The object schema without `keys`, as classic zod's `.omit()` (which refuses a refined object too). */
function omit(schema: ObjectSchema, keys: readonly string[]): ObjectSchema {
  const { def } = schema._zod;
  if (def.checks?.length) throw new Error(".omit() cannot be used on object schemas containing refinements");
  const shape = Object.fromEntries(Object.entries(shapeOf(schema)).filter(([k]) => !keys.includes(k)));
  return clone(schema, { ...def, shape, checks: [] });
}

// Argument schemas without the Ref-valued fields, built once per operation and set of such fields.
const withoutCache = new WeakMap<OperationSpec, Map<string, ObjectSchema>>();
function argsWithout(op: OperationSpec, keys: string[]): ObjectSchema {
  let byKeys = withoutCache.get(op);
  if (!byKeys) withoutCache.set(op, (byKeys = new Map()));
  const id = keys.sort().join(",");
  let schema = byKeys.get(id);
  if (!schema) byKeys.set(id, (schema = strict(omit(op.args, keys))));
  return schema;
}

export const looksLikeRef = (value: unknown): boolean => value !== null && typeof value === "object" && "$ref" in value;

/** An issue for an operation this vocabulary does not have. */
export function unknownOperation(vocabulary: Vocabulary, op: string, at: readonly PropertyKey[]): Issue {
  return issue("unknown_operation", [...at, "op"], `unknown operation "${op}"; known: ${Object.keys(vocabulary.operations).join(", ")}`);
}

/**
 * Validates the arguments of one vocabulary operation. Fields given as Refs are checked only
 * for pointing at an earlier step's declared output; their values are validated when resolved.
 */
export function checkOpArgs(scope: StepScope, opName: string, given: Record<string, unknown>, at: PropertyKey[]): ParseResult<Record<string, ArgValue>> {
  const { vocabulary } = scope;
  // Own properties only: an op named "constructor" must be unknown, not Object's constructor.
  const op = hasOp(vocabulary, opName) ? vocabulary.operations[opName] : undefined;
  if (!op) return { ok: false, issues: [unknownOperation(vocabulary, opName, at)] };
  const issues: Issue[] = [];
  // Every field that looks like a Ref is checked here and kept away from the argument schema.
  let refKeys: Set<string> | undefined;
  for (const key of Object.keys(given)) {
    const value = given[key];
    if (!looksLikeRef(value)) continue;
    (refKeys ??= new Set()).add(key);
    if (!Object.hasOwn(shapeOf(op.args), key)) {
      issues.push(issue("unrecognized_keys", [...at, "args", key], `operation "${opName}" has no argument "${key}"`));
      continue;
    }
    issues.push(...refIssues(scope, value, [...at, "args", key]));
  }
  let parsed;
  if (!refKeys) parsed = z.safeParse(strictArgs(op), given);
  else {
    const rest = Object.fromEntries(Object.entries(given).filter(([k]) => !refKeys.has(k)));
    parsed = z.safeParse(argsWithout(op, [...refKeys].filter((k) => Object.hasOwn(shapeOf(op.args), k))), rest);
  }
  if (!parsed.success) issues.push(...zodIssues(parsed.error, [...at, "args"]));
  if (!parsed.success || issues.length) return { ok: false, issues };
  const args = definedArgs(parsed.data as Record<string, ArgValue>);
  if (refKeys) for (const key of refKeys) args[key] = given[key] as Ref;
  return { ok: true, value: args };
}

/**
 * An optional argument given as undefined is absent, as it will be after any JSON round trip.
 * `data` is the caller's own fresh object (a parse's output), changed in place: no copy per step.
 */
export function definedArgs(data: Record<string, ArgValue | undefined>): Record<string, ArgValue> {
  for (const key in data) if (data[key] === undefined) delete data[key];
  return data as Record<string, ArgValue>;
}

/** Steps, carried steps included. */
const stepCount = (steps: readonly { op: string; args: unknown }[]) => steps.reduce((n, s) => n + 1 + carriedSteps(s).length, 0);

/** Step count (carried steps included), string and array lengths; a step count over the limit is reported alone. */
export function stepLimitIssues(steps: readonly { op: string; args: unknown }[], limits: IntentLimits): Issue[] {
  const total = stepCount(steps);
  if (total > limits.maxSteps) {
    const which = total === steps.length ? "" : ` (${total - steps.length} of them frozen)`;
    return [issue("too_big", ["steps"], `Intent has ${total} steps${which}; at most ${limits.maxSteps} are allowed`)];
  }
  const issues: Issue[] = [];
  longValues(steps, limits, ["steps"], issues);
  return issues;
}

/** The envelope and the limits, for an Intent whose steps were already checked one by one (the builder). */
export function limitIssues(intent: Intent, limits: IntentLimits): Issue[] {
  const { idempotencyKey: key } = intent;
  if (!plainKey(key)) {
    const parsed = idempotencyKey().safeParse(key);
    if (!parsed.success) return zodIssues(parsed.error, ["idempotencyKey"]);
  }
  // Sized by the walk that checks its strings and arrays, as a received Intent is; JSON only where that cannot say.
  const sized = sizedStepIssues(intent, limits);
  if (sized) return sized;
  const tooLarge = sizeIssue(intent, limits.maxBytes);
  return tooLarge ? [tooLarge] : stepLimitIssues(intent.steps, limits);
}

/** Refuses input that is not JSON data or whose JSON exceeds `maxBytes` (key order does not change the size). */
export function sizeIssue(input: unknown, maxBytes: number): Issue | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    json = undefined;
  }
  if (json === undefined) return issue("not_json", [], "an Intent must be plain JSON data");
  if (utf8Within(json, maxBytes)) return undefined;
  return issue("too_big", [], `Intent is ${utf8Length(json)} bytes; at most ${maxBytes} are allowed`);
}

/**
 * The usual Intent sized by the walk that checks its strings and arrays: when an upper bound of
 * its JSON is within the limit, no JSON is written, and the walk's issues are `stepLimitIssues`.
 * Undefined when the bound says nothing: JSON.stringify then decides, as for any other input.
 */
function sizedStepIssues(raw: Pick<Intent, "nomos" | "idempotencyKey"> & { steps: readonly { op: string; args: unknown }[] }, limits: IntentLimits): Issue[] | undefined {
  if (!plainPrototype(raw) || (raw.nomos !== undefined && !plainPrototype(raw.nomos)) || stepCount(raw.steps) > limits.maxSteps) return undefined;
  const size = { left: limits.maxBytes - ENVELOPE_BYTES - ((raw.nomos?.name.length ?? 0) + (raw.idempotencyKey?.length ?? 0)) * MAX_JSON_BYTES_PER_UNIT };
  const issues: Issue[] = [];
  return size.left >= 0 && longValues(raw.steps, limits, ["steps"], issues, size) ? issues : undefined;
}

/**
 * The envelope of untrusted input: JSON, size, shape, limits and the Nomos name. The steps'
 * arguments are left to the caller, which knows the built-in steps.
 */
export function parseEnvelope(vocabulary: Vocabulary, input: unknown, limits: IntentLimits): { ok: true; value: Envelope; issues: Issue[] } | { ok: false; issues: Issue[] } {
  const wellFormed = wellFormedEnvelope(input) ? input : undefined;
  const sized = wellFormed && sizedStepIssues(wellFormed, limits);
  let raw: Envelope;
  let issues: Issue[];
  if (wellFormed && sized) {
    raw = wellFormed;
    issues = sized;
  } else {
    const tooLarge = sizeIssue(input, limits.maxBytes);
    if (tooLarge) return { ok: false, issues: [tooLarge] };
    if (wellFormed) raw = wellFormed;
    else {
      const parsed = envelope().safeParse(input);
      if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
      raw = parsed.data;
    }
    issues = stepLimitIssues(raw.steps, limits);
    if (issues[0]?.code === "too_big" && issues[0].path.length === 1) return { ok: false, issues };
  }
  if (raw.nomos && raw.nomos.name !== vocabulary.nomos.name) {
    issues.push(issue("nomos", ["nomos", "name"], `Intent was built for Nomos "${raw.nomos.name}", this vocabulary is for "${vocabulary.nomos.name}"`));
  }
  return { ok: true, value: raw, issues };
}
