export * from "./explain.js";
export * from "./sqlite.js";
