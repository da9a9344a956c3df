import { constraintReason } from "@noema/core/internal";
import { afterEach, describe, expect, test } from "vitest";
import { inventoryV2 } from "./fixtures/inventory.js";
import { openSqliteHost } from "../src/check/host.js";

/** The node:sqlite host behaves as the core expects of Durable Object SQLite. */

const hosts: ReturnType<typeof openSqliteHost>[] = [];
function open() {
  const host = openSqliteHost();
  hosts.push(host);
  for (const ddl of inventoryV2.nomos.ddl) host.db.exec(ddl, []);
  return host;
}
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

/** The error a statement throws, as the Interpretation would see it. */
function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected the statement to fail");
}

const insertStock = "INSERT INTO stock (location_id, quantity, reserved, updated_at) VALUES (?, ?, ?, ?)";

describe("node:sqlite host", () => {
  test("rows are plain objects of numbers, strings and nulls; big integers become numbers", () => {
    const { db } = open();
    db.exec(insertStock, ["A", 3, 0, 1_700_000_000_000]);
    const rows = db.exec("SELECT location_id, quantity, NULL AS none, 9007199254740993 AS big FROM stock", []);
    expect(rows).toEqual([{ location_id: "A", quantity: 3, none: null, big: 9007199254740992 }]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
  });

  test("transactions nest: an inner failure rolls back the inner part only, an outer one everything", () => {
    const { db, transaction } = open();
    transaction(() => {
      db.exec(insertStock, ["A", 1, 0, 0]);
      expect(() =>
        transaction(() => {
          db.exec(insertStock, ["B", 1, 0, 0]);
          throw new Error("inner");
        }),
      ).toThrow("inner");
    });
    expect(db.exec("SELECT location_id FROM stock", [])).toEqual([{ location_id: "A" }]);
    expect(() =>
      transaction(() => {
        db.exec(insertStock, ["C", 1, 0, 0]);
        transaction(() => db.exec(insertStock, ["D", 1, 0, 0]));
        throw new Error("outer");
      }),
    ).toThrow("outer");
    expect(db.exec("SELECT location_id FROM stock ORDER BY location_id", [])).toEqual([{ location_id: "A" }]);
  });

  test("constraint failures are worded as constraintReason parses them, as on Durable Object SQLite", () => {
    const { db } = open();
    db.exec(insertStock, ["A", 1, 0, 0]);
    const reason = (run: () => unknown) => constraintReason(inventoryV2, failure(run), 0, "op");
    expect(reason(() => db.exec(insertStock, ["B", -1, 0, 0]))).toMatchObject({ kind: "constraint", rule: "stock_quantity_check", message: "stock quantity cannot go below zero" });
    expect(reason(() => db.exec(insertStock, ["B", 1, 2, 0]))).toMatchObject({
      kind: "constraint",
      rule: "stock_reserved_within_quantity",
      message: "quantity cannot drop below what is reserved; release or commit reservations first",
    });
    expect(reason(() => db.exec(insertStock, ["A", 1, 0, 0]))).toMatchObject({ kind: "constraint", message: "stock.location_id must be unique" });
    expect(reason(() => db.exec(insertStock, ["B", null, 0, 0]))).toMatchObject({ kind: "constraint", message: "stock.quantity must not be null" });
    // STRICT: a text in an INTEGER column is refused, not coerced.
    expect(reason(() => db.exec(insertStock, ["B", "many", 0, 0]))).toMatchObject({ kind: "constraint", message: "cannot store TEXT value in INTEGER column stock.quantity" });
  });

  test("a whole-valued number is stored as an INTEGER, a fractional one is refused by STRICT", () => {
    const { db } = open();
    db.exec(insertStock, ["A", 2, 0, 0]);
    expect(db.exec("SELECT typeof(quantity) AS t FROM stock", [])).toEqual([{ t: "integer" }]);
    expect(constraintReason(inventoryV2, failure(() => db.exec(insertStock, ["B", 1.5, 0, 0])), 0, "op")).toMatchObject({ kind: "constraint" });
  });
});
