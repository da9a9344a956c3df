export * from "./admit.js";
export * from "./outside.js";
export * from "./parse.js";
