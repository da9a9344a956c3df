import { parseInput, queryInt } from "@noema/cloudflare/http";
import { Hono } from "hono";
import * as z from "zod";
import type { Env } from "../env.js";
import { Id } from "../vocabulary.js";
import { CATALOG_NAME } from "./vocabulary.js";

/** Products per page by default, and at most. */
export const CATALOG_PAGE = 100;
export const MAX_CATALOG_PAGE = 1000;

const query = z.strictObject({
  after: Id.optional(),
  limit: queryInt({ min: 1, max: MAX_CATALOG_PAGE, default: CATALOG_PAGE }),
});

/** `GET /products?after=&limit=`: every stocked product, in productId order, paged. */
export const catalogRoutes = new Hono<{ Bindings: Env }>();

catalogRoutes.get("/products", async (c) => {
  const q = parseInput(query, c.req.query());
  return c.json(await c.env.CATALOG_ATTRACTOR.getByName(CATALOG_NAME).products(q.after, q.limit));
});
