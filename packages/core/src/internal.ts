/**
 * @noema/core/internal: internals that the tests of the other packages and the benchmark reach.
 * NOT part of the public API: any release may change or remove these without notice. A user
 * imports @noema/core (writing a law), @noema/core/runtime (a host) or @noema/core/check; the
 * core's own tests import ../src directly.
 *
 * @packageDocumentation
 */

export { canonicalJson, sha256Hex } from "./canonical/index.js";
export { countPlaceholders } from "./intent/vocabulary.js";
export { diffNomos } from "./connection/diff.js";
export { backoffMs, CryostasisStore, MAX_WAKE_ATTEMPTS, scaledBackoffMs } from "./cryostasis/store.js";
export { constraintReason } from "./interpretation/sqlite.js";
export { SCOPE_MARKS_KEPT } from "./interpretation/scope.js";
export { hashCanonicalSediment, worldHash } from "./seal/chain.js";
export { verifySchema } from "./seal/migrate.js";
export { SLICE_TARGET_MS } from "./seal/slice.js";
export { FORMAT_VERSION, MAX_SHAPES } from "./seal/store.js";
export { VERIFY_SLICE } from "./seal/verify.js";
export { deriveDomain } from "./check/index.js";
