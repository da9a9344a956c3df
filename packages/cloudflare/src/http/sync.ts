import { SYNC_CLOSE } from "@noema/core/sync";
import type { Context, Env as HonoEnv, Hono } from "hono";
import type * as z from "zod";
import type { Attractor } from "../attractor.js";
import { refuseSocket, SYNC_PATH } from "../sync/index.js";
import { ApiError } from "./errors.js";

/**
 * `GET <path>/sync` with `Upgrade: websocket`: forwarded to the named Attractor, which checks
 * the token (its `authorize`) and accepts a hibernatable sync socket. Registered before the
 * routes' `auth`: a browser cannot set headers on a WebSocket, so the token travels in `?token=`
 * or the subprotocol. A name the routes refuse closes the socket with 4404.
 */
export function syncRoute<E extends HonoEnv>(router: Hono<E>, path: string, param: string, name: z.ZodType<string>, namespace: (env: E["Bindings"]) => DurableObjectNamespace<Attractor>): void {
  router.get(`${path}/sync`, async (c: Context<E>) => {
    const request = c.req.raw;
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "upgrade_required", "the sync route speaks WebSocket: send Upgrade: websocket");
    const parsed = name.safeParse(c.req.param(param));
    if (!parsed.success) return refuseSocket(request, SYNC_CLOSE.unknownWorld, "no such World");
    const url = new URL(request.url);
    return namespace(c.env).getByName(parsed.data).fetch(new Request(new URL(`${SYNC_PATH}${url.search}`, url), { headers: request.headers }));
  });
}
