import { expect, it } from "vitest";
import { buildIntent, explain, parseIntent } from "../src/index.js";
import { sqlParserBuilt } from "../src/sieve/footprint.js";
import { ledger } from "./ledger.js";

// Its own file: vitest gives each test file fresh modules, so nothing else here has derived a Sieve yet.
it("importing the core, defining a vocabulary and building or parsing an Intent do not build the SQL parser; the first Sieve does", () => {
  const intent = buildIntent(ledger, (s) => void s.openAccount({ accountId: "alice", owner: "Alice" }));
  expect(parseIntent(ledger, JSON.parse(JSON.stringify(intent))).ok).toBe(true);
  expect(sqlParserBuilt()).toBe(false);
  expect(Object.keys(explain(ledger, intent, { now: 1, sedimentId: 1 }).sieve)).toContain("table:accounts");
  expect(sqlParserBuilt()).toBe(true);
});
