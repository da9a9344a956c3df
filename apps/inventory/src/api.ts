import { buildIntent, type Connection, explain, IntentValidationError, type Issue, type ReasonKind, type Seal } from "@noema/core";
import { operationHash, zodIssues } from "@noema/core/runtime";
import { world } from "@noema/cloudflare";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { Env } from "./env.js";
import { inventoryLaw } from "./law.js";
import { Id, inventory } from "./vocabulary.js";

/** Largest request body accepted; an Intent may not exceed the core's 64 KiB either. */
export const MAX_BODY_BYTES = 64 * 1024;

type App = { Bindings: Env };
type Ctx = Context<App>;

function error(c: Ctx, status: ContentfulStatusCode, code: string, message: string, extra: { issues?: Issue[]; seal?: Seal } = {}) {
  const { seal, issues } = extra;
  return c.json({ error: { code, message, ...(issues ? { issues } : {}) }, ...(seal ? { seal } : {}) }, status);
}

function invalid(c: Ctx, issues: Issue[]) {
  const first = issues[0];
  const message = first ? `${first.path || "body"}: ${first.message}` : "invalid input";
  return error(c, 400, "invalid_input", message, { issues });
}

class BadInput extends Error {
  constructor(readonly issues: Issue[]) {
    super("invalid input");
  }
}

async function jsonBody(c: Ctx): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadInput([{ path: "", message: "body must be valid JSON" }]);
  }
}

function check<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new BadInput(zodIssues(r.error, prefix ? [prefix] : []));
  return r.data;
}

const ops = inventory.operations;

/** A Seal as an HTTP response: success with `ok`, refusals as 404 or 409 carrying the Seal. */
function sealed(c: Ctx, seal: Seal, ok: (seal: Extract<Seal, { success: true }>) => Response) {
  if (seal.success) return ok(seal);
  const { reason } = seal;
  if (reason.kind === "not_found") return error(c, 404, "not_found", reason.message, { seal });
  if (reason.kind === "validation") return error(c, 400, "invalid_input", reason.message, { seal, ...(reason.issues ? { issues: reason.issues } : {}) });
  return error(c, 409, "refused", reason.message, { seal });
}

function product(c: Ctx) {
  const productId = check(Id, c.req.param("productId"), "productId");
  return world(c.env.INVENTORY_ATTRACTOR, productId);
}

