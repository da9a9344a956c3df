import { defineVocabulary, operation, sql } from "@noema/core";
import { check, CheckSetupError, DEFAULT_START, formatReport } from "@noema/core/check";
import { deriveDomain } from "@noema/core/internal";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import * as zm from "zod/mini";
import { check as inventoryCheck, inventoryActions, inventoryLaw } from "./fixtures/inventory.js";
import { ledger, ledgerNomos } from "./fixtures/ledger.js";
import { openSqliteHost } from "../src/check/host.js";

/** Depth of the full inventory run in CI: every version and the migration, well within 60 s on 2 cores. */
const INVENTORY_DEPTH = 4;

describe("check on the inventory law", () => {
  test(`every version and its migration hold at depth ${INVENTORY_DEPTH}`, () => {
    const report = check(inventoryCheck, { openDatabase: openSqliteHost, depth: INVENTORY_DEPTH });
    const failures = report.results.filter((r) => r.status === "failed");
    expect(failures.map((f) => `${f.name}: ${f.detail}`)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.versions.map(({ version, states, transitions, depth, complete }) => ({ version, states, transitions, depth, complete }))).toEqual([
      { version: 1, states: 537, transitions: 1064, depth: 4, complete: true },
      { version: 2, states: 537, transitions: 1064, depth: 4, complete: true },
      // v3 adds an order's hold (reserve under its own id) and its cancelHold.
      { version: 3, states: 803, transitions: 1867, depth: 4, complete: true },
    ]);
    const names = (version: number) => report.results.filter((r) => r.version === version).map((r) => `${r.name} ${r.status}`);
    const common = [
      "safety:quantity_is_sum_of_movements ok",
      "safety:active_reservation_has_frozen_release ok",
      "safety:closed_reservation_has_no_frozen_release ok",
      "safety:committed_reservation_has_one_sale ok",
      "liveness:reservations_resolve ok",
      "guards:setStock info",
      "guards:adjust info",
      "guards:reserve ok",
      "guards:release info",
      "guards:commit info",
      "replay ok",
    ];
    expect(names(1)).toEqual([...common, "migration ok", "reforge ok", "cryostasis ok"]);
    expect(names(2)).toEqual([...common, "migration ok", "reforge ok", "cryostasis ok"]);
    const [beforeHolds, afterHolds] = [common.slice(0, 8), common.slice(8)];
    expect(names(3)).toEqual([...beforeHolds, "guards:reserveForOrder info", "guards:cancelHold info", ...afterHolds]);
    // What the guards found: adjust may hit the quantity CHECK, the close routes only their own expectations.
    const guard = (name: string) => report.results.find((r) => r.name === `guards:${name}` && r.version === 2)!.detail;
    expect(guard("adjust")).toBe("refused by expectation, constraint stock_quantity_check, constraint stock_reserved_within_quantity: also by a rule of the Nomos, not only by its own checks");
    expect(guard("setStock")).toBe("refused by constraint stock_reserved_within_quantity: also by a rule of the Nomos, not only by its own checks");
    expect(guard("release")).toBe("refused only by its own checks (not_found, expectation)");
  }, 60_000);

  test("--property narrows the run to the named checks", () => {
    const report = check(inventoryCheck, { openDatabase: openSqliteHost, depth: 2, only: ["replay", "quantity_is_sum_of_movements"] });
    expect(report.results.map((r) => `v${r.version} ${r.name}`)).toEqual(["v1 safety:quantity_is_sum_of_movements", "v1 replay", "v2 safety:quantity_is_sum_of_movements", "v2 replay", "v3 safety:quantity_is_sum_of_movements", "v3 replay"]);
  });

  test("bad input is a CheckSetupError: a depth outside 1..20, an unknown property, a domain too big", () => {
    const setup = (run: () => unknown) => expect(run).toThrow(CheckSetupError);
    setup(() => check(inventoryCheck, { openDatabase: openSqliteHost, depth: 0 }));
    setup(() => check(inventoryCheck, { openDatabase: openSqliteHost, depth: 21 }));
    setup(() => check(inventoryCheck, { openDatabase: openSqliteHost, only: ["no_such_property"] }));
    // Derived domains (ids × bounds × enums × optional fields) are too many to explore blindly.
    expect(() => check({ law: inventoryLaw }, { openDatabase: openSqliteHost, depth: 1 })).toThrow(/^action \w+: more than 256 argument combinations; narrow its domains/);
  });
});

