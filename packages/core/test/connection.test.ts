import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { inventoryV1, inventoryV2 } from "./fixtures/inventory.js";
import { type AnyColumn, type Change, connection, defineNomos, defineVocabulary, type EvolutionHints, integer, type InvariantSpec, operation, real, sql, type TableSpec, text, type Vocabulary } from "../src/index.js";
import { diffNomos, diffVocabulary } from "../src/connection/diff.js";
import { sieveOf } from "../src/sieve/index.js";

/*
 * A small shop law to change one thing at a time. Every test states the one change it makes and
 * the exact list of changes the diff must report: nothing more.
 */
const itemColumns = {
  id: text().primaryKey(),
  name: text().notNull(),
  price: integer().notNull().check("price >= 0", "a price cannot be negative"),
  qty: integer().notNull().default(0),
  note: text(),
  sku: text().unique(),
};
const items = {
  columns: itemColumns,
  checks: { items_qty_cap: { sql: "qty <= 1000", message: "at most 1000 units" } },
  indexes: { items_by_name: { columns: ["name"] } },
} satisfies TableSpec;
const lines = {
  columns: { order_id: text().notNull(), line: integer().notNull(), item_id: text().notNull() },
  primaryKey: ["order_id", "line"],
} satisfies TableSpec;
const baseTables: Record<string, TableSpec> = { items, lines };
const cheapItems: InvariantSpec = { violations: "SELECT id FROM items WHERE price > 1000000", message: "nothing costs a million" };

const law = (version: number, tables: Record<string, TableSpec>, invariants: Record<string, InvariantSpec> = {}) =>
  defineNomos({ name: "shop", version, tables, invariants });
const before = law(1, baseTables, { cheap_items: cheapItems });

/** The base law with `items` changed: columns replaced or removed (undefined), table-level parts overridden. */
function withItems(columns: Record<string, AnyColumn | undefined>, rest: Partial<Omit<TableSpec, "columns">> = {}): Record<string, TableSpec> {
  const merged = Object.fromEntries(Object.entries({ ...itemColumns, ...columns }).filter(([, c]) => c !== undefined)) as Record<string, AnyColumn>;
  return { ...baseTables, items: { ...items, ...rest, columns: merged } };
}

type Summary = Pick<Change, "element" | "kind" | "effect" | "affects">;
const summary = (changes: Change[]): Summary[] => changes.map(({ element, kind, effect, affects }) => ({ element, kind, effect, affects }));
const diff = (tables: Record<string, TableSpec>, hints?: EvolutionHints, invariants: Record<string, InvariantSpec> = { cheap_items: cheapItems }) =>
  summary(diffNomos(before, law(2, tables, invariants), hints));

