import { describe, expect, it } from "vitest";
import { inventoryLaw, inventoryV1, inventoryV2 } from "./fixtures/inventory.js";
import { buildIntent, type Connection, createTableSql, defineNomos, defineVocabulary, type Evolution, type Intent, lineage, LineageDefinitionError, NomosDefinitionError, parseClaimed, type Phase, type Policy, type Provisions, rebuildTableSql, text, type Vocabulary } from "../src/index.js";
import { carry, type CarryResult } from "../src/admission/admit.js";
import { phaseAt } from "../src/connection/lineage.js";
import { ledger } from "./ledger.js";

const DAY = 24 * 60 * 60 * 1000;
const stamp = (v: Vocabulary) => ({ name: v.nomos.name, version: v.nomos.version, hash: v.nomos.hash });

// v3: a nullable note on movements, a Flat change for every v2 operation.
const { movements } = inventoryV2.nomos.tables;
const inventoryV3 = defineVocabulary(
  defineNomos({
    name: "inventory",
    version: 3,
    tables: { ...inventoryV2.nomos.tables, movements: { ...movements, columns: { ...movements.columns, note: text() } } },
    invariants: inventoryV2.nomos.invariants,
  }),
  inventoryV2.operations,
);

/** The inventory evolution v1 → v2 with some of its parts replaced. */
const v1ToV2 = (evolution: Partial<Evolution>) => lineage(inventoryV1).evolve(inventoryV2, { ...inventoryLaw.evolutionFrom(1)!, ...evolution });

const setStock = buildIntent(inventoryV1, (s) => s.setStock({ locationId: "a", quantity: 5 }), { idempotencyKey: "count-a" });
const reserve = buildIntent(
  inventoryV1,
  (s) => {
    const r = s.reserve({ locationId: "a", quantity: 2, orderId: "o-1" });
    s.release({ reservationId: r.reservationId });
  },
  { idempotencyKey: "hold-a" },
);

const T0 = 1_800_000_000_000;
const appliedAt = (version: number) => (version === 2 ? T0 : undefined);

