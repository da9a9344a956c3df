// Zod's parse of the usual input, without its general machinery. Workers allow no code generation,
// so Zod parses an object by walking its schema on every call (a payload, a property-result step and
// a catch-all pass per field); on the write path that was the largest part of admitting an Intent,
// paid once on the Worker that builds it and again in the Attractor. A fast parser is made once per
// schema from the schema's own definition: each string, number, boolean, enum and literal is
// recognised by its type and then put through Zod's own checks (their `check` functions, as Zod
// runs them); objects, arrays, optional, nullable and default are walked here as Zod walks them;
// any other kind of schema is handed to Zod itself. It answers UNSURE at the first thing it would
// have to report, and the caller then parses with Zod, which words every issue: the schemas stay
// the one source of truth, and an input is accepted, with the same data, exactly when Zod accepts it.
import * as z from "#zod";
import type { $ZodError, $ZodType, output } from "zod/v4/core";

/** A fast parser's answer when it cannot accept the input: parse with Zod to learn why (or that it is fine). */
export const UNSURE: unique symbol = Symbol("unsure");

/** The parsed value, or UNSURE. */
export type FastParser = (input: unknown) => unknown;

/** What a fast parser reads of a schema: the internals Zod's own parse reads (zod/v4/core). */
interface Internals {
  def: {
    type: string;
    coerce?: boolean;
    checks?: readonly CheckLike[];
    innerType?: $ZodType;
    element?: $ZodType;
    shape?: Record<PropertyKey, $ZodType>;
    catchall?: $ZodType;
    defaultValue?: unknown;
  };
  traits: Set<string>;
  values?: Set<unknown>;
  optin?: "optional" | "defaulted";
  optout?: "optional";
  run(payload: Payload, ctx: { async: false }): Payload | Promise<Payload>;
}
interface CheckLike {
  _zod: { def: { when?: (payload: Payload) => boolean }; check(payload: Payload): unknown };
}
interface Payload {
  value: unknown;
  issues: unknown[];
}

const internals = (schema: $ZodType) => schema._zod as unknown as Internals;
/** The context Zod's `safeParse` gives a schema's `run`. */
const SYNC = { async: false } as const;
const parsers = new WeakMap<$ZodType, FastParser>();

/** The fast parser of `schema`, made on first use and kept with it. */
export function fastParser(schema: $ZodType): FastParser {
  const known = parsers.get(schema);
  if (known) return known;
  // A recursive schema (a getter in a shape) meets itself while it is compiled: that use calls the finished parser.
  const finished: { parser?: FastParser } = {};
  parsers.set(schema, (input) => finished.parser!(input));
  const parser = (finished.parser = compile(schema));
  parsers.set(schema, parser);
  return parser;
}

/** `z.safeParse`, the usual input taken by the schema's fast parser: Zod parses the rest, and words any issue. */
export function safeParse<S extends $ZodType>(schema: S, input: unknown): { success: true; data: output<S> } | { success: false; error: $ZodError } {
  const fast = fastParser(schema)(input);
  if (fast !== UNSURE) return { success: true, data: fast as output<S> };
  const parsed = z.safeParse(schema, input);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, error: parsed.error };
}

/** Zod itself, for a kind of schema not walked here: its `run`, as an object's field is run. */
function viaZod(schema: $ZodType): FastParser {
  const zod = internals(schema);
  return (input) => {
    const result = zod.run({ value: input, issues: [] }, SYNC);
    return result instanceof Promise || result.issues.length > 0 ? UNSURE : result.value;
  };
}

function compile(schema: $ZodType): FastParser {
  const zod = internals(schema);
  const { def } = zod;
  const parse = parserOf(zod);
  if (!parse) return viaZod(schema);
  // A check on the schema itself (a string format) runs first, as Zod runs it.
  const checks = zod.traits.has("$ZodCheck") ? [schema as unknown as CheckLike, ...(def.checks ?? [])] : (def.checks ?? []);
  return checks.length === 0 ? parse : withChecks(parse, checks);
}

