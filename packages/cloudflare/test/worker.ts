// The ledger example Worker, the generic HTTP routes for its Attractor under /api, and
// Attractor classes only the alarm tests use.
import { attractorRoutes, bearerAuth, handleErrors } from "@noema/cloudflare/http";
import { Hono } from "hono";
import ledgerWorker, { type Env as LedgerEnv } from "./ledger/worker.js";
import { ledger } from "./ledger/vocabulary.js";

export { LedgerAttractor } from "./ledger/worker.js";
export { ChoreAttractor } from "./alarm/attractors.js";
export { AgedArchiveAttractor, ArchiveAttractor } from "./archive/attractors.js";

type App = { Bindings: LedgerEnv & { LEDGER_TOKEN?: string; LEDGER_READ_TOKENS?: string; UNSET_TOKEN?: string } };

const app = new Hono<App>();
app.route("/api", attractorRoutes<App>({ namespace: (env) => env.LEDGER_ATTRACTOR, law: ledger, path: "/ledgers/:name", auth: bearerAuth({ secret: "LEDGER_TOKEN", readSecret: "LEDGER_READ_TOKENS" }) }));
// A token binding the Worker does not have.
app.route("/unset", attractorRoutes<App>({ namespace: (env) => env.LEDGER_ATTRACTOR, law: ledger, auth: bearerAuth({ secret: "UNSET_TOKEN" }) }));
// Everything else is the plain example Worker.
app.post("/:name", (c) => ledgerWorker.fetch(c.req.raw as Parameters<typeof ledgerWorker.fetch>[0], c.env));

export default handleErrors(app);
