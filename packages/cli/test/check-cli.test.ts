import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runCheck } from "../src/check/command.js";

/** `noema check` as a user runs it: exit codes, report text, JSON and bad input. */

// As a user would type them: relative to where the command runs (the repository root or this package).
const path = (p: string) => relative(process.cwd(), fileURLToPath(new URL(p, import.meta.url)));
const INVENTORY = path("../../../apps/inventory/src/check.ts");
const MUTANT = path("fixtures/commit-without-movement.ts");
const NO_LAW = path("fixtures/no-law.ts");
const MISSING = path("fixtures/missing.ts");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

async function cli(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await runCheck(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe("noema check", () => {
  test("exits 0 when every check holds, with one line per check and version", async () => {
    const { code, out, err } = await cli("--law", INVENTORY, "--depth", "2");
    expect(code).toBe(EXIT_OK);
    expect(err).toBe("");
    expect(out).toMatch(new RegExp(`^noema check ${escape(INVENTORY)}: depth 2\nv1: 19 states, 50 transitions, depth 2 reached, [\\d.]+ s\n`));
    expect(out).toContain("  ok     safety:quantity_is_sum_of_movements      holds in 19 states, depth 2\n");
    expect(out).toContain("  ok     migration ");
    expect(out).toMatch(/every check holds \([\d.]+ s\)\n$/);
  });

  test("exits 1 with the counterexample as wire-format Intents and the rows each step changed", async () => {
    const { code, out } = await cli("--law", MUTANT, "--depth", "3", "--property", "quantity_is_sum_of_movements");
    expect(code).toBe(EXIT_FAILED);
    const lines = out.split("\n");
    const at = lines.findIndex((l) => l.includes("FAILED safety:quantity_is_sum_of_movements"));
    expect(lines[at]).toBe(
      '  FAILED safety:quantity_is_sum_of_movements      quantity_is_sum_of_movements is violated by {"location_id":"A","movements":2,"quantity":1}',
    );
    expect(lines[at + 1]).toBe("    counterexample, 3 steps from the empty state:");
    expect(lines[at + 2]).toBe('    1. adjust {"delta":2,"locationId":"A","reason":"purchase"}  @ 2026-01-01T00:00:00.000Z');
    expect(JSON.parse(lines[at + 3]!)).toMatchObject({ v: 1, nomos: { name: "inventory", version: 2 }, steps: [{ op: "adjust", args: { locationId: "A", delta: 2, reason: "purchase" } }] });
    expect(lines[at + 4]).toBe("       → sealed #1");
    expect(lines).toContain('       + movements {"at":1767225600000,"delta":2,"id":1,"location_id":"A","reason":"purchase","reference_id":null}');
    expect(lines).toContain('       + frozen {"cryo_id":1,"key":"r-2-0","steps":[{"args":{"reservationId":"r-2-0"},"op":"release"}],"wake_at":1767225660000}');
    expect(lines).toContain("    fails: quantity_is_sum_of_movements is violated by {\"location_id\":\"A\",\"movements\":2,\"quantity\":1}");
    expect(out).toMatch(/\n1 check failed\n$/);
  });

  test("--walks finds past the depth what breadth-first does not reach", async () => {
    const shallow = await cli("--law", MUTANT, "--depth", "1", "--property", "quantity_is_sum_of_movements");
    expect(shallow.code).toBe(EXIT_OK);
    const walked = await cli("--law", MUTANT, "--depth", "1", "--property", "quantity_is_sum_of_movements", "--walks", "200", "--walk-length", "8", "--seed", "7");
    expect(walked.code).toBe(EXIT_FAILED);
    expect(walked.out).toContain("(random walk ");
    expect(walked.out).toContain("counterexample, 3 steps from the empty state:");
  });

  test("--json prints the report", async () => {
    const { code, out } = await cli("--law", MUTANT, "--depth", "3", "--property", "quantity_is_sum_of_movements", "--json");
    expect(code).toBe(EXIT_FAILED);
    const report = JSON.parse(out);
    expect(report.ok).toBe(false);
    expect(report.results[0]).toMatchObject({ name: "safety:quantity_is_sum_of_movements", status: "failed", version: 2 });
    expect(report.results[0].counterexample.steps).toHaveLength(3);
  });

  test.each([
    [["--law", NO_LAW], `noema check: ${NO_LAW} exports no law and no check definition\n`],
    [["--law", MISSING], new RegExp(`^noema check: cannot load ${escape(MISSING)}: `)],
    [["--law", INVENTORY, "--property", "nope"], /^noema check: unknown property "nope" \(known: replay, migration, reforge, cryostasis, guards, quantity_is_sum_of_movements, /],
    [["--law", INVENTORY, "--depth", "0"], 'noema check: --depth must be a whole number from 1 to 20, got "0"\n'],
    [["--law", INVENTORY, "--depth", "21"], 'noema check: --depth must be a whole number from 1 to 20, got "21"\n'],
    [["--law", INVENTORY, "--depth", "two"], 'noema check: --depth must be a whole number from 1 to 20, got "two"\n'],
    [["--law", INVENTORY, "--walks", "many"], 'noema check: --walks must be a whole number from 0 to 1000000, got "many"\n'],
    [["--law", INVENTORY, "--frobnicate"], /^noema check: Unknown option '--frobnicate'/],
  ])("bad input %j exits 2 with one line", async (argv, message) => {
    const { code, out, err } = await cli(...argv);
    expect(code).toBe(EXIT_USAGE);
    expect(out).toBe("");
    if (typeof message === "string") expect(err).toBe(message);
    else expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
  });

  test("--help documents the options and exit codes", async () => {
    const { code, out } = await cli("--help");
    expect(code).toBe(EXIT_OK);
    for (const option of ["--law", "--depth", "--property", "--json", "--max-states", "--walks", "--walk-length", "--seed", "Exit codes: 0"]) expect(out).toContain(option);
  });
});
