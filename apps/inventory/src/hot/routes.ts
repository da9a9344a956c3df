import { pickShard, shardName } from "@noema/cloudflare/escrow";
import { ApiError, attractorRoutes, invalidInput, limitBody, parseInput, queryInt, readJson, sealResponse } from "@noema/cloudflare/http";
import { MAX_KEY_LENGTH } from "@noema/core";
import { MAX_SHARDS } from "@noema/core/escrow";
import { type Context, Hono } from "hono";
import * as z from "zod";
import type { Env } from "../env.js";
import { Id } from "../vocabulary.js";
import { HotAttractor } from "./attractor.js";

type App = { Bindings: Env };
type Ctx = Context<App>;

const Units = z.number().int("must be a whole number").min(1).max(1_000_000_000);
/** As for a product's reservations: whole seconds, 1..86400; without it, a hold lasts until released or sold. */
const TtlSeconds = z.number().int("must be a whole number").min(1).max(86_400);
/**
 * `idempotencyKey`: a retried request (its answer lost to a dropped connection or a crash) gets the
 * first one's Seal and reservation instead of a second hold. It also picks the shard when `key` is absent.
 */
const ReserveBody = z.strictObject({ quantity: Units, key: z.string().min(1).max(256).optional(), idempotencyKey: z.string().min(1).max(MAX_KEY_LENGTH).optional(), ttlSeconds: TtlSeconds.optional() });
/** A hot reservation id names its shard: `<shard index>.<uuid>`, so its release goes where it is held. */
const HotReservationId = z.string().regex(/^\d{1,2}\.[0-9a-f-]{36}$/, "must be a reservation id this API gave (<shard>.<uuid>)");

/** How long a Worker isolate trusts the shard list it read from a coordinator. */
const ROUTE_TTL_MS = 1000;
const routes = new Map<string, { shards: string[]; until: number }>();

/** One World of a hot product: its coordinator `<productId>`, or a shard `<productId>~<i>`. */
export const HotWorld = z.string().regex(/^[A-Za-z0-9._:-]{1,128}(~\d{1,2})?$/, "must be a product id, or a product id and a shard (<productId>~<i>)");

const productOf = (c: Ctx) => parseInput(Id, c.req.param("productId"), ["productId"]);
const hot = (c: Ctx, name: string) => c.env.HOT_ATTRACTOR.getByName(name);

/** The product's active shards: read from its coordinator at most once a second per isolate, not on every request. */
async function activeShards(c: Ctx, productId: string): Promise<string[]> {
  const cached = routes.get(productId);
  if (cached && cached.until > Date.now()) return cached.shards;
  const shards = await hot(c, productId).activeShards();
  routes.set(productId, { shards, until: Date.now() + ROUTE_TTL_MS });
  return shards;
}

/**
 * Hot products (a flash sale on one SKU): POST /:productId/stock, POST /:productId/split,
 * POST /:productId/rebalance, GET /:productId, GET /:productId/laws, POST /:productId/moves/:moveId/settle,
 * POST /:productId/reservations (routed to a random
 * shard, or by `key`), DELETE /:productId/reservations/:reservationId and POST
 * /:productId/reservations/:reservationId/commit (to the shard holding it).
 */
export const hotRoutes = new Hono<App>();
hotRoutes.use("*", limitBody());

hotRoutes.post("/:productId/stock", async (c) => {
  const productId = productOf(c);
  const { quantity } = parseInput(z.strictObject({ quantity: Units }), await readJson(c));
  return sealResponse(c, await hot(c, productId).stock(quantity), (seal) => c.json({ seal }));
});

hotRoutes.post("/:productId/split", async (c) => {
  const productId = productOf(c);
  const { shards } = parseInput(z.strictObject({ shards: z.number().int().min(1).max(MAX_SHARDS) }), await readJson(c));
  const stub = hot(c, productId);
  const max = await stub.maxShards();
  if (shards > max) throw invalidInput([{ path: "shards", message: `must be at most ${max}` }]);
  const result = await stub.split(shards);
  routes.delete(productId);
  return c.json(result);
});

hotRoutes.post("/:productId/rebalance", async (c) => {
  const seal = await hot(c, productOf(c)).rebalance();
  return c.json(seal ? { seal } : {});
});

hotRoutes.get("/:productId", async (c) => c.json({ product: await hot(c, productOf(c)).read() }));

// The law each World holds; asking wakes every shard, so after a deployment each migrates now.
hotRoutes.get("/:productId/laws", async (c) => c.json({ laws: await hot(c, productOf(c)).laws() }));

