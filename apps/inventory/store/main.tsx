// The reference app's live storefront (GET /store/#product=<id>&token=<subscriber token>&cart=<subject>):
// the stock of one product per location and the cart's own reservations, live over @noema/client
// with SQLite in WebAssembly, in React (@noema/client/react). A reservation shows at once (the
// client runs reserve on its replica: a row of the cart's own), and a refusal rolls it back with
// its reason.
import { NoemaClient } from "@noema/client";
import { indexedDbQueue, openBrowserDatabase } from "@noema/client/browser";
import { useClientState, useLiveQuery, useSend } from "@noema/client/react";
import { buildIntent, columnsOf, type Intent, sql } from "@noema/core";
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { inventoryLaw } from "../src/law.js";
import { inventoryNomosV3 } from "../src/nomos.js";
import { inventoryPublication } from "../src/publication.js";

type Law = typeof inventoryLaw;

const hash = new URLSearchParams(location.hash.slice(1));
const product = hash.get("product") ?? "";
const token = hash.get("token") ?? "";
const cart = hash.get("cart") ?? undefined;

const stockQuery = sql`SELECT ${columnsOf(inventoryNomosV3, "stock", "location_id", "quantity", "reserved")} FROM stock ORDER BY location_id`;
// The replica holds this cart's reservations only: the publication scopes them to its subject.
const reservationsQuery = sql`SELECT ${columnsOf(inventoryNomosV3, "reservations", "id", "location_id", "quantity")} FROM reservations WHERE status = 'active' ORDER BY expires_at, id`;

/** What the page last did: `#last` shows it, with how the send was shown (`data-prediction`). */
interface Last {
  text: string;
  prediction: "optimistic" | "pending";
  why: string;
}

function Store({ client }: { client: NoemaClient<Law> }) {
  const state = useClientState(client);
  const stock = useLiveQuery(client, stockQuery);
  const reservations = useLiveQuery(client, reservationsQuery);
  const { send } = useSend(client);
  const [last, setLast] = useState<Last>();
  const [refused, setRefused] = useState("");

  useEffect(() => {
    document.body.dataset.status = state.status;
  }, [state.status]);
  // Sends queued before a reload settle here too (a refusal, or one refused locally by a newer law).
  useEffect(
    () =>
      client.onSeal(({ seal }) => {
        if (!seal.success) setRefused(seal.reason.message);
      }),
    [client],
  );

  async function run(intent: Intent, doing: string, done: (sediment: number) => string) {
    setRefused("");
    try {
      const sent = await send(intent);
      const why = sent.prediction.mode === "pending" ? sent.prediction.why : "";
      setLast({ text: `${doing} (${sent.prediction.mode})…`, prediction: sent.prediction.mode, why });
      const seal = await sent.seal;
      if (seal.success) setLast({ text: done(seal.sedimentId), prediction: sent.prediction.mode, why });
      else {
        setLast({ text: `${doing}: refused${sent.prediction.mode === "optimistic" ? ", rolled back" : ""}.`, prediction: sent.prediction.mode, why });
        setRefused(seal.reason.message);
      }
    } catch (error) {
      setRefused((error as Error).message);
    }
  }

  const reserve = (locationId: string, quantity: number) =>
    run(
      // The reservation is named here, so the row shown at once is the one the server keeps (and can be cancelled before its Seal).
      buildIntent(inventoryLaw.latest, (s) => void s.reserve({ locationId, quantity, reservationId: crypto.randomUUID(), ...(cart ? { orderId: cart } : {}) })),
      `Reserving ${quantity} at ${locationId}`,
      (sediment) => `Reserved ${quantity} at ${locationId} (sediment ${sediment}).`,
    );
  const cancel = (r: { id: string; location_id: string; quantity: number }) =>
    run(
      buildIntent(inventoryLaw.latest, (s) => void s.cancelHold({ reservationId: r.id, locationId: r.location_id, quantity: r.quantity })),
      `Cancelling ${r.quantity} at ${r.location_id}`,
      (sediment) => `Cancelled ${r.quantity} at ${r.location_id} (sediment ${sediment}).`,
    );

  return (
    <>
      <p id="status">{state.error ? `closed: ${state.error.message}` : `${state.status}${state.pending ? `, ${state.pending} pending` : ""}`}</p>
      <p id="law" data-behind={String(state.behind)}>
        {state.behind ? "A newer version of this store is available: reload to update." : ""}
      </p>
      <table>
        <caption>Stock per location</caption>
        <thead>
          <tr>
            <th scope="col">Location</th>
            <th scope="col">In stock</th>
            <th scope="col">Reserved</th>
            <th scope="col">Available</th>
            <th scope="col">Reserve</th>
          </tr>
        </thead>
        <tbody id="stock">
          {stock.map((r) => (
            <StockRow key={r.location_id} row={r} onReserve={(quantity) => void reserve(r.location_id, quantity)} />
          ))}
        </tbody>
      </table>
      <p id="refused" role="alert">
        {refused}
      </p>
      <p id="last" data-prediction={last?.prediction} data-why={last?.why}>
        {last?.text}
      </p>
      <h2>Your reservations</h2>
      <ul id="reservations">
        {reservations.map((r) => (
          <li key={r.id} data-reservation={r.id}>
            {r.quantity} at {r.location_id}{" "}
            <button type="button" aria-label={`Cancel ${r.id}`} onClick={() => void cancel(r)}>
              Cancel
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

function StockRow({ row, onReserve }: { row: { location_id: string; quantity: number; reserved: number }; onReserve: (quantity: number) => void }) {
  const [quantity, setQuantity] = useState("1");
  return (
    <tr data-location={row.location_id}>
      <td>{row.location_id}</td>
      <td className="n">{row.quantity}</td>
      <td className="n">{row.reserved}</td>
      <td className="n">{row.quantity - row.reserved}</td>
      <td>
        <input type="number" min="1" value={quantity} aria-label={`Quantity to reserve at ${row.location_id}`} onChange={(e) => setQuantity(e.target.value)} />{" "}
        <button type="button" aria-label={`Reserve at ${row.location_id}`} onClick={() => onReserve(Number(quantity))}>
          Reserve
        </button>
      </td>
    </tr>
  );
}

document.getElementById("product")!.textContent = product;
const url = new URL(`/api/products/${encodeURIComponent(product)}/sync`, location.href);
url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
const client = await NoemaClient.connect({
  url: url.href,
  token,
  law: inventoryLaw,
  database: await openBrowserDatabase(),
  queue: indexedDbQueue(`noema-store-${product}-${cart ?? ""}`),
  publication: inventoryPublication,
  // The token's subject is the cart: a reservation of its own is applied at once.
  ...(cart ? { subject: cart } : {}),
});
createRoot(document.getElementById("app")!).render(<Store client={client} />);