describe("check with derived actions", () => {
  test("a law without declared actions is explored with domains derived from its schemas", () => {
    const report = check(
      {
        law: ledger,
        domains: { owner: ["ann"], memo: [undefined], currency: ["EUR"] },
        properties: [{ name: "no_money", sql: "SELECT id, balance FROM accounts WHERE balance > 0" }],
      },
      { openDatabase: openSqliteHost, depth: 3 },
    );
    const r = report.results.find((x) => x.name === "safety:no_money")!;
    expect(r.status).toBe("failed");
    // Ids come from the first pool the schema accepts (lowercase here), amounts from the bounds.
    expect(r.counterexample!.steps.map((s) => s.action)).toEqual(['openAccount {"accountId":"a","currency":"EUR","owner":"ann"}', 'deposit {"accountId":"a","amount":1}']);
    expect(r.counterexample!.steps[1]!.changes).toEqual([
      { table: "accounts", change: "-", row: { id: "a", owner: "ann", balance: 0, currency: "EUR" } },
      { table: "accounts", change: "+", row: { id: "a", owner: "ann", balance: 1, currency: "EUR" } },
    ]);
    expect(report.results.find((x) => x.name === "replay")!.status).toBe("ok");
    const text = formatReport(report, "ledger");
    expect(text).toContain("FAILED safety:no_money");
    expect(text).toContain('   + accounts {"balance":1,"currency":"EUR","id":"a","owner":"ann"}');
  });

  test("guards reports an action by its whole name, spaces included", () => {
    const report = check(
      {
        law: ledger,
        domains: { owner: ["ann"], memo: [undefined], currency: ["EUR"] },
        actions: { "open an account": { op: "openAccount" }, "pay in": { op: "deposit", guarded: true } },
      },
      { openDatabase: openSqliteHost, depth: 2, only: ["guards"] },
    );
    const guard = (name: string) => report.results.find((r) => r.name === `guards:${name}`)!;
    // Refused (no such account yet) only by its own expectation: found as the action "pay in", not as "pay".
    expect(guard("pay in")).toMatchObject({ status: "ok", detail: "refused only by its own checks (not_found)" });
    // Opening the same account twice hits the primary key.
    expect(guard("open an account")).toMatchObject({ status: "info", detail: expect.stringContaining("constraint") });
  });

  test("replay catches an Interpretation that is not a function of its log", () => {
    // random() makes the same Intent land differently twice: the log no longer rebuilds the state.
    const noisy = defineVocabulary(ledgerNomos, {
      ...ledger.operations,
      openAccount: operation({ ...ledger.operations.openAccount, statements: ({ arg }) => ({
        account: sql`INSERT INTO accounts (id, owner, balance, currency) VALUES (${arg.accountId}, ${arg.owner}, abs(random()) % 1000 + 1, ${arg.currency}) RETURNING id`,
      }),
      result: (rows) => ({ accountId: String(rows.account[0]?.["id"]) }) }),
    });
    const report = check({ law: noisy, domains: { owner: ["ann"], currency: ["EUR"], memo: [undefined] } }, { openDatabase: openSqliteHost, depth: 1, only: ["replay"] });
    const r = report.results.find((x) => x.name === "replay")!;
    expect(r.status).toBe("failed");
    expect(r.counterexample!.steps.map((s) => s.action)).toEqual(['openAccount {"accountId":"a","currency":"EUR","owner":"ann"}']);
    expect(r.counterexample!.failure).toMatch(/^table accounts rebuilt from the log is .*, but the state has /);
  });

  test("replay goes on from each state's replayed log: a later step that is not a function of its log is caught on its own path", () => {
    // Opening is deterministic, a deposit is not: every path's first step replays, its second does not.
    const noisy = defineVocabulary(ledgerNomos, {
      ...ledger.operations,
      deposit: operation({ ...ledger.operations.deposit, statements: ({ arg }) => ({
        credit: sql`UPDATE accounts SET balance = balance + ${arg.amount} + abs(random()) % 1000000 WHERE id = ${arg.accountId} RETURNING balance`.expect({
          rows: 1,
          kind: "not_found",
          refusal: (a) => `account ${a.accountId} does not exist`,
        }),
      }),
      result: (rows) => ({ balance: Number(rows.credit[0]?.["balance"]) }) }),
    });
    const report = check({ law: noisy, domains: { owner: ["ann"], currency: ["EUR"], memo: [undefined] } }, { openDatabase: openSqliteHost, depth: 3, only: ["replay"] });
    const r = report.results.find((x) => x.name === "replay")!;
    expect(r.status).toBe("failed");
    expect(r.counterexample!.steps.map((s) => s.action)).toEqual(['openAccount {"accountId":"a","currency":"EUR","owner":"ann"}', 'deposit {"accountId":"a","amount":1}']);
    expect(r.counterexample!.failure).toMatch(/^sediment 2 gives \[\{"balance":\d+\}\] on replay, \[\{"balance":\d+\}\] in the log$/);
  });

  test("an operation that throws instead of refusing is a crash, with the move that made it", () => {
    const broken = defineVocabulary(ledgerNomos, {
      ...ledger.operations,
      deposit: operation({
        ...ledger.operations.deposit,
        result: () => {
          throw new Error("result reads a row that is not there");
        },
      }),
    });
    const report = check({ law: broken, domains: { owner: ["ann"], currency: ["EUR"], memo: [undefined] } }, { openDatabase: openSqliteHost, depth: 2, only: ["guards"] });
    const crash = report.results.find((x) => x.name === "crash")!;
    expect(crash.status).toBe("failed");
    expect(crash.detail).toBe('deposit {"accountId":"a","amount":1} throws: result reads a row that is not there');
    expect(crash.counterexample!.steps.map((s) => `${s.action} → ${s.outcome}`)).toEqual([
      'openAccount {"accountId":"a","currency":"EUR","owner":"ann"} → sealed #1',
      'deposit {"accountId":"a","amount":1} → throws: result reads a row that is not there',
    ]);
  });
});