function ok(result: CarryResult): Extract<CarryResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the Intent to be carried, it was refused: ${result.message}`);
  return result;
}
/** What happened to an Intent, in the words of the provisions: it runs as is, is reforged, or is refused. */
const outcome = (result: CarryResult) => (result.ok ? (result.reforged ? "reforged" : "runs") : "refused");

function refused(result: CarryResult): Extract<CarryResult, { ok: false }> {
  if (result.ok) throw new Error("expected the Intent to be refused, it was carried");
  return result;
}

describe("Lineage definition", () => {
  it("evolve appends a version and leaves the shorter lineage as it was", () => {
    const first = lineage(inventoryV1);
    const second = first.evolve(inventoryV2, { migration: [] });
    expect(first.versions).toStrictEqual([inventoryV1]);
    expect(second.versions).toStrictEqual([inventoryV1, inventoryV2]);
    expect(second.latest).toBe(inventoryV2);
    expect(second.name).toBe("inventory");
  });

  it("evolve keeps one name and versions that go up by one", () => {
    expect(() => lineage(inventoryV1).evolve(ledger, { migration: [] })).toThrow(LineageDefinitionError);
    expect(() => lineage(inventoryV1).evolve(ledger, { migration: [] })).toThrow(/one name/);
    expect(() => lineage(inventoryV1).evolve(inventoryV1, { migration: [] })).toThrow(/v1 cannot follow v1: versions go up by one/);
    expect(() => lineage(inventoryV1).evolve(inventoryV3, { migration: [] })).toThrow(/v3 cannot follow v1/);
    expect(() => inventoryLaw.evolve(inventoryV3, { migration: [] })).not.toThrow();
  });

  it("evolve refuses provisions that would silently mean something else", () => {
    const bad: Provisions[] = [
      { effectiveFrom: Number.NaN },
      { effectiveFrom: Number.POSITIVE_INFINITY },
      { gracePeriod: -1 },
      { gracePeriod: Number.NaN },
      { afterGrace: "refuse" as Policy },
      { duringGrace: "accept" as Policy },
    ];
    for (const provisions of bad) expect(() => v1ToV2({ provisions }), JSON.stringify(provisions)).toThrow(LineageDefinitionError);
    expect(() => v1ToV2({ provisions: { effectiveFrom: 0, gracePeriod: 0, duringGrace: "refuse-all", afterGrace: "reforge" } })).not.toThrow();
  });

  it("at, evolutionFrom and upTo address versions by number", () => {
    expect(inventoryLaw.at(1)).toBe(inventoryV1);
    expect(inventoryLaw.at(2)).toBe(inventoryV2);
    expect(inventoryLaw.at(0)).toBeUndefined();
    expect(inventoryLaw.at(3)).toBeUndefined();
    expect(inventoryLaw.evolutionFrom(1)?.reforge).toBeTypeOf("function");
    expect(inventoryLaw.evolutionFrom(2)).toBeUndefined();
    const older = inventoryLaw.upTo(1);
    expect(older.latest).toBe(inventoryV1);
    expect(older.evolutions).toStrictEqual([]);
    expect(inventoryLaw.upTo(2).versions).toStrictEqual(inventoryLaw.versions);
    expect(() => inventoryLaw.upTo(0)).toThrow(/has no v0/);
    expect(() => inventoryLaw.upTo(3)).toThrow(/has no v3/);
  });
});

describe("Lineage.parse: by the version an Intent claims", () => {
  const steps = [{ op: "reserve", args: { locationId: "a", quantity: 2 } }];

  it("parses with the claimed law's vocabulary", () => {
    const v1 = parseClaimed(inventoryLaw, { v: 1, nomos: stamp(inventoryV1), steps });
    expect(v1).toStrictEqual({ ok: true, value: { v: 1, nomos: stamp(inventoryV1), steps: [{ op: "reserve", args: { locationId: "a", quantity: 2, ttlSeconds: 900 } }] } });
    const v2 = parseClaimed(inventoryLaw, { v: 1, nomos: stamp(inventoryV2), steps });
    expect(v2.ok && v2.value.steps[0]!.args).toStrictEqual({ locationId: "a", quantity: 2, ttlSeconds: 900, channel: "direct" });
  });

  it("parses an Intent that claims no law with the current one", () => {
    expect(parseClaimed(inventoryLaw, { v: 1, steps: [{ op: "recordChannelSync", args: { channel: "web", lastSedimentId: 3 } }] }).ok).toBe(true);
    const old = parseClaimed(inventoryLaw, { v: 1, nomos: stamp(inventoryV1), steps: [{ op: "recordChannelSync", args: { channel: "web", lastSedimentId: 3 } }] });
    expect(old.ok ? [] : old.issues.map((i) => i.path)).toStrictEqual([["steps", 0, "op"]]);
  });

  it("reports a version this code does not know at nomos.version", () => {
    for (const version of [3, 0, 1.5]) {
      const result = parseClaimed(inventoryLaw, { v: 1, nomos: { ...stamp(inventoryV2), version }, steps });
      expect(result).toStrictEqual({ ok: false, issues: [{ code: "nomos", path: ["nomos", "version"], message: `inventory has no v${version}; this code knows v1 to v2` }] });
    }
  });
});

describe("Lineage.carry", () => {
  const now = T0 + DAY;

  it("Flat: runs as it is, restamped with the new law", () => {
    const result = ok(carry(inventoryLaw, setStock, 1, 2, now, appliedAt));
    expect(result.intent).toStrictEqual({ ...setStock, nomos: stamp(inventoryV2) });
    expect(result.reforged).toBe(false);
    expect(result.steps).toStrictEqual([{ from: 1, to: 2, connection: "Flat", phase: "grace", reforged: false }]);
  });

  it("Curved: reforged (the inventory reforge says channel direct), Refs and idempotency key kept", () => {
    const result = ok(carry(inventoryLaw, reserve, 1, 2, now, appliedAt));
    expect(result.intent).toStrictEqual({
      v: 1,
      nomos: stamp(inventoryV2),
      idempotencyKey: "hold-a",
      steps: [
        { op: "reserve", args: { locationId: "a", quantity: 2, ttlSeconds: 900, orderId: "o-1", channel: "direct" } },
        { op: "release", args: { reservationId: { $ref: { step: 0, output: "reservationId" } } } },
      ],
    });
    expect(result.reforged).toBe(true);
    expect(result.steps).toStrictEqual([{ from: 1, to: 2, connection: "Curved", phase: "grace", reforged: true }]);
  });

  it("Curved with no reforge registered: refused with the Connection", () => {
    const result = refused(carry(v1ToV2({ reforge: undefined }), reserve, 1, 2, now, appliedAt));
    expect(result.message).toBe("inventory v2 changed what this Intent touches and registers no reforge for v1");
    expect(result.connection.type).toBe("Curved");
    expect(result.steps).toStrictEqual([expect.objectContaining({ connection: "Curved", reforged: false })]);
  });

  it("a reforge that throws: refused with its message", () => {
    const law = v1ToV2({
      reforge: () => {
        throw new Error("no channel is known for this order");
      },
    });
    expect(refused(carry(law, reserve, 1, 2, now, appliedAt)).message).toBe("reforging for inventory v2 failed: no channel is known for this order");
  });

  it("a reforge that produces an invalid Intent: refused, naming the invalid field", () => {
    const law = v1ToV2({ reforge: (intent) => ({ ...intent, steps: intent.steps.map((s) => ({ ...s, args: { ...s.args, channel: "pigeon" } })) }) });
    const result = refused(carry(law, reserve, 1, 2, now, appliedAt));
    expect(result.message).toMatch(/^the reforged Intent is not valid under inventory v2: steps\.0\.args\.channel: /);
  });

  it("Critical: refused whatever the operations, the phase or the policy", () => {
    const law = v1ToV2({ critical: { reason: "reservations leaked customer data" }, provisions: { effectiveFrom: T0 + 10 * DAY } });
    for (const intent of [setStock, reserve]) {
      const result = refused(carry(law, intent, 1, 2, T0, appliedAt));
      expect(result.message).toBe("inventory v2 stops Intents of v1 at once: reservations leaked customer data");
      expect(result.connection.type).toBe("Critical");
      expect(result.steps).toStrictEqual([expect.objectContaining({ connection: "Critical", phase: "before" })]);
    }
  });

  it("carries across several versions, step by step", () => {
    const result = ok(carry(inventoryLaw.evolve(inventoryV3, { migration: [] }), reserve, 1, 3, now, appliedAt));
    expect(result.intent.nomos).toStrictEqual(stamp(inventoryV3));
    expect(result.intent.steps[0]!.args.channel).toBe("direct");
    expect(result.reforged).toBe(true);
    expect(result.steps.map(({ to, connection, reforged }) => [to, connection, reforged])).toStrictEqual([
      [2, "Curved", true],
      [3, "Flat", false],
    ]);
  });

  it("caches the Connection per evolution step and set of operations", () => {
    const seen: Connection[] = [];
    const law = v1ToV2({
      reforge: (intent, context) => {
        seen.push(context.connection);
        return inventoryLaw.evolutionFrom(1)!.reforge!(intent, context);
      },
    });
    const reserveAt = (locationId: string, withCount: boolean) =>
      buildIntent(inventoryV1, (s) => {
        if (withCount) s.setStock({ locationId, quantity: 9 });
        s.reserve({ locationId, quantity: 1 });
      });
    const countFirst = reserveAt("b", true);
    const reserveFirst: Intent = { ...countFirst, steps: [...countFirst.steps].reverse() };
    for (const intent of [reserveAt("a", false), reserveAt("b", false), countFirst, reserveFirst]) ok(carry(law, intent, 1, 2, now, appliedAt));
    expect(seen[1]).toBe(seen[0]);
    expect(seen[3]).toBe(seen[2]);
    expect(seen[2]).not.toBe(seen[0]);
  });
});

describe("provisions", () => {
  const provisions: Provisions = { effectiveFrom: 1_000, gracePeriod: 100 };

  it("phaseAt: before, grace and after, at their exact boundaries", () => {
    const at = (t: number) => phaseAt(provisions, t).phase;
    expect([at(999), at(1_000), at(1_099), at(1_100)]).toStrictEqual(["before", "grace", "grace", "after"]);
  });

  it("effectiveFrom defaults to when the Attractor applied the law", () => {
    const at = (t: number) => phaseAt({ gracePeriod: 100 }, t, 5_000).phase;
    expect([at(4_999), at(5_000), at(5_099), at(5_100)]).toStrictEqual(["before", "grace", "grace", "after"]);
  });

  it("without a grace period the grace phase never ends; without provisions every Intent is reforged", () => {
    expect(phaseAt({ effectiveFrom: 0 }, Number.MAX_SAFE_INTEGER)).toStrictEqual({ phase: "grace", policy: "reforge" });
    expect(phaseAt(undefined, 10, 5)).toStrictEqual({ phase: "grace", policy: "reforge" });
  });

  it("policies: before is always reforge; grace defaults to reforge; after defaults to refuse-curved", () => {
    expect(phaseAt({ ...provisions, duringGrace: "refuse-all", afterGrace: "refuse-all" }, 999).policy).toBe("reforge");
    expect(phaseAt(provisions, 1_000).policy).toBe("reforge");
    expect(phaseAt(provisions, 1_100).policy).toBe("refuse-curved");
    expect(phaseAt({ ...provisions, duringGrace: "refuse-curved", afterGrace: "reforge" }, 1_050).policy).toBe("refuse-curved");
    expect(phaseAt({ ...provisions, duringGrace: "refuse-curved", afterGrace: "reforge" }, 1_100).policy).toBe("reforge");
  });

  describe("each policy, in each phase, for a Flat (setStock) and a Curved (reserve) Intent", () => {
    const expected: Record<Policy, { Flat: string; Curved: string }> = {
      reforge: { Flat: "runs", Curved: "reforged" },
      "refuse-curved": { Flat: "runs", Curved: "refused" },
      "refuse-all": { Flat: "refused", Curved: "refused" },
    };
    const phases: [Phase, number][] = [
      ["before", T0 - 1],
      ["grace", T0],
      ["grace", T0 + DAY - 1],
      ["after", T0 + DAY],
    ];
    for (const policy of Object.keys(expected) as Policy[]) {
      for (const [phase, t] of phases) {
        it(`${policy} at ${phase} (t = T0 ${t >= T0 ? "+" : "-"} ${Math.abs(t - T0)})`, () => {
          // The policy under test applies in both grace and after; before always reforges.
          const law = v1ToV2({ provisions: { effectiveFrom: T0, gracePeriod: DAY, duringGrace: policy, afterGrace: policy } });
          const want = phase === "before" ? expected.reforge : expected[policy];
          const flat = carry(law, setStock, 1, 2, t);
          const curved = carry(law, reserve, 1, 2, t);
          expect({ Flat: outcome(flat), Curved: outcome(curved) }).toStrictEqual(want);
          for (const result of [flat, curved]) expect(result.steps[0]!.phase).toBe(phase);
        });
      }
    }
    it("names the phase in a refusal", () => {
      const law = v1ToV2({ provisions: { effectiveFrom: T0, gracePeriod: DAY, afterGrace: "refuse-all" } });
      expect(refused(carry(law, setStock, 1, 2, T0 + DAY)).message).toBe("inventory v2 no longer accepts Intents of v1 (after its grace period)");
      expect(refused(carry(law, reserve, 1, 2, T0 + DAY)).message).toBe("inventory v2 no longer accepts Intents of v1 (after its grace period)");
    });
  });

  it("the inventory law: v1 reserve Intents are reforged for 30 days from each Attractor's upgrade, then refused; v1 setStock keeps running", () => {
    const at = (t: number) => [outcome(carry(inventoryLaw, setStock, 1, 2, t, appliedAt)), outcome(carry(inventoryLaw, reserve, 1, 2, t, appliedAt))];
    expect(at(T0 + 30 * DAY - 1)).toStrictEqual(["runs", "reforged"]);
    expect(at(T0 + 30 * DAY)).toStrictEqual(["runs", "refused"]);
    expect(refused(carry(inventoryLaw, reserve, 1, 2, T0 + 30 * DAY, appliedAt)).message).toBe(
      "inventory v2 changed what this Intent touches and no longer reforges Intents of v1 (after its grace period)",
    );
  });
});

describe("migration SQL", () => {
  const v2 = inventoryV2.nomos;
  const channelCheck = "channel IN ('direct', 'web', 'marketplace', 'store')";
  const reservationColumns = `"id" TEXT PRIMARY KEY, "location_id" TEXT NOT NULL, "quantity" INTEGER NOT NULL CONSTRAINT "reservations_quantity_check" CHECK (quantity > 0), "status" TEXT NOT NULL CONSTRAINT "reservations_status_check" CHECK (status IN ('active', 'released', 'committed')), "order_id" TEXT, "created_at" INTEGER NOT NULL, "expires_at" INTEGER NOT NULL, "closed_at" INTEGER, "channel" TEXT NOT NULL CONSTRAINT "reservations_channel_check" CHECK (${channelCheck})`;
  const names = `"id", "location_id", "quantity", "status", "order_id", "created_at", "expires_at", "closed_at", "channel"`;

  it("createTableSql: the table and its indexes, as the Nomos declares them", () => {
    expect(createTableSql(v2, "channel_sync")).toStrictEqual([
      `CREATE TABLE "channel_sync" ("channel" TEXT PRIMARY KEY CONSTRAINT "channel_sync_channel_check" CHECK (${channelCheck}), "last_sediment_id" INTEGER NOT NULL CONSTRAINT "channel_sync_last_sediment_id_check" CHECK (last_sediment_id >= 0), "synced_at" INTEGER NOT NULL) STRICT`,
    ]);
    expect(createTableSql(v2, "reservations")).toStrictEqual([
      `CREATE TABLE "reservations" (${reservationColumns}) STRICT`,
      `CREATE INDEX "reservations_by_location_status" ON "reservations" ("location_id", "status", "quantity")`,
    ]);
    expect(createTableSql(v2, "reservations")).toStrictEqual(v2.ddl.filter((s) => s.includes(`ON "reservations"`) || s.startsWith(`CREATE TABLE "reservations"`)));
  });

  it("createTableSql refuses a table the Nomos does not declare", () => {
    expect(() => createTableSql(v2, "orders")).toThrow(NomosDefinitionError);
  });

  it("rebuildTableSql: create beside, copy with fills, drop, rename, then recreate the indexes", () => {
    expect(rebuildTableSql(v2, "reservations", { channel: "'direct'" })).toStrictEqual([
      `CREATE TABLE "reservations__next" (${reservationColumns}) STRICT`,
      `INSERT INTO "reservations__next" (${names}) SELECT ${names.replace(`"channel"`, "'direct'")} FROM "reservations"`,
      `DROP TABLE "reservations"`,
      `ALTER TABLE "reservations__next" RENAME TO "reservations"`,
      `CREATE INDEX "reservations_by_location_status" ON "reservations" ("location_id", "status", "quantity")`,
    ]);
    expect(() => rebuildTableSql(inventoryV1.nomos, "channel_sync")).toThrow(/has no table "channel_sync"/);
  });
});
