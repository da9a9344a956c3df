import { defineNomos, defineVocabulary, integer, operation, text } from "@noema/core";
import { z } from "zod";

/** The tables an Attractor holds: one row per counter. */
export const counterNomos = defineNomos({
  name: "counter",
  version: 1,
  tables: {
    counters: {
      columns: {
        id: text().primaryKey(),
        value: integer().notNull().default(0).check("value >= 0", "a counter cannot go below zero"),
      },
    },
  },
});

const Id = z.string().regex(/^[a-z0-9-]{1,32}$/, "must be 1–32 characters of a–z, 0–9 or '-'");

/** What clients may ask for: each operation is static SQL with its arguments in place. */
export const counterLaw = defineVocabulary(counterNomos, {
  add: operation({
    description: "Adds an amount to a counter, creating it at zero first.",
    args: z.object({ id: Id, amount: z.number().int().min(1).max(1_000_000) }),
    output: z.object({ id: z.string(), value: z.number() }),
    statements: [
      {
        sql: "INSERT INTO counters (id, value) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING id, value",
        params: (a) => [a.id, a.amount],
      },
    ],
    result: (rows) => ({ id: String(rows[0]![0]!["id"]), value: Number(rows[0]![0]!["value"]) }),
  }),
  take: operation({
    description: "Takes an amount from a counter; refused when the counter would go below zero.",
    args: z.object({ id: Id, amount: z.number().int().min(1).max(1_000_000) }),
    output: z.object({ id: z.string(), value: z.number() }),
    statements: [
      {
        sql: "UPDATE counters SET value = value - ? WHERE id = ? RETURNING id, value",
        params: (a) => [a.amount, a.id],
        expect: { rows: 1, refusal: (a) => `there is no counter ${a.id}`, kind: "not_found" },
      },
    ],
    result: (rows) => ({ id: String(rows[0]![0]!["id"]), value: Number(rows[0]![0]!["value"]) }),
  }),
});
