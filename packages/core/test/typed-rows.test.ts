import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  blob,
  buildIntent,
  columnsOf,
  defineNomos,
  defineVocabulary,
  explain,
  integer,
  lineage,
  LineageDefinitionError,
  NomosDefinitionError,
  operation,
  parseIntent,
  type Row,
  type RowOf,
  sql,
  type SqlValue,
  type Statement,
  text,
} from "../src/index.js";
import { defineCheck } from "../src/check.js";
import { interpret } from "../src/interpretation/sqlite.js";
import { bindParams } from "../src/intent/vocabulary.js";
import type { StepBuilder } from "../src/index.js";

/** Seats of events: one table with a nullable column, a BLOB and a narrowed type. */
const eventsV1 = defineNomos({
  name: "events",
  version: 1,
  tables: {
    seats: {
      columns: {
        id: text().primaryKey(),
        event_id: text().notNull(),
        row_label: text().notNull().$type<"A" | "B">(),
        number: integer().notNull(),
        holder: text(),
        ticket: blob(),
      },
    },
  },
});
const eventsV2 = defineNomos({ ...eventsV1, version: 2, tables: { seats: { columns: { ...eventsV1.tables.seats.columns, price_cents: integer().notNull().default(0) } } } });

const seatColumns = columnsOf(eventsV1, "seats", "id", "holder", "number");

// Types from the law, checked by tsc (the core's tsconfig includes the tests), not only when a test runs.
expectTypeOf(seatColumns.row!).toEqualTypeOf<{ id: string; holder: string | null; number: number }>();
expectTypeOf(columnsOf(eventsV1, "seats").row!).toEqualTypeOf<{
  id: string;
  event_id: string;
  row_label: "A" | "B";
  number: number;
  holder: string | null;
  ticket: ArrayBuffer | Uint8Array | null;
}>();
expectTypeOf<RowOf<typeof eventsV1.tables.seats>["ticket"]>().toEqualTypeOf<ArrayBuffer | Uint8Array | null>();
// @ts-expect-error seats has no column `nope`
expect(() => columnsOf(eventsV1, "seats", "nope")).toThrow(NomosDefinitionError);
// @ts-expect-error events has no table `nope`
expect(() => columnsOf(eventsV1, "nope")).toThrow(NomosDefinitionError);

type Tools = { arg: { eventId: { kind: "arg"; name: "eventId"; value?: string } } };
const selectSeats = ({ arg }: Tools) => sql`SELECT ${seatColumns} FROM seats WHERE event_id = ${arg.eventId}`;
expectTypeOf<ReturnType<typeof selectSeats>>().toEqualTypeOf<Statement<{ eventId: string }, { id: string; holder: string | null; number: number }>>();
// `.as<R>()` types computed columns and keeps what the holes need of the arguments.
const countSeats = ({ arg }: Tools) => sql`SELECT COUNT(*) AS n FROM seats WHERE event_id = ${arg.eventId}`.as<{ n: number }>();
expectTypeOf<ReturnType<typeof countSeats>>().toEqualTypeOf<Statement<{ eventId: string }, { n: number }>>();
// Without columns or `.as`, a row is any column of any SQL value.
expectTypeOf(sql`SELECT 1 AS one`).toEqualTypeOf<Statement<unknown, Row>>();
// @ts-expect-error `sql<R>` cannot be: TypeScript would stop inferring the holes (see Statement.as)
void sql<{ n: number }>`SELECT 1 AS n`;

const seatArgs = z.object({ eventId: z.string(), seats: z.array(z.object({ id: z.string(), number: z.number().int() })).max(100), holder: z.string() });

const events = defineVocabulary(eventsV1, {
  holdSeats: operation({
    description: "Holds several seats of an event in one step.",
    args: seatArgs,
    output: z.object({ held: z.array(z.string()), count: z.number(), first: z.string().nullable() }),
    statements: ({ arg }) => ({
      hold: sql`UPDATE seats SET holder = ${arg.holder} WHERE event_id = ${arg.eventId} AND id IN (SELECT json_extract(value, '$.id') FROM json_each(${arg.seats})) RETURNING ${seatColumns}`,
      count: sql`SELECT COUNT(*) AS n FROM seats WHERE holder = ${arg.holder}`.as<{ n: number }>(),
      any: sql`SELECT id FROM seats LIMIT 1`,
    }),
    result: (rows) => {
      expectTypeOf(rows.hold).toEqualTypeOf<{ id: string; holder: string | null; number: number }[]>();
      expectTypeOf(rows.count).toEqualTypeOf<{ n: number }[]>();
      expectTypeOf(rows.any).toEqualTypeOf<Row[]>();
      // No String(…) or Number(…): the rows are what the Nomos says.
      return { held: rows.hold.map((r) => r.id), count: rows.count[0]!.n, first: rows.hold[0]?.holder ?? null };
    },
  }),
});

