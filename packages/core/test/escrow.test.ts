// The escrow law ships with the core, so its generated footprints (escrow/law.footprints.ts) are
// checked here rather than by `noema build --check` in an app: a Worker has no parser to fall back on.
import { describe, expect, it } from "vitest";
import { escrowLaw } from "../src/escrow/index.js";
import { footprintTable } from "../src/sql.js";

const registry = () => (globalThis as Record<symbol, { tables: Map<string, unknown> }>)[Symbol.for("noema.footprints")]!;

describe("the escrow law", () => {
  it("registers footprints that are what its SQL gives now (after changing it: noema build packages/core/src/escrow/law.ts, then keep its relative import)", () => {
    const derived = footprintTable(escrowLaw.versions);
    for (const { nomos } of escrowLaw.versions) expect(registry().tables.get(nomos.hash)).toEqual(derived[nomos.hash]);
  });
});