async function tokenMatches(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(given)),
    crypto.subtle.digest("SHA-256", enc.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

export const app = new Hono<App>();

app.get("/health", (c) => c.json({ ok: true }));

app.use("/api/*", async (c, next) => {
  const expected = c.env.NOEMA_API_TOKEN;
  if (!expected) return error(c, 503, "not_configured", "NOEMA_API_TOKEN is not set on this Worker");
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer (.+)$/.exec(header);
  if (!match || !(await tokenMatches(match[1]!, expected))) {
    return error(c, 401, "unauthorized", "send Authorization: Bearer <NOEMA_API_TOKEN>");
  }
  await next();
});

app.use(
  "/api/*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => error(c as Ctx, 413, "payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`),
  }),
);

app.put("/api/products/:productId/stock/:locationId", async (c) => {
  const w = product(c);
  const locationId = check(Id, c.req.param("locationId"), "locationId");
  const body = check(ops.setStock.args.pick({ quantity: true }).strict(), await jsonBody(c));
  const intent = buildIntent(inventory, (s) => void s.setStock({ locationId, quantity: body.quantity }));
  return sealed(c, await w.sediment(intent), (seal) => c.json({ seal, stock: seal.outputs[0] }));
});

app.post("/api/products/:productId/adjustments", async (c) => {
  const w = product(c);
  const body = check(ops.adjust.args.strict(), await jsonBody(c));
  const intent = buildIntent(inventory, (s) => void s.adjust(body));
  return sealed(c, await w.sediment(intent), (seal) => c.json({ seal, stock: seal.outputs[0] }));
});

app.post("/api/products/:productId/reservations", async (c) => {
  const w = product(c);
  const body = check(ops.reserve.args.strict(), await jsonBody(c));
  // One atomic Intent: the reservation and its own release, frozen until it expires.
  const intent = buildIntent(inventory, (s) => {
    const r = s.reserve(body);
    s.$freeze({ at: r.expiresAt, key: r.reservationId }, (frozen) => frozen.release({ reservationId: r.reservationId }));
  });
  return sealed(c, await w.sediment(intent), (seal) => {
    const r = seal.outputs[0] as { reservationId: string; locationId: string; quantity: number; expiresAt: number; orderId: string | null; channel: string };
    const reservation = {
      id: r.reservationId,
      locationId: r.locationId,
      quantity: r.quantity,
      expiresAt: r.expiresAt,
      ...(r.orderId === null ? {} : { orderId: r.orderId }),
      channel: r.channel,
    };
    return c.json({ reservation, seal }, 201);
  });
});

/** Releases or commits a reservation and cancels its frozen release, in one Intent. */
const closeReservation = (op: "release" | "commit") => async (c: Ctx) => {
  const w = product(c);
  const reservationId = check(Id, c.req.param("reservationId"), "reservationId");
  const intent = buildIntent(inventory, (s) => {
    s[op]({ reservationId });
    s.$cancel({ key: reservationId });
  });
  return sealed(c, await w.sediment(intent), (seal) => c.json({ seal, stock: seal.outputs[0] }));
};

app.delete("/api/products/:productId/reservations/:reservationId", closeReservation("release"));
app.post("/api/products/:productId/reservations/:reservationId/commit", closeReservation("commit"));

app.get("/api/products/:productId", async (c) => {
  const w = product(c);
  const snapshot = await w.rpc.snapshot();
  if (!snapshot) return error(c, 404, "not_found", `product ${w.name} was never stocked`);
  return c.json({ productId: w.name, ...snapshot });
});

const pageQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

app.get("/api/products/:productId/sediments", async (c) => {
  const w = product(c);
  const q = check(pageQuery, c.req.query());
  return c.json(await w.rpc.sediments(q.after, q.limit));
});

app.get("/api/products/:productId/verify", async (c) => {
  const w = product(c);
  const v = await w.rpc.verify();
  return c.json(v.ok ? { ok: true, length: v.length, head: v.head } : { ok: false, brokenAt: v.brokenAt });
});

// A record rather than a list, so the compiler says when the core adds a kind this filter lacks.
const reasonKinds: Record<ReasonKind, true> = {
  validation: true,
  expectation: true,
  not_found: true,
  constraint: true,
  invariant: true,
  nomos: true,
  connection: true,
  cryostasis: true,
  idempotency: true,
};

const precedentQuery = pageQuery.extend({
  kind: z.enum(Object.keys(reasonKinds) as [ReasonKind, ...ReasonKind[]]).optional(),
  nomosVersion: z.coerce.number().int().min(1).optional(),
});

app.get("/api/products/:productId/precedents", async (c) => {
  const w = product(c);
  const q = check(precedentQuery, c.req.query());
  return c.json({ precedents: await w.rpc.precedents(q) });
});

app.post("/api/products/:productId/intents", async (c) => {
  const w = product(c);
  // Checked here with the vocabulary of the law it claims; the Attractor decides whether that law may still run it.
  const parsed = inventoryLaw.parse(await jsonBody(c));
  if (!parsed.ok) return invalid(c, parsed.issues);
  return sealed(c, await w.sediment(parsed.value), (seal) => c.json(seal));
});

const cryostasisQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  // Entries are ordered by (wakeAt, cryoId): the cursor names the last one seen, as `next` returns it.
  after: z
    .string()
    .regex(/^\d{1,16}-\d{1,16}$/, "must be <wakeAt>-<cryoId>, as returned in next")
    .transform((v) => {
      const [wakeAt, cryoId] = v.split("-").map(Number) as [number, number];
      return { wakeAt, cryoId };
    })
    .optional(),
});

app.get("/api/products/:productId/cryostasis", async (c) => {
  const w = product(c);
  const q = check(cryostasisQuery, c.req.query());
  const pending = await w.rpc.frozen({ limit: q.limit, ...(q.after ? { after: q.after } : {}) });
  // A full page may have more behind it; the next one may also come back empty.
  const last = pending.length === q.limit ? pending[pending.length - 1] : undefined;
  return c.json({ pending, ...(last ? { next: `${last.wakeAt}-${last.cryoId}` } : {}) });
});

app.get("/api/products/:productId/nomos", async (c) => {
  const w = product(c);
  return c.json(await w.rpc.nomos());
});

app.post("/api/explain", async (c) => {
  const parsed = inventoryLaw.parse(await jsonBody(c));
  if (!parsed.ok) return invalid(c, parsed.issues);
  let intent = parsed.value;
  const claimed = intent.nomos?.version ?? inventory.nomos.version;
  const declared = inventoryLaw.at(claimed)!.nomos;
  // As the Attractor would: a stamp whose hash is not the declared law's is refused, not explained.
  if (intent.nomos && intent.nomos.hash !== declared.hash) {
    const message = `Intent was built against a ${declared.name} v${claimed} with hash ${intent.nomos.hash.slice(0, 12)}…, but v${claimed} here is ${declared.hash.slice(0, 12)}…`;
    return error(c, 409, "refused", message);
  }
  let carried: { from: number; reforged: boolean } | undefined;
  if (claimed < inventory.nomos.version) {
    // As a freshly upgraded Attractor would carry it: inside its grace period.
    const now = Date.now();
    const r = inventoryLaw.carry(intent, claimed, inventory.nomos.version, now, () => now);
    if (!r.ok) return c.json({ error: { code: "refused", message: r.message }, connection: r.connection }, 409);
    intent = r.intent;
    carried = { from: claimed, reforged: r.reforged };
  }
  // Outside an Attractor the sedimentId is not known yet: 0 stands for "assigned at sedimentation".
  return c.json({ ...explain(inventory, intent, { now: Date.now(), sedimentId: 0 }), ...(carried ? { carried } : {}) });
});

app.get("/api/nomos", (c) => {
  const { nomos } = inventory;
  return c.json({
    name: nomos.name,
    version: nomos.version,
    hash: nomos.hash,
    elements: nomos.elements,
    operations: Object.fromEntries(Object.entries(inventory.operations).map(([name, op]) => [name, operationHash(op)])),
    versions: inventoryLaw.versions.map((v, i) => {
      const evolution = i === 0 ? undefined : inventoryLaw.evolutionFrom(v.nomos.version - 1);
      return {
        version: v.nomos.version,
        hash: v.nomos.hash,
        ...(evolution
          ? { migration: evolution.migration, reforge: evolution.reforge !== undefined, provisions: evolution.provisions ?? {}, ...(evolution.critical ? { critical: evolution.critical } : {}) }
          : {}),
      };
    }),
  });
});

const version = z.number().int().min(1).max(inventory.nomos.version);
const connectionBody = z.strictObject({ from: version, to: version.default(inventory.nomos.version), intent: z.record(z.string(), z.unknown()).optional() });

app.post("/api/connection", async (c) => {
  const body = check(connectionBody, await jsonBody(c));
  if (body.from > body.to) throw new BadInput([{ path: "to", message: `must not be before from (v${body.from}); a Connection runs forward` }]);
  let intent;
  if (body.intent !== undefined) {
    const { nomos } = inventoryLaw.at(body.from)!;
    // An Intent without a stamp is read as one of `from`; one with a stamp must be of `from`.
    const r = inventoryLaw.parse({ nomos: { name: nomos.name, version: body.from, hash: nomos.hash }, ...body.intent });
    if (!r.ok) return invalid(c, r.issues.map((i) => ({ ...i, path: i.path ? `intent.${i.path}` : "intent" })));
    const stamp = r.value.nomos!;
    if (stamp.version !== body.from || stamp.hash !== nomos.hash) {
      const message = `the Intent was built against ${stamp.name} v${stamp.version} (${stamp.hash.slice(0, 12)}…), not the v${body.from} this code declares (${nomos.hash.slice(0, 12)}…)`;
      throw new BadInput([{ path: "intent.nomos", message }]);
    }
    intent = r.value;
  }
  const steps: Connection[] = inventoryLaw.connect(body.from, body.to, intent);
  const rank = { Flat: 0, Curved: 1, Critical: 2 } as const;
  const type = steps.reduce<Connection["type"]>((t, s) => (rank[s.type] > rank[t] ? s.type : t), "Flat");
  return c.json({ type, from: body.from, to: body.to, steps });
});

app.notFound((c) => error(c, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));

app.onError((err, c) => {
  if (err instanceof BadInput) return invalid(c, err.issues);
  if (err instanceof IntentValidationError) return invalid(c, err.issues);
  console.error(err);
  return error(c, 500, "internal", "internal error");
});
