import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

/**
 * The signed-in token lives in an HttpOnly cookie set by the sign-in form's POST, not in
 * sessionStorage: pages are rendered on the server, so a plain navigation must carry it; no
 * script (ours or an injected one) can read it; SameSite=Strict keeps other sites' requests from
 * sending it. It never appears in a URL or in the HTML.
 */
export const COOKIE = "noema_inspector";

/** No inline script or style, nothing from elsewhere, never framed. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** On every inspector response, pages and errors alike. */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // A WebSocket handshake's response is the Attractor's own: rebuilding it to add headers would drop its socket.
  if (c.res.status === 101) return;
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
  // Pages show live data and a signed-in view: never from a shared cache.
  c.header("Cache-Control", "no-store");
};

/**
 * CSRF protection for every POST: the browser's `Origin` must be this Worker's own. Browsers
 * always send it on a cross-site POST and cannot be made to forge it; SameSite=Strict already
 * keeps the cookie off such requests, this refuses them even before that.
 */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header("Origin");
  return origin !== undefined && origin === new URL(c.req.url).origin;
}

export function readToken(c: Context): string | undefined {
  return getCookie(c, COOKIE);
}

export function rememberToken(c: Context, token: string, path: string): void {
  setCookie(c, COOKIE, token, { path, httpOnly: true, sameSite: "Strict", secure: new URL(c.req.url).protocol === "https:" });
}

export function forgetToken(c: Context, path: string): void {
  deleteCookie(c, COOKIE, { path, httpOnly: true, sameSite: "Strict", secure: new URL(c.req.url).protocol === "https:" });
}
