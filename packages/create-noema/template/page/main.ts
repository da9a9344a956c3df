// The counter page (GET /#<counter id>, default apples): the counter's value, live over @noema/client
// with SQLite in WebAssembly, and a button that adds one at once (optimistic), then settles on the Seal.
import { NoemaClient, params } from "@noema/client";
import { indexedDbQueue, openBrowserDatabase } from "@noema/client/browser";
import { buildIntent, sql } from "@noema/core";
import { COUNTER, counterLaw, counterPublication } from "../src/law.js";

// Counter ids are a–z, 0–9 and "-" (the law says so), so nothing to decode; adding to a bad one
// is refused by the law's argument check, with its message on screen.
const id = location.hash.slice(1) || "apples";
const $ = (selector: string) => document.querySelector<HTMLElement>(selector)!;
$("#counter").textContent = id;

// The Worker mounts the sync route with Noema's generic routes: /api/<id>/sync.
const url = new URL(`/api/${encodeURIComponent(id)}/sync`, location.href);
url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
const client = await NoemaClient.connect({
  url: url.href,
  // The counter's authorize (src/attractor.ts) lets anyone in; a real app passes its user's token.
  token: "visitor",
  law: counterLaw,
  publication: counterPublication,
  database: await openBrowserDatabase(),
  // Adds made offline wait here, across reloads, and are sent when the page is back online.
  queue: indexedDbQueue(`counter-${id}`),
});

const p = params<{ id: string }>();
const counter = client.live(sql`SELECT ${COUNTER} FROM counters WHERE id = ${p.id}`, { id });
const render = () => ($("#count").textContent = String(counter.rows[0]?.value ?? 0));
counter.subscribe(render);
render();

const status = () => {
  const s = client.state;
  $("#status").textContent = s.error ? `closed: ${s.error.message}` : `${s.status}${s.pending ? `, ${s.pending} pending` : ""}`;
  document.body.setAttribute("data-status", s.status);
};
client.subscribe(status);
status();

$("#add").onclick = async () => {
  $("#refused").textContent = "";
  try {
    // Applied on the local replica at once; the server's Seal confirms it, or a refusal rolls it back with its reason.
    const sent = await client.send(buildIntent(counterLaw, (s) => void s.add({ id, amount: 1 })));
    const seal = await sent.seal;
    if (!seal.success) $("#refused").textContent = seal.reason.message;
  } catch (error) {
    $("#refused").textContent = (error as Error).message;
  }
};
