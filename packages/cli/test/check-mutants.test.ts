import { createTableSql, defineVocabulary, type Intent, operation, type OperationSpec, rebuildTableSql, sql, type StepBuilder } from "@noema/core";
import { type ActionArgs, check, type CheckDefinition, type CheckReport, type CheckResult } from "@noema/core/check";
import { describe, expect, test } from "vitest";
import { check as inventoryCheck, inventoryActions, inventoryLaw, inventoryNomosV2, type InventoryVocabulary, inventoryV2 } from "./fixtures/inventory.js";
import { openSqliteHost } from "../src/check/host.js";
import { check as commitWithoutMovement } from "./fixtures/commit-without-movement.js";
import { check as bank, openInUsd, transferInUsd } from "./fixtures/bank.js";
import { check as releaseKeepsReserved } from "./fixtures/release-keeps-reserved.js";
import { check as seating, criticalRename, lateRelease } from "./fixtures/seating.js";

/**
 * Mutant inventory laws, each with the exact counterexample the checker must find within
 * the CI depth. Mutants spread the fixture's operations (fixtures/inventory.ts), so they follow its law.
 */

export const CI_DEPTH = 3;
const ops = inventoryV2.operations;
const v1 = inventoryLaw.upTo(1);
const shipped = inventoryLaw.evolutionFrom(1)!;

const run = <Ops extends Record<string, OperationSpec>>(definition: CheckDefinition<Ops>, only?: string[]): CheckReport =>
  check(definition, { openDatabase: openSqliteHost, depth: CI_DEPTH, ...(only ? { only } : {}) });

function failed(report: CheckReport, name: string): CheckResult {
  const found = report.results.find((r) => r.name === name && r.status === "failed");
  if (!found) throw new Error(`expected ${name} to fail; results: ${report.results.map((r) => `${r.name} ${r.status}`).join(", ")}`);
  return found;
}

/** The counterexample's steps as the report names them. */
const actionsOf = (r: CheckResult) => r.counterexample!.steps.map((s) => s.action);

const stockA = 'setStock {"locationId":"A","quantity":2}';
const reserveA = 'reserve {"channel":"web","locationId":"A","quantity":1,"ttlSeconds":60}';
const reserveAv1 = 'reserve {"locationId":"A","quantity":1,"ttlSeconds":60}';

describe("mutant laws: the checker finds each within the CI depth", () => {
  test("a commit that forgets its movement row: quantity is no longer the sum of movements", () => {
    const { law } = commitWithoutMovement;
    const report = run(commitWithoutMovement);
    const r = failed(report, "safety:quantity_is_sum_of_movements");
    // setStock's location A is exempt from the property (a count is not a movement), so the path stocks B by adjust.
    expect(actionsOf(r)).toEqual(['adjust {"delta":2,"locationId":"B","reason":"purchase"}', reserveA.replace('"A"', '"B"'), 'commit {"reservationId":"r-2-0"}']);
    expect(r.counterexample!.failure).toBe('quantity_is_sum_of_movements is violated by {"location_id":"B","movements":2,"quantity":1}');
    const commit = r.counterexample!.steps[2]!;
    expect(commit.intent).toEqual({
      v: 1,
      nomos: { name: "inventory", version: 2, hash: law.nomos.hash },
      steps: [
        { op: "commit", args: { reservationId: "r-2-0" } },
        { op: "$cancel", args: { key: "r-2-0" } },
      ],
    });
    expect(commit.outcome).toBe("sealed #3");
    expect(commit.changes.filter((c) => c.table === "movements")).toEqual([]);
    // The fixture law's other properties still hold under the mutant.
    expect(report.results.find((x) => x.name === "safety:active_reservation_has_frozen_release")!.status).toBe("ok");
  });

  test("a release that leaves reserved unchanged: every release is refused and reservations never resolve", () => {
    const report = run(releaseKeepsReserved);
    const r = failed(report, "liveness:reservations_resolve");
    expect(actionsOf(r)).toEqual([stockA, reserveA, "advance the clock past every wake time"]);
    expect(r.counterexample!.steps[2]!.outcome).toMatch(/^frozen 1 refused \(invariant reserved_matches_active_reservations\): reserved stock must equal/);
    expect(r.counterexample!.failure).toBe('after the clock passes every wake time, reservations_resolve is violated by {"id":"r-2-0","what":"reservation"}');
    expect(report.results.find((x) => x.name === "guards:release")!.detail).toContain("invariant reserved_matches_active_reservations");
  });

  test("a migration that fails on a reachable state: the backfill forgot closed reservations", () => {
    const law = v1.evolve(inventoryV2, {
      ...shipped,
      migration: [...rebuildTableSql(inventoryNomosV2, "reservations", { channel: "CASE status WHEN 'active' THEN 'direct' END" }), ...createTableSql(inventoryNomosV2, "channel_sync")],
    });
    const r = failed(run({ ...inventoryCheck, law }, ["migration"]), "migration");
    expect(r.version).toBe(1);
    expect(actionsOf(r)).toEqual([stockA, reserveAv1, 'release {"reservationId":"r-2-0"}', "migrate to v2"]);
    expect(r.counterexample!.failure).toBe("the migration to v2 fails: NOT NULL constraint failed: reservations__next.channel");
    expect(r.counterexample!.steps[3]!.outcome).toBe("fails: NOT NULL constraint failed: reservations__next.channel");
  });

  test("a reforge that produces an invalid Intent", () => {
    const law = v1.evolve(inventoryV2, {
      ...shipped,
      reforge: (intent: Intent): Intent => ({ ...intent, steps: intent.steps.map((s) => (s.op === "reserve" ? { ...s, args: { ...s.args, channel: "phone" } } : s)) }),
    });
    const r = failed(run({ ...inventoryCheck, law }, ["reforge"]), "reforge");
    expect(actionsOf(r)).toEqual([reserveAv1]);
    expect(r.counterexample!.failure).toBe(
      'reserve + $freeze[release] (Curved) is refused (connection): the reforged Intent is not valid under inventory v2: steps.0.args.channel: Invalid option: expected one of "direct"|"web"|"marketplace"|"store" under v2',
    );
  });

  test("a commit that does not cancel its frozen release", () => {
    const commitOnly = (s: StepBuilder<InventoryVocabulary["operations"]>, a: ActionArgs) => void s.commit({ reservationId: String(a.reservationId) });
    const r = failed(run({ ...inventoryCheck, actions: { ...inventoryActions, commit: { ...inventoryActions.commit, build: commitOnly } } }), "safety:closed_reservation_has_no_frozen_release");
    expect(r.version).toBe(1);
    expect(actionsOf(r)).toEqual([stockA, reserveAv1, 'commit {"reservationId":"r-2-0"}']);
    expect(r.counterexample!.failure).toBe('closed_reservation_has_no_frozen_release is violated by {"id":"r-2-0","status":"committed"}');
  });

  test("frozen releases that the next law can no longer run are caught, and named", () => {
    // v2 changes release (so a frozen release is Curved) and its reforge gives up on releases.
    const changedRelease = defineVocabulary(inventoryNomosV2, {
      ...ops,
      release: operation({
        ...ops.release,
        statements: ({ arg }) => ({
          ...ops.release.statements,
          exists: sql`SELECT id FROM reservations WHERE id = ${arg.reservationId} LIMIT 1`.expect({ rows: 1, kind: "not_found", refusal: (a) => `reservation ${a.reservationId} does not exist` }),
        }),
      }),
    });
    const curved = v1.evolve(changedRelease, {
      ...shipped,
      reforge: (intent, context) => {
        if (intent.steps.some((s) => s.op === "release")) throw new Error("releases are not carried");
        return shipped.reforge!(intent, context);
      },
    });
    const report = run({ ...inventoryCheck, law: curved }, ["cryostasis"]);
    const r = failed(report, "cryostasis");
    expect(actionsOf(r)).toEqual([stockA, reserveAv1, "migrate to v2", "advance the clock past every wake time under v2"]);
    expect(r.counterexample!.failure).toMatch(/^frozen 1 \(release, Curved\) was refused \(connection\): reforging for inventory v2 failed: releases are not carried under v2, but its Connection is Curved$/);
  });
});

