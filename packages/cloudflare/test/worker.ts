// The test laws carry no generated footprints: read their SQL with the parser, as the CLI does.
import "@noema/core/sql";
// The ledger example Worker, the generic HTTP routes for its Attractor under /api, and
// Attractor classes only the alarm tests use.
import { attractorRoutes, tokenAuth, handleErrors } from "@noema/cloudflare/http";
import { Hono } from "hono";
import * as z from "zod";
import ledgerWorker, { type Env as LedgerEnv } from "./ledger/worker.js";
import type { SendingLedger } from "./messages/attractors.js";
import { ledger } from "./ledger/vocabulary.js";

export { LedgerAttractor } from "./ledger/worker.js";
export { ChoreAttractor, StartChoreAttractor } from "./alarm/attractors.js";
export { AgedArchiveAttractor, ArchiveAttractor } from "./archive/attractors.js";
import type { ArchiveAttractor } from "./archive/attractors.js";
export { ImmediateLedger, SendingLedger } from "./messages/attractors.js";
export { KitAttractor } from "./testing/law.js";
export { SyncLedger } from "./sync/attractors.js";
import type { SyncLedger } from "./sync/attractors.js";

type App = { Bindings: LedgerEnv & { ARCHIVE_ATTRACTOR: DurableObjectNamespace<ArchiveAttractor>; SENDING_LEDGER: DurableObjectNamespace<SendingLedger>; SYNC_LEDGER: DurableObjectNamespace<SyncLedger>; LEDGER_TOKEN?: string; LEDGER_READ_TOKENS?: string; UNSET_TOKEN?: string } };

const app = new Hono<App>();
app.route("/api", attractorRoutes<App>({ namespace: (env) => env.LEDGER_ATTRACTOR, law: ledger, path: "/ledgers/:name", auth: tokenAuth({ secret: "LEDGER_TOKEN", readSecret: "LEDGER_READ_TOKENS" }) }));
// Ledgers that send messages, with no auth: the outbox and receipts routes.
app.route("/senders", attractorRoutes<App>({ namespace: (env) => env.SENDING_LEDGER, law: ledger }));
// A token binding the Worker does not have.
app.route("/unset", attractorRoutes<App>({ namespace: (env) => env.LEDGER_ATTRACTOR, law: ledger, auth: tokenAuth({ secret: "UNSET_TOKEN" }) }));
// A ledger archived to R2 in segments of five (archive tests under `wrangler dev`, test-dev/), and what it has archived.
app.route("/archived", attractorRoutes<App>({ namespace: (env) => env.ARCHIVE_ATTRACTOR, law: ledger, path: "/ledgers/:name", auth: tokenAuth({ secret: "LEDGER_TOKEN" }) }));
app.get("/archived/ledgers/:name/archive", async (c) => {
  const stub = c.env.ARCHIVE_ATTRACTOR.getByName(c.req.param("name"));
  return c.json({ segments: await stub.archiveSegments(), liveRows: await stub.liveRows(), deep: await stub.verify({ deep: true }) });
});
// Ledgers published to sync subscribers; the bearer auth of the other routes does not stand in front of /sync.
app.route("/synced", attractorRoutes<App>({ namespace: (env) => env.SYNC_LEDGER, law: ledger, path: "/ledgers/:name", name: z.string().regex(/^[a-z]+$/), auth: tokenAuth({ secret: "LEDGER_TOKEN" }) }));
// Everything else is the plain example Worker.
app.post("/:name", (c) => ledgerWorker.fetch(c.req.raw as Parameters<typeof ledgerWorker.fetch>[0], c.env));

export default handleErrors(app);
