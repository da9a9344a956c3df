import { describe, expect, it } from "vitest";
import { defineNomos, integer, type InvariantSpec, NomosDefinitionError, text } from "../src/index.js";
import { type SedimentHost } from "../src/runtime.js";
import { diffNomos } from "../src/connection/diff.js";
import { installScopes } from "../src/interpretation/scope.js";

// Declaring an invariant's scope: checked when the law is declared, part of the law's hash, not
// of what the invariant asserts.

const tables = {
  stock: { columns: { location_id: text().primaryKey(), reserved: integer().notNull() } },
  holds: { columns: { id: text().primaryKey(), location_id: text().notNull(), quantity: integer().notNull() } },
};
const violations = `SELECT s.location_id FROM stock s WHERE s.reserved != (SELECT COALESCE(SUM(quantity), 0) FROM holds h WHERE h.location_id = s.location_id)`;
const law = (invariant: Partial<InvariantSpec<typeof tables>> = {}) =>
  defineNomos({ name: "held", version: 1, tables, invariants: { balanced: { violations, message: "reserved matches holds", ...invariant } } });
const perLocation = { key: ["location_id"], tables: { stock: ["location_id"], holds: ["location_id"] } } as const;

describe("invariant scopes", () => {
  it("change the law's hash, not the invariant's element; the Connection calls a scope-only change Flat", () => {
    const [whole, scoped] = [law(), law({ scope: perLocation })];
    expect(scoped.hash).not.toBe(whole.hash);
    expect(scoped.elements["invariant:balanced"]).toBe(whole.elements["invariant:balanced"]);
    const balanced = law({ scope: { ...perLocation, balance: { over: "stock", sum: { stock: "reserved", holds: "-quantity" } } } });
    expect(balanced.hash).not.toBe(scoped.hash);
    expect(diffNomos(whole, scoped)).toEqual([
      { element: "invariant:balanced", kind: "invariant_scoped", detail: "checked in full → per (location_id) of holds(location_id), stock(location_id)", effect: "Flat", affects: [] },
    ]);
    expect(diffNomos(scoped, scoped)).toEqual([]);
  });

  it("are hashed canonically: the order tables are listed in does not matter", () => {
    const reordered = law({ scope: { key: ["location_id"], tables: { holds: ["location_id"], stock: ["location_id"] } } });
    expect(reordered.hash).toBe(law({ scope: perLocation }).hash);
  });

  it("refuse unknown tables and columns, key mismatches and a balance missing a table", () => {
    const bad = (scope: unknown) => () => law({ scope: scope as never });
    expect(bad({ key: [], tables: { stock: [] } })).toThrow(NomosDefinitionError);
    expect(bad({ key: ["location_id"], tables: {} })).toThrow(/names no tables/);
    expect(bad({ key: ["location_id"], tables: { nope: ["location_id"] } })).toThrow(/unknown table "nope"/);
    expect(bad({ key: ["location_id"], tables: { stock: ["where"] } })).toThrow(/unknown column "stock.where"/);
    expect(bad({ key: ["location_id"], tables: { stock: ["location_id", "reserved"] } })).toThrow(/gives 2 key columns for "stock", its key has 1/);
    expect(bad({ ...perLocation, balance: { over: "stock", sum: { stock: "reserved" } } })).toThrow(/no sum for table "holds"/);
    expect(bad({ ...perLocation, balance: { over: "nope", sum: { stock: "reserved", holds: "-quantity" } } })).toThrow(/over table "nope"/);
  });

  it("refuse, when the Nomos is defined, a scope that omits a table the invariant reads", () => {
    const partial = () => law({ scope: { key: ["location_id"], tables: { stock: ["location_id"] } } });
    expect(partial).toThrow(NomosDefinitionError);
    expect(partial).toThrow(/invariant "balanced" reads table "holds", which its scope does not list/);
    const host = { db: { exec: () => [] }, transaction: <T>(fn: () => T) => fn(), now: () => 0 } as SedimentHost;
    expect(() => installScopes(host, law({ scope: perLocation }))).not.toThrow();
  });

  it("refuse, when the Nomos is defined, a violations query that cannot be read or names what the Nomos lacks", () => {
    const bad = (sql: string) => () => law({ violations: sql });
    expect(bad("SELEC 1")).toThrow(NomosDefinitionError);
    expect(bad("SELEC 1")).toThrow(/^invariant "balanced": cannot read this SQL: .* at column 7 \(near "1"\); in: SELEC 1$/);
    expect(bad("SELECT location_id FROM stocks")).toThrow(/^invariant "balanced": SQL names table "stocks", which Nomos held v1 does not declare/);
    expect(bad("SELECT s.location FROM stock s")).toThrow(/^invariant "balanced": table "stock" has no column "location"/);
    // A multi-line query: the position by line and column as written, the message on one line.
    expect(bad("SELECT s.location_id\n  FROM stock s\n  WHERE s.reserved > 0 WINDOW w AS (ORDER BY s.reserved)")).toThrow(
      /^invariant "balanced": cannot read this SQL: .* at line 3, column 24 \(near "WINDOW w AS \(ORD"\); in: SELECT s.location_id FROM stock s WHERE s.reserved > 0 WINDOW w AS \(ORDER BY s.reserved\)$/,
    );
    // A -- comment ends at its line, as SQLite reads it: the tables after it are read.
    const commented = () =>
      law({ violations: "SELECT s.location_id FROM stock s -- every location\n  WHERE EXISTS (SELECT 1 FROM holds)", scope: { key: ["location_id"], tables: { stock: ["location_id"] } } });
    expect(commented).toThrow(/reads table "holds", which its scope does not list/);
  });
});