describe("typed rows", () => {
  it("columnsOf writes the named columns (all of them when none is named), quoting only a reserved word", () => {
    expect(seatColumns.sql).toBe("id, holder, number");
    expect(columnsOf(eventsV1, "seats").sql).toBe("id, event_id, row_label, number, holder, ticket");
    const keywords = defineNomos({ name: "k", version: 1, tables: { t: { columns: { order: text(), group: integer(), plain: text() } } } });
    expect(columnsOf(keywords, "t").sql).toBe('"order", "group", plain');
    expect(() => columnsOf(eventsV1, "seats", "nope" as "id")).toThrow('Nomos events v1 has no column "seats.nope"');
  });

  it("splices the columns into the statement without a hole, and result reads the rows as they come", () => {
    const tools: Tools = { arg: { eventId: { kind: "arg", name: "eventId" } } };
    expect(selectSeats(tools).sql).toBe("SELECT id, holder, number FROM seats WHERE event_id = ?");
    // `.as` changes the type only: the statement is the same.
    expect(countSeats(tools).sql).toBe("SELECT COUNT(*) AS n FROM seats WHERE event_id = ?");
    expect(countSeats(tools).holes).toStrictEqual([{ kind: "arg", name: "eventId" }]);
    const statement = events.operations.holdSeats.statements.hold;
    expect(statement.sql).toBe(
      "UPDATE seats SET holder = ? WHERE event_id = ? AND id IN (SELECT json_extract(value, '$.id') FROM json_each(?)) RETURNING id, holder, number",
    );
    const rows: Record<string, Row[]> = { hold: [{ id: "s1", holder: "ann", number: 1 }], count: [{ n: 1 }], any: [] };
    const intent = buildIntent(events, (s) => void s.holdSeats({ eventId: "e", seats: [{ id: "s1", number: 1 }], holder: "ann" }));
    const db = { exec: (text: string) => rows[Object.keys(events.operations.holdSeats.statements).find((k) => events.operations.holdSeats.statements[k as "hold"].sql === text)!] ?? [] };
    expect(interpret(events, intent, db, { now: 1, sedimentId: 1 })).toEqual([{ held: ["s1"], count: 1, first: "ann" }]);
  });
});

describe("array and object arguments", () => {
  const ctx = { now: 1, sedimentId: 7, step: 0 };
  const seats = [{ number: 2, id: "s2" }, { id: "s1", number: 1 }];

  it("bind as their canonical JSON text (keys sorted), so SQL reads them with json_each", () => {
    const hold = events.operations.holdSeats.statements.hold;
    expect(bindParams(hold, { eventId: "e", seats, holder: "ann" }, ctx)).toStrictEqual(["ann", "e", '[{"id":"s2","number":2},{"id":"s1","number":1}]']);
  });

  it("are one step, however many elements, and explain shows the JSON bound", () => {
    const intent = buildIntent(events, (s) => void s.holdSeats({ eventId: "e", seats, holder: "ann" }));
    expect(intent.steps).toHaveLength(1);
    const [hold] = explain(events, intent, { now: 1, sedimentId: 7 }).steps[0]!.statements;
    expect(hold!.params).toStrictEqual(["ann", "e", '[{"id":"s2","number":2},{"id":"s1","number":1}]']);
  });

  it("come from an earlier step's output through a Ref, bound as JSON once resolved; explain shows the Ref", () => {
    const pick = operation({
      description: "Chooses seats.",
      args: z.object({ eventId: z.string() }),
      output: z.object({ seats: z.array(z.object({ id: z.string(), number: z.number() })) }),
      statements: ({ arg }) => ({ seats: sql`SELECT ${seatColumns} FROM seats WHERE event_id = ${arg.eventId} AND holder IS NULL` }),
      result: (rows) => ({ seats: rows.seats.map((r) => ({ id: r.id, number: r.number })) }),
    });
    const law = defineVocabulary(eventsV1, { pick, holdSeats: events.operations.holdSeats });
    const intent = buildIntent(law, (s) => {
      const picked = s.pick({ eventId: "e" });
      s.holdSeats({ eventId: "e", seats: picked.seats, holder: "ann" });
    });
    expect(intent.steps[1]!.args.seats).toStrictEqual({ $ref: { step: 0, output: "seats" } });
    expect(explain(law, intent, { now: 1, sedimentId: 7 }).steps[1]!.statements[0]!.params).toStrictEqual(["ann", "e", { $ref: { step: 0, output: "seats" } }]);
    const ran: { sql: string; params: readonly SqlValue[] }[] = [];
    const db = {
      exec: (text: string, params: readonly SqlValue[]) => {
        ran.push({ sql: text, params });
        return text.startsWith("SELECT id, holder, number") ? [{ id: "s9", holder: null, number: 9 }] : text.startsWith("SELECT COUNT") ? [{ n: 1 }] : [];
      },
    };
    interpret(law, intent, db, { now: 1, sedimentId: 7 });
    expect(ran.find((r) => r.sql.startsWith("UPDATE"))!.params).toStrictEqual(["ann", "e", '[{"id":"s9","number":9}]']);
  });

  it("are bounded: an array longer than maxArrayLength is refused with its path, strings inside by maxStringLength", () => {
    const input = (n: number, id = "s") => ({ v: 1, steps: [{ op: "holdSeats", args: { eventId: "e", holder: "ann", seats: Array.from({ length: n }, () => ({ id, number: 1 })) } }] });
    const limits = { maxSteps: 64, maxBytes: 1 << 20, maxStringLength: 12, maxArrayLength: 3 };
    expect(parseIntent(events, input(3), limits)).toMatchObject({ ok: true });
    const tooMany = parseIntent(events, input(4), limits);
    expect(tooMany.ok ? [] : tooMany.issues.map((i) => [i.path.join("."), i.message])).toStrictEqual([["steps.0.args.seats", "array has 4 elements; at most 3 are allowed"]]);
    const tooLong = parseIntent(events, input(1, "a-seat-id-too-long"), limits);
    expect(tooLong.ok ? [] : tooLong.issues.map((i) => i.path.join("."))).toStrictEqual(["steps.0.args.seats.0.id"]);
  });

  it("a boolean argument still cannot be bound", () => {
    operation({
      description: "x",
      args: z.object({ flag: z.boolean(), list: z.array(z.boolean()) }),
      output: z.object({}),
      statements: ({ arg }) => ({
        // @ts-expect-error a boolean is neither an SQL value nor JSON text
        a: sql`SELECT ${arg.flag}`,
        b: sql`SELECT value FROM json_each(${arg.list})`,
      }),
      result: () => ({}),
    });
  });
});

