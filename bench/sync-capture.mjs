// The cost of sync's change capture per sediment, on node:sqlite (the core's SQL, not workerd's
// storage): the same Intents sedimented with nothing published, with another table published (the
// written table carries no trigger), and with the written table published. `node bench/sync-capture.mjs`
// after `npm run build`; prints the median of 7 interleaved rounds of N sediments each, in µs per sediment,
// and the bytes recorded per sediment.
// The law below has no generated footprints: read its SQL with the parser.
import "@noema/core/sql";
import { defineNomos, defineVocabulary, definePublication, integer, Lineage, operation, sql, text } from "@noema/core";
import { applyLineage, ChangeCapture, Sedimenter } from "@noema/core/runtime";
import { performance } from "node:perf_hooks";
import * as z from "zod";
import { openSqliteHost } from "../packages/cli/dist/check/host.js";

const N = 2000;
const nomos = defineNomos({
  name: "bench",
  version: 1,
  tables: {
    stock: { columns: { id: text().primaryKey(), owner: text().notNull(), qty: integer().notNull(), at: integer().notNull() } },
    other: { columns: { id: text().primaryKey(), v: integer() } },
  },
});
const law = defineVocabulary(nomos, {
  put: operation({
    description: "upserts a row",
    args: z.object({ id: z.string(), owner: z.string(), qty: z.number().int() }),
    output: z.object({}),
    statements: ({ arg, ctx }) => ({ put: sql`INSERT INTO stock (id, owner, qty, at) VALUES (${arg.id}, ${arg.owner}, ${arg.qty}, ${ctx.now}) ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, at = excluded.at` }),
    result: () => ({}),
  }),
});

const cases = {
  "nothing published": definePublication(nomos, {}),
  "another table published": definePublication(nomos, { other: { columns: ["id", "v"] } }),
  "written table published, scoped": definePublication(nomos, { stock: { columns: ["id", "qty"], scope: "owner" } }),
};
/** The same publication with nobody subscribed: capture paused. */
const PAUSED = "written table published, nobody subscribed";
cases[PAUSED] = cases["written table published, scoped"];

function round(publication, subscribed) {
  const host = openSqliteHost();
  const h = { ...host, now: () => 1 };
  applyLineage(h, Lineage.of(law), 1);
  const capture = new ChangeCapture(host.db, publication, (from, limit) => s.log.links(from, limit));
  capture.install(0, nomos.hash, subscribed);
  const s = new Sedimenter(law, h, { attractor: "B", name: "b", nomosVersion: 1, nomosHash: nomos.hash }, capture.active ? { sealingRead: (id) => capture.sealingRead(id), onSealing: (x, read) => capture.record(x, read) } : {});
  const start = performance.now();
  for (let i = 0; i < N; i++) s.sediment({ v: 1, steps: [{ op: "put", args: { id: `r${i % 1000}`, owner: `o${i % 7}`, qty: i } }] });
  const us = ((performance.now() - start) * 1000) / N;
  if (s.lastSedimentId !== N) throw new Error(`only ${s.lastSedimentId} of ${N} sealed`);
  // Each touch's text and about 12 bytes of id and record header.
  const bytes = capture.recording ? Number(host.db.exec("SELECT SUM(LENGTH(touch) + 12) AS b FROM _noema_sync_touch", [])[0].b) / N : 0;
  host.close();
  return { us, bytes };
}

const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const entries = Object.entries(cases);
for (const [name, publication] of entries) round(publication, name !== PAUSED); // warm-up
// Interleaved, so a busy machine slows every case alike.
const runs = new Map(entries.map(([name]) => [name, []]));
for (let r = 0; r < 7; r++) for (const [name, publication] of entries) runs.get(name).push(round(publication, name !== PAUSED));
for (const [name, rs] of runs) {
  console.log(`${name.padEnd(34)} ${median(rs.map((r) => r.us)).toFixed(1).padStart(7)} µs/sediment  ${median(rs.map((r) => r.bytes)).toFixed(0).padStart(4)} B recorded/sediment`);
}
