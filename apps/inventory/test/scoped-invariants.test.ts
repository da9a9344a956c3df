import { runInDurableObject } from "cloudflare:test";
import { defineNomos, defineVocabulary, type Intent, type IntentStep, integer, Lineage, operation, sql, text } from "@noema/core";
import { audit, installScopes, interpret, Refusal, Sedimenter, type SedimentHost, type SqlExecutor } from "@noema/core/runtime";
import { SCOPE_MARKS_KEPT } from "@noema/core/internal";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { inventoryNomosV3 } from "../src/nomos.js";
import { Id, inventoryV3 } from "../src/vocabulary.js";
import { attractor, freshProduct } from "./helpers.js";

/**
 * The scoped check (keys collected by triggers on the DO's SQLite, a balance per location)
 * refuses exactly the Intents the full check refuses, with the same reason. The app's
 * operations never break the invariant, so the vocabulary here adds operations that do, each
 * writing in a way arguments cannot tell: through a subquery, moving a row to another key,
 * deleting many rows, a REPLACE.
 */

const Loc = z.enum(["A", "B", "C"]);
const bugs = {
  skew: operation({
    description: "Moves what stock says is reserved, and nothing else.",
    args: z.object({ locationId: Loc, delta: z.number().int() }),
    output: z.object({}),
    statements: ({ arg }) => ({ skew: sql`UPDATE stock SET reserved = reserved + ${arg.delta} WHERE location_id = ${arg.locationId} AND reserved + ${arg.delta} BETWEEN 0 AND quantity` }),
    result: () => ({}),
  }),
  skewVia: operation({
    description: "The same, at the location of a reservation, found by a subquery.",
    args: z.object({ reservationId: Id }),
    output: z.object({}),
    statements: ({ arg }) => ({
      skew: sql`UPDATE stock SET reserved = reserved + 1 WHERE location_id = (SELECT location_id FROM reservations WHERE id = ${arg.reservationId}) AND reserved < quantity`,
    }),
    result: () => ({}),
  }),
  leak: operation({
    description: "Closes a reservation without giving its units back.",
    args: z.object({ reservationId: Id }),
    output: z.object({}),
    statements: ({ arg }) => ({ leak: sql`UPDATE reservations SET status = 'released' WHERE id = ${arg.reservationId}` }),
    result: () => ({}),
  }),
  move: operation({
    description: "Moves a reservation to another location: the old key and the new one change.",
    args: z.object({ reservationId: Id, locationId: Loc }),
    output: z.object({}),
    statements: ({ arg }) => ({ move: sql`UPDATE reservations SET location_id = ${arg.locationId} WHERE id = ${arg.reservationId}` }),
    result: () => ({}),
  }),
  purge: operation({
    description: "Deletes every active reservation of the locations holding the most.",
    args: z.object({}),
    output: z.object({}),
    statements: () => ({
      purge: sql`DELETE FROM reservations WHERE status = 'active' AND location_id IN (SELECT location_id FROM stock WHERE reserved = (SELECT MAX(reserved) FROM stock))`,
    }),
    result: () => ({}),
  }),
  replace: operation({
    description: "Overwrites a reservation by id with a REPLACE, perhaps at another location.",
    args: z.object({ reservationId: Id, locationId: Loc }),
    output: z.object({}),
    statements: ({ arg, ctx }) => ({
      replace: sql`INSERT OR REPLACE INTO reservations (id, location_id, quantity, status, created_at, expires_at, channel) VALUES (${arg.reservationId}, ${arg.locationId}, 1, 'active', ${ctx.now}, ${ctx.now}, 'direct')`,
    }),
    result: () => ({}),
  }),
  recount: operation({
    description: "Sets every location's reserved to its active reservations (a correct write through a subquery, of every row).",
    args: z.object({}),
    output: z.object({}),
    statements: () => ({
      recount: sql`UPDATE stock SET reserved = (SELECT COALESCE(SUM(quantity), 0) FROM reservations r WHERE r.location_id = stock.location_id AND r.status = 'active') WHERE quantity >= (SELECT COALESCE(SUM(quantity), 0) FROM reservations r WHERE r.location_id = stock.location_id AND r.status = 'active')`,
    }),
    result: () => ({}),
  }),
};

const operations = { ...inventoryV3.operations, ...bugs };
/** The shipped v3 law, scoped, with the breaking operations. */
const scoped = defineVocabulary(inventoryNomosV3, operations);
/** The same law with its invariant unscoped: checked in full after every Intent. */
const full = defineVocabulary(
  defineNomos({
    name: "inventory",
    version: 3,
    tables: inventoryNomosV3.tables,
    invariants: { reserved_matches_active_reservations: { ...inventoryNomosV3.invariants.reserved_matches_active_reservations!, scope: undefined } },
  }),
  operations,
);