describe("diffNomos: one rule, one example", () => {
  it("finds nothing between a law and an identical declaration of it", () => {
    expect(diff(baseTables)).toStrictEqual([]);
  });

  describe("tables", () => {
    it("added: Flat, no old Intent can name it", () => {
      expect(diff({ ...baseTables, tags: { columns: { name: text().primaryKey() } } })).toStrictEqual([
        { element: "table:tags", kind: "table_added", effect: "Flat", affects: [] },
      ]);
    });

    it("dropped: Curved for Intents that touch it", () => {
      expect(diff({ items })).toStrictEqual([{ element: "table:lines", kind: "table_dropped", effect: "Curved", affects: ["table:lines"] }]);
    });

    it("renamed through hints: Curved, named in the old law's terms; without hints a drop plus an add", () => {
      const renamed = { items, order_lines: lines };
      expect(diff(renamed, { renames: { tables: { lines: "order_lines" } } })).toStrictEqual([
        { element: "table:lines", kind: "table_renamed", effect: "Curved", affects: ["table:lines"] },
      ]);
      expect(diff(renamed)).toStrictEqual([
        { element: "table:lines", kind: "table_dropped", effect: "Curved", affects: ["table:lines"] },
        { element: "table:order_lines", kind: "table_added", effect: "Flat", affects: [] },
      ]);
    });
  });

  describe("columns", () => {
    it("added nullable: Flat", () => {
      expect(diff(withItems({ color: text() }))).toStrictEqual([{ element: "column:items.color", kind: "column_added", effect: "Flat", affects: [] }]);
    });

    it("added NOT NULL with a default: Flat, an old INSERT gets the default", () => {
      expect(diff(withItems({ color: text().notNull().default("red") }))).toStrictEqual([
        { element: "column:items.color", kind: "column_added", effect: "Flat", affects: [] },
      ]);
    });

    it("added NOT NULL without a default: Curved for Intents that insert into the table", () => {
      expect(diff(withItems({ color: text().notNull() }))).toStrictEqual([
        { element: "column:items.color", kind: "column_added", effect: "Curved", affects: ["shape:items"] },
      ]);
    });

    it("added UNIQUE with a default: Curved for Intents that insert, their rows would all collide; UNIQUE nullable: Flat", () => {
      expect(diff(withItems({ code: text().notNull().unique().default("none") }))).toStrictEqual([
        { element: "column:items.code", kind: "column_added", effect: "Curved", affects: ["shape:items"] },
      ]);
      expect(diff(withItems({ code: text().unique() }))).toStrictEqual([{ element: "column:items.code", kind: "column_added", effect: "Flat", affects: [] }]);
    });

    it("dropped: Curved for Intents that name it", () => {
      expect(diff(withItems({ note: undefined }))).toStrictEqual([{ element: "column:items.note", kind: "column_dropped", effect: "Curved", affects: ["column:items.note"] }]);
    });

    it("renamed through hints: Curved, in the old law's terms; without hints a drop plus an add", () => {
      const renamed = withItems({ note: undefined, memo: text() });
      expect(diff(renamed, { renames: { columns: { "items.note": "memo" } } })).toStrictEqual([
        { element: "column:items.note", kind: "column_renamed", effect: "Curved", affects: ["column:items.note"] },
      ]);
      expect(diff(renamed)).toStrictEqual([
        { element: "column:items.note", kind: "column_dropped", effect: "Curved", affects: ["column:items.note"] },
        { element: "column:items.memo", kind: "column_added", effect: "Flat", affects: [] },
      ]);
    });

    it("retyped: Curved", () => {
      expect(diff(withItems({ price: real().notNull().check("price >= 0", "a price cannot be negative") }))).toStrictEqual([
        { element: "column:items.price", kind: "column_retyped", effect: "Curved", affects: ["column:items.price"] },
      ]);
    });

    it("NOT NULL added: Curved for Intents that name it or insert without it", () => {
      expect(diff(withItems({ note: text().notNull() }))).toStrictEqual([
        { element: "column:items.note", kind: "constraint_tightened", effect: "Curved", affects: ["column:items.note", "shape:items"] },
      ]);
    });

    it("NOT NULL removed: Flat", () => {
      expect(diff(withItems({ name: text() }))).toStrictEqual([{ element: "column:items.name", kind: "constraint_loosened", effect: "Flat", affects: [] }]);
    });

    it("UNIQUE added: Curved; removed: Flat", () => {
      expect(diff(withItems({ name: text().notNull().unique() }))).toStrictEqual([
        { element: "column:items.name", kind: "constraint_tightened", effect: "Curved", affects: ["column:items.name"] },
      ]);
      expect(diff(withItems({ sku: text() }))).toStrictEqual([{ element: "column:items.sku", kind: "constraint_loosened", effect: "Flat", affects: [] }]);
    });

    it("CHECK added or changed: Curved; removed: Flat", () => {
      expect(diff(withItems({ note: text().check("length(note) <= 200", "a note is short") }))).toStrictEqual([
        { element: "column:items.note", kind: "constraint_tightened", effect: "Curved", affects: ["column:items.note"] },
      ]);
      expect(diff(withItems({ price: integer().notNull().check("price > 0", "nothing is free") }))).toStrictEqual([
        { element: "column:items.price", kind: "constraint_tightened", effect: "Curved", affects: ["column:items.price"] },
      ]);
      expect(diff(withItems({ price: integer().notNull() }))).toStrictEqual([{ element: "column:items.price", kind: "constraint_loosened", effect: "Flat", affects: [] }]);
    });

    it("CHECK compared as normalized SQL: whitespace alone is no change", () => {
      expect(diff(withItems({ price: integer().notNull().check("price   >=\n 0", "a price cannot be negative") }))).toStrictEqual([]);
    });

    it("default changed: Curved for Intents that insert into the table", () => {
      expect(diff(withItems({ qty: integer().notNull().default(1) }))).toStrictEqual([
        { element: "column:items.qty", kind: "default_changed", effect: "Curved", affects: ["shape:items"] },
      ]);
    });

    it("column PRIMARY KEY changed: Curved for Intents that name the column or write the table", () => {
      const tables = { ...baseTables, lines: { ...lines, primaryKey: undefined, columns: { ...lines.columns, line: integer().primaryKey() } } };
      expect(diff(tables)).toStrictEqual([
        { element: "column:lines.line", kind: "constraint_tightened", effect: "Curved", affects: ["column:lines.line", "write:lines"] },
        { element: "table:lines", kind: "constraint_tightened", effect: "Curved", affects: ["write:lines"] },
      ]);
    });
  });

  describe("table-level constraints and indexes", () => {
    it("composite PRIMARY KEY changed: Curved for Intents that write the table", () => {
      expect(diff({ ...baseTables, lines: { ...lines, primaryKey: ["line", "order_id"] } })).toStrictEqual([
        { element: "table:lines", kind: "constraint_tightened", effect: "Curved", affects: ["write:lines"] },
      ]);
    });

    it("table CHECK added or changed: Curved for Intents that write the table; removed: Flat", () => {
      const cap = (sql: string) => ({ items_qty_cap: { sql, message: "capped" } });
      expect(diff(withItems({}, { checks: { ...cap("qty <= 1000"), items_named: { sql: "name <> ''", message: "named" } } }))).toStrictEqual([
        { element: "table:items", kind: "constraint_tightened", effect: "Curved", affects: ["write:items"] },
      ]);
      expect(diff(withItems({}, { checks: cap("qty <= 500") }))).toStrictEqual([
        { element: "table:items", kind: "constraint_tightened", effect: "Curved", affects: ["write:items"] },
      ]);
      expect(diff(withItems({}, { checks: {} }))).toStrictEqual([{ element: "table:items", kind: "constraint_loosened", effect: "Flat", affects: [] }]);
    });

    it("index added or dropped: Flat", () => {
      expect(diff(withItems({}, { indexes: { items_by_name: { columns: ["name"] }, items_by_qty: { columns: ["qty"] } } }))).toStrictEqual([
        { element: "table:items", kind: "index_added", effect: "Flat", affects: [] },
      ]);
      expect(diff(withItems({}, { indexes: {} }))).toStrictEqual([{ element: "table:items", kind: "index_dropped", effect: "Flat", affects: [] }]);
    });

    it("UNIQUE index added, or an index made UNIQUE: Curved for Intents that write the table", () => {
      expect(diff(withItems({}, { indexes: { items_by_name: { columns: ["name"] }, items_unique_sku: { columns: ["sku", "name"], unique: true } } }))).toStrictEqual([
        { element: "table:items", kind: "constraint_tightened", effect: "Curved", affects: ["write:items"] },
      ]);
      expect(diff(withItems({}, { indexes: { items_by_name: { columns: ["name"], unique: true } } }))).toStrictEqual([
        { element: "table:items", kind: "constraint_tightened", effect: "Curved", affects: ["write:items"] },
      ]);
    });

    it("UNIQUE index dropped or made plain: Flat, a loosened constraint", () => {
      const uniqueLaw = law(1, withItems({}, { indexes: { items_by_name: { columns: ["name"], unique: true } } }));
      const plainIndex = law(2, baseTables);
      const noIndex = law(2, withItems({}, { indexes: {} }));
      for (const to of [plainIndex, noIndex]) {
        expect(summary(diffNomos(uniqueLaw, to))).toStrictEqual([{ element: "table:items", kind: "constraint_loosened", effect: "Flat", affects: [] }]);
      }
    });

    it("`unique: false` is the same index as no `unique`", () => {
      expect(diff(withItems({}, { indexes: { items_by_name: { columns: ["name"], unique: false } } }))).toStrictEqual([]);
    });

    it("a renamed column keeps its indexes", () => {
      const renamed = withItems({ name: undefined, title: text().notNull() }, { indexes: { items_by_name: { columns: ["title"] } } });
      expect(diff(renamed, { renames: { columns: { "items.name": "title" } } })).toStrictEqual([
        { element: "column:items.name", kind: "column_renamed", effect: "Curved", affects: ["column:items.name"] },
      ]);
    });
  });

  describe("invariants", () => {
    it("added: Curved for Intents that write a table it reads", () => {
      const named: InvariantSpec = { violations: "SELECT i.id FROM items i JOIN lines l ON l.item_id = i.id WHERE i.name = ''", message: "ordered items are named" };
      expect(diff(baseTables, undefined, { cheap_items: cheapItems, ordered_named: named })).toStrictEqual([
        { element: "invariant:ordered_named", kind: "invariant_added", effect: "Curved", affects: ["write:items", "write:lines"] },
      ]);
    });

    it("changed: Curved for Intents it held for and for those that write a table it now reads", () => {
      expect(diff(baseTables, undefined, { cheap_items: { ...cheapItems, violations: "SELECT id FROM items WHERE price > 100000" } })).toStrictEqual([
        { element: "invariant:cheap_items", kind: "invariant_changed", effect: "Curved", affects: ["invariant:cheap_items", "write:items"] },
      ]);
    });

    it("only its SQL counts: a new message is no change", () => {
      expect(diff(baseTables, undefined, { cheap_items: { ...cheapItems, message: "reworded" } })).toStrictEqual([]);
    });

    it("dropped: Flat", () => {
      expect(diff(baseTables, undefined, {})).toStrictEqual([{ element: "invariant:cheap_items", kind: "invariant_dropped", effect: "Flat", affects: [] }]);
    });

    it("over a renamed table: affects writes in the old law's terms", () => {
      const renamed = { articles: items, lines };
      const moved = { cheap_items: { ...cheapItems, violations: "SELECT id FROM articles WHERE price > 1000000" } };
      expect(diff(renamed, { renames: { tables: { items: "articles" } } }, moved)).toStrictEqual([
        { element: "table:items", kind: "table_renamed", effect: "Curved", affects: ["table:items"] },
        { element: "invariant:cheap_items", kind: "invariant_changed", effect: "Curved", affects: ["invariant:cheap_items", "write:items"] },
      ]);
    });
  });

  it("a critical mark: one Critical change that no Sieve can avoid", () => {
    const changes = diffNomos(before, law(2, baseTables, { cheap_items: cheapItems }), { critical: { reason: "prices were leaking" } });
    expect(changes).toStrictEqual([{ element: "nomos", kind: "critical", detail: "prices were leaking", effect: "Critical", affects: [] }]);
  });
});

