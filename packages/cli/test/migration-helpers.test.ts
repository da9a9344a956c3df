import { DatabaseSync } from "node:sqlite";
import { addColumnSql, createIndexSql, createTableSql, defineNomos, integer, type Nomos, NomosDefinitionError, rebuildTableSql, text } from "@noema/core";
import { verifySchema } from "@noema/core/internal";
import { describe, expect, it } from "vitest";

/** Migrations built with the helpers, run on real SQLite, leave exactly the schema a new Attractor of the new law gets. */

const seats = { id: text().primaryKey(), event_id: text().notNull(), holder: text() };
const v1 = defineNomos({ name: "events", version: 1, tables: { seats: { columns: seats } } });
const v2 = defineNomos({
  name: "events",
  version: 2,
  tables: {
    seats: { columns: { ...seats, price_cents: integer().notNull().default(0).check("price_cents >= 0", "a price cannot be negative") } },
    holds: { columns: { seat_id: text().primaryKey(), until: integer().notNull() }, indexes: { holds_by_until: { columns: ["until"] } } },
  },
});
const v3 = defineNomos({
  name: "events",
  version: 3,
  tables: {
    ...v2.tables,
    seats: {
      ...v2.tables.seats,
      checks: { seats_priced_when_held: { sql: "holder IS NULL OR price_cents > 0", message: "a held seat has a price" } },
      indexes: { seats_by_event: { columns: ["event_id"] } },
    },
  },
});

/** The schema as SQLite records it: every table and index, with its SQL text. */
const schemaOf = (db: DatabaseSync) => db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all();

function fresh(nomos: Nomos): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const ddl of nomos.ddl) db.exec(ddl);
  return db;
}

/** The port verifySchema reads through. */
const port = (db: DatabaseSync) => ({ exec: (sql: string) => db.prepare(sql).all() as never });

describe("migration helpers on real SQLite", () => {
  it("addColumnSql adds a column with its default and Noema's CHECK name: the schema is exactly v2's, rows kept", () => {
    const db = fresh(v1);
    db.prepare("INSERT INTO seats (id, event_id) VALUES ('s1', 'e1')").run();
    const migration = [addColumnSql(v2, "seats", "price_cents"), ...createTableSql(v2, "holds")];
    expect(migration[0]).toBe(`ALTER TABLE "seats" ADD COLUMN "price_cents" INTEGER NOT NULL DEFAULT 0 CONSTRAINT "seats_price_cents_check" CHECK (price_cents >= 0)`);
    for (const sql of migration) db.exec(sql);
    expect(schemaOf(db)).toEqual(schemaOf(fresh(v2)));
    expect(() => verifySchema(port(db), v2)).not.toThrow();
    expect(db.prepare("SELECT id, price_cents FROM seats").all()).toEqual([{ id: "s1", price_cents: 0 }]);
    // The CHECK carries the name whose message a refusal reports.
    expect(() => db.prepare("UPDATE seats SET price_cents = -1").run()).toThrow("CHECK constraint failed: seats_price_cents_check");
    expect(v2.checkMessages["seats_price_cents_check"]).toBe("a price cannot be negative");
  });

  it("rebuildTableSql adds a table CHECK and createIndexSql an index: the schema is exactly v3's", () => {
    const db = fresh(v2);
    db.prepare("INSERT INTO seats (id, event_id, holder, price_cents) VALUES ('s1', 'e1', 'ann', 500)").run();
    for (const sql of rebuildTableSql(v3, "seats")) db.exec(sql);
    expect(schemaOf(db)).toEqual(schemaOf(fresh(v3)));
    expect(() => verifySchema(port(db), v3)).not.toThrow();
    expect(db.prepare("SELECT id, price_cents FROM seats").all()).toEqual([{ id: "s1", price_cents: 500 }]);
    expect(createIndexSql(v3, "seats", "seats_by_event")).toBe(`CREATE INDEX "seats_by_event" ON "seats" ("event_id")`);
  });

  it("addColumnSql refuses, when the migration is written, what SQLite cannot add in place", () => {
    const notLast = defineNomos({ name: "events", version: 2, tables: { seats: { columns: { price_cents: integer(), ...seats } } } });
    expect(() => addColumnSql(notLast, "seats", "price_cents")).toThrow(NomosDefinitionError);
    expect(() => addColumnSql(notLast, "seats", "price_cents")).toThrow(`column "seats.price_cents" is not the table's last`);
    const required = defineNomos({ name: "events", version: 2, tables: { seats: { columns: { ...seats, price_cents: integer().notNull() } } } });
    expect(() => addColumnSql(required, "seats", "price_cents")).toThrow(`SQLite cannot add a NOT NULL column without a default ("seats.price_cents") in place; use rebuildTableSql(nomos, "seats", …) instead with a fill for it`);
    const unique = defineNomos({ name: "events", version: 2, tables: { seats: { columns: { ...seats, code: text().unique() } } } });
    expect(() => addColumnSql(unique, "seats", "code")).toThrow("SQLite cannot add a PRIMARY KEY or UNIQUE column");
    expect(() => addColumnSql(v2, "seats", "nope")).toThrow(`Nomos events v2 has no column "seats.nope"`);
    expect(() => addColumnSql(v2, "nope", "x")).toThrow(`Nomos events v2 has no table "nope"`);
  });
});
