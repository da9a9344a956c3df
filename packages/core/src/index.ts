export * from "./admission/index.js";
export * from "./builder/index.js";
export * from "./canonical/index.js";
export * from "./connection/index.js";
export * from "./connection/lineage.js";
export * from "./cryostasis/index.js";
export * from "./host/index.js";
export * from "./intent/index.js";
export * from "./interpretation/index.js";
export * from "./issue/index.js";
export * from "./nomos/index.js";
export * from "./refusal/index.js";
export * from "./seal/index.js";
export * from "./sieve/index.js";
// One Zod for vocabularies and the core that parses them: authors import `z` from here.
export { z } from "zod";
export * from "./check/index.js";