const RIDS = ["x1", "x2", "x3"];
const rid = fc.constantFrom(...RIDS);
const loc = fc.constantFrom("A", "B", "C");
/** A reservation id: a fixed one, or (after a reserve step) a Ref to the reservation an earlier step made. */
const ridOrRef = (reserves: number[]) => (reserves.length === 0 ? rid : fc.oneof(rid, fc.constantFrom(...reserves).map((step) => ({ $ref: { step, output: "reservationId" } }))));

type Step = (reserves: number[]) => fc.Arbitrary<IntentStep>;
const steps: Step[] = [
  () => fc.record({ locationId: loc, quantity: fc.integer({ min: 0, max: 6 }) }).map((args) => ({ op: "setStock", args })),
  () =>
    fc
      .record({ locationId: loc, delta: fc.constantFrom(-2, -1, 1, 3) })
      .map((args) => ({ op: "adjust", args: { ...args, reason: "adjust" } })),
  () =>
    fc
      .record({ locationId: loc, quantity: fc.integer({ min: 1, max: 3 }), reservationId: fc.option(rid, { nil: undefined }) })
      .map(({ reservationId, ...a }) => ({ op: "reserve", args: { ...a, ttlSeconds: 60, channel: "web", ...(reservationId ? { reservationId } : {}) } })),
  (r) => ridOrRef(r).map((reservationId) => ({ op: "release", args: { reservationId } })),
  (r) => ridOrRef(r).map((reservationId) => ({ op: "commit", args: { reservationId } })),
  () => fc.record({ reservationId: rid, locationId: loc, quantity: fc.integer({ min: 1, max: 2 }) }).map((args) => ({ op: "cancelHold", args })),
  () => fc.record({ locationId: loc, delta: fc.constantFrom(-1, 1) }).map((args) => ({ op: "skew", args })),
  (r) => ridOrRef(r).map((reservationId) => ({ op: "skewVia", args: { reservationId } })),
  (r) => ridOrRef(r).map((reservationId) => ({ op: "leak", args: { reservationId } })),
  (r) => fc.record({ reservationId: ridOrRef(r), locationId: loc }).map((args) => ({ op: "move", args })),
  () => fc.constant({ op: "purge", args: {} }),
  () => fc.record({ reservationId: rid, locationId: loc }).map((args) => ({ op: "replace", args })),
  () => fc.constant({ op: "recount", args: {} }),
];

/** An Intent of 1–3 steps; a later step may take a reservation id from an earlier reserve. */
const intentArb: fc.Arbitrary<Intent> = fc.array(fc.nat({ max: steps.length - 1 }), { minLength: 1, maxLength: 3 }).chain((kinds) => {
  const reserveAt = kinds.flatMap((k, i) => (k === 2 ? [i] : []));
  return fc.tuple(...kinds.map((k, i) => steps[k]!(reserveAt.filter((s) => s < i)))).map((built) => ({ v: 1 as const, steps: built }));
});

type Outcome = { ok: true } | { ok: false; reason: unknown };
class RolledBack extends Error {}


describe("scoped invariants in a real Durable Object", () => {
  it("refuse exactly the Intents the full check refuses, with the same reason", async () => {
    let refusedByInvariant = 0;
    await runInDurableObject(attractor(freshProduct("scope")), (_, state) => {
      const db: SqlExecutor = { exec: (text, params) => state.storage.sql.exec(text, ...params).toArray() as never };
      let now = 1_000;
      const host: SedimentHost = { db, transaction: (fn) => state.storage.transactionSync(fn), now: () => now };
      installScopes(host, scoped.nomos);
      // The scoped side is sealed as an Attractor seals: its check read by the log row's INSERT, its marks remembered between Intents.
      const sedimenter = new Sedimenter(Lineage.of(scoped), host, { attractor: "ScopeTest", name: "scope", nomosVersion: scoped.nomos.version, nomosHash: scoped.nomos.hash });
      const reset = () => {
        for (const t of ["stock", "reservations", "movements"]) db.exec(`DELETE FROM ${t}`, []);
      };
      const outcome = (run: () => void): Outcome => {
        try {
          run();
          return { ok: true };
        } catch (error) {
          if (error instanceof RolledBack) return { ok: true };
          if (error instanceof Refusal) return { ok: false, reason: error.reason };
          // The breaking operations reach states the app's results do not expect (a reservation where no stock is): the same error either way.
          return { ok: false, reason: { error: String(error) } };
        }
      };
      // The full check, rolled back: the scoped side then seals the Intent from the same state, with the same id and clock.
      const byFull = (intent: Intent) =>
        outcome(() =>
          host.transaction(() => {
            interpret(full, intent, db, { now, sedimentId: sedimenter.lastSedimentId + 1 });
            throw new RolledBack();
          }),
        );
      const byScope = (intent: Intent) =>
        outcome(() => {
          const seal = sedimenter.sedimentation(intent);
          if (!seal.success) throw new Refusal(seal.reason);
        });
      fc.assert(
        fc.property(fc.array(intentArb, { minLength: 1, maxLength: 12 }), (intents) => {
          reset();
          for (const intent of intents) {
            now += 1;
            const expected = byFull(intent);
            expect(byScope(intent)).toEqual(expected);
            if (!expected.ok && (expected.reason as { kind: string }).kind === "invariant") refusedByInvariant++;
          }
          // Only Noema wrote here, so the audit finds nothing.
          expect(audit(db, scoped.nomos, { limit: 2 })).toMatchObject({ ok: true, value: { findings: [] } });
        }),
        { numRuns: 200 },
      );
    });
    // The property saw the invariant refuse: it did not pass for want of violations.
    expect(refusedByInvariant).toBeGreaterThan(10);
  });
});

