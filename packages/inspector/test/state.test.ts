import type { RowsPage, TableInfo } from "@noema/cloudflare";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { State, timeOf } from "../src/state.js";

const table: TableInfo = {
  name: "stock",
  columns: [
    { name: "location_id", type: "TEXT", primaryKey: true, notNull: true },
    { name: "quantity", type: "INTEGER", primaryKey: false, notNull: true },
    { name: "updated_at", type: "INTEGER", primaryKey: false, notNull: true },
    { name: "closed_at", type: "INTEGER", primaryKey: false, notNull: false },
    { name: "noted_at", type: "TEXT", primaryKey: false, notNull: false },
  ],
};
const render = (rows: RowsPage["rows"]) =>
  String(State({ here: "/inspector/worlds/w", view: { tables: [table], rows: { table: "stock", columns: table.columns.map((c) => c.name), rows }, rowsAfter: 0 } }));
const MIN = Date.UTC(2000, 0, 1);
const MAX = Date.UTC(2100, 0, 1) - 1;

describe("the State tab", () => {
  it("shows an INTEGER *_at column of epoch milliseconds as a UTC date-time, the stored number in its title", () => {
    const html = render([["main", 1796496241395, 1796496241395, null, "1796496241395"]]);
    expect(html).toContain('<td data-column="updated_at"><time datetime="2026-12-05T18:44:01.395Z" title="1796496241395">2026-12-05 18:44:01.395 UTC</time></td>');
    // A count is a number, a NULL time is NULL, and a TEXT column is shown as stored, whatever its name.
    expect(html).toContain('<td class="num" data-column="quantity">1796496241395</td>');
    expect(html).toContain('<td class="muted" data-column="closed_at">NULL</td>');
    expect(html).toContain('<td data-column="noted_at">1796496241395</td>');
  });

  it("reads every plausible epoch-ms back from the text shown, and leaves any other integer a number", () => {
    const updatedAt = table.columns[2]!;
    fc.assert(
      fc.property(fc.integer({ min: MIN, max: MAX }), (ms) => {
        const html = render([["main", 1, ms, null, null]]);
        const [, title, shown] = html.match(/data-column="updated_at"><time datetime="[^"]+" title="(\d+)">([^<]+) UTC<\/time>/)!;
        expect(title).toBe(String(ms));
        expect(Date.parse(`${shown!.replace(" ", "T")}Z`)).toBe(ms);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -1e15, max: MIN - 1 }), fc.integer({ min: MAX + 1, max: 1e15 }), fc.double({ min: MIN, max: MAX, noInteger: true })), (v) => {
        expect(timeOf(updatedAt, v)).toBeUndefined();
      }),
    );
  });
});