describe("the clock as an action", () => {
  test("tick advances to the next wake time and wakes what is due; waits add fixed steps", () => {
    // Without the release route: only the clock can release a reservation.
    const { release: _release, ...actions } = inventoryActions;
    const definition = {
      ...inventoryCheck,
      actions,
      properties: [{ name: "nothing_released", sql: "SELECT id FROM reservations WHERE status = 'released'" }],
      liveness: [],
    };
    const only = ["nothing_released"];
    const plain = check(definition, { openDatabase: openSqliteHost, depth: 3, only });
    const r = plain.results.find((x) => x.name === "safety:nothing_released" && x.version === 1)!;
    expect(r.counterexample!.steps.map((s) => `${s.action} @ ${s.now - DEFAULT_START} → ${s.outcome}`)).toEqual([
      'setStock {"locationId":"A","quantity":2} @ 0 → sealed #1',
      'reserve {"locationId":"A","quantity":1,"ttlSeconds":60} @ 0 → sealed #2',
      // The release frozen at expiry, woken by the clock: the tick runs at the entry's wake time.
      "tick @ 60000 → frozen 1 sealed #3",
    ]);
    const waiting = check({ ...definition, waits: [30_000] }, { openDatabase: openSqliteHost, depth: 3, only });
    // One more move from every state; half a TTL later the times relative to the clock differ, so there are more states too.
    expect(waiting.versions[0]!.transitions).toBeGreaterThan(plain.versions[0]!.transitions);
    expect(waiting.versions[0]!.states).toBeGreaterThan(plain.versions[0]!.states);
  });
});

describe("values seen in the state", () => {
  test("integer arguments also take the values stored so far, when seenValues is on", () => {
    // setStock's quantity is derived (0, 1 and the bounds); 7 only exists once adjust stored it.
    const definition = {
      law: inventoryLaw.upTo(1),
      actions: {
        adjust: { op: "adjust", args: { locationId: ["A"], delta: [7], reason: ["purchase"], referenceId: [undefined] } },
        setStock: { op: "setStock", args: { locationId: ["B"] } },
      },
      properties: [{ name: "no_seven_at_b", sql: "SELECT location_id FROM stock WHERE location_id = 'B' AND quantity = 7" }],
    };
    const run = (seenValues: boolean) => check({ ...definition, seenValues }, { openDatabase: openSqliteHost, depth: 2, only: ["no_seven_at_b"] });
    expect(run(false).ok).toBe(true);
    const seen = run(true).results.find((r) => r.name === "safety:no_seven_at_b" && r.version === 1)!;
    expect(seen.counterexample!.steps.map((s) => s.action)).toEqual(['adjust {"delta":7,"locationId":"A","reason":"purchase"}', 'setStock {"locationId":"B","quantity":7}']);
  });
});

