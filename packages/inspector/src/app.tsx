import { connectionFor, describeVocabulary, explain, type Intent, Lineage, parseClaimed, REASON_KINDS, type Sediment, type Vocabulary } from "@noema/core";
import { intentSieve, once } from "@noema/core/runtime";
import { type Context, type Env as HonoEnv, Hono } from "hono";
import * as z from "zod/mini";
import { type $ZodType, safeParse, type SomeType } from "zod/v4/core";
import type { Attractor } from "@noema/cloudflare";
import { type TokenAuthOptions, type TokenScope, tokenScope } from "@noema/cloudflare/http";
import { CLIENT_JS, STYLE_CSS } from "./assets.js";
import { type ArgsSchema, Compose, type ComposeView, fieldKind, type Outcome } from "./compose.js";
import { IntentLaw, type IntentLawView } from "./intent.js";
import type { Overview, OverviewContext } from "./overview.js";
import { type Frame, Law, LogEntries, type PeerLink, SignIn, World, Worlds } from "./pages.js";
import type { ChartSpec, StateView } from "./state.js";
import { forgetToken, readToken, rememberToken, sameOrigin, securityHeaders } from "./security.js";
import { trailPage } from "./trail.js";

/** What `inspector()` shows and how it signs in: the namespace, the tokens' bindings, and optional overview and charts. */
export interface InspectorOptions<E extends HonoEnv> {
  /** The Attractor namespace whose Worlds it shows, as for `attractorRoutes`. */
  namespace: (env: E["Bindings"]) => DurableObjectNamespace<Attractor>;
  /** The law its code declares, for the Law page and its Connections. */
  law: Vocabulary | Lineage;
  /** The bindings of the API's tokens: the same `tokenAuth` options, so the same tokens and scopes sign in. */
  auth: Pick<TokenAuthOptions, "secret" | "readSecret">;
  /** Where the app mounts it (`app.route(base, inspector(...))`), for links (and the cookie's path, unless `cookiePath`); default `/inspector`. */
  base?: string;
  /** Checks a World's name (classic zod or zod/mini); default any string of 1 to 128 characters. */
  name?: $ZodType<string, string>;
  /** What a World is called on the Worlds page, for example "Product id"; default "World id". */
  label?: string;
  /** Charts of each World's history on its page, drawn from a bounded sample of its log. */
  charts?: readonly ChartSpec[];
  /**
   * The inspectors of this app's Attractors, this one included, by binding and class name: a
   * message's sender and a receipt's receiver then link to their sediment on the other side.
   */
  peers?: readonly { binding: string; attractor: string; base: string; /** Shown in the other inspectors' header. */ label?: string }[];
  /**
   * The cookie's path; default `base`. Give several inspectors of one app the path they share
   * (for example `/inspector` for one at `/inspector/orders`): one sign-in, and one sign-out, for all.
   */
  cookiePath?: string;
  /** The app's catalog of Worlds, listed on the Worlds page in id order: ids after `after`, `next` when more follow. */
  catalog?: (env: E["Bindings"], page: { after?: string; limit: number }) => Promise<{ ids: string[]; next?: string }>;
  /**
   * What a World's page shows first, from the app's own reads: for example an order's status and
   * its lines, each product linked to its World with `context.link`. Undefined shows none.
   *
   *     overview: async (env, name, { link }) => {
   *       const order = await env.ORDERS.getByName(name).order();
   *       return order && { title: "Order", facts: [{ label: "status", value: order.status }] };
   *     }
   */
  overview?: (env: E["Bindings"], name: string, context: OverviewContext) => Promise<Overview | undefined>;
}

type Vars = { Variables: { scope: TokenScope } };

/** Sediments per page of the log. */
const LOG_PAGE = 50;
/** Frozen Intents and Precedents shown at once. */
const LIST_PAGE = 50;
/** Worlds listed at once from the catalog. */
const CATALOG_PAGE = 50;
/** Sediments a chart asks for: the Attractor's most (`sampleSediments` caps any count at it). */
const CHART_SAMPLE = Number.MAX_SAFE_INTEGER;