hotRoutes.post("/:productId/reservations", async (c) => {
  const productId = productOf(c);
  const body = parseInput(ReserveBody, await readJson(c));
  const shards = await activeShards(c, productId);
  if (shards.length === 0) throw new ApiError(409, "not_split", `product ${productId} is not split into shards: POST /api/hot/${productId}/split first`);
  const { idempotencyKey } = body;
  const index = pickShard(shards.length, body.key ?? idempotencyKey);
  // Under a key, the id is the key's: a retry names the same reservation on the same shard (while the shard count holds).
  const reservationId = `${index}.${idempotencyKey === undefined ? crypto.randomUUID() : await keyUuid(idempotencyKey)}`;
  const { shard, seal } = await hot(c, shards[index]!).reserve({ reservationId, quantity: body.quantity, ...(body.ttlSeconds === undefined ? {} : { ttlSeconds: body.ttlSeconds }), ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
  return sealResponse(c, seal, (s) => c.json({ reservationId, shard, seal: s }, 201));
});

/** A move's id, as `read()` lists it under `undeliverable`. */
const MoveId = z.string().regex(/^[0-9a-f-]{36}$/, "must be a move id, as GET /api/hot/:productId lists it under undeliverable");

// A move whose message was undeliverable, settled by a person: it landed after all, or its share returns to its sender, once.
hotRoutes.post("/:productId/moves/:moveId/settle", async (c) => {
  const productId = productOf(c);
  const moveId = parseInput(MoveId, c.req.param("moveId"), ["moveId"]);
  const settlement = await hot(c, productId).settle(moveId);
  if (settlement.outcome === "unknown") throw new ApiError(404, "not_found", settlement.reason);
  if (settlement.outcome === "unsettled") throw new ApiError(409, "not_settled", settlement.reason);
  return c.json(settlement);
});

/** A UUID-shaped id drawn from an idempotency key (SHA-256): the same key, the same reservation. */
async function keyUuid(key: string): Promise<string> {
  const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The reservation named in the path, and the shard holding it. */
function held(c: Ctx) {
  const productId = productOf(c);
  const reservationId = parseInput(HotReservationId, c.req.param("reservationId"), ["reservationId"]);
  return { reservationId, stub: hot(c, shardName(productId, Number(reservationId.slice(0, reservationId.indexOf("."))))) };
}

hotRoutes.delete("/:productId/reservations/:reservationId", async (c) => {
  const { reservationId, stub } = held(c);
  return sealResponse(c, await stub.release(reservationId), (seal) => c.json({ seal }));
});

hotRoutes.post("/:productId/reservations/:reservationId/commit", async (c) => {
  const { reservationId, stub } = held(c);
  return sealResponse(c, await stub.sell(reservationId), (seal) => c.json({ seal }));
});

/**
 * Every World of a hot product, as `attractorRoutes` serves other Worlds, under `/worlds/:world`:
 * GET sediments, verify, precedents, cryostasis, audit, outbox, receipts and nomos, and GET
 * `/worlds/:world/tables/:table` for the rows of one of the escrow law's tables (holds, moves,
 * landed, …), in pages. Writes go through the routes above only: an Intent sent to a hot World
 * directly (a grant without its message, a landing nobody sent) would lose or make share.
 */
export const hotWorldRoutes = new Hono<App>();
hotWorldRoutes.post("/:world/intents", () => {
  throw new ApiError(405, "method_not_allowed", "a hot World takes no Intents from outside: stock, split, reserve and the other routes of /api/hot/:productId send them");
});

const TablePage = z.strictObject({ after: queryInt({ min: 0, default: 0 }), limit: queryInt({ min: 1, max: 1000, default: 100 }) });

hotWorldRoutes.get("/:world/tables/:table", async (c) => {
  const world = parseInput(HotWorld, c.req.param("world"), ["world"]);
  const table = c.req.param("table");
  const stub = c.env.HOT_ATTRACTOR.getByName(world);
  if (!(await stub.tables()).some((t) => t.name === table)) throw new ApiError(404, "not_found", `the escrow law has no table ${table}`);
  const page = parseInput(TablePage, c.req.query());
  return c.json(await stub.rows(table, page));
});

hotWorldRoutes.route("/", attractorRoutes<App>({ namespace: (env) => env.HOT_ATTRACTOR, law: HotAttractor.law, path: "/:world", name: HotWorld }));