/** Zod's own checks after the type, in order, skipped where their `when` says (the checks of a type that passed are never aborted). */
function withChecks(parse: FastParser, checks: readonly CheckLike[]): FastParser {
  return (input) => {
    const value = parse(input);
    if (value === UNSURE) return UNSURE;
    const payload: Payload = { value, issues: [] };
    for (const check of checks) {
      const { when } = check._zod.def;
      if (when && !when(payload)) continue;
      if (check._zod.check(payload) instanceof Promise || payload.issues.length > 0) return UNSURE;
    }
    // An overwrite check (trim, toLowerCase) replaces the value, as in Zod.
    return payload.value;
  };
}

/** The type's own step, for the kinds walked here; undefined for any other (Zod runs it). */
function parserOf(zod: Internals): FastParser | undefined {
  const { def } = zod;
  switch (def.type) {
    case "string":
      return def.coerce ? undefined : (input) => (typeof input === "string" ? input : UNSURE);
    case "number":
      return def.coerce ? undefined : (input) => (typeof input === "number" && Number.isFinite(input) ? input : UNSURE);
    case "boolean":
      return def.coerce ? undefined : (input) => (typeof input === "boolean" ? input : UNSURE);
    case "enum":
    case "literal": {
      const { values } = zod;
      return values ? (input) => (values.has(input) ? input : UNSURE) : undefined;
    }
    case "null":
      return (input) => (input === null ? null : UNSURE);
    case "optional": {
      // An optional default substitutes for absence: Zod runs that one.
      if (internals(def.innerType!).optin === "defaulted") return undefined;
      const inner = fastParser(def.innerType!);
      return (input) => (input === undefined ? undefined : inner(input));
    }
    case "nullable": {
      const inner = fastParser(def.innerType!);
      return (input) => (input === null ? null : inner(input));
    }
    case "default": {
      // Absent, the default (a fresh copy, read from the definition as Zod reads it); given, the inner value, or the default where that is undefined.
      const inner = fastParser(def.innerType!);
      return (input) => {
        if (input === undefined) return def.defaultValue;
        const value = inner(input);
        return value === undefined ? def.defaultValue : value;
      };
    }
    case "array": {
      const element = fastParser(def.element!);
      return (input) => {
        if (!Array.isArray(input)) return UNSURE;
        const out = new Array<unknown>(input.length);
        for (let i = 0; i < input.length; i++) {
          const value = element(input[i]);
          if (value === UNSURE) return UNSURE;
          out[i] = value;
        }
        return out;
      };
    }
    case "object":
      return objectParser(def);
    default:
      return undefined;
  }
}

/** A field: its key, its fast parser, and whether it may be absent (Zod's optin and optout of its schema). */
interface Field {
  key: string;
  parse: FastParser;
  optin: Internals["optin"];
  optional: boolean;
}

/** An object whose unknown keys are refused (strict) or dropped (the default); symbol keys and any other catch-all go to Zod. */
function objectParser(def: Internals["def"]): FastParser | undefined {
  const shape = def.shape!;
  if (Object.getOwnPropertySymbols(shape).length > 0) return undefined;
  const catchall = def.catchall ? internals(def.catchall).def.type : undefined;
  if (catchall !== undefined && catchall !== "never") return undefined;
  const strict = catchall === "never";
  const keys = Object.keys(shape);
  const known = new Set(keys);
  // Zod never copies a "__proto__" field into its output.
  const fields: Field[] = keys
    .filter((key) => key !== "__proto__")
    .map((key) => {
      const field = internals(shape[key]!);
      return { key, parse: fastParser(shape[key]!), optin: field.optin, optional: field.optout === "optional" };
    });
  return (input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return UNSURE;
    const record = input as Record<string, unknown>;
    // Every enumerable key, inherited too (for…in, as Zod's catch-all pass): one the shape lacks is an issue.
    if (strict) for (const key in record) if (!known.has(key)) return UNSURE;
    const out: Record<string, unknown> = {};
    for (const { key, parse, optin, optional } of fields) {
      const present = key in record;
      // An optional field left out contributes nothing.
      if (!present && optional && optin === "optional") continue;
      // A required one left out is an issue.
      if (!present && optin === undefined) return UNSURE;
      const value = parse(record[key]);
      if (value === UNSURE) return UNSURE;
      if (value !== undefined) out[key] = value;
      else if (present || (optin === "defaulted" && !optional)) out[key] = undefined;
    }
    return out;
  };
}
