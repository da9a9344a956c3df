import { buildIntent, resultOf } from "@noema/core";
import { ApiError, attractorRoutes, tokenAuth, syncRoutes, handleErrors, limitBody, parseInput, queryInt, readJson, sealResponse } from "@noema/cloudflare/http";
import { inspector, type Overview, type OverviewContext } from "@noema/inspector";
import { type Context, Hono } from "hono";
import * as z from "zod";
import { RESERVATION_PAGE, ReservationCursor } from "./attractor.js";
import { CATALOG_NAME, catalogRoutes, firstStocking } from "./catalog/index.js";
import type { Env } from "./env.js";
import { stockChart } from "./inspector.js";
import { subscriberToken } from "./sync.js";
import { inventoryLaw } from "./law.js";
import { HotAttractor } from "./hot/attractor.js";
import { hotOverview } from "./hot/inspector.js";
import { HotWorld, hotRoutes, hotWorldRoutes } from "./hot/routes.js";
import { OrderShard } from "./orders/shards.js";
import { orderRoutes } from "./orders/routes.js";
import { orders } from "./orders/vocabulary.js";
import { Id, inventory } from "./vocabulary.js";

type App = { Bindings: Env };
type Ctx = Context<App>;

const ops = inventory.operations;
/** The bodies the product routes accept: the operations' arguments, unknown fields refused. Built once, not per request. */
const bodies = {
  stock: ops.setStock.args.pick({ quantity: true }).strict(),
  adjust: ops.adjust.args.strict(),
  reserve: ops.reserve.args.strict(),
};
const PRODUCT = "/products/:productId";

/** The product's Attractor, its id checked first. */
function product(c: Ctx) {
  const productId = parseInput(Id, c.req.param("productId"), ["productId"]);
  return { productId, stub: c.env.INVENTORY_ATTRACTOR.getByName(productId) };
}

export const app = new Hono<App>();

app.get("/health", (c) => c.json({ ok: true }));

// Full access for NOEMA_API_TOKEN (comma-separated, for rotation); NOEMA_READ_TOKENS may only read.
const auth = { secret: "NOEMA_API_TOKEN", readSecret: "NOEMA_READ_TOKENS" };
// Live sync of a product (GET /api/products/:productId/sync, a WebSocket): ahead of the token check, since a browser
// cannot set headers on a WebSocket; the Attractor's authorize checks the token (sync.ts).
app.route("/api", syncRoutes<App>({ namespace: (env) => env.INVENTORY_ATTRACTOR, path: PRODUCT, name: Id }));
app.use("/api/*", tokenAuth(auth));

// A subscriber token for one cart (the subject its reservations carry as orderId): full access only.
app.post("/api/sync-tokens", async (c) => {
  const { subject } = parseInput(z.strictObject({ subject: Id }), await readJson(c));
  return c.json({ token: await subscriberToken(c.env, subject) }, 201);
});

// The generic routes of the Attractor: intents, sediments, verify, precedents, cryostasis, nomos, explain, connection.
app.route("/api", attractorRoutes<App>({ namespace: (env) => env.INVENTORY_ATTRACTOR, law: inventoryLaw, path: PRODUCT, name: Id }));

// What is about inventory: stock, adjustments, reservations and the product snapshot.
const products = new Hono<App>();
products.use("*", limitBody());

products.put("/stock/:locationId", async (c) => {
  const { productId, stub } = product(c);
  const locationId = parseInput(Id, c.req.param("locationId"), ["locationId"]);
  const body = parseInput(bodies.stock, await readJson(c));
  // The first stocking of a product also lists it in the catalog, in the same transaction.
  const listing = firstStocking(productId, Date.now());
  const intent = buildIntent(inventory, (s) => {
    const stock = s.setStock({ locationId, quantity: body.quantity });
    s.$send({ to: listing.to, key: listing.key }, listing.intent);
    return stock;
  });
  return sealResponse(c, await stub.sedimentation(intent), (seal) => c.json({ seal, stock: resultOf(intent, seal) }));
});

products.post("/adjustments", async (c) => {
  const { productId, stub } = product(c);
  const body = parseInput(bodies.adjust, await readJson(c));
  const listing = firstStocking(productId, Date.now());
  const intent = buildIntent(inventory, (s) => {
    const stock = s.adjust(body);
    s.$send({ to: listing.to, key: listing.key }, listing.intent);
    return stock;
  });
  return sealResponse(c, await stub.sedimentation(intent), (seal) => c.json({ seal, stock: resultOf(intent, seal) }));
});

