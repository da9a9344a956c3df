export * from "./attractor.js";
export * from "./world.js";
