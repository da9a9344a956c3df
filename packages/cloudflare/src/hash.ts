import { builtinSha256Hex, type Sha256Hex, sha256Halves, textHash, useSha256 } from "@noema/core/runtime";

/** The part of node:crypto the hash port uses. */
interface NodeCrypto {
  createHash(algorithm: "sha256"): { update(bytes: Uint8Array): { digest(): Uint8Array } };
}

/** workerd's native hash state behind a node:crypto Hash (`cryptoImpl.HashHandle`); not a public API, so probed. */
interface HashHandle {
  update(bytes: Uint8Array): unknown;
  digest(): ArrayBuffer | Uint8Array;
}
type HashHandleClass = new (algorithm: string, outputLength: undefined) => HashHandle;

/** A text whose hash the native handle must get right before it is trusted (multi-byte, over one block). */
const PROBE = "noema é 😀 ".repeat(12);

/**
 * The class of the native state a node:crypto Hash keeps under a symbol, if it has one.
 * workerd's `createHash` also builds a Transform stream per call (Readable and Writable state,
 * an EventEmitter) and copies the digest into a Buffer: in an RPC call's profile that costs more
 * than the digest of a sediment. The state alone does the same digest without them.
 */
function hashHandleClass(hash: object): HashHandleClass | undefined {
  for (const key of Object.getOwnPropertySymbols(hash)) {
    const value = (hash as Record<symbol, unknown>)[key] as Partial<HashHandle> | null | undefined;
    if (typeof value === "object" && value !== null && typeof value.update === "function" && typeof value.digest === "function") return value.constructor as HashHandleClass;
  }
  return undefined;
}

/** SHA-256 through the native state alone, when it gives the pure-JS hash's result on PROBE; else undefined. */
export function handleSha256(createHash: NodeCrypto["createHash"]): Sha256Hex | undefined {
  try {
    const Handle = hashHandleClass(createHash("sha256"));
    if (!Handle) return undefined;
    const hash = textHash((bytes) => {
      const handle = new Handle("sha256", undefined);
      handle.update(bytes);
      const digest = handle.digest();
      return digest instanceof Uint8Array ? digest : new Uint8Array(digest);
    });
    return hash(PROBE) === builtinSha256Hex(PROBE) ? hash : undefined;
  } catch {
    return undefined;
  }
}

/**
 * node:crypto's SHA-256 (native, synchronous in workerd, several times the pure-JS one on a
 * sediment), reached through `process.getBuiltinModule` rather than an import, so a Worker
 * without `nodejs_compat` still loads and keeps the pure-JS hash. Undefined where absent.
 * It is fed bytes and returns bytes: workerd's Buffer conversions of a text in and of hex
 * out cost more than encoding into the core's reused buffer and writing hex there. Where the
 * Hash's native state can be reached (see hashHandleClass), that is used without the Hash.
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
  return handleSha256(createHash) ?? hashSha256(createHash);
}

/** SHA-256 through a node:crypto Hash per text: where the native state cannot be reached. */
export const hashSha256 = (createHash: NodeCrypto["createHash"]): Sha256Hex => textHash((bytes) => createHash("sha256").update(bytes).digest());

/**
 * Bytes hashed in pure JS before node:crypto is loaded. Loading it is the dearest part of a
 * cold Attractor's first request in workerd: `globalThis.process` loads Node's process module and
 * its streams, `node:crypto` more (about 6 ms). A World woken for one Intent never gets there; one
 * that keeps writing passes this within its first dozen Seals, and each Seal after saves a few µs.
 */
const NATIVE_HASH_AFTER = 16 * 1024;

let installed = false;
/** Whether the port has node:crypto's hash: set by the timer, once. */
let native = false;

/**
 * Plugs the fastest SHA-256 this runtime offers into the core's hash port, once per isolate:
 * sha256Halves until NATIVE_HASH_AFTER bytes were hashed, then node:crypto's, loaded in a
 * timer after the event that passed it: between requests, not inside one (the core's pure-JS
 * hash where there is no node:crypto). Made by `textHash`, so the core hashes a sediment's
 * pieces without joining them (`joinedHash`) from the first Seal on.
 */
export function installFastHash(): void {
  if (installed) return;
  installed = true;
  let hashed = 0;
  useSha256(
    textHash((bytes) => {
      hashed += bytes.length;
      if (hashed > NATIVE_HASH_AFTER && hashed - bytes.length <= NATIVE_HASH_AFTER) {
        // undefined (no node:crypto) puts the pure-JS one back for good.
        setTimeout(() => {
          const hash = nodeSha256();
          useSha256(hash);
          native = hash !== undefined;
        }, 0);
      }
      return sha256Halves(bytes);
    }),
  );
}

/** Whether this isolate's hash port has moved to node:crypto's hash (see installFastHash). */
export const nativeHashInstalled = (): boolean => native;
