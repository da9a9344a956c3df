export * from "./chain.js";
export * from "./migrate.js";
export * from "./sedimenter.js";
export * from "./store.js";
export * from "./types.js";
export * from "./verify.js";
