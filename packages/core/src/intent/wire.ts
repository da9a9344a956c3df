import { z } from "zod";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { Json } from "../canonical/index.js";
import { type ObjectSchema, type OperationSpec, strictArgs, type Vocabulary } from "./vocabulary.js";

/** A data reference: "the `output` field of step `step`". Only earlier steps may be named. */
export interface Ref {
  $ref: { step: number; output: string };
}

export type ArgValue = Json | Ref;

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
  return { name: nomos.name, version: nomos.version, hash: nomos.hash };
}

/** Wire format version 1. Plain data: it crosses RPC and is stored as JSON unchanged. */
export interface Intent {
  v: 1;
  nomos?: NomosStamp;
  idempotencyKey?: string;
  steps: IntentStep[];
}

export interface IntentLimits {
  maxSteps: number;
  /** Bytes of the Intent's JSON. */
  maxBytes: number;
  /** Upper bound for any string inside step arguments, whatever the operation allows. */
  maxStringLength: number;
}

export const DEFAULT_LIMITS: IntentLimits = { maxSteps: 64, maxBytes: 64 * 1024, maxStringLength: 4096 };

export interface Issue {
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

export function isRef(value: unknown): value is Ref {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    "$ref" in value
  );
}

const refSchema = z.strictObject({
  $ref: z.strictObject({ step: z.number().int().min(0), output: z.string().min(1).max(64) }),
});

// Not z.record: it silently drops a "__proto__" key, which must be refused as an unknown argument instead.
const argsSchema = z.custom<Record<string, unknown>>(
  (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  "step arguments must be an object",
);

const idempotencyKey = z.string().min(1, "must not be empty").max(128);

const envelope = z.strictObject({
  v: z.literal(1, { error: "wire format version must be 1" }),
  nomos: z
    .strictObject({ name: z.string().min(1).max(64), version: z.number().int().min(1), hash: z.string().regex(/^[0-9a-f]{64}$/) })
    .optional(),
  idempotencyKey: idempotencyKey.optional(),
  steps: z.array(z.strictObject({ op: z.string().min(1).max(64), args: argsSchema })).min(1, "an Intent needs at least one step"),
});

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** Zod issues as Noema reports them: a dotted path each, and one issue per unknown field. */
export function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): Issue[] {
  return error.issues.flatMap((i) =>
    // One issue per unknown key, at the key's own path, so a client sees exactly which field to drop.
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => ({ path: formatPath([...prefix, ...i.path, key]), message: `unknown field "${key}"` }))
      : [{ path: formatPath([...prefix, ...i.path]), message: i.message }],
  );
}

function longStrings(value: unknown, max: number, path: PropertyKey[], out: Issue[]): void {
  if (typeof value === "string" && value.length > max) {
    out.push({ path: formatPath(path), message: `string is ${value.length} characters; at most ${max} are allowed` });
  } else if (Array.isArray(value)) value.forEach((v, i) => longStrings(v, max, [...path, i], out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) longStrings(v, max, [...path, k], out);
  }
}

/** Built-in steps, handled by the runtime rather than a vocabulary: freezing an Intent and cancelling one. */
export const FREEZE = "$freeze";
export const CANCEL = "$cancel";
const BUILTIN_OUTPUTS: Record<string, readonly string[]> = { [FREEZE]: ["cryoId", "wakeAt"], [CANCEL]: ["cancelled"] };

/** The furthest ahead an Intent may be frozen. */
export const MAX_FREEZE_MS = 366 * 24 * 60 * 60 * 1000;

/** Arguments of a `$freeze` step: when, an optional key, and the Intent to freeze (its Refs name the outer steps). */
export interface FreezeArgs {
  at?: number | Ref;
  delaySeconds?: number | Ref;
  key?: string | Ref;
  intent: { steps: IntentStep[] };
}

const freezeKey = z.string().min(1, "must not be empty").max(128);
// Ref-valued fields are taken out before these run and checked as Refs, so each message stays specific.
const freezeArgs = z.strictObject({
  at: z.number().int("must be whole milliseconds since the epoch").min(0).optional(),
  delaySeconds: z.number().int("must be a whole number").min(1).max(MAX_FREEZE_MS / 1000).optional(),
  key: freezeKey.optional(),
  intent: z.strictObject({
    steps: z.array(z.strictObject({ op: z.string().min(1).max(64), args: argsSchema })).min(1, "a frozen Intent needs at least one step"),
  }),
});
const cancelArgs = z.strictObject({ key: freezeKey.optional() });

