import { nobleSha256Hex, type Sha256Hex, textHash, useSha256 } from "@noema/core/runtime";

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

/**
 * Characters hashed in pure JS before node:crypto is loaded. Loading it is the dearest part of a
 * cold Attractor's first request in workerd: `globalThis.process` loads Node's process module and
 * its streams, `node:crypto` more. A World woken for a few Intents never hashes enough for the
 * native hash to pay that back; one under load passes this within its first few hundred Seals.
 */
const NATIVE_HASH_AFTER = 256 * 1024;

let installed = false;

/**
 * Plugs the fastest SHA-256 this runtime offers into the core's hash port, once per isolate:
 * the pure-JS one until NATIVE_HASH_AFTER characters were hashed, then node:crypto's.
 */
export function installFastHash(): void {
  if (installed) return;
  installed = true;
  let hashed = 0;
  useSha256((text) => {
    hashed += text.length;
    // undefined (no node:crypto) puts the pure-JS one back for good.
    if (hashed > NATIVE_HASH_AFTER) useSha256(nodeSha256());
    return nobleSha256Hex(text);
  });
}
