// First: what `noema build` derived from this law's SQL, so that the Worker needs no SQL parser.
import "./law.footprints.js";
import { columnsOf, defineNomos, definePublication, defineVocabulary, integer, operation, sql, text } from "@noema/core";
// zod/mini: the Worker bundles only the checks it uses (classic `zod` works too, about 14 KiB gzip more).
import * as z from "zod/mini";

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

/** A counter as the statements return it, typed from the Nomos: `{ id: string; value: number }`. */
export const COUNTER = columnsOf(counterNomos, "counters", "id", "value");

/**
 * What live clients (the page, `@noema/client`) see of a counter: its whole row. Nothing is
 * published unless named here; a column left out never leaves the Durable Object.
 */
export const counterPublication = definePublication(counterNomos, { counters: { columns: ["id", "value"] } });

const Id = z.string().check(z.regex(/^[a-z0-9-]{1,32}$/, "must be 1–32 characters of a–z, 0–9 or '-'"));
const Amount = z.int().check(z.minimum(1), z.maximum(1_000_000));
// Both operations take and return the same shapes: one schema each, built once when the Worker starts.
const Change = z.object({ id: Id, amount: Amount });
const Counter = z.object({ id: z.string(), value: z.number() });

/** What clients may ask for: each operation is static SQL with its arguments in place. */
export const counterLaw = defineVocabulary(counterNomos, {
  add: operation({
    description: "Adds an amount to a counter, creating it at zero first.",
    args: Change,
    output: Counter,
    statements: ({ arg }) => ({
      counter: sql`INSERT INTO counters (id, value) VALUES (${arg.id}, ${arg.amount})
        ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING ${COUNTER}`,
    }),
    // One row: the upsert always returns it, and `take` refuses unless it does.
    result: (rows) => rows.counter[0]!,
  }),
  take: operation({
    description: "Takes an amount from a counter; refused when the counter would go below zero.",
    args: Change,
    output: Counter,
    statements: ({ arg }) => ({
      counter: sql`UPDATE counters SET value = value - ${arg.amount} WHERE id = ${arg.id} RETURNING ${COUNTER}`.expect({
        rows: 1,
        kind: "not_found",
        refusal: (a) => `there is no counter ${a.id}`,
      }),
    }),
    // One row: the upsert always returns it, and `take` refuses unless it does.
    result: (rows) => rows.counter[0]!,
  }),
});