describe("diffVocabulary", () => {
  const shop = law(1, baseTables);
  const rename = operation({
    description: "Renames an item.",
    args: z.object({ id: z.string(), name: z.string() }),
    output: z.object({}),
    statements: ({ arg }) => ({ rename: sql`UPDATE items SET name = ${arg.name} WHERE id = ${arg.id}` }),
    result: () => ({}),
  });
  const annotate = operation({ ...rename, statements: ({ arg }) => ({ rename: sql`UPDATE items SET note = ${arg.name} WHERE id = ${arg.id}` }) });
  const v1 = defineVocabulary(shop, { rename });

  it("operation added: Flat", () => {
    expect(summary(diffVocabulary(v1, defineVocabulary(shop, { rename, annotate })))).toStrictEqual([
      { element: "op:annotate", kind: "operation_added", effect: "Flat", affects: [] },
    ]);
  });

  it("operation changed (its SQL, arguments or bindings): Curved for Intents that name it", () => {
    expect(summary(diffVocabulary(v1, defineVocabulary(shop, { rename: annotate })))).toStrictEqual([
      { element: "op:rename", kind: "operation_changed", effect: "Curved", affects: ["op:rename"] },
    ]);
    const wider = operation({ ...rename, args: rename.args.extend({ note: z.string().optional() }) });
    expect(summary(diffVocabulary(v1, defineVocabulary(shop, { rename: wider })))).toStrictEqual([
      { element: "op:rename", kind: "operation_changed", effect: "Curved", affects: ["op:rename"] },
    ]);
  });

  it("operation dropped: Curved for Intents that name it", () => {
    expect(summary(diffVocabulary(v1, defineVocabulary(shop, { annotate })))).toStrictEqual([
      { element: "op:rename", kind: "operation_dropped", effect: "Curved", affects: ["op:rename"] },
      { element: "op:annotate", kind: "operation_added", effect: "Flat", affects: [] },
    ]);
  });

  it("the same definition in a new vocabulary is no change", () => {
    expect(diffVocabulary(v1, defineVocabulary(law(2, baseTables), { rename: operation({ ...rename }) }))).toStrictEqual([]);
  });
});

