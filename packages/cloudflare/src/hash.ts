import { type Sha256Hex, textHash, useSha256 } from "@noema/core/runtime";

/** The part of node:crypto the hash port uses. */
interface NodeCrypto {
  createHash(algorithm: "sha256"): { update(bytes: Uint8Array): { digest(): Uint8Array } };
}

/**
 * node:crypto's SHA-256 (native, synchronous in workerd, about 3× the pure-JS one on a
 * sediment), reached through `process.getBuiltinModule` rather than an import, so a Worker
 * without `nodejs_compat` still loads and keeps the pure-JS hash. Undefined where absent.
 * It is fed bytes and returns bytes: workerd's Buffer conversions of a text in and of hex
 * out cost more than encoding into the core's reused buffer and writing hex there.
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
  const { createHash } = crypto;
  return textHash((bytes) => createHash("sha256").update(bytes).digest());
}

let installed = false;

/** Plugs the fastest SHA-256 this runtime offers into the core's hash port, once per isolate. */
export function installFastHash(): void {
  if (installed) return;
  installed = true;
  const fast = nodeSha256();
  if (fast) useSha256(fast);
}
