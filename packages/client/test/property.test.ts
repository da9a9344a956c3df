import { buildIntent, type Intent } from "@noema/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inventoryLaw } from "../../../apps/inventory/src/law.js";
import { NoemaClient, type ReplicaDatabase } from "../src/index.js";
import { openNodeDatabase } from "../src/node.js";
import { TestSyncServer, type Visibility } from "./server.js";

const law = inventoryLaw.latest;
const VISIBLE: Visibility = {
  stock: ["location_id", "quantity", "reserved", "updated_at"],
  reservations: ["id", "location_id", "quantity", "status", "order_id", "created_at", "expires_at", "closed_at", "channel"],
};
const LOCATIONS = ["berlin", "paris"] as const;
const CLIENTS = 3;

/** What one step of a run does: a client sends (some of them refused), drops or restores its link, or another writer sediments. */
type Command =
  | { kind: "reserve"; client: number; location: number; quantity: number }
  | { kind: "release"; client: number; nth: number }
  | { kind: "setStock"; client: number; location: number; quantity: number }
  | { kind: "drop" | "restore"; client: number }
  | { kind: "server"; location: number; quantity: number }
  | { kind: "settle" };

const client = fc.integer({ min: 0, max: CLIENTS - 1 });
const location = fc.integer({ min: 0, max: LOCATIONS.length - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant("reserve" as const), client, location, quantity: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("release" as const), client, nth: fc.nat(5) }),
  fc.record({ kind: fc.constant("setStock" as const), client, location, quantity: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constantFrom("drop" as const, "restore" as const), client }),
  fc.record({ kind: fc.constant("server" as const), location, quantity: fc.integer({ min: 0, max: 6 }) }),
  fc.constant({ kind: "settle" as const }),
);

function tables(db: ReplicaDatabase, server: TestSyncServer) {
  return Object.fromEntries(
    Object.entries(server.published()).map(([table, t]) => [
      table,
      db.exec(`SELECT * FROM "${table}" ORDER BY ${t.key.map((k) => `"${k}"`).join(", ")}`, []).map((r) => t.columns.map((c) => r[c])),
    ]),
  );
}

describe("several clients", () => {
  it("end with every replica equal to the server's published state, each send applied at most once, after any interleaving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 25 }), fc.boolean(), async (commands, diffFirst) => {
        const server = new TestSyncServer(inventoryLaw, VISIBLE, { diffFirst });
        server.sediment(buildIntent(law, (s) => void s.setStock({ locationId: "berlin", quantity: 5 })));
        const links = Array.from({ length: CLIENTS }, () => server.link());
        const dbs = links.map(() => openNodeDatabase());
        const clients = await Promise.all(links.map((link, i) => NoemaClient.connect({ url: "ws://test/w/sync", law: inventoryLaw, database: dbs[i]!, socket: link.socket, reconnectMs: 1, maxReconnectMs: 4 })));
        const sent: { key: string; seal: Promise<unknown> }[] = [];
        let writes = 0;
        try {
          await server.settle();
          for (const c of commands) {
            let intent: Intent | undefined;
            if (c.kind === "reserve") intent = buildIntent(law, (s) => void s.reserve({ locationId: LOCATIONS[c.location]!, quantity: c.quantity }));
            if (c.kind === "setStock") intent = buildIntent(law, (s) => void s.setStock({ locationId: LOCATIONS[c.location]!, quantity: c.quantity }));
            if (c.kind === "release") {
              // A reservation this client sees, or one that does not exist (refused: not found).
              const ids = dbs[c.client]!.exec("SELECT id FROM reservations WHERE status = 'active' ORDER BY id", []).map((r) => String(r.id));
              intent = buildIntent(law, (s) => void s.release({ reservationId: ids[c.nth] ?? "r-none" }));
            }
            if (intent && "client" in c) sent.push(await clients[c.client]!.send(intent));
            if (c.kind === "drop") {
              links[c.client]!.up = false;
              links[c.client]!.drop();
            }
            if (c.kind === "restore") links[c.client]!.up = true;
            if (c.kind === "server") writes += +server.sediment(buildIntent(law, (s) => void s.setStock({ locationId: LOCATIONS[c.location]!, quantity: c.quantity }))).success;
            if (c.kind === "settle") await server.settle();
          }
          for (const link of links) link.up = true;
          // Every send gets its Seal once every client is back.
          await Promise.all(sent.map((s) => s.seal));
          await new Promise((r) => setTimeout(r, 10));
          await server.settle();
          const published = Object.fromEntries(Object.entries(server.published()).map(([t, v]) => [t, v.rows]));
          for (const [i, c] of clients.entries()) {
            expect(c.state.pending).toBe(0);
            expect(tables(dbs[i]!, server)).toStrictEqual(published);
          }
          // Exactly once: one sediment per key at most, and the log holds nothing else but the server's own writes.
          const sealed = sent.filter((s) => server.sedimenter.log.byIdempotencyKey(s.key));
          expect(server.sedimenter.lastSedimentId).toBe(1 + writes + sealed.length);
        } finally {
          for (const c of clients) c.close();
          for (const db of dbs) db.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
