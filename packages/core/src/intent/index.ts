export * from "./vocabulary.js";
export * from "./wire.js";