describe("connection relative to a Sieve", () => {
  const after = law(2, withItems({ note: undefined }), { cheap_items: cheapItems });
  const noteSieve = { "column:items.note": before.elements["column:items.note"]! };
  const nameSieve = { "column:items.name": before.elements["column:items.name"]! };

  it("a change outside the Sieve keeps it Flat; inside, Curved; without a Sieve the whole schema counts", () => {
    expect(connection(before, after, { sieve: nameSieve }).type).toBe("Flat");
    expect(connection(before, after, { sieve: noteSieve }).type).toBe("Curved");
    expect(connection(before, after).type).toBe("Curved");
    expect(connection(before, after, { sieve: {} }).type).toBe("Flat");
  });

  it("reports every change, each marked relevant or not to the Sieve", () => {
    const c = connection(before, law(2, withItems({ note: undefined, color: text() })), { sieve: nameSieve });
    expect(c.changes.map(({ element, relevant }) => [element, relevant])).toStrictEqual([
      ["column:items.note", false],
      ["column:items.color", false],
      ["invariant:cheap_items", false],
    ]);
    expect(c.from).toStrictEqual({ name: "shop", version: 1, hash: before.hash });
  });

  it("a Flat change is never relevant, even without a Sieve", () => {
    const c = connection(before, law(2, withItems({ color: text() }), { cheap_items: cheapItems }));
    expect(c.type).toBe("Flat");
    expect(c.changes).toStrictEqual([expect.objectContaining({ element: "column:items.color", relevant: false })]);
  });

  it("Critical whatever the Sieve, even an empty one", () => {
    const hints = { critical: { reason: "legal hold" } };
    for (const sieve of [undefined, {}, nameSieve, noteSieve]) {
      expect(connection(before, before, { ...(sieve ? { sieve } : {}), hints }).type).toBe("Critical");
    }
  });

  it("a critical mark naming operations stops only the Intents that name one of them", () => {
    const hints = { critical: { reason: "reserve is capped", operations: ["reserve"] } };
    const typeOf = (op: string) => connection(inventoryV1, inventoryV1, { sieve: sieveOf(inventoryV1, [op]), hints }).type;
    expect(Object.fromEntries(Object.keys(inventoryV1.operations).map((op) => [op, typeOf(op)]))).toStrictEqual({
      setStock: "Flat",
      adjust: "Flat",
      reserve: "Critical",
      release: "Flat",
      commit: "Flat",
    });
    // Without a Sieve every change counts.
    expect(connection(inventoryV1, inventoryV1, { hints }).type).toBe("Critical");
  });

  it("inventory v1 → v2, per operation: reserve is Curved, every other v1 operation Flat", () => {
    const typeOf = (op: string) => connection(inventoryV1, inventoryV2, { sieve: sieveOf(inventoryV1, [op]) }).type;
    expect(Object.fromEntries(Object.keys(inventoryV1.operations).map((op) => [op, typeOf(op)]))).toStrictEqual({
      setStock: "Flat",
      adjust: "Flat",
      reserve: "Curved",
      release: "Flat",
      commit: "Flat",
    });
    expect(connection(inventoryV1, inventoryV2).type).toBe("Curved");
  });

  it("inventory v1 → v2: reserve is Curved because its INSERT needs the new channel and the operation changed", () => {
    const c = connection(inventoryV1, inventoryV2, { sieve: sieveOf(inventoryV1, ["reserve"]) });
    expect(c.changes.filter((ch) => ch.relevant).map(({ element, kind, affects }) => ({ element, kind, affects }))).toStrictEqual([
      { element: "column:reservations.channel", kind: "column_added", affects: ["shape:reservations"] },
      { element: "op:reserve", kind: "operation_changed", affects: ["op:reserve"] },
    ]);
    expect(c.changes.filter((ch) => !ch.relevant).map(({ element, kind }) => ({ element, kind }))).toStrictEqual([
      { element: "table:channel_sync", kind: "table_added" },
      { element: "op:recordChannelSync", kind: "operation_added" },
    ]);
    expect(Object.keys(inventoryV1.operations)).not.toContain("recordChannelSync");
  });

  it("between two Nomos (no vocabularies), operations are not compared", () => {
    expect(connection(inventoryV1.nomos, inventoryV2.nomos, { sieve: sieveOf(inventoryV1, ["reserve"]) }).changes.map((c) => c.kind)).toStrictEqual([
      "column_added",
      "table_added",
    ]);
  });
});

