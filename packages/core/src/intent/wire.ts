import { z } from "zod";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { Json } from "../canonical/index.js";
import { strictArgs, type Vocabulary } from "./vocabulary.js";

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

function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): Issue[] {
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

/**
 * Validates the arguments of one step. Fields given as Refs are checked only for
 * pointing at an earlier step's declared output; their values are validated when resolved.
 */
export function checkStepArgs(
  vocabulary: Vocabulary,
  steps: readonly IntentStep[],
  index: number,
): ParseResult<Record<string, ArgValue>> {
  const step = steps[index]!;
  // Own properties only: an op named "constructor" must be unknown, not Object's constructor.
  const op = Object.hasOwn(vocabulary.operations, step.op) ? vocabulary.operations[step.op] : undefined;
  const at = ["steps", index];
  if (!op) {
    const known = Object.keys(vocabulary.operations).join(", ");
    return { ok: false, issues: [{ path: formatPath([...at, "op"]), message: `unknown operation "${step.op}"; known: ${known}` }] };
  }
  const issues: Issue[] = [];
  // Every field that looks like a Ref is checked here and kept away from the argument schema.
  const refKeys = new Set<string>();
  for (const [key, value] of Object.entries(step.args)) {
    if (!(value !== null && typeof value === "object" && "$ref" in value)) continue;
    refKeys.add(key);
    const path = formatPath([...at, "args", key]);
    if (!Object.hasOwn(op.args.shape, key)) {
      issues.push({ path, message: `operation "${step.op}" has no argument "${key}"` });
      continue;
    }
    const parsed = refSchema.safeParse(value);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, [...at, "args", key]));
      continue;
    }
    const { step: target, output } = parsed.data.$ref;
    if (target >= index) {
      const allowed = index === 0 ? "the first step has none before it" : `only outputs of steps 0..${index - 1} may be used`;
      issues.push({ path, message: `refers to step ${target}, but a step may only use outputs of earlier steps; ${allowed}` });
      continue;
    }
    const targetName = steps[target]!.op;
    // An unknown target op is reported at its own step.
    const targetOp = Object.hasOwn(vocabulary.operations, targetName) ? vocabulary.operations[targetName] : undefined;
    if (targetOp && !Object.hasOwn(targetOp.output.shape, output)) {
      const declared = Object.keys(targetOp.output.shape).join(", ") || "nothing";
      issues.push({ path, message: `step ${target} (${targetName}) has no output "${output}"; it declares ${declared}` });
    }
  }
  let parsed;
  if (refKeys.size === 0) parsed = strictArgs(op).safeParse(step.args);
  else {
    const declaredRefs = Object.fromEntries([...refKeys].filter((k) => Object.hasOwn(op.args.shape, k)).map((k) => [k, true as const]));
    const rest = Object.fromEntries(Object.entries(step.args).filter(([k]) => !refKeys.has(k)));
    parsed = op.args.omit(declaredRefs).strict().safeParse(rest);
  }
  if (!parsed.success) issues.push(...zodIssues(parsed.error, [...at, "args"]));
  if (!parsed.success || issues.length) return { ok: false, issues };
  // An optional argument given as undefined is absent, as it will be after any JSON round trip.
  const args: Record<string, ArgValue> = {};
  for (const [key, value] of Object.entries(parsed.data as Record<string, Json>)) if (value !== undefined) args[key] = value;
  for (const key of refKeys) args[key] = step.args[key] as Ref;
  return { ok: true, value: args };
}

/** Step count and string lengths; a step count over the limit is reported alone. */
function stepLimitIssues(steps: readonly { args: unknown }[], limits: IntentLimits): Issue[] {
  if (steps.length > limits.maxSteps) {
    return [{ path: "steps", message: `Intent has ${steps.length} steps; at most ${limits.maxSteps} are allowed` }];
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
