import { canonicalJson, joinedHash, sha256Hex } from "../canonical/index.js";
import type { Sediment, World } from "./types.js";

/** The hash before the first sediment: what the first entry's prevHash is. */
export const GENESIS_HASH = "0".repeat(64);

/** A sediment with its Intent, outputs and World already in canonical JSON, as the log stores them. */
export interface CanonicalSediment {
  sedimentId: number;
  prevHash: string;
  timestamp: number;
  intent: string;
  outputs: string;
  /** Canonical JSON of the Origin, for an Intent carried from an earlier law. */
  origin?: string | null;
  /** SHA-256 of the World's canonical JSON: the World repeats in every entry, so it is hashed once. */
  worldHash: string;
}

/**
 * SHA-256 of the canonical JSON of `{intent, origin?, outputs, prevHash, sedimentId, timestamp, world}`,
 * where `world` is the World's hash and `origin` appears only when the entry has one. Written out by hand (keys in canonical order) so the
 * already-canonical parts are not serialized twice on the hot path, and hashed piece by piece (see joinedHash): the entry's text is never made.
 */
export function hashCanonicalSediment(c: CanonicalSediment): string {
  // Hashes are lower-case hex, which JSON writes as they are; anything else is quoted by JSON.stringify.
  if (!plainJsonString(c.prevHash) || !plainJsonString(c.worldHash)) return sha256Hex(canonicalSedimentText(c));
  return joinedHash([
    '{"intent":',
    c.intent,
    c.origin ? ',"origin":' : "",
    c.origin || "",
    ',"outputs":',
    c.outputs,
    ',"prevHash":"',
    c.prevHash,
    '","sedimentId":',
    String(c.sedimentId),
    ',"timestamp":',
    String(c.timestamp),
    ',"world":"',
    c.worldHash,
    '"}',
  ]);
}

/** The text hashCanonicalSediment hashes. */
export function canonicalSedimentText(c: CanonicalSediment): string {
  const origin = c.origin ? `"origin":${c.origin},` : "";
  return `{"intent":${c.intent},${origin}"outputs":${c.outputs},"prevHash":${JSON.stringify(c.prevHash)},"sedimentId":${c.sedimentId},"timestamp":${c.timestamp},"world":${JSON.stringify(c.worldHash)}}`;
}

/** Whether JSON.stringify writes the text as it is between quotes: no quote, backslash, control character or surrogate. */
function plainJsonString(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

export function worldHash(world: World): string {
  return sha256Hex(canonicalJson(world));
}

/** The hash of a sediment: it covers its place, its predecessor, the Intent (and its origin), the outputs and the World. */
export function sedimentHash(entry: Omit<Sediment, "hash">): string {
  return hashCanonicalSediment({
    sedimentId: entry.sedimentId,
    prevHash: entry.prevHash,
    timestamp: entry.timestamp,
    intent: canonicalJson(entry.intent),
    outputs: canonicalJson(entry.outputs),
    origin: entry.origin ? canonicalJson(entry.origin) : null,
    worldHash: worldHash(entry.world),
  });
}
