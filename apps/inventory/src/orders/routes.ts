import { ApiError, limitBody, parseInput, readJson } from "@noema/cloudflare/http";
import { type Context, Hono } from "hono";
import * as z from "zod";
import type { Env } from "../env.js";
import type { OrderResult } from "./attractor.js";
import { orderStub } from "./shards.js";
import { OrderId, OrderLines, OrderTtl } from "./vocabulary.js";

type App = { Bindings: Env };

const CreateBody = z.strictObject({ orderId: OrderId.optional(), lines: OrderLines, ttlSeconds: OrderTtl });

const stubOf = (c: Context<App>, orderId: string) => orderStub(c.env.ORDER_ATTRACTOR, orderId);
const orderIdOf = (c: Context<App>) => parseInput(OrderId, c.req.param("orderId"), ["orderId"]);

/** 202 with the order, or the error the Attractor named; nothing changed in that case. */
function answer(c: Context<App>, result: OrderResult) {
  if (!result.ok) throw new ApiError(result.status, result.code, result.message);
  return c.json({ order: result.order }, 202);
}

/** Orders across products: POST /, GET /:orderId, POST /:orderId/commit, DELETE /:orderId. */
export const orderRoutes = new Hono<App>();
orderRoutes.use("*", limitBody());

orderRoutes.post("/", async (c) => {
  const body = parseInput(CreateBody, await readJson(c));
  const orderId = body.orderId ?? crypto.randomUUID();
  return answer(c, await stubOf(c, orderId).create({ orderId, lines: body.lines, ttlSeconds: body.ttlSeconds }));
});

orderRoutes.get("/:orderId", async (c) => {
  const orderId = orderIdOf(c);
  const order = await stubOf(c, orderId).order(orderId);
  if (!order) throw new ApiError(404, "not_found", `order ${orderId} does not exist`);
  return c.json({ order });
});

orderRoutes.post("/:orderId/commit", async (c) => {
  const orderId = orderIdOf(c);
  return answer(c, await stubOf(c, orderId).commit(orderId));
});
orderRoutes.delete("/:orderId", async (c) => {
  const orderId = orderIdOf(c);
  return answer(c, await stubOf(c, orderId).cancel(orderId));
});
