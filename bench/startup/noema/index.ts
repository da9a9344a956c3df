// Startup bench, Noema side: what the create-noema template is (one Attractor, two operations,
// HTTP through Hono), written against today's API until the template exists. `npm run bench`
// bundles it with wrangler, reports its upload size and times a fresh isolate's first Intent.
import { Attractor } from "@noema/cloudflare";
import { buildIntent, defineNomos, defineVocabulary, integer, type Intent, operation, type Seal, text } from "@noema/core";
import { Hono } from "hono";
import { z } from "zod";

const counterNomos = defineNomos({
  name: "counter",
  version: 1,
  tables: {
    counters: {
      columns: {
        id: text().primaryKey(),
        value: integer().notNull().default(0).check("value >= 0", "a counter cannot go below zero"),
        updated_at: integer().notNull(),
      },
    },
  },
});

const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);
const counterOut = z.object({ id: z.string(), value: z.number() });

export const counters = defineVocabulary(counterNomos, {
  create: operation({
    description: "Creates a counter at zero.",
    args: z.object({ id: Id }),
    output: counterOut,
    statements: [{ sql: "INSERT INTO counters (id, value, updated_at) VALUES (?, 0, ?) RETURNING id, value", params: (a, c) => [a.id, c.now] }],
    result: (rows) => ({ id: String(rows[0]![0]!.id), value: Number(rows[0]![0]!.value) }),
  }),
  add: operation({
    description: "Adds a signed amount to a counter.",
    args: z.object({ id: Id, amount: z.number().int().min(-1_000_000).max(1_000_000) }),
    output: counterOut,
    statements: [
      {
        sql: "UPDATE counters SET value = value + ?, updated_at = ? WHERE id = ? RETURNING id, value",
        params: (a, c) => [a.amount, c.now, a.id],
        expect: { rows: 1, kind: "not_found", refusal: (a) => `counter ${a.id} does not exist` },
      },
    ],
    result: (rows) => ({ id: String(rows[0]![0]!.id), value: Number(rows[0]![0]!.value) }),
  }),
});

export class CounterAttractor extends Attractor<Env, typeof counters> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, counters);
  }
}

interface Env {
  COUNTER_ATTRACTOR: DurableObjectNamespace<CounterAttractor>;
}

/** Only the method the route calls: independent of how @noema/cloudflare types its stubs. */
type Sedimenting = { sedimentation(intent: Intent): Promise<Seal> };
const attractor = (env: Env, name: string) => env.COUNTER_ATTRACTOR.get(env.COUNTER_ATTRACTOR.idFromName(name)) as unknown as Sedimenting;

const app = new Hono<{ Bindings: Env }>();
app.post("/counters/:name/:id", async (c) => {
  const intent = buildIntent(counters, (s) => void s.create({ id: c.req.param("id") }));
  const seal = await attractor(c.env, c.req.param("name")).sedimentation(intent);
  return seal.success ? c.json({ counter: seal.outputs[0] }, 201) : c.json({ error: { code: "refused", message: seal.reason.message } }, 409);
});
app.post("/counters/:name/:id/add", async (c) => {
  const body = await c.req.json<{ amount: number }>();
  const intent = buildIntent(counters, (s) => void s.add({ id: c.req.param("id"), amount: body.amount }));
  const seal = await attractor(c.env, c.req.param("name")).sedimentation(intent);
  return seal.success ? c.json({ counter: seal.outputs[0] }) : c.json({ error: { code: "refused", message: seal.reason.message } }, 409);
});

export default app;
