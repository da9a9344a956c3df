import type { Hono } from "hono";
import type { Env as HonoEnv } from "hono";

/** What `app.use()` registers under: middleware, not a route. */
const MIDDLEWARE = "ALL";
const METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH"] as const;

/**
 * The methods some route of `app` answers on `path`, for a 405's `Allow`. Asked of the app's own
 * router, already built by the request that missed: a second router of every route would be
 * built on the first 404 of each isolate.
 */
export function allowedMethods<E extends HonoEnv>(app: Hono<E>, path: string): string[] {
  return METHODS.filter((m) => app.router.match(m, path)[0].some(([[, route]]) => route.method !== MIDDLEWARE));
}
