import { contentHash, type Json } from "../canonical/index.js";
import type { Intent } from "../intent/index.js";
import type { World } from "./types.js";

export const GENESIS_HASH = "0".repeat(64);

/** The hash of a sediment covers its place, its predecessor, the Intent, the outputs and the World. */
export function sedimentHash(entry: {
  sedimentId: number;
  prevHash: string;
  timestamp: number;
  intent: Intent;
  outputs: Json[];
  world: World;
}): string {
  return contentHash(entry);
}

