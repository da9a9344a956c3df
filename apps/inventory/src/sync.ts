import type { SyncGrant } from "@noema/cloudflare";
import { tokenScope } from "@noema/cloudflare/http";
import type { Env } from "./env.js";

/** Prefix of a subscriber token minted by `subscriberToken`: `s.<subject, base64url>.<HMAC-SHA256, hex>`. */
const SUBSCRIBER = "s.";
const AUTH = { secret: "NOEMA_API_TOKEN", readSecret: "NOEMA_READ_TOKENS" };

const b64url = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (text: string) => new TextDecoder().decode(Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)));

/** The HMAC key: the first full-access token, so rotating it revokes every subscriber token. */
async function key(env: Env): Promise<CryptoKey | undefined> {
  const secret = env.NOEMA_API_TOKEN?.split(",")[0]?.trim();
  if (!secret) return undefined;
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A token for one subscriber (a customer's cart): it sees its own reservations and may send. Only characters a WebSocket subprotocol allows. */
export async function subscriberToken(env: Env, subject: string): Promise<string> {
  const k = await key(env);
  if (!k) throw new Error("NOEMA_API_TOKEN is not set");
  const body = b64url(subject);
  return `${SUBSCRIBER}${body}.${hex(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(body)))}`;
}

/**
 * A sync token's grant: a subscriber token gets its subject, read-write; an API token sees the
 * stock (no subject, so no reservation), read-only for a token of NOEMA_READ_TOKENS.
 */
export async function authorizeSync(env: Env, token: string): Promise<SyncGrant | undefined> {
  if (token.startsWith(SUBSCRIBER)) {
    const [body, sig] = token.slice(SUBSCRIBER.length).split(".");
    const k = await key(env);
    if (!k || !body || !sig || !/^[0-9a-f]{64}$/.test(sig)) return undefined;
    const bytes = Uint8Array.from(sig.match(/../g)!, (h) => parseInt(h, 16));
    return (await crypto.subtle.verify("HMAC", k, bytes, new TextEncoder().encode(body))) ? { subject: fromB64url(body), readOnly: false } : undefined;
  }
  try {
    const scope = await tokenScope(env, AUTH, token);
    return scope ? { subject: null, readOnly: scope === "read" } : undefined;
  } catch {
    // No token configured: nobody may subscribe.
    return undefined;
  }
}
