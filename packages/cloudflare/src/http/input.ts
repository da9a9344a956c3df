import { formatPath } from "@noema/core";
import type { Context } from "hono";
import * as z from "zod";
import { type HttpIssue, invalidInput } from "./errors.js";

/** The request body as JSON; anything else is 400 at the body's path `""`. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidInput([{ path: "", message: "body must be valid JSON" }]);
  }
}

/**
 * `value` checked by `schema`, or a 400 thrown with one issue per problem at its dotted path
 * (under `at`, for a path parameter or a nested body). Unknown fields come first, each with the
 * nearest known name: a misspelt field also makes the real one look missing.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, at: readonly PropertyKey[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const unknown: HttpIssue[] = [];
  const other: HttpIssue[] = [];
  for (const i of r.error.issues) {
    if (i.code !== "unrecognized_keys") {
      other.push({ path: formatPath([...at, ...i.path]), message: i.message });
      continue;
    }
    const known = keysAt(schema, i.path);
    for (const key of i.keys) {
      const near = nearest(key, known);
      unknown.push({ path: formatPath([...at, ...i.path, key]), message: `unknown field "${key}"${near ? `; did you mean "${near}"?` : ""}` });
    }
  }
  throw invalidInput([...unknown, ...other]);
}

/** The field names of the object schema at `path`, looking through optional and default wrappers. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let shape = shapeOf(schema);
  for (const segment of path) shape = shape && shapeOf(shape[String(segment)]);
  return Object.keys(shape ?? {});
}

function shapeOf(schema: unknown): Record<string, z.ZodType> | undefined {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap();
  if (s instanceof z.ZodPipe) return shapeOf(s.in);
  return s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>) : undefined;
}

/** The known name closest to `key` by edit distance, if it is close enough to be a slip. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const name of known) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Levenshtein distance, two rows at a time. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * A whole number in a query string, `min`..`max`; add `.default(n)` or `.optional()`. Written out
 * rather than `z.coerce.number()`, which turns `limit=abc` into NaN and reports "received NaN".
 */
export function queryInt(options: { min: number; max?: number }) {
  const { min, max } = options;
  const range = max === undefined ? `at least ${min}` : `${min} to ${max}`;
  return z
    .string()
    .regex(/^\d{1,16}$/, `must be a whole number, ${range}`)
    .transform(Number)
    .refine((n) => n >= min && (max === undefined || n <= max), `must be a whole number, ${range}`);
}
