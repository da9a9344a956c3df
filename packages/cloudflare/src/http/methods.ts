import type { Hono } from "hono";
import type { Env as HonoEnv } from "hono";
import { PatternRouter } from "hono/router/pattern-router";

/** What `app.use()` registers under: middleware, not a route. */
const MIDDLEWARE = "ALL";
const METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH"] as const;

const routers = new WeakMap<object, { size: number; router: PatternRouter<true> }>();

/** The methods some route of `app` answers on `path`, for a 405's `Allow`. */
export function allowedMethods<E extends HonoEnv>(app: Hono<E>, path: string): string[] {
  let cached = routers.get(app);
  // Routes are added before the first request; rebuilt if any came later.
  if (!cached || cached.size !== app.routes.length) {
    const router = new PatternRouter<true>();
    for (const r of app.routes) if (r.method !== MIDDLEWARE) router.add(r.method, r.path, true);
    cached = { size: app.routes.length, router };
    routers.set(app, cached);
  }
  const { router } = cached;
  return METHODS.filter((m) => router.match(m, path)[0].length > 0);
}
