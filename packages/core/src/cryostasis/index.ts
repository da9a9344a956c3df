export * from "./builtins.js";
export * from "./store.js";
