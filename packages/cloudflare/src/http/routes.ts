import { connectionFor, describeVocabulary, explainOutside, Lineage, parseClaimed, REASON_KINDS, type Vocabulary } from "@noema/core";
import { AUDIT_PAGE, once, operationHash } from "@noema/core/runtime";
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Hono } from "hono/tiny";
import * as z from "zod/mini";
import type { $ZodType } from "zod/v4/core";
import { type Attractor, DEFAULT_PAGE, MAX_PAGE } from "../attractor.js";
import { ApiError, errorResponse, httpIssue, invalidInput, onError } from "./errors.js";
import { defaultName, parseInput, queryInt, readJson } from "./input.js";
import { mountableApp } from "./router.js";
import { sealResponse } from "./seal.js";
import { addSyncRoute } from "./sync.js";

/** Largest request body accepted; an Intent may not exceed the core's 64 KiB either. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What `attractorRoutes` serves: the namespace, the law, the path, and the auth middleware run before its routes. */
export interface AttractorRoutesOptions<E extends HonoEnv> {
  /** The Attractor's namespace binding, for example `(env) => env.LEDGER_ATTRACTOR`. */
  namespace: (env: E["Bindings"]) => DurableObjectNamespace<Attractor>;
  /** The law its code declares (`static law`): Intents are parsed, explained and described with it at the edge. */
  law: Vocabulary | Lineage;
  /** Where one Attractor's routes live, with one parameter naming it; default `/:name`. */
  path?: string;
  /** Checks the name in the path (classic zod or zod/mini); default any string of 1 to 128 characters. */
  name?: $ZodType<string, string>;
  /** Runs before every route here, for example `tokenAuth(...)`. */
  auth?: MiddlewareHandler<E>;
  /** Default `MAX_BODY_BYTES`. */
  maxBodyBytes?: number;
}

// Query schemas, each built by the first request that needs it.
const page = once(() =>
  z.strictObject({
    after: queryInt({ min: 0, default: 0 }),
    limit: queryInt({ min: 1, max: MAX_PAGE, default: DEFAULT_PAGE }),
  }),
);
const precedentQuery = once(() =>
  z.extend(page(), {
    kind: z.optional(z.enum(REASON_KINDS)),
    nomosVersion: z.optional(queryInt({ min: 1 })),
  }),
);
const cryostasisQuery = once(() =>
  z.strictObject({
    limit: queryInt({ min: 1, max: MAX_PAGE, default: DEFAULT_PAGE }),
    // Entries are ordered by (wakeAt, cryoId): the cursor names the last one seen, as `next` returns it.
    after: z.optional(
      z.pipe(
        z.string().check(z.regex(/^\d{1,16}-\d{1,16}$/, "must be <wakeAt>-<cryoId>, as returned in next")),
        z.transform((v: string) => {
          const [wakeAt, cryoId] = v.split("-").map(Number) as [number, number];
          return { wakeAt, cryoId };
        }),
      ),
    ),
  }),
);
const auditQuery = once(() =>
  z.strictObject({
    after: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    limit: queryInt({ min: 1, max: AUDIT_PAGE.max, default: AUDIT_PAGE.default }),
  }),
);

/** 413 `payload_too_large` for a body over `maxSize` bytes, whether or not it sent a Content-Length. */
export function limitBody(maxSize = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({ maxSize, onError: (c) => errorResponse(c, new ApiError(413, "payload_too_large", `request body exceeds ${maxSize} bytes`)) });
}

/**
 * The generic routes of any Attractor namespace, to mount with `app.route(prefix, ...)`:
 *
 * - under `path` (default `/:name`), one Attractor: `POST /intents`, `GET /sediments`, `/verify`,
 *   `/precedents`, `/cryostasis`, `/outbox`, `/receipts`, `/nomos`, and `GET /sync` (see `syncRoutes`);
 * - the law its code declares: `POST /explain`, `GET /nomos`, `POST /connection`.
 *
 * Refusals and bad input answer with the error envelope; give the top-level app
 * `handleErrors(app)` for the same envelope on 404, 405 and errors of your own routes.
 */