const hasOp = (vocabulary: Vocabulary, name: string) => Object.hasOwn(vocabulary.operations, name);

/** The outputs a step declares, or undefined for an unknown operation (reported at its own step). */
function outputsOf(vocabulary: Vocabulary, op: string): readonly string[] | undefined {
  if (Object.hasOwn(BUILTIN_OUTPUTS, op)) return BUILTIN_OUTPUTS[op];
  return hasOp(vocabulary, op) ? Object.keys(vocabulary.operations[op]!.output.shape) : undefined;
}

/** Checks one Ref: well formed, naming an earlier step (`index` is where it stands), and a declared output. */
function refIssues(vocabulary: Vocabulary, steps: readonly IntentStep[], index: number, value: unknown, at: PropertyKey[]): Issue[] {
  const parsed = refSchema.safeParse(value);
  if (!parsed.success) return zodIssues(parsed.error, at);
  const path = formatPath(at);
  const { step: target, output } = parsed.data.$ref;
  if (target >= index) {
    const allowed = index === 0 ? "the first step has none before it" : `only outputs of steps 0..${index - 1} may be used`;
    return [{ path, message: `refers to step ${target}, but a step may only use outputs of earlier steps; ${allowed}` }];
  }
  const targetName = steps[target]!.op;
  const declared = outputsOf(vocabulary, targetName);
  if (declared && !declared.includes(output)) {
    return [{ path, message: `step ${target} (${targetName}) has no output "${output}"; it declares ${declared.join(", ") || "nothing"}` }];
  }
  return [];
}

// Argument schemas without the Ref-valued fields, built once per operation and set of such fields.
const withoutCache = new WeakMap<OperationSpec, Map<string, ObjectSchema>>();
function argsWithout(op: OperationSpec, keys: string[]): ObjectSchema {
  let byKeys = withoutCache.get(op);
  if (!byKeys) withoutCache.set(op, (byKeys = new Map()));
  const id = keys.sort().join(",");
  let schema = byKeys.get(id);
  if (!schema) byKeys.set(id, (schema = op.args.omit(Object.fromEntries(keys.map((k) => [k, true as const]))).strict()));
  return schema;
}

const looksLikeRef = (value: unknown) => value !== null && typeof value === "object" && "$ref" in value;

/**
 * Validates the arguments of one vocabulary operation. Fields given as Refs are checked only
 * for pointing at an earlier step's declared output (before `index` in `steps`); their values
 * are validated when resolved.
 */
function checkOpArgs(
  vocabulary: Vocabulary,
  opName: string,
  given: Record<string, unknown>,
  steps: readonly IntentStep[],
  index: number,
  at: PropertyKey[],
): ParseResult<Record<string, ArgValue>> {
  // Own properties only: an op named "constructor" must be unknown, not Object's constructor.
  const op = hasOp(vocabulary, opName) ? vocabulary.operations[opName] : undefined;
  if (!op) {
    const known = Object.keys(vocabulary.operations).join(", ");
    return { ok: false, issues: [{ path: formatPath([...at, "op"]), message: `unknown operation "${opName}"; known: ${known}` }] };
  }
  const issues: Issue[] = [];
  // Every field that looks like a Ref is checked here and kept away from the argument schema.
  const refKeys = new Set<string>();
  for (const [key, value] of Object.entries(given)) {
    if (!looksLikeRef(value)) continue;
    refKeys.add(key);
    if (!Object.hasOwn(op.args.shape, key)) {
      issues.push({ path: formatPath([...at, "args", key]), message: `operation "${opName}" has no argument "${key}"` });
      continue;
    }
    issues.push(...refIssues(vocabulary, steps, index, value, [...at, "args", key]));
  }
  let parsed;
  if (refKeys.size === 0) parsed = strictArgs(op).safeParse(given);
  else {
    const rest = Object.fromEntries(Object.entries(given).filter(([k]) => !refKeys.has(k)));
    parsed = argsWithout(op, [...refKeys].filter((k) => Object.hasOwn(op.args.shape, k))).safeParse(rest);
  }
  if (!parsed.success) issues.push(...zodIssues(parsed.error, [...at, "args"]));
  if (!parsed.success || issues.length) return { ok: false, issues };
  // An optional argument given as undefined is absent, as it will be after any JSON round trip.
  const args: Record<string, ArgValue> = {};
  for (const [key, value] of Object.entries(parsed.data as Record<string, Json>)) if (value !== undefined) args[key] = value;
  for (const key of refKeys) args[key] = given[key] as Ref;
  return { ok: true, value: args };
}

