import { describe, expect, test } from "vitest";
import { openSqliteHost } from "../src/check/host.js";
// The model lives beside the law, in the core's sources, which no package entry exports: the
// checker is taken from the same sources (what `@noema/core/check` resolves to here), so its types match.
import { check, type CheckReport, type CheckResult } from "../../core/src/check.js";
import { check as escrowModel, escrowProperties } from "../../core/src/escrow/check.js";
import { check as landsTwice } from "./fixtures/escrow-lands-twice.js";

/**
 * The split protocol of a hot product (packages/core/src/escrow/check.ts): a coordinator and two
 * shards, three units, every interleaving of their Intents and of the messages moving share,
 * redeliveries included. The shipped escrow law keeps every property; a landShare that forgets
 * its `landed` record lands a redelivered move twice, and the checker shows how.
 */

/** The shortest counterexample is four steps: explore exactly that far. */
const DEPTH = 4;
const SAFETY = escrowProperties.map((p) => p.name);

const run = (definition: typeof escrowModel, only: string[]): CheckReport => check(definition, { openDatabase: openSqliteHost, depth: DEPTH, only });

function result(report: CheckReport, name: string): CheckResult {
  const found = report.results.find((r) => r.name === name);
  if (!found) throw new Error(`no result ${name}; results: ${report.results.map((r) => r.name).join(", ")}`);
  return found;
}

const actionsOf = (r: CheckResult) => r.counterexample!.steps.map((s) => s.action);

const stock = 'stock {"quantity":3}';
const split = 'split {"names":["hot~0","hot~1"]}';
const deliver = 'deliver@hot~0 {"moveId":"m1"}';
const redeliver = 'redeliver@hot~0 {"moveId":"m1"}';

describe("noema check on the split protocol", () => {
  test("the escrow law keeps conservation, never oversells and lands each move once; a redelivery is refused by its landed record", () => {
    const report = run(escrowModel, [...SAFETY, "guards"]);
    expect(report.ok).toBe(true);
    for (const name of SAFETY) expect(result(report, `safety:${name}`).status).toBe("ok");
    expect(report.versions[0]!.depth).toBe(DEPTH);
    // Exactly once is the law's own doing, not only the runtime's key: the move's row in `landed` refuses the second landing.
    expect(result(report, "guards:redeliver@hot~0").detail).toContain("constraint shard0_landed.move_id");
    // Only "no stock left" refuses a reservation.
    expect(result(report, "guards:reserve@hot~0").status).toBe("ok");
  });

  test("a landShare that does not record the move lands a redelivered move twice: the counterexample", () => {
    const report = run(landsTwice, SAFETY);
    expect(report.ok).toBe(false);
    const twice = result(report, "safety:landed_once");
    expect(twice.status).toBe("failed");
    expect(actionsOf(twice)).toEqual([stock, split, deliver, redeliver]);
    expect(twice.counterexample!.failure).toBe('landed_once is violated by {"landings":2,"move_id":"m1","to_world":"hot~0"}');
    const again = twice.counterexample!.steps[3]!;
    expect(again.outcome).toBe("sealed #4");
    expect(again.intent!.steps.map((s) => s.op)).toEqual(["again", "shard0LandShare"]);
    expect(again.changes).toContainEqual({ table: "shard0_quantity", change: "+", row: expect.objectContaining({ available: 2 }) });

    // The product now counts a unit that does not exist: 3 in its Worlds and 1 still in flight, of 3.
    const conservation = result(report, "safety:conservation");
    expect(actionsOf(conservation)).toEqual([stock, split, deliver, redeliver]);
    expect(conservation.counterexample!.failure).toBe('conservation is violated by {"in_flight":1,"total":3,"units":3}');
    // The product read sees it one step earlier: the landed move is still counted in flight.
    expect(actionsOf(result(report, "safety:in_flight_as_read"))).toEqual([stock, split, deliver]);
  });
});
