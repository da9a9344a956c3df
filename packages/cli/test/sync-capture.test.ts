// The law below is defined here, with no generated footprints: read its SQL with the parser.
import "@noema/core/sql";
import { buildIntent, definePublication, defineNomos, defineVocabulary, integer, type Json, Lineage, operation, PublicationDefinitionError, sql, text } from "@noema/core";
import { applyLineage, ChangeCapture, Sedimenter, SYNC_RETAINED } from "@noema/core/runtime";
import type { SnapshotTable, SyncChange } from "@noema/core/sync";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { openSqliteHost } from "../src/check/host.js";

// Change capture on node:sqlite: the diffs recorded per sediment, applied to a subscriber's
// snapshot, give exactly what a fresh snapshot shows, whatever the sediments did.

const nomos = defineNomos({
  name: "shelf",
  version: 1,
  tables: {
    items: { columns: { id: text().primaryKey(), owner: text().notNull(), qty: integer().notNull(), secret: text() } },
    notes: { columns: { id: integer().primaryKey(), body: text().notNull() } },
  },
});
const id = z.string().min(1).max(8);
const law = defineVocabulary(nomos, {
  put: operation({
    description: "puts an item",
    args: z.object({ id, owner: id, qty: z.number().int() }),
    output: z.object({}),
    statements: ({ arg }) => ({ put: sql`INSERT INTO items (id, owner, qty) VALUES (${arg.id}, ${arg.owner}, ${arg.qty}) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty` }),
    result: () => ({}),
  }),
  move: operation({
    description: "gives an item to another owner",
    args: z.object({ id, owner: id }),
    output: z.object({}),
    statements: ({ arg }) => ({ move: sql`UPDATE items SET owner = ${arg.owner} WHERE id = ${arg.id}` }),
    result: () => ({}),
  }),
  hide: operation({
    description: "writes the hidden column only",
    args: z.object({ id, secret: id }),
    output: z.object({}),
    statements: ({ arg }) => ({ hide: sql`UPDATE items SET secret = ${arg.secret} WHERE id = ${arg.id}` }),
    result: () => ({}),
  }),
  drop: operation({
    description: "deletes an item, and a note",
    args: z.object({ id }),
    output: z.object({}),
    statements: ({ arg }) => ({ drop: sql`DELETE FROM items WHERE id = ${arg.id}`, note: sql`INSERT INTO notes (body) VALUES (${arg.id})` }),
    result: () => ({}),
  }),
  churn: operation({
    description: "inserts and deletes the same item in one Intent",
    args: z.object({ id, owner: id }),
    output: z.object({}),
    statements: ({ arg }) => ({
      put: sql`INSERT OR IGNORE INTO items (id, owner, qty) VALUES (${arg.id}, ${arg.owner}, 0)`,
      drop: sql`DELETE FROM items WHERE id = ${arg.id}`,
    }),
    result: () => ({}),
  }),
});

const publication = definePublication(nomos, { items: { columns: ["id", "qty"], scope: "owner" }, notes: { columns: ["id", "body"] } });

