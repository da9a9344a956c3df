import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "./errors.js";

/** Where `tokenAuth` finds its tokens (names of Worker bindings, not the tokens) and which requests only read. */
export interface TokenAuthOptions {
  /**
   * The binding that holds the full-access token: a Worker secret (`wrangler secret put`),
   * `.dev.vars` locally. Several comma-separated tokens are all accepted, so a token can be
   * rotated without downtime.
   */
  secret: string;
  /** The binding with comma-separated read-only tokens: every read, 403 `forbidden` on any write. */
  readSecret?: string;
  /** Whether a request only reads; default `isReadRequest`. */
  isRead?: (c: Context) => boolean;
}

/** @deprecated Renamed `TokenAuthOptions`, with `tokenAuth`. */
export type BearerAuthOptions = TokenAuthOptions;

/** What a token may do. */
export type TokenScope = "write" | "read";

/** `Authorization: <scheme> <credentials>`; the scheme is case-insensitive (RFC 9110 §11.1). */
const AUTHORIZATION = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +(\S.*)$/;
/** POST routes of `attractorRoutes` that compute an answer and change nothing. */
const READ_POSTS = /\/(explain|connection)$/;

/** GET and HEAD, and the POSTs of `attractorRoutes` that only compute (`/explain`, `/connection`). */
export function isReadRequest(c: Context): boolean {
  const method = c.req.method;
  return method === "GET" || method === "HEAD" || (method === "POST" && READ_POSTS.test(new URL(c.req.url).pathname));
}

const tokensIn = (env: unknown, name: string | undefined): string[] => {
  const binding: unknown = name === undefined ? undefined : (env as Record<string, unknown> | undefined)?.[name];
  return typeof binding === "string" ? binding.split(",").map((t) => t.trim()).filter((t) => t !== "") : [];
};

/**
 * The scope `token` has under these options' bindings, or undefined for none. Every configured
 * token is compared, in constant time, so the answer's timing says nothing about which matched.
 * Throws 503 `not_configured` when the full-access binding holds no token.
 */
export async function tokenScope(env: unknown, options: Pick<TokenAuthOptions, "secret" | "readSecret">, token: string): Promise<TokenScope | undefined> {
  const write = tokensIn(env, options.secret);
  if (write.length === 0) throw new ApiError(503, "not_configured", `${options.secret} is not set on this Worker`);
  const read = tokensIn(env, options.readSecret);
  const [w, r] = await Promise.all([anyEqual(token, write), anyEqual(token, read)]);
  return w ? "write" : r ? "read" : undefined;
}

async function anyEqual(given: string, expected: string[]): Promise<boolean> {
  const results = await Promise.all(expected.map((e) => tokensEqual(given, e)));
  return results.includes(true);
}

/**
 * Middleware that admits a request whose Bearer token is one of those the Worker's bindings hold,
 * compared in constant time (both sides hashed, so neither the content nor the length leaks); a
 * read-only token may only read. The header is `Authorization: Bearer <token>`. 401 `unauthorized` otherwise,
 * 403 `forbidden` for a read-only token on a write, 503 `not_configured` when the Worker has no
 * token. Unlike Hono's `bearerAuth`, it takes binding names, not tokens, and knows two scopes.
 */
export function tokenAuth(options: TokenAuthOptions): MiddlewareHandler {
  const name = options.secret;
  const isRead = options.isRead ?? isReadRequest;
  // Any app's bindings, as Hono's own middleware takes them.
  return async (c, next) => {
    const match = AUTHORIZATION.exec(c.req.header("Authorization") ?? "");
    const given = match && match[1]!.toLowerCase() === "bearer" ? match[2]!.trim() : "";
    // Checked first, so an unconfigured Worker says so whatever was sent.
    const scope = await tokenScope(c.env, options, given);
    if (!scope) throw new ApiError(401, "unauthorized", `send Authorization: Bearer <${name}>`);
    if (scope === "read" && !isRead(c)) throw new ApiError(403, "forbidden", `a token of ${options.readSecret} may only read; writes need ${name}`);
    await next();
  };
}

/**
 * @deprecated Renamed `tokenAuth`: Hono's `bearerAuth` takes the tokens themselves, this takes
 * the names of the bindings that hold them. Kept one release.
 */
export const bearerAuth: (options: TokenAuthOptions) => MiddlewareHandler = tokenAuth;

/** Constant-time equality of two secrets. */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(given)), crypto.subtle.digest("SHA-256", enc.encode(expected))]);
  return crypto.subtle.timingSafeEqual(a, b);
}
