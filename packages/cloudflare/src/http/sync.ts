import { SYNC_CLOSE } from "@noema/core/sync";
import type { Env as HonoEnv } from "hono";
import type { Hono } from "hono/tiny";
import { type $ZodType, safeParse } from "zod/v4/core";
import type { Attractor } from "../attractor.js";
import { refuseSocket, SYNC_PATH } from "../sync/index.js";
import { ApiError, onError } from "./errors.js";
import { defaultName } from "./input.js";
import { mountableApp } from "./router.js";

/** What `syncRoutes` takes: the namespace, and where the route lives and which names it accepts. */
export interface SyncRoutesOptions<E extends HonoEnv> {
  /** The Attractor's namespace binding, for example `(env) => env.LEDGER_ATTRACTOR`. */
  namespace: (env: E["Bindings"]) => DurableObjectNamespace<Attractor>;
  /** Where one Attractor lives, with one parameter naming it; default `/:name` (the route is `<path>/sync`). */
  path?: string;
  /** Checks the name in the path; a name it refuses closes the socket with 4404. Default any string of 1 to 128 characters. */
  name?: $ZodType<string, string>;
}

/**
 * `GET <path>/sync` with `Upgrade: websocket`: forwarded to the named Attractor, which checks the
 * token (its `authorize`) and accepts a hibernatable sync socket. `attractorRoutes` includes it,
 * ahead of its `auth`; mount it alone ahead of your own auth middleware, since a browser cannot set
 * headers on a WebSocket: the token travels in `?token=` or the subprotocol.
 */
export function syncRoutes<E extends HonoEnv>(options: SyncRoutesOptions<E>): Hono<E> {
  const router = mountableApp<E>();
  router.onError(onError);
  return addSyncRoute(router, options);
}

/** Adds `GET <path>/sync` to `router` (whose error handler must be `onError`): `attractorRoutes` adds it to its own, not mounting a second app. */
export function addSyncRoute<E extends HonoEnv>(router: Hono<E>, options: SyncRoutesOptions<E>): Hono<E> {
  const path = options.path ?? "/:name";
  const param = /:([A-Za-z_]\w*)/.exec(path)?.[1];
  if (!param) throw new TypeError(`syncRoutes: path ${path} names no parameter, as in /ledgers/:name`);
  router.get(`${path}/sync`, async (c) => {
    const request = c.req.raw;
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "upgrade_required", "the sync route speaks WebSocket: send Upgrade: websocket");
    const parsed = safeParse(options.name ?? defaultName(), c.req.param(param));
    if (!parsed.success) return refuseSocket(request, SYNC_CLOSE.unknownWorld, "no such World");
    const url = new URL(request.url);
    return options.namespace(c.env).getByName(parsed.data).fetch(new Request(new URL(`${SYNC_PATH}${url.search}`, url), { headers: request.headers }));
  });
  return router;
}