/** Splits Ref-valued fields off a built-in's arguments and checks them as Refs. */
function builtinRefs(
  vocabulary: Vocabulary,
  steps: readonly IntentStep[],
  index: number,
  at: PropertyKey[],
  fields: readonly string[],
): { rest: Record<string, unknown>; refs: Record<string, Ref>; issues: Issue[] } {
  const rest: Record<string, unknown> = { ...steps[index]!.args };
  const refs: Record<string, Ref> = {};
  const issues: Issue[] = [];
  for (const key of fields) {
    if (!looksLikeRef(rest[key])) continue;
    issues.push(...refIssues(vocabulary, steps, index, rest[key], [...at, "args", key]));
    refs[key] = rest[key] as Ref;
    delete rest[key];
  }
  return { rest, refs, issues };
}

function checkFreeze(vocabulary: Vocabulary, steps: readonly IntentStep[], index: number, at: PropertyKey[]): ParseResult<Record<string, ArgValue>> {
  const given = steps[index]!.args;
  const { rest, refs, issues } = builtinRefs(vocabulary, steps, index, at, ["at", "delaySeconds", "key"]);
  if ((given.at === undefined) === (given.delaySeconds === undefined)) {
    issues.push({ path: formatPath([...at, "args"]), message: "give exactly one of at or delaySeconds" });
  }
  const parsed = freezeArgs.safeParse(rest);
  if (!parsed.success) return { ok: false, issues: [...issues, ...zodIssues(parsed.error, [...at, "args"])] };
  const out: Record<string, ArgValue> = {};
  for (const key of ["at", "delaySeconds", "key"] as const) {
    const value = refs[key] ?? parsed.data[key];
    if (value !== undefined) out[key] = value;
  }
  const nested: IntentStep[] = [];
  parsed.data.intent.steps.forEach((step, j) => {
    const path = [...at, "args", "intent", "steps", j];
    if (Object.hasOwn(BUILTIN_OUTPUTS, step.op)) {
      issues.push({ path: formatPath([...path, "op"]), message: `a frozen Intent cannot itself ${step.op === FREEZE ? "freeze" : "cancel"}` });
      return;
    }
    // A frozen step's Refs name the outer Intent's earlier steps: they are resolved when it is frozen.
    const r = checkOpArgs(vocabulary, step.op, step.args, steps, index, path);
    if (r.ok) nested.push({ op: step.op, args: r.value });
    else issues.push(...r.issues);
  });
  if (issues.length) return { ok: false, issues };
  out.intent = { steps: nested } as unknown as Json;
  return { ok: true, value: out };
}

function checkCancel(vocabulary: Vocabulary, steps: readonly IntentStep[], index: number, at: PropertyKey[]): ParseResult<Record<string, ArgValue>> {
  const { rest, refs, issues } = builtinRefs(vocabulary, steps, index, at, ["key"]);
  const parsed = cancelArgs.safeParse(rest);
  if (!parsed.success) issues.push(...zodIssues(parsed.error, [...at, "args"]));
  const key = refs.key ?? (parsed.success ? parsed.data.key : undefined);
  if (key === undefined && parsed.success) issues.push({ path: formatPath([...at, "args", "key"]), message: "is required" });
  return issues.length ? { ok: false, issues } : { ok: true, value: { key: key! } };
}

/** Validates the arguments of step `index`: a vocabulary operation, or a built-in `$freeze` / `$cancel`. */
export function checkStepArgs(
  vocabulary: Vocabulary,
  steps: readonly IntentStep[],
  index: number,
): ParseResult<Record<string, ArgValue>> {
  const step = steps[index]!;
  const at = ["steps", index];
  if (step.op === FREEZE) return checkFreeze(vocabulary, steps, index, at);
  if (step.op === CANCEL) return checkCancel(vocabulary, steps, index, at);
  return checkOpArgs(vocabulary, step.op, step.args, steps, index, at);
}

