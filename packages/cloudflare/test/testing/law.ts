import { defineNomos, defineVocabulary, integer, lineage, operation, rebuildTableSql, sql, text } from "@noema/core";
import { Attractor } from "@noema/cloudflare";
import * as z from "zod";

// A counter law in two versions, for the testing kit's own tests: v2 gives each counter a label.
const counters = { id: text().primaryKey(), value: integer().notNull().check("value >= 0", "a counter cannot go below zero") };
const nomosV1 = defineNomos({ name: "kit", version: 1, tables: { counters: { columns: counters } } });
const nomosV2 = defineNomos({ name: "kit", version: 2, tables: { counters: { columns: { ...counters, label: text().notNull() } } } });

const amount = z.number().int().min(1);
const value = z.object({ value: z.number() });
const take = operation({
  description: "Takes from a counter; refused below zero.",
  args: z.object({ id: z.string(), amount }),
  output: value,
  statements: ({ arg }) => ({ counter: sql`UPDATE counters SET value = value - ${arg.amount} WHERE id = ${arg.id} RETURNING value`.expect({ rows: 1, kind: "not_found", refusal: (a) => `no counter ${a.id}` }) }),
  result: (rows) => ({ value: Number(rows.counter[0]?.["value"]) }),
});

export const kitV1 = defineVocabulary(nomosV1, {
  add: operation({
    description: "Adds to a counter, creating it.",
    args: z.object({ id: z.string(), amount }),
    output: value,
    statements: ({ arg }) => ({ counter: sql`INSERT INTO counters (id, value) VALUES (${arg.id}, ${arg.amount}) ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING value` }),
    result: (rows) => ({ value: Number(rows.counter[0]?.["value"]) }),
  }),
  take,
});

export const kitV2 = defineVocabulary(nomosV2, {
  add: operation({
    description: "Adds to a counter, creating it with a label.",
    args: z.object({ id: z.string(), amount, label: z.string() }),
    output: value,
    statements: ({ arg }) => ({
      counter: sql`INSERT INTO counters (id, value, label) VALUES (${arg.id}, ${arg.amount}, ${arg.label}) ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING value`,
    }),
    result: (rows) => ({ value: Number(rows.counter[0]?.["value"]) }),
  }),
  take,
});

export const kitLaw = lineage(kitV1).evolve(kitV2, {
  migration: rebuildTableSql(nomosV2, "counters", { label: "'unlabelled'" }),
  reforge: (intent) => ({ ...intent, steps: intent.steps.map((s) => (s.op === "add" ? { ...s, args: { ...s.args, label: "unlabelled" } } : s)) }),
});

/** The counters of the kit's tests, on the two-version law. */
export class KitAttractor extends Attractor<unknown, typeof kitV2> {
  static law = kitLaw;
}
