export { BUILTIN_CHECKS, check, DEFAULT_DEPTH, DEFAULT_START, MAX_DEPTH } from "./explore.js";
export { defineCheck } from "./define.js";
export { CheckSetupError, deriveDomain, DEFAULT_ID_POOLS } from "./domains.js";
export { formatReport } from "./format.js";
export type * from "./types.js";