describe("random walks past the depth", () => {
  test("find what breadth-first misses at a shallow depth, shrunk to a short counterexample", async () => {
    const { check: mutant } = await import("./fixtures/commit-without-movement.js");
    const only = ["quantity_is_sum_of_movements"];
    const shallow = check(mutant, { openDatabase: openSqliteHost, depth: 1, only });
    expect(shallow.ok).toBe(true);
    const walked = check(mutant, { openDatabase: openSqliteHost, depth: 1, only, walks: 200, walkLength: 8, seed: 7 });
    const r = walked.results.find((x) => x.name === "safety:quantity_is_sum_of_movements")!;
    expect(r.status).toBe("failed");
    expect(r.detail).toMatch(/^quantity_is_sum_of_movements is violated by \{"location_id":"B","movements":2,"quantity":1\} \(random walk \d+ of 200, shrunk to 3 steps\)$/);
    // Shrinking leaves what the failure needs: stock at a location, a reservation there, its commit.
    expect(r.counterexample!.steps.map((s) => `${s.action} → ${s.outcome}`)).toEqual([
      'adjust {"delta":2,"locationId":"B","reason":"purchase"} → sealed #1',
      'reserve {"channel":"web","locationId":"B","quantity":1,"ttlSeconds":60} → sealed #2',
      'commit {"reservationId":"r-2-0"} → sealed #3',
    ]);
    // The same seed walks the same paths.
    const again = check(mutant, { openDatabase: openSqliteHost, depth: 1, only, walks: 200, walkLength: 8, seed: 7 });
    expect(again.results[0]!.counterexample).toEqual(r.counterexample);
  });
});

describe("derived domains", () => {
  test("enums, literals, booleans, bounded integers, ids, optional and default fields", () => {
    expect(deriveDomain(z.enum(["x", "y"]))).toEqual(["x", "y"]);
    expect(deriveDomain(z.literal("only"))).toEqual(["only"]);
    expect(deriveDomain(z.boolean())).toEqual([false, true]);
    expect(deriveDomain(z.number().int().min(1).max(86_400))).toEqual([1, 2, 86_399, 86_400]);
    // Refinements count: zero is not a delta.
    expect(deriveDomain(z.number().int().min(-5).max(5).refine((d) => d !== 0))).toEqual([-5, -4, 1, 4, 5]);
    expect(deriveDomain(z.number().int().min(0).max(10), undefined, [3, 7])).toEqual([0, 1, 3, 7, 9, 10]);
    expect(deriveDomain(z.string().regex(/^[A-Z]+$/))).toEqual(["A", "B"]);
    expect(deriveDomain(z.string(), ["p", "q"])).toEqual(["p", "q"]);
    expect(deriveDomain(z.enum(["x"]).optional())).toEqual(["x", undefined]);
    expect(deriveDomain(z.number().int().min(1).max(3).default(2))).toEqual([1, 2, 3, undefined]);
    expect(deriveDomain(z.object({ a: z.string() }))).toBeUndefined();
  });

  test("a law written with zod/mini gets the same domains", () => {
    expect(deriveDomain(zm.enum(["x", "y"]))).toEqual(["x", "y"]);
    expect(deriveDomain(zm.number().check(zm.int(), zm.minimum(1), zm.maximum(86_400)))).toEqual([1, 2, 86_399, 86_400]);
    expect(deriveDomain(zm.int().check(zm.minimum(-5), zm.maximum(5), zm.refine((d) => d !== 0)))).toEqual([-5, -4, 1, 4, 5]);
    expect(deriveDomain(zm.optional(zm.literal("only")))).toEqual(["only", undefined]);
  });
});
