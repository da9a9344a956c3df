// Optimistic apply time per Intent on the inventory law, in Node: `node packages/client/scripts/apply.mjs`.
// One client takes a snapshot from the test server (a real Sedimenter), goes offline, then sends
// reserve Intents one by one: each is checked (its Sieve), queued and applied on the replica
// with the law's Interpretation. Prints the median and p99 of `await client.send(intent)`.
import { buildIntent, sql } from "@noema/core";
import { inventoryLaw } from "../../../apps/inventory/src/law.js";
import { NoemaClient } from "../src/index.js";
import { openNodeDatabase } from "../src/node.js";
import { TestSyncServer } from "../test/server.js";

const law = inventoryLaw.latest;
const RUNS = 2000;
const server = new TestSyncServer(inventoryLaw, {
  stock: ["location_id", "quantity", "reserved", "updated_at"],
  reservations: ["id", "location_id", "quantity", "status", "order_id", "created_at", "expires_at", "closed_at", "channel"],
});
server.sediment(buildIntent(law, (s) => void s.setStock({ locationId: "berlin", quantity: 1_000_000 })));
const link = server.link();
const client = await NoemaClient.connect({ url: "ws://bench/w/sync", law: inventoryLaw, database: openNodeDatabase(), socket: link.socket });
await server.settle();
link.up = false;
link.drop();
await server.settle();
const times: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const intent = buildIntent(law, (s) => void s.reserve({ locationId: "berlin", quantity: 1 }));
  const t0 = performance.now();
  const sent = await client.send(intent);
  times.push(performance.now() - t0);
  if (sent.prediction.mode !== "optimistic") throw new Error("expected an optimistic send");
}
const reserved = client.query(sql`SELECT reserved FROM stock WHERE location_id = 'berlin'`)[0];
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(3);
console.log(`optimistic apply, inventory reserve, ${RUNS} sends, Node ${process.version}: median ${at(0.5)} ms, p99 ${at(0.99)} ms (replica shows ${JSON.stringify(reserved)})`);
client.close();

