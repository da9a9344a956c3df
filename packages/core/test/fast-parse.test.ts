import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as zm from "zod/mini";
import type { $ZodType } from "zod/v4/core";
import { fastParser, UNSURE } from "../src/intent/fast-parse.js";
import { strictArgs } from "../src/intent/vocabulary.js";
import { inventoryV2 } from "./fixtures/inventory.js";

/** A schema as data, so fast-check can shrink it, and the Zod schema it stands for. */
type Spec =
  | { k: "string"; min?: number; max?: number; regex?: boolean; trim?: boolean; format?: boolean }
  | { k: "number"; int?: boolean; min?: number; max?: number; gt?: number }
  | { k: "boolean" | "null" | "unknown" }
  | { k: "enum" | "literal" }
  | { k: "optional" | "nullable" | "refine" | "transform"; inner: Spec }
  | { k: "default"; inner: Spec; value: unknown }
  | { k: "array"; element: Spec; max?: number }
  | { k: "object"; fields: [string, Spec][]; strict: boolean; mini: boolean };

const ENUM = ["a", "b", "é"] as const;

function schemaOf(s: Spec): $ZodType {
  switch (s.k) {
    case "string": {
      if (s.format) return z.email();
      let schema = z.string();
      if (s.min !== undefined) schema = schema.min(s.min);
      if (s.max !== undefined) schema = schema.max(s.max);
      if (s.regex) schema = schema.regex(/^[a-z0-9é😀 ]*$/u);
      if (s.trim) schema = schema.trim();
      return schema;
    }
    case "number": {
      let schema = z.number();
      if (s.int) schema = schema.int();
      if (s.min !== undefined) schema = schema.min(s.min);
      if (s.max !== undefined) schema = schema.max(s.max);
      if (s.gt !== undefined) schema = schema.gt(s.gt);
      return schema;
    }
    case "boolean":
      return z.boolean();
    case "null":
      return z.null();
    case "unknown":
      return z.unknown();
    case "enum":
      return z.enum(ENUM);
    case "literal":
      return z.literal(7);
    // Inner schemas may be zod/mini's, which have no methods: the wrappers are zod/mini's functions.
    case "optional":
      return zm.optional(schemaOf(s.inner));
    case "nullable":
      return zm.nullable(schemaOf(s.inner));
    case "refine":
      return (schemaOf(s.inner) as zm.ZodMiniType).check(zm.refine((v) => JSON.stringify(v ?? null).length % 3 !== 0, "refined"));
    case "transform":
      return zm.pipe(schemaOf(s.inner) as zm.ZodMiniType, zm.transform((v) => ({ was: v })));
    case "default":
      return zm._default(schemaOf(s.inner) as zm.ZodMiniType, s.value as never);
    case "array": {
      const schema = zm.array(schemaOf(s.element));
      return s.max === undefined ? schema : schema.check(zm.maxLength(s.max));
    }
    case "object": {
      const shape = Object.fromEntries(s.fields.map(([key, f]) => [key, schemaOf(f)]));
      if (s.mini) return s.strict ? zm.strictObject(shape as never) : zm.object(shape as never);
      return s.strict ? z.strictObject(shape as never) : z.object(shape as never);
    }
  }
}

const leaf: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ k: fc.constant("string" as const), min: fc.option(fc.nat(3), { nil: undefined }), max: fc.option(fc.nat(6), { nil: undefined }), regex: fc.boolean(), trim: fc.boolean(), format: fc.constantFrom(false, false, false, false, true) }),
  fc.record({ k: fc.constant("number" as const), int: fc.boolean(), min: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }), max: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), gt: fc.option(fc.constant(-3), { nil: undefined }) }),
  fc.constantFrom<Spec>({ k: "boolean" }, { k: "null" }, { k: "unknown" }, { k: "enum" }, { k: "literal" }),
);

const spec: fc.Arbitrary<Spec> = fc.letrec<{ spec: Spec }>((tie) => ({
  spec: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: leaf },
    fc.record({ k: fc.constantFrom("optional" as const, "nullable" as const, "refine" as const, "transform" as const), inner: tie("spec") }),
    fc.record({ k: fc.constant("default" as const), inner: tie("spec"), value: fc.constantFrom("d", 5, null, [1], { a: 1 }) }),
    fc.record({ k: fc.constant("array" as const), element: tie("spec"), max: fc.option(fc.nat(3), { nil: undefined }) }),
    fc.record({
      k: fc.constant("object" as const),
      fields: fc.uniqueArray(fc.tuple(fc.constantFrom("a", "b", "c", "d", "__proto__", "constructor"), tie("spec")), { maxLength: 4, selector: ([key]) => key }),
      strict: fc.boolean(),
      mini: fc.boolean(),
    }),
  ),
})).spec;

const junk = fc.oneof(fc.constantFrom(undefined, null, "", "x", 0, -1, 1.5, NaN, Infinity, true, [], {}, "a", 7), fc.jsonValue({ maxDepth: 1 }));
const text = fc.string({ unit: fc.constantFrom("a", "z", "0", " ", "é", "😀", "\ud800", "A"), maxLength: 7 });