/** A whole number from `min` in a query string. */
const wholeFrom = (min: number) => z.coerce.number().check(z.refine(Number.isSafeInteger), z.gte(min));
const whole = wholeFrom(0);
/** A query parameter that is left out when it is missing or not understood. */
const lenient = <T extends SomeType>(schema: T) => z.catch(z.optional(schema), undefined);
// Built by the first World page, not by every cold start of the app that mounts the inspector.
const worldQuery = once(() => z.object({
  after: lenient(whole),
  table: lenient(z.string().check(z.maxLength(128))),
  rowsAfter: lenient(whole),
  verify: lenient(z.literal("full")),
  kind: lenient(z.enum(REASON_KINDS)),
  nomosVersion: lenient(wholeFrom(1)),
  precedentsAfter: lenient(whole),
  receiptsAfter: lenient(whole),
  trailAfter: lenient(whole),
  // `<wakeAt>:<cryoId>`, the last frozen Intent shown: the Cryostasis queue pages by wake time, then id.
  frozenAfter: lenient(
    z.pipe(
      z.string().check(z.regex(/^\d{1,16}:\d{1,16}$/)),
      z.transform((v: string) => {
        const [wakeAt, cryoId] = v.split(":").map(Number) as [number, number];
        return { wakeAt, cryoId };
      }),
    ),
  ),
}));

/**
 * The Noema inspector: server-rendered pages over an Attractor namespace's Worlds (law, chain,
 * log, frozen Intents, Precedents) and the law's versions and Connections. Mount it with
 * `app.route("/inspector", inspector({...}))`. Every page needs a token of `auth`, given once
 * on its sign-in page; reads go through the Attractors' RPC methods.
 */
