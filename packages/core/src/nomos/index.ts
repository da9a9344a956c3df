export * from "./column.js";
export * from "./define.js";
