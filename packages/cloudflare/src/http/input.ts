import type { Issue } from "@noema/core";
import { once } from "@noema/core/runtime";
import type { Context } from "hono";
import * as z from "zod/mini";
import { type $ZodType, type $ZodTypes, type output, safeParse } from "zod/v4/core";
import { httpIssue, invalidInput } from "./errors.js";

/** A World's name in a path, when the app gives no schema of its own: any string of 1 to 128 characters. */
export const defaultName = once(() => z.string().check(z.minLength(1), z.maxLength(128)));

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
 * nearest known name: a misspelt field also makes the real one look missing. Any Zod 4 schema,
 * classic `zod` or `zod/mini`.
 */
export function parseInput<S extends $ZodType>(schema: S, value: unknown, at: readonly PropertyKey[] = []): output<S> {
  const r = safeParse(schema, value);
  if (r.success) return r.data;
  const unknown: Issue[] = [];
  const other: Issue[] = [];
  for (const i of r.error.issues) {
    if (i.code !== "unrecognized_keys") {
      other.push({ code: i.code, path: [...at, ...i.path].map(pathKey), message: i.message });
      continue;
    }
    const known = keysAt(schema, i.path);
    for (const key of i.keys) {
      const near = nearest(key, known);
      unknown.push({ code: i.code, path: [...at, ...i.path, key].map(pathKey), message: `unknown field "${key}"${near ? `; did you mean "${near}"?` : ""}` });
    }
  }
  throw invalidInput([...unknown, ...other].map(httpIssue));
}

const pathKey = (k: PropertyKey): string | number => (typeof k === "number" ? k : String(k));

/** The field names of the object schema at `path`, looking through optional and default wrappers. */
function keysAt(schema: $ZodType, path: readonly PropertyKey[]): string[] {
  let shape = shapeOf(schema);
  for (const segment of path) shape = shape && shapeOf(shape[String(segment)]);
  return Object.keys(shape ?? {});
}

/** Read from the definition, which classic zod and zod/mini share. */
function shapeOf(schema: $ZodType | undefined): Readonly<Record<string, $ZodType>> | undefined {
  let s = schema as $ZodTypes | undefined;
  while (s && (s._zod.def.type === "optional" || s._zod.def.type === "default" || s._zod.def.type === "nullable" || s._zod.def.type === "prefault")) {
    s = s._zod.def.innerType as $ZodTypes;
  }
  if (s?._zod.def.type === "pipe") return shapeOf(s._zod.def.in);
  return s?._zod.def.type === "object" ? s._zod.def.shape : undefined;
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

/** What `queryInt` accepts: the range, and the value when the parameter is missing. */
export interface QueryIntOptions {
  min: number;
  max?: number;
  /** The value when the parameter is missing; without it the parameter is required. */
  default?: number;
}

/**
 * A whole number in a query string, `min`..`max` (a `zod/mini` schema, usable in a classic or mini
 * object). Written out rather than coerced, which turns `limit=abc` into NaN and reports "received NaN".
 * Optional: `z.optional(queryInt(...))`.
 */
export function queryInt(options: QueryIntOptions & { default: number }): z.ZodMiniDefault<QueryInt>;
export function queryInt(options: QueryIntOptions): QueryInt;
export function queryInt(options: QueryIntOptions): QueryInt | z.ZodMiniDefault<QueryInt> {
  const { min, max } = options;
  const message = `must be a whole number, ${max === undefined ? `at least ${min}` : `${min} to ${max}`}`;
  const int = z.pipe(z.string().check(z.regex(/^\d{1,16}$/, message)), z.transform(Number)).check(z.refine((n) => n >= min && (max === undefined || n <= max), message));
  return options.default === undefined ? int : z._default(int, options.default);
}

/** A whole number in a query string, as `queryInt` checks it. */
export type QueryInt = z.ZodMiniPipe<z.ZodMiniString<string>, z.ZodMiniTransform<number, string>>;
