import type { BuiltinStep } from "./index.js";

/**
 * A feature of the runtime (Cryostasis, messages, verification, archive, …): what it brings to
 * every Attractor, declared once in its own folder. The layers below the Sedimenter read it:
 * `BUILTIN_STEPS` is the union of the features' `steps`, the internal tables are created from
 * their `tables`. What it does while an Intent is sealed is its `FeatureHooks` (seal/feature.ts),
 * and its alarm chore and RPC methods are its Cloudflare part. See docs/internals/layering.md.
 */
export interface Feature {
  /** Names it in logs, and its alarm chore. */
  readonly name: string;
  /** Its page, from the repository's root: what a user learns it from. */
  readonly docs: `docs/${string}.md`;
  /** The DDL of its internal tables (`CREATE … IF NOT EXISTS`), created with the log's when an Attractor first wakes. */
  readonly tables: readonly string[];
  /** The built-in (`$`) steps it brings to every vocabulary. */
  readonly steps: readonly BuiltinStep[];
}