const hosts: ReturnType<typeof openSqliteHost>[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

function world(pub = publication) {
  const host = openSqliteHost();
  hosts.push(host);
  applyLineage({ ...host, now: () => 1 }, Lineage.of(law), 1);
  const capture: ChangeCapture = new ChangeCapture(host.db, pub, (from, limit) => sedimenter.log.links(from, limit));
  capture.install(0, nomos.hash, true);
  const sedimenter = new Sedimenter(law, { ...host, now: () => 1 }, { attractor: "Shelf", name: "s", nomosVersion: 1, nomosHash: nomos.hash }, { sealingRead: (id) => capture.sealingRead(id), onSealing: (s, read) => capture.record(s, read) });
  return { host, capture, sedimenter };
}

/** A replica: rows by table and key, as a client keeps them. */
function replicaOf(tables: Record<string, SnapshotTable>): Map<string, Map<string, Json[]>> {
  return new Map(Object.entries(tables).map(([name, t]) => [name, new Map(t.rows.map((r) => [JSON.stringify(t.key.map((k) => r[t.columns.indexOf(k)])), r]))]));
}
function apply(replica: Map<string, Map<string, Json[]>>, tables: Record<string, SnapshotTable>, changes: SyncChange[]): void {
  for (const c of changes) {
    const t = tables[c.table]!;
    if (c.op === "upsert") replica.get(c.table)!.set(JSON.stringify(t.key.map((k) => c.row[t.columns.indexOf(k)])), c.row);
    else replica.get(c.table)!.delete(JSON.stringify(c.key));
  }
}

const owner = fc.constantFrom("ann", "bob");
const item = fc.constantFrom("a", "b", "c");
const step = fc.oneof(
  fc.record({ op: fc.constant("put" as const), args: fc.record({ id: item, owner, qty: fc.integer({ min: 0, max: 9 }) }) }),
  fc.record({ op: fc.constant("move" as const), args: fc.record({ id: item, owner }) }),
  fc.record({ op: fc.constant("hide" as const), args: fc.record({ id: item, secret: owner }) }),
  fc.record({ op: fc.constant("drop" as const), args: fc.record({ id: item }) }),
  fc.record({ op: fc.constant("churn" as const), args: fc.record({ id: item, owner }) }),
);

describe("change capture", () => {
  it("a snapshot plus the diffs after it equals a later snapshot, for every subscriber", () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), fc.nat(12), (intents, joinAt) => {
        const { capture, sedimenter } = world();
        const run = (steps: typeof intents[number]) => sedimenter.sedimentation({ v: 1, steps });
        intents.slice(0, joinAt).forEach(run);
        const subjects = ["ann", "bob", null] as const;
        const base = subjects.map((s) => capture.snapshot(s));
        const replicas = base.map(replicaOf);
        const from = sedimenter.lastSedimentId;
        intents.slice(joinAt).forEach(run);
        const records = capture.after(from, 1000);
        expect(records.map((r) => r.sedimentId)).toStrictEqual(Array.from({ length: sedimenter.lastSedimentId - from }, (_, i) => from + i + 1));
        // Given the committed head, served from memory: exactly what storage holds.
        expect(capture.after(from, 1000, sedimenter.log.head())).toStrictEqual(records);
        subjects.forEach((s, i) => {
          for (const r of records) apply(replicas[i]!, base[i]!, capture.view(r, s));
          expect(replicas[i]).toStrictEqual(replicaOf(capture.snapshot(s)));
        });
      }),
      { numRuns: 60 },
    );
  });

  it("serves every cursor it claims to (from `since` on) exactly, however recording was paused and started", () => {
    const action = fc.oneof(step.map((s) => [s]), fc.constantFrom("pause" as const, "start" as const));
    fc.assert(
      fc.property(fc.array(action, { maxLength: 16 }), (actions) => {
        const { capture, sedimenter } = world();
        const subjects = ["ann", "bob", null] as const;
        const seen = new Map<number, Record<string, SnapshotTable>[]>([[0, subjects.map((s) => capture.snapshot(s))]]);
        for (const a of actions) {
          if (a === "pause") capture.pause();
          else if (a === "start") capture.start(sedimenter.lastSedimentId);
          else sedimenter.sedimentation({ v: 1, steps: a });
          seen.set(sedimenter.lastSedimentId, subjects.map((s) => capture.snapshot(s)));
        }
        const head = sedimenter.lastSedimentId;
        if (!capture.recording) {
          expect(capture.since()).toBe(Infinity);
          return;
        }
        for (const [cursor, base] of seen) {
          if (cursor < capture.since()) continue;
          const records = capture.after(cursor, 1000);
          expect(records.map((r) => r.sedimentId)).toStrictEqual(Array.from({ length: head - cursor }, (_, i) => cursor + i + 1));
          subjects.forEach((s, i) => {
            const replica = replicaOf(base[i]!);
            for (const r of records) apply(replica, base[i]!, capture.view(r, s));
            expect(replica).toStrictEqual(replicaOf(capture.snapshot(s)));
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it("pauses to cost nothing, and on a wake goes on only if recording was unbroken", () => {
    const { host, capture, sedimenter } = world();
    const put = (id: string) => sedimenter.sedimentation(buildIntent(law, (s) => void s.put({ id, owner: "ann", qty: 1 })));
    // Capture's own triggers (Cryostasis keeps one of its own on its table).
    const triggers = () => host.db.exec("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_noema\\_sync\\_%' ESCAPE '\\' ORDER BY name", []).map((r) => r.name);
    const wake = (subscribed: boolean, lawHash = nomos.hash) => {
      const woken = new ChangeCapture(host.db, publication, (from, limit) => sedimenter.log.links(from, limit));
      woken.install(sedimenter.lastSedimentId, lawHash, subscribed);
      return woken;
    };
    put("a");
    capture.pause();
    expect([capture.recording, capture.since(), triggers()]).toStrictEqual([false, Infinity, []]);
    put("b");
    expect(host.db.exec("SELECT count(*) AS n FROM _noema_sync_touch", [])).toStrictEqual([{ n: 0 }]);
    expect(wake(false).recording).toBe(false);
    capture.start(sedimenter.lastSedimentId);
    put("c");
    // Recorded from the start on: a cursor before it cannot be served.
    expect([capture.after(2, 10).map((r) => r.sedimentId), capture.after(0, 10)]).toStrictEqual([[3], []]);
    // Woken with nobody subscribed yet: recording went on unbroken, so it goes on.
    expect([wake(false).recording, capture.since()]).toStrictEqual([true, 2]);
    // Under another law, or with a trigger gone (a migration rebuilt the table), the records cannot be continued.
    expect([wake(true, "f".repeat(64)).since(), wake(true).since()]).toStrictEqual([3, 3]);
    host.db.exec(`DROP TRIGGER "_noema_sync_items_update"`, []);
    const gone = wake(false);
    expect([gone.recording, gone.since(), triggers()]).toStrictEqual([false, Infinity, []]);
  });

  it("starts afresh on an object that ran the earlier capture, dropping its tables and triggers", () => {
    const { host, capture, sedimenter } = world();
    const tables = () => host.db.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_noema\\_sync\\_%' ESCAPE '\\' ORDER BY name", []).map((r) => r.name);
    capture.pause();
    // What earlier captures left on disk: a touched table, a record per sediment, and the trigger that emptied one into the other; a row per touched row.
    host.db.exec("CREATE TABLE _noema_sync_rows (sediment_id INTEGER NOT NULL, tbl TEXT NOT NULL, pk TEXT NOT NULL, existed INTEGER NOT NULL, scope ANY, row TEXT, PRIMARY KEY (sediment_id, tbl, pk)) WITHOUT ROWID", []);
    host.db.exec("CREATE TABLE _noema_sync_touched (tbl TEXT NOT NULL, pk TEXT NOT NULL, existed INTEGER NOT NULL, scope ANY, PRIMARY KEY (tbl, pk)) WITHOUT ROWID", []);
    host.db.exec("CREATE TABLE _noema_sync_changes (sediment_id INTEGER PRIMARY KEY, hash TEXT NOT NULL, prev_hash TEXT NOT NULL, changes TEXT NOT NULL)", []);
    host.db.exec("CREATE TRIGGER _noema_sync_clear AFTER INSERT ON _noema_sync_changes BEGIN DELETE FROM _noema_sync_touched; END", []);
    host.db.exec("INSERT INTO _noema_sync_meta (id, since, publication) VALUES (1, 0, 'the earlier shape')", []);
    const woken = new ChangeCapture(host.db, publication, (from, limit) => sedimenter.log.links(from, limit));
    woken.install(sedimenter.lastSedimentId, nomos.hash, true);
    expect([woken.recording, woken.since(), tables()]).toStrictEqual([true, 0, ["_noema_sync_meta", "_noema_sync_touch"]]);
    sedimenter.sedimentation(buildIntent(law, (s) => void s.put({ id: "a", owner: "ann", qty: 1 })));
    expect(woken.after(0, 10).map((r) => woken.view(r, "ann"))).toStrictEqual([[{ table: "items", op: "upsert", row: ["a", 1] }]]);
  });

  it("records each sediment's chain link, and a diff holds only visible columns and the subscriber's rows", () => {
    const { capture, sedimenter } = world();
    const seal = sedimenter.sedimentation(buildIntent(law, (s) => void s.put({ id: "a", owner: "ann", qty: 2 })));
    sedimenter.sedimentation(buildIntent(law, (s) => void s.hide({ id: "a", secret: "x" })));
    sedimenter.sedimentation(buildIntent(law, (s) => void s.move({ id: "a", owner: "bob" })));
    const [put, hide, move] = capture.after(0, 10);
    expect(seal.success && { sedimentId: seal.sedimentId, hash: seal.hash, prevHash: seal.prevHash }).toStrictEqual({ sedimentId: put!.sedimentId, hash: put!.hash, prevHash: put!.prevHash });
    expect(capture.view(put!, "ann")).toStrictEqual([{ table: "items", op: "upsert", row: ["a", 2] }]);
    expect(capture.view(put!, "bob")).toStrictEqual([]);
    // A write to a hidden column alone touches nothing published.
    expect(hide!.touched).toStrictEqual([]);
    // Moved out of ann's scope: a delete for her, an upsert for bob.
    expect(capture.view(move!, "ann")).toStrictEqual([{ table: "items", op: "delete", key: ["a"] }]);
    expect(capture.view(move!, "bob")).toStrictEqual([{ table: "items", op: "upsert", row: ["a", 2] }]);
    expect(capture.snapshot("bob")).toStrictEqual({ items: { columns: ["id", "qty"], key: ["id"], rows: [["a", 2]] }, notes: { columns: ["id", "body"], key: ["id"], rows: [] } });
  });

  it("captures an upsert of an existing row and several writes to one row in one Intent, refusing nothing", () => {
    const { capture, sedimenter } = world();
    const put = (qty: number) => ({ op: "put", args: { id: "a", owner: "ann", qty } });
    expect(sedimenter.sedimentation({ v: 1, steps: [put(1)] }).success).toBe(true);
    expect(sedimenter.sedimentation({ v: 1, steps: [put(2), put(3), { op: "move", args: { id: "a", owner: "bob" } }] }).success).toBe(true);
    const [, twice] = capture.after(0, 10);
    expect(capture.view(twice!, "ann")).toStrictEqual([{ table: "items", op: "delete", key: ["a"] }]);
    expect(capture.view(twice!, "bob")).toStrictEqual([{ table: "items", op: "upsert", row: ["a", 3] }]);
  });

  it("keeps the last SYNC_RETAINED sediments' records, and serves a cursor in them after a wake as it did from memory", () => {
    const { host, capture, sedimenter } = world();
    // Past the retained window, and not at a pruning step: the records begin at the last step's cut.
    const n = SYNC_RETAINED + 300;
    host.transaction(() => {
      for (let i = 1; i <= n; i++) sedimenter.sedimentation({ v: 1, steps: [{ op: "put", args: { id: `i${i % 50}`, owner: "ann", qty: i } }] });
    });
    const since = capture.since();
    expect(since).toBe(256 * Math.floor(n / 256) - SYNC_RETAINED);
    expect(host.db.exec("SELECT count(*) AS n FROM _noema_sync_touch", [])).toStrictEqual([{ n: n - since }]);
    const head = sedimenter.log.head();
    const recent = capture.after(n - 3, 10, head);
    const woken = new ChangeCapture(host.db, publication, (from, limit) => sedimenter.log.links(from, limit));
    woken.install(head.sedimentId, nomos.hash, true);
    expect(woken.after(n - 3, 10, head)).toStrictEqual(recent);
    expect(recent.map((r) => woken.view(r, "ann"))).toStrictEqual([n - 2, n - 1, n].map((qty) => [{ table: "items", op: "upsert", row: [`i${qty % 50}`, qty] }]));
    // The oldest kept, chained to the one before it; a cursor before them gets nothing (a snapshot).
    const [oldest] = woken.after(since, 1);
    expect([oldest!.sedimentId, oldest!.prevHash]).toStrictEqual([since + 1, sedimenter.log.links(since, 1)[0]!.hash]);
    expect(woken.after(since - 1, 10)).toStrictEqual([]);
  });

  it("serves from memory no record whose transaction rolled back", () => {
    const { host, capture, sedimenter } = world();
    const put = (id: string) => sedimenter.sedimentation(buildIntent(law, (s) => void s.put({ id, owner: "ann", qty: 1 })));
    put("a");
    const head = sedimenter.log.head();
    const lost = { sedimentId: head.sedimentId + 1, hash: "f".repeat(64), prevHash: head.hash };
    expect(() => host.transaction(() => (capture.record(lost), host.db.exec("SELECT no_such_column", [])))).toThrow();
    expect(capture.after(0, 10, head)).toStrictEqual(capture.after(0, 10));
    put("b");
    const both = capture.after(0, 10, sedimenter.log.head());
    expect(both).toStrictEqual(capture.after(0, 10));
    expect(both.map((r) => r.hash)).not.toContain(lost.hash);
  });

  it("a refused Intent records nothing", () => {
    const { capture, sedimenter } = world();
    const refused = sedimenter.sedimentation({ v: 1, steps: [{ op: "put", args: { id: "a", owner: "ann", qty: 1 } }, { op: "put", args: { id: "b", owner: "ann", qty: null } }] });
    expect(refused.success).toBe(false);
    expect(capture.after(0, 10)).toStrictEqual([]);
    expect(capture.snapshot("ann").items!.rows).toStrictEqual([]);
  });

  it("publishes nothing by default: no table, no trigger", () => {
    const { host } = world(definePublication(nomos, {}));
    expect(host.db.exec("SELECT name FROM sqlite_master WHERE name LIKE '_noema_sync%'", [])).toStrictEqual([]);
  });

  it("refuses a publication that hides the key, when it is defined", () => {
    expect(() => definePublication(nomos, { items: { columns: ["qty"] } })).toThrow(new PublicationDefinitionError('publication of "items" hides its primary-key column "id": subscribers need it to apply deletes'));
    // @ts-expect-error an unknown column does not compile
    expect(() => definePublication(nomos, { items: { columns: ["id", "price"] } })).toThrow(PublicationDefinitionError);
    // @ts-expect-error nor does an unknown table
    expect(() => definePublication(nomos, { orders: { columns: ["id"] } })).toThrow(PublicationDefinitionError);
  });
});
