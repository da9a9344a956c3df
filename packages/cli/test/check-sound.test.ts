import { defineNomos, defineVocabulary, integer, operation, sql, text } from "@noema/core";
import { check, type CheckDefinition, type CheckReport } from "@noema/core/check";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import * as z from "zod";
import { check as inventoryCheck, inventoryActions } from "./fixtures/inventory.js";
import { openSqliteHost } from "../src/check/host.js";
import { check as limitReadsLog } from "./fixtures/limit-reads-log.js";

/**
 * Merging paths that reach the same state must lose no violation: a state holds everything a
 * property reads (the log and the Precedents too, when one reads them).
 */

const statuses = (report: CheckReport) => Object.fromEntries(report.results.map((r) => [`v${r.version} ${r.name}`, r.status]));

describe("sound states: a property that reads the log or the Precedents", () => {
  test("a limit that is not the last one set is found on the path that shows it, not pruned as a state seen before", () => {
    const report = check(limitReadsLog, { openDatabase: openSqliteHost, depth: 3 });
    const r = report.results.find((x) => x.name === "safety:limit_is_last_set")!;
    expect(r.status).toBe("failed");
    expect(r.counterexample!.steps.map((s) => s.action)).toEqual(['setLimit {"id":"a","value":1}', 'hold {"id":"h"}', 'setLimit {"id":"a","value":2}']);
    expect(r.counterexample!.failure).toBe('limit_is_last_set is violated by {"id":"a","value":1}');
  });

  // Small random laws over one table of values and one of holds: each operation is one of a few
  // variants (some faulty), refusals leave Precedents, and the properties read the tables, the log
  // (in order), the Precedents and the clock.
  const VALUE = z.number().int().min(1).max(2);
  const lawOf = (variant: { set: number; hold: number; refuse: number; time: number }) => {
    const nomos = defineNomos({
      name: "random",
      version: 1,
      tables: {
        vals: { columns: { id: text().primaryKey(), value: integer().notNull(), set_at: integer().notNull() } },
        holds: { columns: { id: text().primaryKey() } },
      },
    });
    return defineVocabulary(nomos, {
      set: operation({
        description: "Sets the value.",
        args: z.object({ value: VALUE }),
        output: z.object({}),
        // By variant: set_at updated (time 0) or kept (1), then the value set (set 0), only lowered while held (1), or stuck at 1 (2).
        statements: ({ arg, ctx }) => ({
          set: [
            sql`INSERT INTO vals (id, value, set_at) VALUES ('a', ${arg.value}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET value = excluded.value, set_at = excluded.set_at`,
            sql`INSERT INTO vals (id, value, set_at) VALUES ('a', ${arg.value}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET value = CASE WHEN EXISTS (SELECT 1 FROM holds) THEN MIN(value, excluded.value) ELSE excluded.value END, set_at = excluded.set_at`,
            sql`INSERT INTO vals (id, value, set_at) VALUES ('a', ${arg.value}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET value = CASE WHEN excluded.value = 2 AND value = 1 THEN 1 ELSE excluded.value END, set_at = excluded.set_at`,
            sql`INSERT INTO vals (id, value, set_at) VALUES ('a', ${arg.value}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET value = excluded.value`,
            sql`INSERT INTO vals (id, value, set_at) VALUES ('a', ${arg.value}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET value = CASE WHEN EXISTS (SELECT 1 FROM holds) THEN MIN(value, excluded.value) ELSE excluded.value END`,
            sql`INSERT INTO vals (id, value, set_at) VALUES ('a', ${arg.value}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET value = CASE WHEN excluded.value = 2 AND value = 1 THEN 1 ELSE excluded.value END`,
          ][variant.time * 3 + variant.set]!,
        }),
        result: () => ({}),
      }),
      hold: operation({
        description: "Holds, or (a variant) refuses when the value is 2.",
        args: z.object({}),
        output: z.object({}),
        statements: () => ({
          guard: [
            sql`SELECT 1 AS ok`.expect({ rows: 1, refusal: () => "never" }),
            sql`SELECT 1 AS ok WHERE NOT EXISTS (SELECT 1 FROM vals WHERE value = 2)`.expect({ rows: 1, refusal: () => "the value is 2" }),
          ][variant.hold]!,
          hold: sql`INSERT OR IGNORE INTO holds (id) VALUES ('h')`,
        }),
        result: () => ({}),
      }),
      unhold: operation({
        description: "Releases the hold, refused when there is none (variant 1) or never (0).",
        args: z.object({}),
        output: z.object({}),
        statements: () => ({
          unhold: variant.refuse ? sql`DELETE FROM holds RETURNING id`.expect({ rows: 1, refusal: () => "nothing held" }) : sql`DELETE FROM holds`,
        }),
        result: () => ({}),
      }),
    });
  };
  const definitionOf = (variant: { set: number; hold: number; refuse: number; time: number }): CheckDefinition => ({
    law: lawOf(variant),
    waits: [1000],
    properties: [
      { name: "value_at_most_2", sql: "SELECT * FROM vals WHERE value > 2" },
      {
        name: "value_is_last_set",
        sql: `SELECT v.value FROM vals v WHERE v.value != (SELECT json_extract(st.value, '$.args.value') FROM _noema_sediment e, json_each(e.intent, '$.steps') st
          WHERE json_extract(st.value, '$.op') = 'set' ORDER BY e.sediment_id DESC LIMIT 1)`,
      },
      { name: "no_hold_refused_twice", sql: "SELECT count(*) AS n FROM _noema_precedent HAVING count(*) > 1" },
      { name: "set_recently", sql: "SELECT v.set_at FROM vals v WHERE v.set_at < :now - 1500" },
    ],
  });

  const PROPERTY_NAMES = ["value_at_most_2", "value_is_last_set", "no_hold_refused_twice", "set_recently"];
  const TABLES_ONLY = ["value_at_most_2", "set_recently"];

  test("on small random laws, merged and unmerged exploration to the same depth agree on every property", () => {
    fc.assert(
      fc.property(
        fc.record({
          set: fc.integer({ min: 0, max: 2 }),
          hold: fc.integer({ min: 0, max: 1 }),
          refuse: fc.integer({ min: 0, max: 1 }),
          time: fc.integer({ min: 0, max: 1 }),
          depth: fc.integer({ min: 2, max: 4 }),
          only: fc.subarray(PROPERTY_NAMES, { minLength: 1 }),
        }),
        ({ depth, only, ...variant }) => {
          const definition = definitionOf(variant);
          const pruned = check(definition, { openDatabase: openSqliteHost, depth, only });
          const unpruned = check(definition, { openDatabase: openSqliteHost, depth, only, prune: false });
          expect(statuses(pruned)).toEqual(statuses(unpruned));
          // Merging is what makes exploration cheap: properties of the tables alone still merge paths.
          if (only.every((p) => TABLES_ONLY.includes(p))) expect(pruned.versions[0]!.states).toBeLessThan(unpruned.versions[0]!.states);
        },
      ),
      { numRuns: 24 },
    );
  }, 120_000);
});

describe("replay of a log with woken sediments", () => {
  // The reported divergence: a hold with the $freeze of its release at expiry, the clock past the
  // wake time (the release wakes and seals), then a cancel with $cancel of the same key. The
  // runtime found nothing left to cancel; a replay that sedimented the woken release afresh left
  // its entry frozen and cancelled it ("cancelled": true on replay, false in the log).
  test("a $cancel after its entry woke replays as it ran: nothing left to cancel", () => {
    const { setStock, reserveForOrder, cancelHold } = inventoryActions;
    const report = check(
      { ...inventoryCheck, actions: { setStock: { ...setStock, args: { ...setStock.args, quantity: [2] } }, reserveForOrder, cancelHold } },
      { openDatabase: openSqliteHost, depth: 4, only: ["replay"] },
    );
    const v3 = report.results.find((r) => r.version === 3 && r.name === "replay")!;
    expect(v3.detail).toMatch(/equals its log replayed from empty/);
    expect(v3.status).toBe("ok");
  });
});
