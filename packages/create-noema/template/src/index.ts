import { buildIntent, IntentValidationError, type Seal } from "@noema/core";
import { Hono } from "hono";
import { counterLaw } from "./law.js";

// Durable Object classes must be exported from the Worker's main module.
export { CounterAttractor } from "./attractor.js";

const app = new Hono<{ Bindings: Env }>();

/** 200 with the Seal when the Intent committed, 409 with it when the law refused it. */
const sealed = (seal: Seal) => Response.json(seal, { status: seal.success ? 200 : 409 });

app.get("/", (c) => c.text("POST /counters/<id>/add or /take with {\"amount\": n}; GET /counters/<id>\n"));

app.get("/counters/:id", async (c) => {
  const id = c.req.param("id");
  return c.json({ id, value: await c.env.COUNTER.getByName(id).value(id) });
});

for (const op of ["add", "take"] as const) {
  app.post(`/counters/:id/${op}`, async (c) => {
    const id = c.req.param("id");
    const body: unknown = await c.req.json().catch(() => null);
    const amount = typeof body === "object" && body !== null && "amount" in body ? body.amount : undefined;
    try {
      // buildIntent checks the arguments against the law before anything crosses the wire.
      const intent = buildIntent(counterLaw, (s) => void s[op]({ id, amount: amount as number }));
      return sealed(await c.env.COUNTER.getByName(id).sedimentation(intent));
    } catch (error) {
      if (error instanceof IntentValidationError) return c.json({ error: { code: "invalid_intent", message: error.message, issues: error.issues } }, 400);
      throw error;
    }
  });
}

export default app;
