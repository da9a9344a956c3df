import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OperationSpec } from "@noema/core";
import { check, type CheckDefinition, DEFAULT_START } from "@noema/core/check";
import ts from "typescript";
import { afterAll, describe, expect, test } from "vitest";
import { importSpecifier } from "../src/check/command.js";
import { type Emittable, emittable, emitTest } from "../src/check/emit.js";
import { openSqliteHost } from "../src/check/host.js";
import { transferInUsd } from "./fixtures/bank.js";
import { check as limitReadsLog } from "./fixtures/limit-reads-log.js";
import { criticalRename, lateRelease } from "./fixtures/seating.js";

/**
 * --emit-test writes a regression test of the law under test: Intents built by the definition's
 * actions against the World's own law (no stamped hash, no expected outcome per step), then the
 * property. The kit (`@noema/cloudflare/testing`) is stubbed here with the signatures of its
 * contract to type-check what is written; running it in workerd is the kit's own test.
 */

const HERE = fileURLToPath(new URL(".", import.meta.url));
const FIXTURES = join(HERE, "fixtures");
/** Emitted files are type-checked from here, beside the fixtures they import. */
const OUT = join(HERE, ".emitted");

const emitted = <Ops extends Record<string, OperationSpec>>(definition: CheckDefinition<Ops>, exportName: string, fixture: string, depth = 4): { text: string; found: Emittable } => {
  const report = check(definition, { openDatabase: openSqliteHost, depth });
  const { found, why } = emittable(report.results, definition);
  if (!found) throw new Error(`nothing to emit: ${why}`);
  const file = join(OUT, `${exportName}.test.ts`);
  const text = emitTest(found, { module: `fixtures/${fixture}`, specifier: importSpecifier(file, join(FIXTURES, fixture)), exportName, definition: true, binding: "ATTRACTOR", start: DEFAULT_START });
  return { text, found };
};

const body = (text: string) => text.split("\n").filter((l) => /^ {2}(await|expect|const seal)/.test(l));

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe("emittable", () => {
  test("nothing when every check holds; a reason when what failed is not a query over a reachable state", () => {
    expect(emittable([{ name: "safety:a", kind: "safety", version: 1, status: "ok", detail: "holds" }], {})).toEqual({});
    const replay = { name: "replay", kind: "replay" as const, version: 1, status: "failed" as const, detail: "", counterexample: { steps: [], failure: "diverges" } };
    expect(emittable([replay], {})).toEqual({ why: "replay is not a query over the state a test can reach" });
  });
});