/** Inputs near what `s` accepts, with some junk, so both sides of every check are reached. */
function inputFor(s: Spec): fc.Arbitrary<unknown> {
  const near = ((): fc.Arbitrary<unknown> => {
    switch (s.k) {
      case "string":
        return s.format ? fc.constantFrom("a@b.co", "x@y", "not an email") : text;
      case "number":
        return fc.oneof(fc.integer({ min: -10, max: 120 }), fc.double({ min: -10, max: 120, noNaN: true }), fc.constantFrom(Number.MAX_SAFE_INTEGER + 2));
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "unknown":
        return fc.jsonValue({ maxDepth: 1 });
      case "enum":
        return fc.constantFrom(...ENUM, "c");
      case "literal":
        return fc.constantFrom(7, 8);
      case "optional":
        return fc.oneof(fc.constant(undefined), inputFor(s.inner));
      case "nullable":
        return fc.oneof(fc.constant(null), inputFor(s.inner));
      case "refine":
      case "transform":
        return inputFor(s.inner);
      case "default":
        return fc.oneof(fc.constant(undefined), inputFor(s.inner));
      case "array":
        return fc.array(inputFor(s.element), { maxLength: 4 });
      case "object": {
        const fields = s.fields.map(([key, f]) => fc.tuple(fc.constant(key), fc.oneof({ weight: 1, arbitrary: fc.constant<"absent">("absent") }, { weight: 5, arbitrary: inputFor(f) })));
        const extra = fc.option(fc.tuple(fc.constantFrom("e", "__proto__", "a"), junk), { freq: 4, nil: undefined });
        return fc.tuple(fc.tuple(...fields), extra).map(([pairs, more]) => {
          const out: Record<string, unknown> = {};
          for (const [key, value] of pairs) if (value !== "absent") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
          if (more) Object.defineProperty(out, more[0], { value: more[1], enumerable: true, writable: true, configurable: true });
          return out;
        });
      }
    }
  })();
  return fc.oneof({ weight: 8, arbitrary: near }, { weight: 1, arbitrary: junk });
}

/**
 * Equal at every depth: the same prototypes, the same own keys in the same order (a key holding
 * undefined included), the same values (toStrictEqual reads an own `constructor` key as the type).
 */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const [ka, kb] = [Object.keys(a), Object.keys(b)];
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const case_ = spec.chain((s) => fc.tuple(fc.constant(s), inputFor(s)));

describe("fast parsers", () => {
  it("accept only what Zod accepts, with the same data, keys in the same order", () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(case_, ([s, input]) => {
        runs++;
        const schema = schemaOf(s);
        const fast = fastParser(schema)(input);
        if (fast === UNSURE) return;
        taken++;
        const parsed = z.safeParse(schema, input);
        expect(parsed.success).toBe(true);
        expect(same(fast, parsed.data)).toBe(true);
      }),
      { numRuns: 4000 },
    );
    // The property says something only if the fast path takes a fair share.
    expect(taken / runs).toBeGreaterThan(0.25);
  });

  it("takes the usual arguments without Zod", () => {
    const args = z.strictObject({ locationId: z.string().regex(/^[a-z]+$/), quantity: z.number().int().min(1), ttlSeconds: z.number().int().default(900), orderId: z.string().optional() });
    expect(fastParser(args)({ locationId: "main", quantity: 2 })).toStrictEqual({ locationId: "main", quantity: 2, ttlSeconds: 900 });
    expect(fastParser(args)({ locationId: "main", quantity: 2, orderId: undefined })).toStrictEqual({ locationId: "main", quantity: 2, ttlSeconds: 900, orderId: undefined });
    expect(fastParser(args)({ locationId: "main", quantity: 0 })).toBe(UNSURE);
    expect(fastParser(args)({ locationId: "main", quantity: 1, extra: 1 })).toBe(UNSURE);
  });

  it("take every argument of the inventory law's reservation, as a client sends it", () => {
    const reserve = strictArgs(inventoryV2.operations.reserve);
    for (const args of [{ locationId: "main", quantity: 1 }, { locationId: "main", quantity: 3, ttlSeconds: 60, orderId: "o-1", channel: "web" }]) {
      const fast = fastParser(reserve)(args);
      expect(fast).not.toBe(UNSURE);
      expect(fast).toStrictEqual(z.parse(reserve, args));
    }
  });

  it("parse a recursive schema", () => {
    const Node = z.strictObject({
      name: z.string(),
      get children(): z.ZodOptional<z.ZodArray<typeof Node>> {
        return z.array(Node).optional();
      },
    });
    const tree = { name: "a", children: [{ name: "b" }, { name: "c", children: [] }] };
    expect(fastParser(Node)(tree)).toStrictEqual(z.parse(Node, tree));
    expect(fastParser(Node)({ name: "a", children: [{ name: 1 }] })).toBe(UNSURE);
  });
});
