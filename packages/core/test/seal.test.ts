import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildIntent } from "../src/index.js";
import { GENESIS_HASH, sedimentHash } from "../src/runtime.js";
import { contentHash } from "../src/canonical/index.js";
import { ledger, ledgerNomos } from "./ledger.js";

const intent = buildIntent(ledger, (s) => {
  const { accountId } = s.openAccount({ accountId: "alice", owner: "Alice" });
  s.deposit({ accountId, amount: 5 });
});

type Entry = Parameters<typeof sedimentHash>[0];

const entry: Entry = {
  sedimentId: 1,
  prevHash: GENESIS_HASH,
  timestamp: 1_700_000_000_000,
  intent,
  outputs: [{ accountId: "alice" }, { balance: 5 }],
  world: { attractor: "LedgerAttractor", name: "acme", nomosVersion: ledgerNomos.version, nomosHash: ledgerNomos.hash },
};

describe("sedimentHash", () => {
  it("starts the chain at 64 zeros", () => {
    expect(GENESIS_HASH).toBe("0".repeat(64));
  });

  it("is the content hash of the entry with the World by its hash, so stored JSON with any key order verifies", () => {
    expect(sedimentHash(entry)).toBe(contentHash({ ...entry, world: contentHash(entry.world) }));
    const reordered = JSON.parse(JSON.stringify({ world: entry.world, outputs: entry.outputs, intent: entry.intent, timestamp: entry.timestamp, prevHash: entry.prevHash, sedimentId: entry.sedimentId })) as Entry;
    expect(sedimentHash(reordered)).toBe(sedimentHash(entry));
  });

  it("covers the place, the predecessor, the time, the Intent, the outputs and the World", () => {
    const changes: [string, (e: Entry) => Entry][] = [
      ["sedimentId", (e) => ({ ...e, sedimentId: e.sedimentId + 1 })],
      ["prevHash", (e) => ({ ...e, prevHash: "f".repeat(64) })],
      ["timestamp", (e) => ({ ...e, timestamp: e.timestamp + 1 })],
      ["intent", (e) => ({ ...e, intent: { ...e.intent, idempotencyKey: "k" } })],
      ["a step argument", (e) => ({ ...e, intent: { ...e.intent, steps: [e.intent.steps[0]!, { op: "deposit", args: { ...e.intent.steps[1]!.args, amount: 6 } }] } })],
      ["outputs", (e) => ({ ...e, outputs: [e.outputs[0]!, { balance: 6 }] })],
      ["world name", (e) => ({ ...e, world: { ...e.world, name: "other" } })],
      ["world Nomos version", (e) => ({ ...e, world: { ...e.world, nomosVersion: 2 } })],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...changes), ([what, change]) => {
        expect(sedimentHash(change(entry)), what).not.toBe(sedimentHash(entry));
      }),
    );
  });
});
