import type { CheckResult, Counterexample, CounterexampleStep } from "@noema/core/check";
import { describe, expect, test } from "vitest";
import { emittable, emitTest } from "../src/check/emit.js";

/** --emit-test's choice of counterexample and its replay of the checker's clock, on made-up results. */

const START = Date.UTC(2026, 0, 1);
const intent = (op: string) => ({ v: 1 as const, steps: [{ op, args: {} }] });
const sent = (op: string, now: number, outcome = "sealed #1"): CounterexampleStep => ({ action: op, intent: intent(op), now, outcome, changes: [] });
const clock = (action: string, now: number): CounterexampleStep => ({ action, now, outcome: "nothing due", changes: [] });
const failed = (name: string, kind: CheckResult["kind"], steps: CounterexampleStep[]): CheckResult & { counterexample: Counterexample } => ({
  name,
  kind,
  version: 1,
  status: "failed",
  detail: "",
  counterexample: { steps, failure: `${name} fails` },
});
const property = (name: string) => ({ name, sql: `SELECT * FROM t WHERE ${name}` });

describe("emittable", () => {
  test("takes the shortest failed safety or liveness counterexample, with its query", () => {
    const long = failed("safety:a", "safety", [sent("x", START), sent("y", START)]);
    const short = failed("liveness:b", "liveness", [sent("x", START)]);
    const found = emittable([long, short], [property("a")], [property("b")]);
    expect(found?.result.name).toBe("liveness:b");
    expect(found?.property).toEqual(property("b"));
  });

  test("nothing for failures that are not a query over the state, or when every check holds", () => {
    expect(emittable([failed("migration", "migration", [sent("x", START)]), failed("replay", "replay", [])], [], [])).toBeUndefined();
    expect(emittable([{ name: "safety:a", kind: "safety", version: 1, status: "ok", detail: "holds" }], [property("a")], [])).toBeUndefined();
  });
});

describe("emitTest", () => {
  test("each clock step moves wake times back by its own advance of the checker's clock; a refused Intent is expected refused", () => {
    const steps = [sent("a", START), clock("tick", START + 60_000), sent("b", START + 60_000, "refused (expectation): no"), clock("wait 5000 ms", START + 65_000)];
    const text = emitTest({ result: failed("safety:p", "safety", steps), property: property("p") }, { module: "m.ts", binding: "ATTRACTOR", start: START });
    const body = text.split("\n").filter((l) => /^ {2}await /.test(l));
    expect(body).toEqual([`  await send(${JSON.stringify(intent("a"))}, true);`, "  await advance(60000);", `  await send(${JSON.stringify(intent("b"))}, false);`, "  await advance(5000);"]);
    expect(text).toContain('import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";');
    expect(text).toContain("const PROPERTY = `SELECT * FROM t WHERE p`;");
    // settle is only written when a step uses it.
    expect(text).not.toContain("const settle");
  });

  test("the query is kept as it is inside the template literal", () => {
    const text = emitTest({ result: failed("safety:q", "safety", [sent("a", START)]), property: { name: "q", sql: "SELECT '${x}' AS a, `b` AS c, '\\n' AS d" } }, { module: "m.ts", binding: "B", start: START });
    const literal = /const PROPERTY = (`.*`);/s.exec(text)![1]!;
    expect(new Function(`return ${literal}`)()).toBe("SELECT '${x}' AS a, `b` AS c, '\\n' AS d");
  });
});