export function inspector<E extends HonoEnv>(options: InspectorOptions<E>): Hono<E & Vars> {
  const base = options.base ?? "/inspector";
  const cookiePath = options.cookiePath ?? base;
  const lineage = options.law instanceof Lineage ? options.law : Lineage.of(options.law);
  const nameSchema = options.name ?? z.string().check(z.minLength(1), z.maxLength(128));
  const label = options.label ?? "World id";
  const app = new Hono<E & Vars>();
  app.use("*", securityHeaders);

  app.get("/assets/style.css", (c) => c.body(STYLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8" }));
  app.get("/assets/client.js", (c) => c.body(CLIENT_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }));

  const signIn = (c: Context, status: 200 | 401 | 403, error?: string) => c.html(<SignIn base={base} {...(error ? { error } : {})} />, status);

  app.get("/sign-in", (c) => signIn(c, 200));
  app.post("/sign-in", async (c) => {
    if (!sameOrigin(c)) return signIn(c, 403, "This form must be sent from the inspector itself.");
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    if (!token || !(await tokenScope(c.env, options.auth, token))) return signIn(c, 401, "That token is not valid here.");
    rememberToken(c, token, cookiePath);
    return c.redirect(`${base}/worlds`, 303);
  });
  app.post("/sign-out", (c) => {
    if (!sameOrigin(c)) return signIn(c, 403, "This form must be sent from the inspector itself.");
    forgetToken(c, cookiePath);
    return c.redirect(`${base}/sign-in`, 303);
  });

  // Everything else needs a signed-in token: without one, the sign-in page itself (no redirect, so no URL carries anything).
  app.use("*", async (c, next) => {
    const token = readToken(c);
    const scope = token ? await tokenScope(c.env, options.auth, token) : undefined;
    if (!scope) {
      if (token) forgetToken(c, cookiePath);
      return signIn(c, 401, token ? "That token is no longer valid; sign in again." : undefined);
    }
    c.set("scope", scope);
    await next();
  });

  const nav = (options.peers ?? []).filter((p) => p.label && p.base !== base).map((p) => ({ label: p.label!, href: `${p.base}/worlds` }));
  const frame = (c: Context<E & Vars>, title: string): Frame => ({ base, title, scope: c.get("scope"), nav });
  const world = (c: Context<E & Vars>, name: string) => options.namespace(c.env).getByName(name);

  app.get("/", (c) => c.redirect(`${base}/worlds`, 303));

  app.get("/worlds", async (c) => {
    const id = c.req.query("id");
    if (id === undefined) {
      const from = c.req.query("from")?.trim() ?? "";
      if (from && !safeParse(nameSchema, from).success) return c.html(<Worlds frame={frame(c, "Worlds")} label={label} error="Not a valid id to list after." />, 400);
      const listed = options.catalog ? await options.catalog(c.env, { ...(from ? { after: from } : {}), limit: CATALOG_PAGE }) : undefined;
      return c.html(<Worlds frame={frame(c, "Worlds")} label={label} {...(listed ? { catalog: { ...listed, from } } : {})} />);
    }
    const parsed = safeParse(nameSchema, id.trim());
    if (!parsed.success) return c.html(<Worlds frame={frame(c, "Worlds")} label={label} error={`Not a valid id: ${parsed.error.issues[0]?.message ?? "invalid"}`} />, 400);
    return c.redirect(`${base}/worlds/${encodeURIComponent(parsed.data)}`, 303);
  });

  // Each entry as it ran: its law's vocabulary, its time and sedimentId (a pure function of the stored Intent).
  const explainSediment = (s: Sediment) => {
    const vocabulary = lineage.at(s.world.nomosVersion);
    if (!vocabulary || vocabulary.nomos.hash !== s.world.nomosHash) return undefined;
    try {
      return explain(vocabulary, s.intent, { now: s.timestamp, sedimentId: s.sedimentId });
    } catch {
      return undefined;
    }
  };
  const charts = options.charts ?? [];
  const peers = options.peers ?? [];
  // Around the sediment, on the page that holds it, scrolled to it.
  const peer: PeerLink = (attractor, name, sedimentId) => {
    const p = peers.find((x) => x.binding === attractor || x.attractor === attractor);
    if (!p) return undefined;
    const world = `${p.base}/worlds/${encodeURIComponent(name)}`;
    return sedimentId === undefined ? world : `${world}?after=${Math.max(0, sedimentId - LOG_PAGE / 2)}#s-${sedimentId}`;
  };

  app.get("/worlds/:name", async (c) => {
    const parsed = safeParse(nameSchema, c.req.param("name"));
    if (!parsed.success) return c.html(<Worlds frame={frame(c, "Worlds")} label={label} error="Not a valid id." />, 404);
    const name = parsed.data;
    const q = worldQuery().parse(c.req.query());
    const stub = world(c, name);
    // Never the whole chain on a render: the newest entries re-hashed, the full walk only when asked for.
    const [nomos, tail, chain, tables, verification] = await Promise.all([stub.nomos(), stub.verifyTail(), stub.chainStatus(), stub.tables(), q.verify ? stub.verify() : undefined]);
    const head = tail.length;
    // By default the newest page, what happened last; on a broken chain the page that holds the broken link.
    const broken = verification && !verification.ok ? verification.brokenAt : !tail.ok ? tail.brokenAt : undefined;
    const after = q.after ?? Math.max(0, (broken === undefined ? head : broken + LOG_PAGE / 2) - LOG_PAGE);
    const table = tables.find((t) => t.name === q.table) ?? tables[0];
    const [log, frozen, precedents, rows, sample, outbox, receipts, trail, overview] = await Promise.all([
      stub.sediments(after, LOG_PAGE),
      // One more than shown: whether a next page exists.
      stub.frozen({ limit: LIST_PAGE + 1, ...(q.frozenAfter ? { after: q.frozenAfter } : {}) }),
      stub.precedents({ kind: q.kind, nomosVersion: q.nomosVersion, after: q.precedentsAfter, limit: LIST_PAGE }),
      table ? stub.rows(table.name, { after: q.rowsAfter ?? 0 }) : undefined,
      charts.length > 0 ? stub.sampleSediments(CHART_SAMPLE) : [],
      stub.outbox({ limit: LIST_PAGE }),
      stub.receipts({ after: q.receiptsAfter ?? 0, limit: LIST_PAGE }),
      trailPage(stub, q.trailAfter ?? 0),
      options.overview?.(c.env, name, { link: peer }),
    ]);
    const state: StateView = {
      tables,
      rowsAfter: rows ? (q.rowsAfter ?? 0) : 0,
      ...(rows ? { rows } : {}),
      ...(q.table !== undefined && table?.name !== q.table ? { error: `v${nomos.held.version} has no table ${q.table}.` } : {}),
    };
    const filter = { ...(q.kind ? { kind: q.kind } : {}), ...(q.nomosVersion !== undefined ? { nomosVersion: q.nomosVersion } : {}) };
    const view = {
      name,
      nomos,
      tail,
      chain,
      ...(verification ? { verification } : {}),
      ...(overview ? { overview } : {}),
      trail,
      state,
      charts: charts.map((chart) => ({ chart, sample: sample as Sediment[] })),
      log: { ...log, after, limit: LOG_PAGE },
      explain: explainSediment,
      peer,
      messages: { outbox, receipts, receiptsAfter: q.receiptsAfter ?? 0 },
      frozen: { frozen: frozen.slice(0, LIST_PAGE), paged: q.frozenAfter !== undefined, ...(frozen.length > LIST_PAGE ? { next: frozen[LIST_PAGE - 1]! } : {}) },
      precedents,
      filter,
      kinds: REASON_KINDS,
    };
    return c.html(<World frame={frame(c, name)} view={view} />);
  });

  // How many sediments came after the page's newest: the client script polls it when it cannot open the WebSocket.
  app.get("/worlds/:name/newer", async (c) => {
    const parsed = safeParse(nameSchema, c.req.param("name"));
    const after = whole.safeParse(c.req.query("after"));
    if (!parsed.success || !after.success) return c.json({ error: "bad request" }, 400);
    const page = await world(c, parsed.data).sediments(after.data, LOG_PAGE);
    return c.json({ newer: page.sediments.length });
  });

  // The log entries after `after`, as the World page renders them: the live script inserts them.
  app.get("/worlds/:name/entries", async (c) => {
    const parsed = safeParse(nameSchema, c.req.param("name"));
    const after = whole.safeParse(c.req.query("after"));
    if (!parsed.success || !after.success) return c.text("bad request", 400);
    const page = await world(c, parsed.data).sediments(after.data, LOG_PAGE);
    return c.html(<LogEntries base={base} name={parsed.data} sediments={page.sediments} explain={explainSediment} peer={peer} />);
  });

  // The Attractor's hibernatable WebSocket, behind the same cookie; the Origin check keeps other sites' pages off it.
  app.get("/worlds/:name/live", async (c) => {
    const parsed = safeParse(nameSchema, c.req.param("name"));
    if (!parsed.success) return c.text("bad request", 400);
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") return c.text("expected a WebSocket upgrade", 426);
    if (!sameOrigin(c)) return c.text("forbidden", 403);
    return world(c, parsed.data).fetch(c.req.raw);
  });

  // The compose form of each operation, from the same JSON Schemas `GET /nomos` shows.
  const described = Object.entries(describeVocabulary(lineage.latest)).map(([name, d]) => ({ name, description: d.description, args: d.args as unknown as ArgsSchema }));
  const stamp = { name: lineage.latest.nomos.name, version: lineage.latest.nomos.version, hash: lineage.latest.nomos.hash };

  const compose = async (c: Context<E & Vars>) => {
    const parsed = safeParse(nameSchema, c.req.param("name"));
    if (!parsed.success) return c.html(<Worlds frame={frame(c, "Worlds")} label={label} error="Not a valid id." />, 404);
    const name = parsed.data;
    const chosen = described.find((d) => d.name === c.req.query("op")) ?? described[0]!;
    const view: ComposeView = { name, operations: described, op: chosen.name, args: chosen.args, values: {}, idempotencyKey: "" };
    if (c.req.method !== "POST") return c.html(<Compose frame={frame(c, `Compose · ${name}`)} view={view} />);
    if (!sameOrigin(c)) return c.html(<Compose frame={frame(c, `Compose · ${name}`)} view={{ ...view, outcome: { error: "This form must be sent from the inspector itself." } }} />, 403);
    const form = await c.req.parseBody();
    const text = (key: string) => (typeof form[key] === "string" ? form[key] : "");
    const args: Record<string, string | number | boolean> = {};
    for (const [field, schema] of Object.entries(chosen.args.properties ?? {})) {
      const raw = text(field);
      view.values[field] = raw;
      const kind = fieldKind(schema);
      if (kind.kind === "boolean") args[field] = raw === "true";
      // An empty field is left out, so the operation's default applies; a bad number goes on as text for the law to refuse.
      else if (raw !== "") args[field] = kind.kind === "number" && raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    view.idempotencyKey = text("$idempotencyKey");
    const intent: Intent = { v: 1, nomos: stamp, ...(view.idempotencyKey ? { idempotencyKey: view.idempotencyKey } : {}), steps: [{ op: chosen.name, args }] };
    const stub = world(c, name);
    let outcome: Outcome;
    let status: 200 | 403 | 409;
    if (text("$action") === "sediment") {
      // Checked here too, not only by hiding the button: a read-only token never writes.
      if (c.get("scope") !== "write") [outcome, status] = [{ error: "A read-only token can explain but not sediment." }, 403];
      else {
        const seal = await stub.sedimentation(intent);
        [outcome, status] = seal.success ? [{ sealed: seal }, 200] : [{ error: `${seal.reason.kind}: ${seal.reason.message}` }, 409];
      }
    } else {
      const explained = await stub.explain(intent);
      [outcome, status] = explained.ok ? [{ explained: explained.explanation }, 200] : [{ error: `${explained.reason.kind}: ${explained.reason.message}` }, 409];
    }
    return c.html(<Compose frame={frame(c, `Compose · ${name}`)} view={{ ...view, outcome }} />, status);
  };
  app.get("/worlds/:name/compose", compose);
  app.post("/worlds/:name/compose", compose);

  const versions = lineage.versions.map((v) => {
    const evolution = v.nomos.version === lineage.first ? undefined : lineage.evolutionFrom(v.nomos.version - 1);
    return {
      version: v.nomos.version,
      hash: v.nomos.hash,
      elements: Object.keys(v.nomos.elements).length,
      ...(evolution ? { migration: "yes", reforge: evolution.reforge !== undefined } : { reforge: false }),
      ...(evolution?.critical ? { critical: evolution.critical.reason } : {}),
    };
  });

  app.get("/law", (c) => {
    const latest = lineage.latest.nomos.version;
    const pick = (value: string | undefined, fallback: number) => {
      const n = whole.safeParse(value);
      return n.success ? n.data : fallback;
    };
    const from = pick(c.req.query("from"), Math.max(lineage.first, latest - 1));
    const to = pick(c.req.query("to"), latest);
    const result = connectionFor(lineage, { from, to });
    const props = { frame: frame(c, "Law"), name: lineage.name, versions, from, to };
    return result.ok ? c.html(<Law {...props} report={result.report} />) : c.html(<Law {...props} error={result.issues.map((i) => i.message).join("; ")} />, 400);
  });

  const lawIntent = async (c: Context<E & Vars>) => {
    const title = "Law · an Intent";
    const view: IntentLawView = { text: "" };
    if (c.req.method === "POST") {
      if (!sameOrigin(c)) return c.html(<IntentLaw frame={frame(c, title)} view={{ ...view, outcome: { error: "This form must be sent from the inspector itself." } }} />, 403);
      const form = await c.req.parseBody();
      view.text = typeof form.intent === "string" ? form.intent : "";
    } else {
      const picked = safeParse(nameSchema, c.req.query("world"));
      const id = wholeFrom(1).safeParse(c.req.query("sediment"));
      if (picked.success && id.success) {
        const s = (await world(c, picked.data).sediments(id.data - 1, 1)).sediments[0];
        if (!s || s.sedimentId !== id.data) return c.html(<IntentLaw frame={frame(c, title)} view={{ ...view, outcome: { error: `${picked.data} has no sediment #${id.data}.` } }} />, 404);
        view.picked = { world: picked.data, sedimentId: s.sedimentId };
        view.text = JSON.stringify(s.intent, null, 2);
      }
    }
    if (view.text.trim() === "") return c.html(<IntentLaw frame={frame(c, title)} view={view} />);
    let input: unknown;
    try {
      input = JSON.parse(view.text);
    } catch (error) {
      return c.html(<IntentLaw frame={frame(c, title)} view={{ ...view, outcome: { error: `Not JSON: ${(error as Error).message}` } }} />, 400);
    }
    // As POST /connection reads it: parsed under the law its stamp names, the latest when it has none.
    const parsedIntent = parseClaimed(lineage, input);
    if (!parsedIntent.ok) return c.html(<IntentLaw frame={frame(c, title)} view={{ ...view, outcome: { error: parsedIntent.issues.map((i) => `${i.path.join(".") || "intent"}: ${i.message}`).join("; ") } }} />, 400);
    const version = parsedIntent.value.nomos?.version ?? lineage.latest.nomos.version;
    const result = connectionFor(lineage, { from: version, intent: parsedIntent.value });
    if (!result.ok) return c.html(<IntentLaw frame={frame(c, title)} view={{ ...view, outcome: { error: result.issues.map((i) => i.message).join("; ") } }} />, 400);
    const sieve = intentSieve(lineage.at(version)!, parsedIntent.value);
    return c.html(<IntentLaw frame={frame(c, title)} view={{ ...view, outcome: { version, sieve, report: result.report } }} />);
  };
  app.get("/law/intent", lawIntent);
  app.post("/law/intent", lawIntent);

  return app;
}