describe("a host that never installed the scopes", () => {
  it("gets them with its first Intent, and every later Intent is still checked, as marks are pruned", async () => {
    await runInDurableObject(attractor(freshProduct("scope-lazy")), (_, state) => {
      // A new executor: the Attractor installed the scopes for its own, not for this one.
      const db: SqlExecutor = { exec: (text, params) => state.storage.sql.exec(text, ...params).toArray() as never };
      const host: SedimentHost = { db, transaction: (fn) => state.storage.transactionSync(fn), now: () => 1_000 };
      const sedimenter = new Sedimenter(Lineage.of(scoped), host, { attractor: "ScopeTest", name: "lazy", nomosVersion: scoped.nomos.version, nomosHash: scoped.nomos.hash });
      const seal = (op: string, args: Record<string, unknown>) => sedimenter.sedimentation({ v: 1, steps: [{ op, args }] });
      expect(seal("setStock", { locationId: "A", quantity: 5 }).success).toBe(true);
      expect(seal("reserve", { locationId: "A", quantity: 2 }).success).toBe(true);
      const skewed = seal("skew", { locationId: "A", delta: 1 });
      expect(skewed).toMatchObject({ success: false, reason: { kind: "invariant", rule: "reserved_matches_active_reservations" } });
      expect(seal("reserve", { locationId: "A", quantity: 1 }).success).toBe(true);
      expect(seal("skew", { locationId: "A", delta: -1 })).toMatchObject({ success: false, reason: { kind: "invariant" } });

      // Checked marks are pruned as they gather; a violation after many of them is still refused.
      const marks = (of: "MAX(mark)" | "COUNT(*)") => Number(db.exec(`SELECT ${of} AS n FROM _noema_scope_reserved_matches_active_reservations`, [])[0]!.n);
      // A new location marks its key; a changed quantity moves no balance, so it would leave no mark.
      for (let q = 0; marks("MAX(mark)") <= 3 * SCOPE_MARKS_KEPT; q++) expect(seal("setStock", { locationId: `L${q}`, quantity: 10 }).success).toBe(true);
      expect(marks("COUNT(*)")).toBeLessThanOrEqual(SCOPE_MARKS_KEPT + 2);
      expect(seal("skew", { locationId: "A", delta: 1 })).toMatchObject({ success: false, reason: { kind: "invariant" } });
    });
  });
});

