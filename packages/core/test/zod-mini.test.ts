import { describe, expect, expectTypeOf, it } from "vitest";
// The law in zod/mini; in Node core's own schemas are classic zod (`#zod`), in a browser zod/mini too.
import * as z from "zod/mini";
import { buildIntent, describeVocabulary, defineNomos, defineVocabulary, integer, type Issue, operation, parseIntent, resultOf, sql, text } from "../src/index.js";

const nomos = defineNomos({
  name: "mini",
  version: 1,
  tables: { counters: { columns: { id: text().primaryKey(), n: integer().notNull().default(0) } } },
});

const miniArgs = z.object({ id: z.string().check(z.regex(/^[a-z]+$/)), by: z.optional(z.int().check(z.minimum(1))) });
const law = defineVocabulary(nomos, {
  add: operation({
    description: "Adds to a counter.",
    args: miniArgs,
    output: z.object({ id: z.string(), n: z.number() }),
    statements: ({ arg }) => ({ row: sql`INSERT INTO counters (id, n) VALUES (${arg.id}, COALESCE(${arg.by}, 1)) ON CONFLICT (id) DO UPDATE SET n = n + excluded.n RETURNING id, n` }),
    result: (rows, args) => ({ id: args.id, n: Number(rows.row[0]?.n) }),
  }),
});

const issuesOf = (input: unknown): Issue[] => {
  const r = parseIntent(law, input);
  return r.ok ? [] : r.issues;
};

describe("a law written with zod/mini", () => {
  it("types the builder's arguments and outputs from its schemas", () => {
    const intent = buildIntent(law, (s) => {
      const first = s.add({ id: "a", by: 2 });
      s.add({ id: first.id });
      return first.n;
    });
    expect(intent.steps).toStrictEqual([
      { op: "add", args: { id: "a", by: 2 } },
      { op: "add", args: { id: { $ref: { step: 0, output: "id" } } } },
    ]);
  });

  // Type-level: the output's field, typed from the mini schema (checked by `npm run typecheck`).
  const typed = buildIntent(law, (s) => s.add({ id: "a" }).n);
  expectTypeOf(resultOf(typed, { outputs: [{ id: "a", n: 1 }] })).toEqualTypeOf<number>();

  it("refuses bad arguments with Zod's codes, paths and English messages, unknown fields one by one", () => {
    const step = (args: Record<string, unknown>) => ({ v: 1, steps: [{ op: "add", args }] });
    expect(issuesOf(step({ id: "a", by: 0 }))).toStrictEqual([{ code: "too_small", path: ["steps", 0, "args", "by"], message: "Too small: expected number to be >=1" }]);
    expect(issuesOf(step({ id: 7 }))).toStrictEqual([{ code: "invalid_type", path: ["steps", 0, "args", "id"], message: "Invalid input: expected string, received number" }]);
    expect(issuesOf(step({ id: "a", extra: 1, more: 2 }))).toStrictEqual([
      { code: "unrecognized_keys", path: ["steps", 0, "args", "extra"], message: 'unknown field "extra"' },
      { code: "unrecognized_keys", path: ["steps", 0, "args", "more"], message: 'unknown field "more"' },
    ]);
    // A Ref-valued field is checked apart; the rest still refuses unknown keys.
    const refStep = { op: "add", args: { id: { $ref: { step: 0, output: "id" } }, nope: true } };
    expect(issuesOf({ v: 1, steps: [{ op: "add", args: { id: "a" } }, refStep] })).toStrictEqual([
      { code: "unrecognized_keys", path: ["steps", 1, "args", "nope"], message: 'unknown field "nope"' },
    ]);
    // Core's own schemas (the envelope) word their issues in English too.
    expect(issuesOf({ v: 1, steps: [{ op: "add" }] })).toStrictEqual([{ code: "custom", path: ["steps", 0, "args"], message: "step arguments must be an object" }]);
    expect(issuesOf({ v: 1, idempotencyKey: 5, steps: [{ op: "add", args: { id: "a" } }] })).toStrictEqual([
      { code: "invalid_type", path: ["idempotencyKey"], message: "Invalid input: expected string, received number" },
    ]);
  });

  it("describes its operations with the same JSON Schemas as the same law in classic zod", async () => {
    const classic = await import("zod");
    const same = defineVocabulary(nomos, {
      add: { ...law.operations.add, args: classic.object({ id: classic.string().regex(/^[a-z]+$/), by: classic.number().int().min(1).optional() }), output: classic.object({ id: classic.string(), n: classic.number() }) },
    });
    expect(describeVocabulary(law)).toStrictEqual(describeVocabulary(same));
  });
});
