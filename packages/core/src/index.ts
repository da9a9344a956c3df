export * from "./canonical/index.js";
export * from "./intent/index.js";
export * from "./interpretation/index.js";
export * from "./nomos/index.js";
export * from "./seal/index.js";
