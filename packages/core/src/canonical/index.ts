import { sha256Hex } from "./sha256.js";

export { sha256Hex } from "./sha256.js";

/**
 * A JSON value: what may cross the wire or go into storage. The array and object cases are
 * interfaces, not inline `Json[]` / `{ [key: string]: Json }`: Cloudflare's RPC stub types
 * (`Rpc.Serializable`, `Rpc.Stubify`) expand an inline recursive alias until TS2589
 * ("excessively deep"), while a named interface is compared by reference and stays finite.
 */
export type Json = null | boolean | number | string | JsonArray | JsonObject;
export interface JsonArray extends Array<Json> {}
export interface JsonObject {
  [key: string]: Json;
}

/**
 * JSON with object keys sorted at every depth, so equal values hash equally
 * whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}


/** SHA-256 of the canonical JSON of a value. */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * Collapses runs of whitespace in a SQL fragment outside string literals and quoted
 * identifiers, so that reformatting a CHECK or an invariant does not change its hash.
 */
export function normalizeSql(sql: string): string {
  let out = "";
  let quote: string | null = null;
  let pendingSpace = false;
  for (const ch of sql.trim()) {
    if (quote) {
      out += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (/\s/.test(ch)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace && out.length > 0) out += " ";
    pendingSpace = false;
    out += ch;
    if (ch === "'" || ch === '"') quote = ch;
  }
  return out;
}
