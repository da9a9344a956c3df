// The reference app's live storefront (GET /store/#product=<id>&token=<subscriber token>&cart=<subject>):
// the stock of one product per location, live over @noema/client with SQLite in WebAssembly, and a
// Reserve button per location. Plain DOM, not React: react-dom is not a dependency of the repository yet.
import { NoemaClient, type Sent } from "@noema/client";
import { indexedDbQueue, openBrowserDatabase } from "@noema/client/browser";
import { buildIntent, columnsOf, sql } from "@noema/core";
import { inventoryLaw } from "../src/law.js";
import { inventoryNomosV3 } from "../src/nomos.js";

const hash = new URLSearchParams(location.hash.slice(1));
const product = hash.get("product") ?? "";
const token = hash.get("token") ?? "";
const cart = hash.get("cart") ?? undefined;

const $ = (id: string) => document.getElementById(id)!;
$("product").textContent = product;

const url = new URL(`/api/products/${encodeURIComponent(product)}/sync`, location.href);
url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
const client = await NoemaClient.connect({ url: url.href, token, law: inventoryLaw, database: await openBrowserDatabase(), queue: indexedDbQueue(`noema-store-${product}-${cart ?? ""}`) });

const stock = client.live(sql`SELECT ${columnsOf(inventoryNomosV3, "stock", "location_id", "quantity", "reserved")} FROM stock ORDER BY location_id`);

function render(rows: readonly { location_id: string; quantity: number; reserved: number }[]) {
  const body = $("stock");
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.location = r.location_id;
      const cell = (text: string | number, cls?: string) => {
        const td = document.createElement("td");
        td.textContent = String(text);
        if (cls) td.className = cls;
        return td;
      };
      const qty = document.createElement("input");
      Object.assign(qty, { type: "number", min: "1", value: "1" });
      qty.setAttribute("aria-label", `Quantity to reserve at ${r.location_id}`);
      const button = document.createElement("button");
      button.textContent = "Reserve";
      button.setAttribute("aria-label", `Reserve at ${r.location_id}`);
      button.onclick = () => void reserve(r.location_id, Number(qty.value));
      const action = document.createElement("td");
      action.append(qty, " ", button);
      tr.append(cell(r.location_id), cell(r.quantity, "n"), cell(r.reserved, "n"), cell(r.quantity - r.reserved, "n"), action);
      return tr;
    }),
  );
}

async function reserve(locationId: string, quantity: number) {
  $("refused").textContent = "";
  let sent: Sent;
  try {
    sent = await client.send(buildIntent(inventoryLaw.latest, (s) => void s.reserve({ locationId, quantity, ...(cart ? { orderId: cart } : {}) })));
  } catch (error) {
    $("refused").textContent = (error as Error).message;
    return;
  }
  $("last").dataset.prediction = sent.prediction.mode;
  $("last").dataset.why = sent.prediction.mode === "pending" ? sent.prediction.why : "";
  $("last").textContent = `Reserving ${quantity} at ${locationId} (${sent.prediction.mode})…`;
  sent.seal.then(
    (seal) => {
      $("last").textContent = seal.success ? `Reserved ${quantity} at ${locationId} (sediment ${seal.sedimentId}).` : "";
      if (!seal.success) $("refused").textContent = seal.reason.message;
    },
    (error: Error) => ($("refused").textContent = error.message),
  );
}

const status = () => {
  const s = client.state;
  $("status").textContent = s.error ? `closed: ${s.error.message}` : `${s.status}${s.pending ? `, ${s.pending} pending` : ""}`;
  document.body.dataset.status = s.status;
  $("law").textContent = s.behind ? "A newer version of this store is available: reload to update." : "";
  $("law").dataset.behind = String(s.behind);
};
// Sends queued before a reload settle here too (a refusal, or one refused locally by a newer law).
client.onSeal(({ seal }) => {
  if (!seal.success) $("refused").textContent = seal.reason.message;
});
client.subscribe(status);
status();
stock.subscribe(render);
render(stock.rows);
