export * from "./explain.js";
export * from "./sqlite.js";
export * from "./scope.js";
