export * from "./builtin.js";
export * from "./store.js";
