// The ledger example Worker, the generic HTTP routes for its Attractor under /api, and
// Attractor classes only the alarm tests use.
import { attractorRoutes, bearerAuth, handleErrors } from "@noema/cloudflare/http";
import { Hono } from "hono";
import ledgerWorker, { type Env as LedgerEnv } from "./ledger/worker.js";
import type { SendingLedger } from "./messages/attractors.js";
import { ledger } from "./ledger/vocabulary.js";

export { LedgerAttractor } from "./ledger/worker.js";
export { ChoreAttractor } from "./alarm/attractors.js";
export { SendingLedger } from "./messages/attractors.js";

type App = { Bindings: LedgerEnv & { SENDING_LEDGER: DurableObjectNamespace<SendingLedger> } & { LEDGER_TOKEN?: string; LEDGER_READ_TOKENS?: string; UNSET_TOKEN?: string } };

const app = new Hono<App>();
app.route("/api", attractorRoutes<App>({ namespace: (env) => env.LEDGER_ATTRACTOR, law: ledger, path: "/ledgers/:name", auth: bearerAuth({ secret: "LEDGER_TOKEN", readSecret: "LEDGER_READ_TOKENS" }) }));
// Ledgers that send messages, with no auth: the outbox and receipts routes.
app.route("/senders", attractorRoutes<App>({ namespace: (env) => env.SENDING_LEDGER, law: ledger }));
// A token binding the Worker does not have.
app.route("/unset", attractorRoutes<App>({ namespace: (env) => env.LEDGER_ATTRACTOR, law: ledger, auth: bearerAuth({ secret: "UNSET_TOKEN" }) }));
// Everything else is the plain example Worker.
app.post("/:name", (c) => ledgerWorker.fetch(c.req.raw as Parameters<typeof ledgerWorker.fetch>[0], c.env));

export default handleErrors(app);