describe("emitTest, for each kind of check", () => {
  test("safety, with a time property: the clock steps advance the World, :now is bound to its clock", () => {
    const { text } = emitted(lateRelease, "lateRelease", "seating.ts");
    expect(body(text)).toEqual(['  await world.sedimentation(act("hold", {"seat":"s1"}));', "  await advance(60001);", "  expect(await query(PROPERTY)).toEqual([]);"]);
    expect(text).toContain("const PROPERTY = `SELECT seat FROM holds WHERE status = 'held' AND expires_at < :now`;");
    expect(text).toContain("world.query(sql.replace(/:now\\b/g, String(now())))");
    expect(text).toContain("testWorld(env.ATTRACTOR, `noema-check-${crypto.randomUUID()}`, { version: 1 });");
    expect(text).toContain('import { lateRelease as definition } from "../fixtures/seating.js";');
    // Built against the law under test: no Intent in wire format, no law hash, no expected outcome per step.
    expect(text).not.toMatch(/"nomos"|hash|expectSealed|expectRefused/);
  });

  test("safety reading the log: the path that shows it", () => {
    const { text } = emitted(limitReadsLog, "check", "limit-reads-log.ts");
    expect(body(text)).toEqual([
      '  await world.sedimentation(act("setLimit", {"id":"a","value":1}));',
      '  await world.sedimentation(act("hold", {"id":"h"}));',
      '  await world.sedimentation(act("setLimit", {"id":"a","value":2}));',
      "  expect(await query(PROPERTY)).toEqual([]);",
    ]);
    expect(text).toContain('import { check as definition } from "../fixtures/limit-reads-log.js";');
    expect(text).not.toContain("advance");
  });

  test("liveness across an upgrade: the World upgraded, its frozen Intents settled, the next law's liveness asserted", () => {
    const { text, found } = emitted(criticalRename, "criticalRename", "seating.ts");
    expect(found.result.name).toBe("cryostasis");
    expect(body(text)).toEqual(['  await world.sedimentation(act("hold", {"seat":"s1"}));', "  await world.upgrade(2);", "  await settle();", "  expect(await query(PROPERTY)).toEqual([]);"]);
    expect(text).toContain("const PROPERTY = `SELECT seat FROM holds WHERE status = 'held'`;");
  });

  test("reforge: the older client's Intent, built against its own version of the law under test, must seal after the upgrade", () => {
    const { text } = emitted(transferInUsd, "transferInUsd", "bank.ts");
    expect(body(text)).toEqual([
      '  await world.sedimentation(act("open", {"id":"a"}));',
      '  await world.sedimentation(act("open", {"id":"b"}));',
      "  await world.upgrade(2);",
      '  const seal = await world.sedimentation(buildIntent(lawAt(1), act("transfer", {"from":"a","to":"b"})));',
      "  expect(seal.success, JSON.stringify(seal)).toBe(true);",
      "  expect(await query(PROPERTY)).toEqual([]);",
    ]);
  });

  test("the query is kept as it is inside the template literal", () => {
    const { found } = emitted(lateRelease, "lateRelease", "seating.ts");
    const sql = "SELECT '${x}' AS a, `b` AS c, '\\n' AS d";
    const text = emitTest({ ...found, properties: [{ name: "q", sql }] }, { module: "m.ts", specifier: "./m.js", exportName: "check", definition: true, binding: "B", start: DEFAULT_START });
    const literal = /const PROPERTY = (`.*?`);/s.exec(text)![1]!;
    expect(new Function(`return ${literal}`)()).toBe(sql);
  });

  test("what is written type-checks against the testing kit's contract", () => {
    mkdirSync(OUT, { recursive: true });
    const files = [
      ["lateRelease", emitted(lateRelease, "lateRelease", "seating.ts").text],
      ["criticalRename", emitted(criticalRename, "criticalRename", "seating.ts").text],
      ["transferInUsd", emitted(transferInUsd, "transferInUsd", "bank.ts").text],
      ["check", emitted(limitReadsLog, "check", "limit-reads-log.ts").text],
    ].map(([name, text]) => {
      const file = join(OUT, `${name}.test.ts`);
      writeFileSync(file, text!);
      return file;
    });
    // The kit's contract (/work KIT.md), as a declaration: only what emitted tests use.
    const kit = join(OUT, "kit.d.ts");
    writeFileSync(
      kit,
      `declare module "cloudflare:test" { export const env: { ATTRACTOR: { readonly binding: true } }; }
declare module "@noema/cloudflare/testing" {
  import type { Intent, OperationSpec, Seal, StepBuilder } from "@noema/core";
  export interface TestWorld {
    sedimentation(intent: Intent | ((s: StepBuilder<Record<string, OperationSpec>>) => unknown)): Promise<Seal>;
    advance(ms: number): Promise<void>;
    query(sql: string): Promise<Record<string, string | number | null>[]>;
    upgrade(version?: number): Promise<void>;
  }
  export function testWorld(binding: { readonly binding: true }, name: string, options?: { version?: number }): TestWorld;
}
`,
    );
    const program = ts.createProgram([...files, kit], { strict: true, noUncheckedIndexedAccess: true, target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, lib: ["lib.es2023.d.ts", "lib.dom.d.ts"], types: [], skipLibCheck: true, noEmit: true, verbatimModuleSyntax: true });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(problems).toEqual([]);
  }, 60_000);
});
