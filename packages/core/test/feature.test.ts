import { describe, expect, it } from "vitest";
import type { Feature } from "../src/builtin/feature.js";
import { cryostasisFeature } from "../src/cryostasis/index.js";
import { BUILTIN_STEPS } from "../src/interpretation/index.js";
import { messagesFeature } from "../src/message/index.js";
import { archiveFeature } from "../src/seal/archive-log.js";
import { createInternalTables } from "../src/seal/store.js";
import { verificationFeature } from "../src/seal/verify.js";

// The core's tsconfig has no Node types: Vite's glob import reads the docs instead of node:fs.
declare global {
  interface ImportMeta {
    glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, string>;
  }
}

/** The repository's docs pages, by path from the repository's root. */
const DOCS = new Set(Object.keys(import.meta.glob("../../../docs/**/*.md", { query: "?raw", import: "default", eager: true })).map((p) => p.slice("../../../".length)));

const FEATURES: readonly Feature[] = [cryostasisFeature, messagesFeature, verificationFeature, archiveFeature];

describe("features", () => {
  it("the built-in steps are exactly the ones the features bring", () => {
    const brought = FEATURES.flatMap((f) => f.steps.map((s) => s.op));
    expect(Object.keys(BUILTIN_STEPS).sort()).toEqual([...brought].sort());
    for (const f of FEATURES) for (const step of f.steps) expect(BUILTIN_STEPS[step.op]).toBe(step);
  });

  it("an Attractor's first wake creates the tables of every feature but the archive, which makes its own when declared", () => {
    const ran: string[] = [];
    createInternalTables({ exec: (sql) => (ran.push(sql), []) });
    for (const f of [cryostasisFeature, messagesFeature, verificationFeature]) for (const ddl of f.tables) expect(ran).toContain(ddl);
    for (const ddl of archiveFeature.tables) expect(ran).not.toContain(ddl);
  });

  it("each feature names a docs page that exists", () => {
    for (const f of FEATURES) expect(DOCS, f.name).toContain(f.docs);
  });

  it("names are unique: a feature's name names its alarm chore in logs", () => {
    expect(new Set(FEATURES.map((f) => f.name)).size).toBe(FEATURES.length);
  });
});