describe("mutants of the three holes: a property reading the log, reforged Intents that are refused or diverge, a Critical upgrade, time", () => {
  test("a bank ledger whose reforge sends v1 transfers in a currency the backfill never gave v1 accounts: refused after the upgrade", () => {
    const r = failed(run(transferInUsd, ["reforge"]), "reforge");
    expect(actionsOf(r)).toEqual(['open {"id":"a"}', 'open {"id":"b"}', "migrate to v2", 'transfer {"from":"a","to":"b"} under v2']);
    expect(r.counterexample!.failure).toBe('transfer {"from":"a","to":"b"} (transfer, Curved) sealed under v1, but sent after the upgrade it is refused under v2 (expectation): cannot pay');
    expect(r.counterexample!.steps[3]!.outcome).toBe("refused (expectation): cannot pay");
  });

  test("a bank ledger whose reforge opens v1 accounts in USD: the account differs from the one migrating a v1 open gives", () => {
    const r = failed(run(openInUsd, ["reforge"]), "reforge");
    expect(actionsOf(r)).toEqual(["migrate to v2", 'open {"id":"a"} under v2']);
    expect(r.counterexample!.failure).toBe(
      'open {"id":"a"} (open, Curved) sent after the upgrade to v2 leaves accounts {"balance":10,"currency":"USD","id":"a"}, where running it under v1 and then migrating leaves {"balance":10,"currency":"EUR","id":"a"}',
    );
  });

  test("a column rename marked critical: a hold frozen before the upgrade is refused and the seat stays held forever", () => {
    const report = run(criticalRename);
    const r = failed(report, "cryostasis");
    expect(actionsOf(r)).toEqual(['hold {"seat":"s1"}', "migrate to v2", "advance the clock past every wake time under v2"]);
    expect(r.counterexample!.failure).toBe('after the upgrade to v2 and the clock past every wake time, holds_resolve is violated by {"seat":"s1"} (frozen 1 (release, Critical) was refused)');
    // Reported with what it leaves undone, not a silent pass.
    const critical = report.results.find((x) => x.name === "cryostasis:critical")!;
    expect(critical.status).toBe("info");
    expect(critical.detail).toBe(
      'frozen 1 (release, Critical) is refused under v2 (connection): seating v2 stops Intents of v1 at once: the column was renamed; under v1 it would have sealed #2: - holds {"expires_at":1767225660000,"seat":"s1","status":"held"}, + holds {"expires_at":1767225660000,"seat":"s1","status":"free"}',
    );
  });

  test("a release frozen a minute after the expiry: a hold past its expiry, stated with :now", () => {
    const r = failed(run(lateRelease), "safety:no_hold_past_expiry");
    expect(actionsOf(r)).toEqual(['hold {"seat":"s1"}', "wait 60001 ms"]);
    expect(r.counterexample!.failure).toBe('no_hold_past_expiry is violated by {"seat":"s1"}');
  });

  test("the shipped seating and bank lineages pass every check at depth 5", () => {
    for (const definition of [seating, bank] as CheckDefinition[]) {
      const report = check(definition, { openDatabase: openSqliteHost, depth: 5 });
      expect(report.results.filter((x) => x.status === "failed").map((x) => `${x.name}: ${x.detail}`)).toEqual([]);
    }
  });
});
