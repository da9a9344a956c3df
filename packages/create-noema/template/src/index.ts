import { buildIntent } from "@noema/core";
import { attractorRoutes, tokenAuth, handleErrors, parseInput, readJson, sealResponse } from "@noema/cloudflare/http";
// hono/tiny: its router builds nothing on an isolate's first request; Hono's default compiles every route then, milliseconds of each cold start.
import { Hono } from "hono/tiny";
import * as z from "zod/mini";
import { counterLaw } from "./law.js";

// Durable Object classes must be exported from the Worker's main module.
export { CounterAttractor } from "./attractor.js";

type App = { Bindings: Env };
const app = new Hono<App>();

app.get("/", (c) => c.text('POST /counters/<id>/add or /take with {"amount": n}; GET /counters/<id>\n'));

app.get("/counters/:id", async (c) => {
  const id = c.req.param("id");
  return c.json({ id, value: await c.env.COUNTER.getByName(id).value(id) });
});

const Amount = z.strictObject({ amount: z.number() });

// One Attractor per counter. buildIntent checks the arguments against the law before anything
// crosses to the Durable Object; a bad argument answers 400, a refusal 409, with the Seal.
for (const op of ["add", "take"] as const) {
  app.post(`/counters/:id/${op}`, async (c) => {
    const id = c.req.param("id");
    const { amount } = parseInput(Amount, await readJson(c));
    const intent = buildIntent(counterLaw, (s) => void s[op]({ id, amount }));
    const seal = await c.env.COUNTER.getByName(id).sedimentation(intent);
    return sealResponse(c, seal, (ok) => c.json(ok));
  });
}

// Noema's generic routes for every counter (intents, explain, sediments, verify, precedents,
// nomos, cryostasis), behind a bearer token: `wrangler secret put NOEMA_API_TOKEN`, .dev.vars locally.
app.route(
  "/api",
  attractorRoutes<App>({ namespace: (env) => env.COUNTER, law: counterLaw, auth: tokenAuth({ secret: "NOEMA_API_TOKEN" }) }),
);

export default handleErrors(app);
