import { type Sha256Hex, useSha256 } from "@noema/core/runtime";

/** The part of node:crypto the hash port uses. */
interface NodeCrypto {
  createHash(algorithm: "sha256"): { update(text: string): { digest(encoding: "hex"): string } };
  /** One-shot hash (Node 21.7+): no Hash object per call. */
  hash?(algorithm: "sha256", text: string, encoding: "hex"): string;
}

/**
 * node:crypto's SHA-256 (native, synchronous in workerd, about 10× the pure-JS one on a
 * sediment), reached through `process.getBuiltinModule` rather than an import, so a Worker
 * without `nodejs_compat` still loads and keeps the pure-JS hash. Undefined where absent.
 */
export function nodeSha256(): Sha256Hex | undefined {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  let crypto: NodeCrypto | undefined;
  try {
    crypto = process?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;
  } catch {
    return undefined;
  }
  if (typeof crypto?.createHash !== "function") return undefined;
  const { createHash, hash } = crypto;
  if (typeof hash === "function") return (text) => hash("sha256", text, "hex");
  return (text) => createHash("sha256").update(text).digest("hex");
}

let installed = false;

/** Plugs the fastest SHA-256 this runtime offers into the core's hash port, once per isolate. */
export function installFastHash(): void {
  if (installed) return;
  installed = true;
  const fast = nodeSha256();
  if (fast) useSha256(fast);
}