describe("a Lineage typed by its versions", () => {
  const v1 = defineVocabulary(eventsV1, events.operations);
  const v2 = defineVocabulary(eventsV2, {
    ...events.operations,
    price: operation({
      description: "Prices a seat.",
      args: z.object({ id: z.string(), cents: z.number().int() }),
      output: z.object({ id: z.string() }),
      statements: ({ arg }) => ({ seat: sql`UPDATE seats SET price_cents = ${arg.cents} WHERE id = ${arg.id} RETURNING ${columnsOf(eventsV2, "seats", "id", "price_cents")}` }),
      result: (rows) => ({ id: rows.seat[0]!.id }),
    }),
  });
  const law = lineage(v1).evolve(v2, { migration: [] });

  // Type-level assertions stand outside any it() (where they would pass at run time whatever the
  // type): `npm run typecheck` checks them. latest and version(n) are the typed vocabularies.
  expectTypeOf(law.latest).toEqualTypeOf<typeof v2>();
  expectTypeOf(law.version(1)).toEqualTypeOf<typeof v1>();
  expectTypeOf(law.version(2)).toEqualTypeOf<typeof v2>();

  it("latest and version(n) are the typed vocabularies, so buildIntent(law.latest, …) is typed", () => {
    // @ts-expect-error the lineage declares no v3
    expect(() => law.version(3)).toThrow(LineageDefinitionError);
    expect(law.version(1)).toBe(v1);
    expect(law.latest).toBe(v2);
    const intent = buildIntent(law.latest, (s) => void s.price({ id: "s1", cents: 100 }));
    expect(intent.steps).toStrictEqual([{ op: "price", args: { id: "s1", cents: 100 } }]);
    // @ts-expect-error v1 has no `price`
    expect(() => buildIntent(law.version(1), (s) => void s.price({ id: "s1", cents: 100 }))).toThrow();
  });

  const check = defineCheck({
    law,
    actions: {
      price: { op: "price", build: (s, a) => void s.price({ id: String(a.id), cents: 1 }) },
      // @ts-expect-error the law has no operation `nope`
      bad: { op: "price", build: (s) => void s.nope({}) },
    },
  });
  // Checked by `npm run typecheck`, outside any it(): defineCheck types each build from the law's newest operations.
  expectTypeOf(check.actions!.price!.build!).parameter(0).toEqualTypeOf<StepBuilder<typeof v2.operations>>();

  it("defineCheck types each build from the law's newest operations, without a type argument", () => {
    expect(check.law).toBe(law);
    expect(Object.keys(check.actions!)).toStrictEqual(["price", "bad"]);
  });
});