describe("connection properties", () => {
  const ident = (prefix: string) => fc.stringMatching(/^[a-z]{1,6}$/).map((s) => `${prefix}${s}`);
  const nullableOrDefaulted: fc.Arbitrary<AnyColumn> = fc.oneof(
    fc.constant(text()),
    fc.constant(integer()),
    fc.string({ maxLength: 5 }).map((d) => text().notNull().default(d)),
    fc.integer().map((d) => integer().notNull().default(d)),
  );
  const columnMap = (prefix: string) => fc.dictionary(ident(prefix), nullableOrDefaulted, { minKeys: 1, maxKeys: 3 });

  it("adding unrelated tables and nullable or defaulted columns never turns a Connection Curved", () => {
    const v2 = inventoryV2.nomos;
    const existing = Object.keys(v2.tables);
    fc.assert(
      fc.property(
        fc.dictionary(ident("x_"), columnMap("c_"), { maxKeys: 3 }),
        fc.dictionary(fc.constantFrom(...existing), columnMap("extra_"), { maxKeys: existing.length }),
        fc.subarray(Object.keys(inventoryV1.operations)),
        (newTables, newColumns, ops) => {
          const tables: Record<string, TableSpec> = { ...v2.tables };
          for (const [t, columns] of Object.entries(newColumns)) tables[t] = { ...tables[t]!, columns: { ...tables[t]!.columns, ...columns } };
          for (const [t, columns] of Object.entries(newTables)) tables[t] = { columns };
          const grown = defineVocabulary(defineNomos({ name: "inventory", version: 2, tables, invariants: v2.invariants }), inventoryV2.operations);
          const options = ops.length > 0 ? { sieve: sieveOf(inventoryV1, ops) } : {};
          expect(connection(inventoryV1, grown, options).type).toBe(connection(inventoryV1, inventoryV2, options).type);
          // From the grown law's own point of view, nothing of what it adds counts.
          const sieve = sieveOf(inventoryV2, Object.keys(inventoryV2.operations));
          expect(connection(inventoryV2, grown, { sieve }).type).toBe("Flat");
        },
      ),
      { numRuns: 60 },
    );
  });

  it("connection(x, x) is Flat with no changes, and so is a separate declaration of the same law", () => {
    const anyColumn: fc.Arbitrary<AnyColumn> = fc
      .record({
        type: fc.constantFrom(text, integer, real),
        notNull: fc.boolean(),
        unique: fc.boolean(),
        check: fc.boolean(),
      })
      .map(({ type, notNull, unique, check }) => {
        let c: AnyColumn = type();
        if (notNull) c = c.notNull();
        if (unique) c = c.unique();
        return check ? c.check("1 = 1", "always") : c;
      });
    const spec = fc.dictionary(ident("t_"), fc.dictionary(ident("c_"), anyColumn, { minKeys: 1, maxKeys: 4 }), { minKeys: 1, maxKeys: 4 });
    fc.assert(
      fc.property(spec, (tables) => {
        const declare = () => defineNomos({ name: "any", version: 1, tables: Object.fromEntries(Object.entries(tables).map(([t, columns]) => [t, { columns }])) });
        const x = declare();
        for (const y of [x, declare()]) {
          const c = connection(x, y);
          expect(c.type).toBe("Flat");
          expect(c.changes).toStrictEqual([]);
        }
      }),
      { numRuns: 60 },
    );
    for (const v of [inventoryV1, inventoryV2] as Vocabulary[]) expect(connection(v, v)).toMatchObject({ type: "Flat", changes: [] });
  });
});