/** Every vocabulary operation an Intent names, those it would freeze included. */
export function operationsOf(intent: Intent): string[] {
  return intent.steps.flatMap((s) =>
    s.op === FREEZE ? ((s.args as unknown as FreezeArgs).intent.steps.map((n) => n.op)) : s.op === CANCEL ? [] : [s.op],
  );
}

/** Step count (frozen steps included) and string lengths; a step count over the limit is reported alone. */
function stepLimitIssues(steps: readonly { op: string; args: unknown }[], limits: IntentLimits): Issue[] {
  const frozen = (s: { op: string; args: unknown }) => {
    const nested = s.op === FREEZE ? (s.args as { intent?: { steps?: unknown } }).intent?.steps : undefined;
    return Array.isArray(nested) ? nested.length : 0;
  };
  const total = steps.reduce((n, s) => n + 1 + frozen(s), 0);
  if (total > limits.maxSteps) {
    const which = total === steps.length ? "" : ` (${total - steps.length} of them frozen)`;
    return [{ path: "steps", message: `Intent has ${total} steps${which}; at most ${limits.maxSteps} are allowed` }];
  }
  const issues: Issue[] = [];
  longStrings(steps, limits.maxStringLength, ["steps"], issues);
  return issues;
}

/** The envelope and the limits, for an Intent whose steps were already checked one by one (the builder). */
export function limitIssues(intent: Intent, limits: IntentLimits): Issue[] {
  if (intent.idempotencyKey !== undefined) {
    const key = idempotencyKey.safeParse(intent.idempotencyKey);
    if (!key.success) return zodIssues(key.error, ["idempotencyKey"]);
  }
  const tooLarge = sizeIssue(intent, limits.maxBytes);
  return tooLarge ? [tooLarge] : stepLimitIssues(intent.steps, limits);
}

/** Refuses input that is not JSON data or whose JSON exceeds `maxBytes` (key order does not change the size). */
function sizeIssue(input: unknown, maxBytes: number): Issue | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    json = undefined;
  }
  if (json === undefined) return { path: "", message: "an Intent must be plain JSON data" };
  // A UTF-8 byte count is only needed near the limit: each UTF-16 unit takes 1 to 3 bytes.
  if (json.length * 3 <= maxBytes) return undefined;
  const bytes = utf8ToBytes(json).length;
  return bytes > maxBytes ? { path: "", message: `Intent is ${bytes} bytes; at most ${maxBytes} are allowed` } : undefined;
}

/** Parses untrusted input into an Intent of this vocabulary, or says exactly what is wrong. */
export function parseIntent(
  vocabulary: Vocabulary,
  input: unknown,
  limits: IntentLimits = DEFAULT_LIMITS,
): ParseResult<Intent> {
  const tooLarge = sizeIssue(input, limits.maxBytes);
  if (tooLarge) return { ok: false, issues: [tooLarge] };
  const parsed = envelope.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const raw = parsed.data;
  const issues = stepLimitIssues(raw.steps, limits);
  if (issues.length && issues[0]!.path === "steps") return { ok: false, issues };
  if (raw.nomos && raw.nomos.name !== vocabulary.nomos.name) {
    issues.push({ path: "nomos.name", message: `Intent was built for Nomos "${raw.nomos.name}", this vocabulary is for "${vocabulary.nomos.name}"` });
  }
  const steps = raw.steps as IntentStep[];
  const out: IntentStep[] = [];
  steps.forEach((step, i) => {
    const r = checkStepArgs(vocabulary, steps, i);
    if (r.ok) out.push({ op: step.op, args: r.value });
    else issues.push(...r.issues);
  });
  if (issues.length) return { ok: false, issues };
  const intent: Intent = { v: 1, steps: out };
  if (raw.nomos) intent.nomos = raw.nomos;
  if (raw.idempotencyKey !== undefined) intent.idempotencyKey = raw.idempotencyKey;
  return { ok: true, value: intent };
}