export function attractorRoutes<E extends HonoEnv>(options: AttractorRoutesOptions<E>): Hono<E> {
  const lineage = options.law instanceof Lineage ? options.law : Lineage.of(options.law);
  const latest = lineage.latest;
  const path = options.path ?? "/:name";
  const param = /:([A-Za-z_]\w*)/.exec(path)?.[1];
  if (!param) throw new TypeError(`attractorRoutes: path ${path} names no parameter, as in /ledgers/:name`);

  const router = mountableApp<E>();
  router.onError(onError);
  // Ahead of `auth`: the sync socket's token is checked by the Attractor's `authorize`.
  addSyncRoute(router, { namespace: options.namespace, path, ...(options.name ? { name: options.name } : {}) });
  // On its own paths only: mounted, "*" would also cover the app's other routes under the prefix.
  const limit = limitBody(options.maxBodyBytes);
  for (const own of [`${path}/*`, "/explain", "/nomos", "/connection"]) {
    if (options.auth) router.use(own, options.auth);
    router.use(own, limit);
  }

  // The default name schema is built by the first request that needs it, not while the modules load.
  const attractor = (c: Context<E>) => options.namespace(c.env).getByName(parseInput(options.name ?? defaultName(), c.req.param(param), [param]));

  router.post(`${path}/intents`, async (c) => {
    const stub = attractor(c);
    // Checked here with the vocabulary of the law it claims; the Attractor decides whether that law may still run it.
    const parsed = parseClaimed(lineage, await readJson(c));
    if (!parsed.ok) throw invalidInput(parsed.issues.map(httpIssue));
    return sealResponse(c, await stub.sedimentation(parsed.value), (seal) => c.json(seal));
  });

  router.get(`${path}/sediments`, async (c) => {
    const stub = attractor(c);
    const q = parseInput(page(), c.req.query());
    return c.json(await stub.sediments(q.after, q.limit));
  });

  router.get(`${path}/verify`, async (c) => {
    const v = await attractor(c).verify();
    return c.json(v.ok ? { ok: true, length: v.length, head: v.head } : { ok: false, brokenAt: v.brokenAt });
  });

  router.get(`${path}/precedents`, async (c) => {
    const stub = attractor(c);
    return c.json(await stub.precedents(parseInput(precedentQuery(), c.req.query())));
  });

  router.get(`${path}/cryostasis`, async (c) => {
    const stub = attractor(c);
    const q = parseInput(cryostasisQuery(), c.req.query());
    const pending = await stub.frozen({ limit: q.limit, ...(q.after ? { after: q.after } : {}) });
    // A full page may have more behind it; the next one may also come back empty.
    const last = pending.length === q.limit ? pending[pending.length - 1] : undefined;
    return c.json({ pending, ...(last ? { next: `${last.wakeAt}-${last.cryoId}` } : {}) });
  });

  router.get(`${path}/audit`, async (c) => {
    const q = parseInput(auditQuery(), c.req.query());
    // The one input the Attractor judges: a cursor it did not hand out.
    const page = await attractor(c).audit(q);
    if (!page.ok) throw invalidInput(page.issues.map(httpIssue));
    return c.json(page.value);
  });

  router.get(`${path}/outbox`, async (c) => {
    const stub = attractor(c);
    return c.json(await stub.outbox(parseInput(page(), c.req.query())));
  });

  router.get(`${path}/receipts`, async (c) => {
    const stub = attractor(c);
    return c.json(await stub.receipts(parseInput(page(), c.req.query())));
  });

  router.get(`${path}/nomos`, async (c) => c.json(await attractor(c).nomos()));

  router.post("/explain", async (c) => {
    // As a freshly upgraded Attractor would admit it: an older Intent is carried inside its grace period.
    const result = explainOutside(lineage, await readJson(c), { now: Date.now() });
    if (!result.ok) {
      const { reason } = result;
      if (reason.kind === "validation") throw invalidInput(result.issues.map(httpIssue));
      return c.json({ error: { code: "refused", message: reason.message }, ...(reason.connection ? { connection: reason.connection } : {}) }, 409);
    }
    const { origin } = result;
    return c.json({ ...result.explanation, ...(origin ? { carried: { from: origin.nomos.version, reforged: origin.reforged } } : {}) });
  });

  let described: unknown;
  router.get("/nomos", (c) => c.json((described ??= describe(lineage))));

  const connectionBody = once(() => {
    const version = z.int().check(z.gte(lineage.first), z.lte(latest.nomos.version));
    return z.strictObject({ from: version, to: z._default(version, latest.nomos.version), intent: z.optional(z.record(z.string(), z.unknown())) });
  });

  router.post("/connection", async (c) => {
    const result = connectionFor(lineage, parseInput(connectionBody(), await readJson(c)));
    if (!result.ok) throw invalidInput(result.issues.map(httpIssue));
    return c.json(result.report);
  });

  return router;
}

/**
 * The law as `GET /nomos` shows it: the latest version, its hashes, each operation with its
 * description and the JSON Schema of its arguments (as sent) and outputs, and every version.
 */
function describe(lineage: Lineage) {
  const latest = lineage.latest;
  const { nomos, operations } = latest;
  return {
    name: nomos.name,
    version: nomos.version,
    hash: nomos.hash,
    elements: nomos.elements,
    operations: Object.fromEntries(
      Object.entries(describeVocabulary(latest)).map(([name, d]) => [name, { ...d, hash: operationHash(operations[name]!) }]),
    ),
    versions: lineage.versions.map((v, i) => {
      const evolution = i === 0 ? undefined : lineage.evolutionFrom(v.nomos.version - 1);
      return {
        version: v.nomos.version,
        hash: v.nomos.hash,
        ...(evolution
          ? { migration: evolution.migration, reforge: evolution.reforge !== undefined, provisions: evolution.provisions ?? {}, ...(evolution.critical ? { critical: evolution.critical } : {}) }
          : {}),
      };
    }),
  };
}