products.post("/reservations", async (c) => {
  const { stub } = product(c);
  const body = parseInput(bodies.reserve, await readJson(c));
  // One atomic Intent: the reservation and its own release, frozen until it expires.
  const intent = buildIntent(inventory, (s) => {
    const r = s.reserve(body);
    s.$freeze({ at: r.expiresAt, key: r.reservationId }, (frozen) => frozen.release({ reservationId: r.reservationId }));
    return r;
  });
  return sealResponse(c, await stub.sedimentation(intent), (seal) => {
    const r = resultOf(intent, seal);
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
  const { stub } = product(c);
  const reservationId = parseInput(Id, c.req.param("reservationId"), ["reservationId"]);
  const intent = buildIntent(inventory, (s) => {
    const stock = s[op]({ reservationId });
    s.$cancel({ key: reservationId });
    return stock;
  });
  return sealResponse(c, await stub.sedimentation(intent), (seal) => c.json({ seal, stock: resultOf(intent, seal) }));
};

products.delete("/reservations/:reservationId", closeReservation("release"));
products.post("/reservations/:reservationId/commit", closeReservation("commit"));

const snapshotQuery = z.strictObject({
  after: ReservationCursor.optional(),
  limit: queryInt({ min: 1, max: RESERVATION_PAGE.max, default: RESERVATION_PAGE.default }),
});

products.get("/", async (c) => {
  const { productId, stub } = product(c);
  const q = parseInput(snapshotQuery, c.req.query());
  // Checked here, passed on as sent: the Attractor reads the cursor itself.
  const after = c.req.query("after");
  const snapshot = await stub.snapshot({ limit: q.limit, ...(after === undefined ? {} : { after }) });
  if (!snapshot) throw new ApiError(404, "not_found", `product ${productId} was never stocked`);
  return c.json({ productId, ...snapshot });
});

app.route(`/api${PRODUCT}`, products);

// The catalog: every product once stocked, in productId order.
app.route("/api", catalogRoutes);

// Orders across products, all or nothing (README: Orders across products).
app.route("/api/orders", orderRoutes);

// Hot products, split across shards for a flash sale (docs/concepts/escrow.md).
app.route("/api/hot/worlds", hotWorldRoutes);
app.route("/api/hot", hotRoutes);

/** The catalog as the inspector's Worlds page lists it. */
async function listProducts(env: Env, page: { after?: string; limit: number }) {
  const listed = await env.CATALOG_ATTRACTOR.getByName(CATALOG_NAME).products(page.after, page.limit);
  return { ids: listed.products.map((p) => p.productId), ...(listed.next === undefined ? {} : { next: listed.next }) };
}

/**
 * A shard of orders (`orders-<n>`, see ORDER_SHARDS) opens on the lines of its newest orders, as GET /api/orders/:orderId
 * shows them, each product linked to its World.
 */
async function orderOverview(env: Env, shard: string, { link }: OverviewContext): Promise<Overview | undefined> {
  const recent = await env.ORDER_ATTRACTOR.getByName(shard).recent();
  return {
    title: "Orders",
    table: {
      caption: `the newest ${recent.length} order(s), a row per line`,
      columns: ["order", "order status", "created", "line", "product", "location", "quantity", "status", "reason"],
      rows: recent.flatMap((o) =>
        o.lines.map((l, i) => [o.id, o.status, { at: o.createdAt }, i, { text: l.productId, href: link("INVENTORY_ATTRACTOR", l.productId) }, l.locationId, l.quantity, l.status, l.reason ?? null]),
      ),
    },
  };
}

// The inspectors, signed in once with the same tokens: products (law, chain, state and its stock chart, log, frozen Intents,
// messages, Precedents) and orders (their lines, and the trail of messages and receipts to each product's sediment).
const peers = [
  { binding: "INVENTORY_ATTRACTOR", attractor: "InventoryAttractor", base: "/inspector", label: "Products" },
  { binding: "ORDER_ATTRACTOR", attractor: "OrderAttractor", base: "/inspector/orders", label: "Orders" },
  { binding: "HOT_ATTRACTOR", attractor: "HotAttractor", base: "/inspector/hot", label: "Hot products" },
];
// Hot products: each World's page, the coordinator's with its shards and their shares (hot/inspector.ts).
app.route(
  "/inspector/hot",
  inspector<App>({ namespace: (env) => env.HOT_ATTRACTOR, law: HotAttractor.law, auth, base: "/inspector/hot", cookiePath: "/inspector", name: HotWorld, label: "Hot product or shard id", peers, overview: hotOverview }),
);
app.route(
  "/inspector/orders",
  inspector<App>({ namespace: (env) => env.ORDER_ATTRACTOR, law: orders, auth, base: "/inspector/orders", cookiePath: "/inspector", name: OrderShard, label: "Order shard (orders-<n>)", peers, overview: orderOverview }),
);
app.route(
  "/inspector",
  inspector<App>({ namespace: (env) => env.INVENTORY_ATTRACTOR, law: inventoryLaw, auth, name: Id, label: "Product id", charts: [stockChart], catalog: listProducts, peers }),
);

handleErrors(app);
