import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.js";

export interface BearerAuthOptions {
  /** The binding that holds the expected token: a Worker secret (`wrangler secret put`), `.dev.vars` locally. */
  secret: string;
}

/** `Authorization: <scheme> <credentials>`; the scheme is case-insensitive (RFC 9110 §11.1). */
const AUTHORIZATION = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S.*)$/;

/**
 * Requires `Authorization: Bearer <token>`, compared in constant time (both sides hashed, so
 * neither the content nor the length leaks). 401 `unauthorized` otherwise, 503
 * `not_configured` when the Worker has no token.
 */
export function bearerAuth(options: BearerAuthOptions): MiddlewareHandler {
  const name = options.secret;
  // Any app's bindings, as Hono's own middleware takes them.
  return async (c, next) => {
    const binding: unknown = (c.env as Record<string, unknown> | undefined)?.[name];
    const expected = typeof binding === "string" ? binding : undefined;
    if (!expected) throw new ApiError(503, "not_configured", `${name} is not set on this Worker`);
    const match = AUTHORIZATION.exec(c.req.header("Authorization") ?? "");
    if (!match || match[1]!.toLowerCase() !== "bearer" || !(await tokensEqual(match[2]!.trim(), expected))) {
      throw new ApiError(401, "unauthorized", `send Authorization: Bearer <${name}>`);
    }
    await next();
  };
}

/** Constant-time equality of two secrets. */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(given)), crypto.subtle.digest("SHA-256", enc.encode(expected))]);
  return crypto.subtle.timingSafeEqual(a, b);
}
