import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../src/check/command.js";

/** `noema check` as a user runs it, the built CLI from the repository root: exit codes, report text, JSON, bad input, --emit-test. */

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = "packages/cli/dist/main.js";
// As a user would type them, relative to the repository root.
const INVENTORY = "packages/cli/test/fixtures/inventory.ts";
/**
 * The one end-to-end run on the shipped reference app, as a user runs it in this repository
 * (the command docs/check.md shows): everything else runs on this package's fixtures.
 */
const APP = "apps/inventory/src/check.ts";
const MUTANT = "packages/cli/test/fixtures/commit-without-movement.ts";
const KEEPS_RESERVED = "packages/cli/test/fixtures/release-keeps-reserved.ts";
const NO_LAW = "packages/cli/test/fixtures/no-law.ts";
const MISSING = "packages/cli/test/fixtures/missing.ts";
/** What --emit-test writes for the release-keeps-reserved mutant, as if written to packages/cli/test/fixtures/emitted/. */
const EMITTED = "packages/cli/test/fixtures/emitted/reservations-resolve.test.ts.txt";
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

function cli(...argv: string[]) {
  const r = spawnSync(process.execPath, [BIN, "check", ...argv], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), "noema-check-"));

describe("noema check", () => {
  test("exits 0 when every check holds, with one line per check and version: the reference app's law", () => {
    const { code, out, err } = cli("--law", APP, "--depth", "2");
    expect(code).toBe(EXIT_OK);
    // Nothing but progress lines, which a slow machine prints once the run passes 2 s.
    expect(err).toMatch(/^(v\d+ depth \d+: \d+ states, \d+ transitions, [\d.]+ s\n)*$/);
    expect(out).toMatch(new RegExp(`^noema check ${escape(APP)}: depth 2\nv1: 19 states, 50 transitions, depth 2 reached, [\\d.]+ s\n`));
    expect(out).toContain("  ok     safety:quantity_is_sum_of_movements      holds in 19 states, depth 2\n");
    expect(out).toContain("  ok     migration ");
    expect(out).toMatch(/every check holds \([\d.]+ s\)\n$/);
  });

  test("exits 1 with the counterexample as wire-format Intents and the rows each step changed", () => {
    const { code, out } = cli("--law", MUTANT, "--depth", "3", "--property", "quantity_is_sum_of_movements");
    expect(code).toBe(EXIT_FAILED);
    const lines = out.split("\n");
    const at = lines.findIndex((l) => l.includes("FAILED safety:quantity_is_sum_of_movements"));
    expect(lines[at]).toBe(
      '  FAILED safety:quantity_is_sum_of_movements      quantity_is_sum_of_movements is violated by {"location_id":"B","movements":2,"quantity":1}',
    );
    expect(lines[at + 1]).toBe("    counterexample, 3 steps from the empty state:");
    expect(lines[at + 2]).toBe('    1. adjust {"delta":2,"locationId":"B","reason":"purchase"}  @ 2026-01-01T00:00:00.000Z');
    expect(JSON.parse(lines[at + 3]!)).toMatchObject({ v: 1, nomos: { name: "inventory", version: 2 }, steps: [{ op: "adjust", args: { locationId: "B", delta: 2, reason: "purchase" } }] });
    expect(lines[at + 4]).toBe("       → sealed #1");
    expect(lines).toContain('       + movements {"at":1767225600000,"delta":2,"id":1,"location_id":"B","reason":"purchase","reference_id":null}');
    expect(lines).toContain('       + frozen {"cryo_id":1,"key":"r-2-0","steps":[{"args":{"reservationId":"r-2-0"},"op":"release"}],"wake_at":1767225660000}');
    expect(lines).toContain("    fails: quantity_is_sum_of_movements is violated by {\"location_id\":\"B\",\"movements\":2,\"quantity\":1}");
    expect(out).toMatch(/\n1 check failed\n$/);
  });

  test("--walks finds past the depth what breadth-first does not reach", () => {
    const shallow = cli("--law", MUTANT, "--depth", "1", "--property", "quantity_is_sum_of_movements");
    expect(shallow.code).toBe(EXIT_OK);
    const walked = cli("--law", MUTANT, "--depth", "1", "--property", "quantity_is_sum_of_movements", "--walks", "200", "--walk-length", "8", "--seed", "7");
    expect(walked.code).toBe(EXIT_FAILED);
    expect(walked.out).toContain("(random walk ");
    expect(walked.out).toContain("counterexample, 3 steps from the empty state:");
  });

  test("--json prints the report", () => {
    const { code, out } = cli("--law", MUTANT, "--depth", "3", "--property", "quantity_is_sum_of_movements", "--json");
    expect(code).toBe(EXIT_FAILED);
    const report = JSON.parse(out);
    expect(report.ok).toBe(false);
    expect(report.results[0]).toMatchObject({ name: "safety:quantity_is_sum_of_movements", status: "failed", version: 2 });
    expect(report.results[0].counterexample.steps).toHaveLength(3);
  });

  test.each([
    [["--law", NO_LAW], `noema check: ${NO_LAW} exports no law and no check definition\n`],
    [["--law", MISSING], `noema check: no law module at ${MISSING} (pass --law <module>)\n`],
    [["--law", MUTANT, "--emit-test", join(tmp, "x.test.ts")], "noema check: --emit-test <file> and --binding <name> go together\n"],
    [["--law", MUTANT, "--emit-test", join(tmp, "x.test.ts"), "--binding", "env.X"], 'noema check: --binding must be an identifier (the binding\'s name in wrangler config), got "env.X"\n'],
    [["--law", INVENTORY, "--property", "nope"], /^noema check: unknown property "nope" \(known: replay, migration, reforge, cryostasis, guards, quantity_is_sum_of_movements, /],
    [["--law", INVENTORY, "--depth", "0"], 'noema check: --depth must be a whole number from 1 to 20, got "0"\n'],
    [["--law", INVENTORY, "--depth", "21"], 'noema check: --depth must be a whole number from 1 to 20, got "21"\n'],
    [["--law", INVENTORY, "--depth", "two"], 'noema check: --depth must be a whole number from 1 to 20, got "two"\n'],
    [["--law", INVENTORY, "--walks", "many"], 'noema check: --walks must be a whole number from 0 to 1000000, got "many"\n'],
    [["--law", INVENTORY, "--frobnicate"], /^noema check: Unknown option '--frobnicate'/],
  ])("bad input %j exits 2 with one line", (argv, message) => {
    const { code, out, err } = cli(...argv);
    expect(code).toBe(EXIT_USAGE);
    expect(out).toBe("");
    if (typeof message === "string") expect(err).toBe(message);
    else expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
  });

  test("--help documents the options and exit codes, and noema --help includes it", () => {
    const { code, out } = cli("--help");
    expect(code).toBe(EXIT_OK);
    const options = ["--law", "--export", "--depth", "--property", "--json", "--max-states", "--walks", "--walk-length", "--seed", "--emit-test", "--binding", "Exit codes: 0"];
    for (const option of options) expect(out).toContain(option);
    // It says plainly that it does not type-check the module it loads.
    expect(out).toContain("The module is bundled without type-checking it: run tsc --noEmit for that.");
    expect(out).toContain("docs/check.md");
    const top = spawnSync(process.execPath, [BIN, "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(top.status).toBe(EXIT_OK);
    expect(top.stdout).toContain("  check [options]");
    expect(top.stdout).toContain(out);
  });

  test("options before check are bad input: check parses its own", () => {
    const r = spawnSync(process.execPath, [BIN, "--law", INVENTORY, "check"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(EXIT_USAGE);
    expect(r.stderr).toBe("noema: check's options go after it: noema check [options]\n");
  });
});

describe("noema check --emit-test", () => {
  test("writes the liveness test of the release-keeps-reserved mutant, byte for byte, importing the law module from where the test is", () => {
    const file = join(tmp, "resolve.test.ts");
    const { code, err } = cli("--law", KEEPS_RESERVED, "--depth", "3", "--property", "reservations_resolve", "--emit-test", file, "--binding", "INVENTORY_ATTRACTOR");
    expect(code).toBe(EXIT_FAILED);
    expect(err).toBe(`noema check: wrote ${file}: liveness:reservations_resolve (v2), 3 steps\n`);
    const text = readFileSync(file, "utf8");
    const specifier = relative(tmp, join(ROOT, KEEPS_RESERVED)).split(sep).join("/").replace(/\.ts$/, ".js");
    expect(text).toContain(`import { check as definition } from "${specifier}";\n`);
    expect(text.replace(specifier, "../release-keeps-reserved.js")).toBe(readFileSync(join(ROOT, EMITTED), "utf8"));
  });

  test("the test of a safety counterexample builds its Intents with the definition's actions and asserts the property's query finds nothing", () => {
    const file = join(tmp, "movement.test.ts");
    const { code, out } = cli("--law", MUTANT, "--depth", "3", "--property", "quantity_is_sum_of_movements", "--emit-test", file, "--binding", "INVENTORY_ATTRACTOR", "--json");
    expect(code).toBe(EXIT_FAILED);
    const steps = (JSON.parse(out) as { results: { counterexample: { steps: { name: string; args: unknown }[] } }[] }).results[0]!.counterexample.steps;
    const text = readFileSync(file, "utf8");
    expect(text).toContain("// safety:quantity_is_sum_of_movements (v2), as a regression test of the law under test.");
    expect(text).toContain('// The checker found: quantity_is_sum_of_movements is violated by {"location_id":"B","movements":2,"quantity":1}');
    expect(text).toContain("const world = testWorld(env.INVENTORY_ATTRACTOR, `noema-check-${crypto.randomUUID()}`, { version: 2 });");
    // Every action of the counterexample, in order, with the checker's arguments; no outcome expected of any.
    const sent = [...text.matchAll(/^ {2}await world\.sedimentation\(act\((".*?"), (.*)\)\);$/gm)].map((m) => [JSON.parse(m[1]!), JSON.parse(m[2]!)]);
    expect(sent).toEqual(steps.map((s) => [s.name, s.args]));
    expect(text).not.toMatch(/"nomos"|expectSealed|expectRefused/);
    expect(text).toMatch(/\n {2}expect\(await query\(PROPERTY\)\)\.toEqual\(\[\]\);\n\}\);\n$/);
    // No clock step: no clock helpers.
    expect(text).not.toContain("advance");
  });

  test("nothing to emit when every check holds: exit 0, no file, a line on stderr", () => {
    const file = join(tmp, "none.test.ts");
    const held = cli("--law", INVENTORY, "--depth", "1", "--property", "reservations_resolve", "--emit-test", file, "--binding", "INVENTORY_ATTRACTOR");
    expect(held.code).toBe(EXIT_OK);
    expect(held.err).toBe(`noema check: no test written to ${file}: every check holds\n`);
    expect(() => readFileSync(file)).toThrow();
  });
});