describe("invariants of one scope", () => {
  const boxes = defineNomos({
    name: "boxes",
    version: 1,
    tables: { boxes: { columns: { id: text().primaryKey(), a: integer().notNull(), b: integer().notNull() } } },
    invariants: {
      a_not_negative: { violations: "SELECT id FROM boxes WHERE a < 0", message: "a is never negative", scope: { key: ["id"], tables: { boxes: ["id"] } } },
      b_at_most_ten: { violations: "SELECT id FROM boxes WHERE b > 10", message: "b is at most ten", scope: { key: ["id"], tables: { boxes: ["id"] } } },
    },
  });
  const put = operation({
    description: "Sets a box's a and b.",
    args: z.object({ id: z.string(), a: z.number().int(), b: z.number().int() }),
    output: z.object({}),
    statements: ({ arg }) => ({ put: sql`INSERT INTO boxes (id, a, b) VALUES (${arg.id}, ${arg.a}, ${arg.b}) ON CONFLICT (id) DO UPDATE SET a = excluded.a, b = excluded.b` }),
    result: () => ({}),
  });
  const law = defineVocabulary(boxes, { put });

  it("share one key table and its triggers, and each still refuses what it alone forbids", async () => {
    await runInDurableObject(attractor(freshProduct("scope-shared")), (_, state) => {
      const db: SqlExecutor = { exec: (text, params) => state.storage.sql.exec(text, ...params).toArray() as never };
      db.exec("CREATE TABLE boxes (id TEXT PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL) STRICT", []);
      const host: SedimentHost = { db, transaction: (fn) => state.storage.transactionSync(fn), now: () => 1_000 };
      installScopes(host, boxes);
      expect(db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_noema\\_scope\\_%' ESCAPE '\\'", [])).toEqual([{ name: "_noema_scope_a_not_negative" }]);
      const sedimenter = new Sedimenter(Lineage.of(law), host, { attractor: "ScopeTest", name: "shared", nomosVersion: 1, nomosHash: boxes.hash });
      const seal = (id: string, a: number, b: number) => sedimenter.sedimentation({ v: 1, steps: [{ op: "put", args: { id, a, b } }] });
      const rule = (s: ReturnType<typeof seal>) => (s.success ? undefined : s.reason.rule);
      expect(seal("x", 1, 1).success).toBe(true);
      expect(rule(seal("x", -1, 1))).toBe("a_not_negative");
      expect(rule(seal("x", 1, 11))).toBe("b_at_most_ten");
      // Another box's Intent is checked at its own key: the first box, still valid, is not what refuses it.
      expect(seal("y", 2, 2).success).toBe(true);
      expect(rule(seal("y", 2, 12))).toBe("b_at_most_ten");
      expect(db.exec("SELECT id, a, b FROM boxes ORDER BY id", [])).toEqual([{ id: "x", a: 1, b: 1 }, { id: "y", a: 2, b: 2 }]);
    });
  });

  it("read each its own table's marks when another scope's invariant comes between them", async () => {
    const tagged = defineNomos({
      name: "tagged",
      version: 1,
      tables: { ...boxes.tables, tags: { columns: { id: text().primaryKey(), label: text().notNull() } } },
      invariants: {
        a_not_negative: boxes.invariants.a_not_negative!,
        label_short: { violations: "SELECT id FROM tags WHERE length(label) > 3", message: "a label is short", scope: { key: ["id"], tables: { tags: ["id"] } } },
        b_at_most_ten: boxes.invariants.b_at_most_ten!,
      },
    });
    const tag = operation({
      description: "Sets a tag.",
      args: z.object({ id: z.string(), label: z.string() }),
      output: z.object({}),
      statements: ({ arg }) => ({ tag: sql`INSERT INTO tags (id, label) VALUES (${arg.id}, ${arg.label}) ON CONFLICT (id) DO UPDATE SET label = excluded.label` }),
      result: () => ({}),
    });
    const law = defineVocabulary(tagged, { put, tag });
    await runInDurableObject(attractor(freshProduct("scope-between")), (_, state) => {
      const db: SqlExecutor = { exec: (text, params) => state.storage.sql.exec(text, ...params).toArray() as never };
      db.exec("CREATE TABLE boxes (id TEXT PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL) STRICT", []);
      db.exec("CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT NOT NULL) STRICT", []);
      const host: SedimentHost = { db, transaction: (fn) => state.storage.transactionSync(fn), now: () => 1_000 };
      installScopes(host, tagged);
      const sedimenter = new Sedimenter(Lineage.of(law), host, { attractor: "ScopeTest", name: "between", nomosVersion: 1, nomosHash: tagged.hash });
      const seal = (op: "put" | "tag", args: Record<string, unknown>) => sedimenter.sedimentation({ v: 1, steps: [{ op, args }] });
      const rule = (s: ReturnType<typeof seal>) => (s.success ? undefined : s.reason.rule);
      // The tags' marks run ahead of the boxes': a check reading the other table's mark would skip the boxes' own.
      for (let i = 0; i < 5; i++) expect(seal("tag", { id: `t${i}`, label: "ok" }).success).toBe(true);
      expect(seal("put", { id: "x", a: 1, b: 1 }).success).toBe(true);
      expect(rule(seal("put", { id: "x", a: 1, b: 11 }))).toBe("b_at_most_ten");
      expect(rule(seal("put", { id: "x", a: -1, b: 1 }))).toBe("a_not_negative");
      expect(rule(seal("tag", { id: "t0", label: "long" }))).toBe("label_short");
    });
  });
});
