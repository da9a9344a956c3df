// @noema/core/check: explores every sequence of Intents a law allows, on a database the caller
// opens (the CLI uses node:sqlite), and checks its properties. Not needed inside a Worker.
export * from "./check/index.js";
