import { z } from "zod";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { canonicalJson, type Json } from "../canonical/index.js";
import type { ObjectSchema, Vocabulary } from "./vocabulary.js";

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

const envelope = z.strictObject({
  v: z.literal(1, { error: "wire format version must be 1" }),
  nomos: z
    .strictObject({ name: z.string().min(1).max(64), version: z.number().int().min(1), hash: z.string().regex(/^[0-9a-f]{64}$/) })
    .optional(),
  idempotencyKey: z.string().min(1).max(128).optional(),
  steps: z.array(z.strictObject({ op: z.string().min(1).max(64), args: z.record(z.string(), z.unknown()) })).min(1, "an Intent needs at least one step"),
});

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): Issue[] {
  return error.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]), message: i.message }));
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
  const op = vocabulary.operations[step.op];
  const at = ["steps", index];
  if (!op) {
    const known = Object.keys(vocabulary.operations).join(", ");
    return { ok: false, issues: [{ path: formatPath([...at, "op"]), message: `unknown operation "${step.op}"; known: ${known}` }] };
  }
  const issues: Issue[] = [];
  const refKeys: Record<string, true> = {};
  for (const [key, value] of Object.entries(step.args)) {
    if (!isRef(value) && !(value !== null && typeof value === "object" && "$ref" in value)) continue;
    const path = formatPath([...at, "args", key]);
    const parsed = refSchema.safeParse(value);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, [...at, "args", key]));
      continue;
    }
    refKeys[key] = true;
    const { step: target, output } = parsed.data.$ref;
    if (target >= index) {
      issues.push({ path, message: `refers to step ${target}, but a step may only use outputs of earlier steps (0..${index - 1})` });
      continue;
    }
    const targetOp = vocabulary.operations[steps[target]!.op];
    if (targetOp && !(output in targetOp.output.shape)) {
      const declared = Object.keys(targetOp.output.shape).join(", ") || "nothing";
      issues.push({ path, message: `step ${target} (${steps[target]!.op}) has no output "${output}"; it declares ${declared}` });
    }
    if (!(key in op.args.shape)) issues.push({ path, message: `operation "${step.op}" has no argument "${key}"` });
  }
  const schema: ObjectSchema = Object.keys(refKeys).length ? op.args.omit(refKeys) : op.args;
  const rest = Object.fromEntries(Object.entries(step.args).filter(([k]) => !refKeys[k]));
  const parsed = schema.strict().safeParse(rest);
  if (!parsed.success) issues.push(...zodIssues(parsed.error, [...at, "args"]));
  if (issues.length) return { ok: false, issues };
  const args: Record<string, ArgValue> = { ...(parsed.data as Record<string, Json>) };
  for (const key of Object.keys(refKeys)) args[key] = step.args[key] as Ref;
  return { ok: true, value: args };
}

/** Parses untrusted input into an Intent of this vocabulary, or says exactly what is wrong. */
export function parseIntent(
  vocabulary: Vocabulary,
  input: unknown,
  limits: IntentLimits = DEFAULT_LIMITS,
): ParseResult<Intent> {
  let bytes: number;
  try {
    bytes = utf8ToBytes(canonicalJson(input)).length;
  } catch {
    return { ok: false, issues: [{ path: "", message: "an Intent must be plain JSON data" }] };
  }
  if (bytes > limits.maxBytes) {
    return { ok: false, issues: [{ path: "", message: `Intent is ${bytes} bytes; at most ${limits.maxBytes} are allowed` }] };
  }
  const parsed = envelope.safeParse(input);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) };
  const raw = parsed.data;
  if (raw.steps.length > limits.maxSteps) {
    return { ok: false, issues: [{ path: "steps", message: `Intent has ${raw.steps.length} steps; at most ${limits.maxSteps} are allowed` }] };
  }
  const issues: Issue[] = [];
  longStrings(raw.steps, limits.maxStringLength, ["steps"], issues);
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
