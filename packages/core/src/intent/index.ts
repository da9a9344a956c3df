export * from "./builder.js";
export * from "./vocabulary.js";
export * from "./wire.js";
