export * from "./builtins.js";
export * from "./explain.js";
export * from "./sqlite.js";
