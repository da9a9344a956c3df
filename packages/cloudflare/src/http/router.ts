import { Hono } from "hono/tiny";
import type { Env as HonoEnv } from "hono";
import type { Result, Router } from "hono/router";
import { PatternRouter } from "hono/router/pattern-router";

/**
 * Records routes and builds hono/tiny's PatternRouter from them on the first match. A sub-app
 * mounted with `app.route()` is never matched (its routes are added to the parent's router), so
 * its patterns, built while the modules load, were built for nothing.
 */
class MountedRouter<T> implements Router<T> {
  name = "MountedRouter";
  #routes: [method: string, path: string, handler: T][] = [];
  #router: PatternRouter<T> | undefined;

  add(method: string, path: string, handler: T): void {
    if (this.#router) this.#router.add(method, path, handler);
    else this.#routes.push([method, path, handler]);
  }

  match(method: string, path: string): Result<T> {
    if (!this.#router) {
      this.#router = new PatternRouter<T>();
      for (const [m, p, h] of this.#routes) this.#router.add(m, p, h);
      this.#routes = [];
    }
    return this.#router.match(method, path);
  }
}

/** A Hono app meant to be mounted (`attractorRoutes`, `syncRoutes`): it still serves alone. */
export function mountableApp<E extends HonoEnv>(): Hono<E> {
  const app = new Hono<E>();
  app.router = new MountedRouter();
  return app;
}
