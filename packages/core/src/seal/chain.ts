import { canonicalJson, sha256Hex } from "../canonical/index.js";
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
 * already-canonical parts are not serialized twice on the hot path.
 */
export function hashCanonicalSediment(c: CanonicalSediment): string {
  const origin = c.origin ? `"origin":${c.origin},` : "";
  return sha256Hex(
    `{"intent":${c.intent},${origin}"outputs":${c.outputs},"prevHash":${JSON.stringify(c.prevHash)},"sedimentId":${c.sedimentId},"timestamp":${c.timestamp},"world":${JSON.stringify(c.worldHash)}}`,
  );
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
