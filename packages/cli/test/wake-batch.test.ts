// The law below is defined with no generated footprints: read its SQL with the parser.
import "@noema/core/sql";
import { buildIntent, Lineage, type SqlValue } from "@noema/core";
import { applyLineage, Sedimenter } from "@noema/core/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteHost } from "../src/check/host.js";
import { counterLaw } from "./fixtures/counter.js";

// A wake batch on node:sqlite, whose transactions commit for real: a chunk of the batch is one
// transaction, each entry a nested one, the sealed entries removed together at its end.

const hosts: ReturnType<typeof openSqliteHost>[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

const add = (id: string, amount: number) => buildIntent(counterLaw, (s) => void s.add({ id, amount }));
const WORLD = { attractor: "Counter", name: "c", nomosVersion: 1, nomosHash: counterLaw.nomos.hash };
const FROZEN_AT = 1_000;
const DUE = FROZEN_AT + 2_000;

/** Four entries frozen in one database, due; `fails` makes a statement fail as a full disk would, while it says so. */
function frozenFour() {
  const host = openSqliteHost();
  hosts.push(host);
  let clock = FROZEN_AT;
  const now = () => clock;
  applyLineage({ ...host, now }, Lineage.of(counterLaw), clock);
  let fails: (sql: string) => boolean = () => false;
  const db = {
    exec: (sql: string, params: readonly SqlValue[]) => {
      if (fails(sql)) throw new Error("database or disk is full");
      return host.db.exec(sql, params);
    },
  };
  const diverged: Error[] = [];
  const open = () => new Sedimenter(counterLaw, { db, transaction: host.transaction, now, onDiverged: (e) => diverged.push(e) }, WORLD);
  const sedimenter = open();
  const ids = ["a", "b", "c", "d"].map((id, i) => {
    const frozen = sedimenter.features.cryostasis.freeze(add(id, i + 1), { at: FROZEN_AT + 1_000 + i });
    if (!frozen.ok) throw new Error(JSON.stringify(frozen.issues));
    return frozen.cryoId;
  });
  clock = DUE;
  const counters = () => host.db.exec(`SELECT id, value FROM counters ORDER BY id`, []);
  return { sedimenter, open, ids, counters, diverged, failWhen: (f: (sql: string) => boolean) => (fails = f) };
}

describe("a wake batch", () => {
  it("a failure no entry's handling catches rolls its chunk back whole: nothing applied, nothing removed; started again, each is woken once", () => {
    const { sedimenter, open, ids, counters, diverged, failWhen } = frozenFour();
    let appends = 0;
    // The third entry's log row fails, then so does recording its retry.
    failWhen((sql) => (sql.startsWith("INSERT INTO _noema_sediment") && ++appends === 3) || sql.startsWith("UPDATE _noema_cryostasis SET attempts"));
    expect(() => sedimenter.features.cryostasis.wakeDue(10)).toThrow("database or disk is full");
    failWhen(() => false);
    expect(counters()).toEqual([]);
    expect(sedimenter.cryostasis.list(10).map((e) => [e.cryoId, e.attempts])).toEqual(ids.map((id) => [id, 0]));
    // The first two were sealed inside the chunk: its memory is ahead of storage.
    expect(diverged).toHaveLength(1);
    expect(() => sedimenter.sedimentation(add("e", 5))).toThrow("sealing stopped");

    const restarted = open();
    expect(restarted.features.cryostasis.wakeDue(10).map((o) => [o.cryoId, o.outcome])).toEqual(ids.map((id) => [id, "sealed"]));
    expect(restarted.sedimentation(add("e", 5)).success).toBe(true);
    expect(restarted.cryostasis.list(10)).toEqual([]);
    expect(restarted.log.verify()).toMatchObject({ ok: true, length: 5 });
  });

  it("a batch whose transaction fails after sealing entries applies none of them, and its Sedimenter stops sealing; started again, it wakes each once", () => {
    const { sedimenter, open, ids, counters, diverged, failWhen } = frozenFour();
    // The batch's removal of what it sealed fails: its transaction rolls back with every entry in it.
    failWhen((sql) => sql.includes("json_each"));
    expect(() => sedimenter.features.cryostasis.wakeDue(10)).toThrow("database or disk is full");
    failWhen(() => false);
    expect(counters()).toEqual([]);
    expect(sedimenter.cryostasis.list(10).map((e) => e.cryoId)).toEqual(ids);
    // Its memory names sediments storage does not hold: it must not chain onto them.
    expect(() => sedimenter.sedimentation(add("e", 5))).toThrow("sealing stopped until the Attractor starts again");
    expect(() => sedimenter.features.cryostasis.wakeDue(10)).toThrow("sealing stopped");
    expect(sedimenter.log.verify()).toMatchObject({ ok: true, length: 0 });
    // The host heard of it once, to restart the object (an Attractor aborts it).
    expect(diverged.map((e) => e.message)).toEqual([expect.stringContaining("sealing stopped")]);

    const restarted = open();
    expect(restarted.features.cryostasis.wakeDue(10).map((o) => o.outcome)).toEqual(["sealed", "sealed", "sealed", "sealed"]);
    expect(counters()).toEqual(["a", "b", "c", "d"].map((id, i) => ({ id, value: i + 1 })));
    expect(restarted.log.verify()).toMatchObject({ ok: true, length: 4 });
  });
});
