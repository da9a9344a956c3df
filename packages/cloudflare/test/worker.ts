// The ledger example Worker plus Attractor classes only the alarm tests use.
export * from "./ledger/worker.js";
export { default } from "./ledger/worker.js";
export { ChoreAttractor } from "./alarm/attractors.js";
