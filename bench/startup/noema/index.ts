// Startup bench, Noema side: the create-noema template's counter (one Attractor, `add` and `take`,
// HTTP through Hono), written against the API before the packaging work; point BENCH_STARTUP_NOEMA
// at a scaffolded template to measure that instead (same routes, so the same requests). `npm run bench`
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
      },
    },
  },
});

const Id = z.string().regex(/^[a-z0-9-]{1,32}$/, "must be 1–32 characters of a–z, 0–9 or '-'");
const Amount = z.number().int().min(1).max(1_000_000);
const counterOut = z.object({ id: z.string(), value: z.number() });

export const counters = defineVocabulary(counterNomos, {
  add: operation({
    description: "Adds an amount to a counter, creating it at zero first.",
    args: z.object({ id: Id, amount: Amount }),
    output: counterOut,
    statements: [
      {
        sql: "INSERT INTO counters (id, value) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING id, value",
        params: (a) => [a.id, a.amount],
      },
    ],
    result: (rows) => ({ id: String(rows[0]![0]!.id), value: Number(rows[0]![0]!.value) }),
  }),
  take: operation({
    description: "Takes an amount from a counter; refused when the counter would go below zero.",
    args: z.object({ id: Id, amount: Amount }),
    output: counterOut,
    statements: [
      {
        sql: "UPDATE counters SET value = value - ? WHERE id = ? RETURNING id, value",
        params: (a) => [a.amount, a.id],
        expect: { rows: 1, kind: "not_found", refusal: (a) => `there is no counter ${a.id}` },
      },
    ],
    result: (rows) => ({ id: String(rows[0]![0]!.id), value: Number(rows[0]![0]!.value) }),
  }),
});

export class CounterAttractor extends Attractor<Env, typeof counters> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, counters);
  }

  value(id: string): number {
    const row = this.query("SELECT value FROM counters WHERE id = ?", id)[0];
    return row ? Number(row.value) : 0;
  }
}

interface Env {
  COUNTER: DurableObjectNamespace<CounterAttractor>;
}

/** Only the method the route calls: independent of how @noema/cloudflare types its stubs. */
type Sedimenting = { sedimentation(intent: Intent): Promise<Seal>; value(id: string): Promise<number> };
const attractor = (env: Env, name: string) => env.COUNTER.get(env.COUNTER.idFromName(name)) as unknown as Sedimenting;

const app = new Hono<{ Bindings: Env }>();
app.get("/counters/:id", async (c) => {
  const id = c.req.param("id");
  return c.json({ id, value: await attractor(c.env, id).value(id) });
});
// One Attractor per counter, as the template routes it.
for (const op of ["add", "take"] as const) {
  app.post(`/counters/:id/${op}`, async (c) => {
    const id = c.req.param("id");
    const { amount } = await c.req.json<{ amount: number }>();
    const intent = buildIntent(counters, (s) => void s[op]({ id, amount }));
    const seal = await attractor(c.env, id).sedimentation(intent);
    return seal.success ? c.json(seal.outputs[0]) : c.json({ error: { code: "refused", message: seal.reason.message }, seal }, 409);
  });
}

export default app;
