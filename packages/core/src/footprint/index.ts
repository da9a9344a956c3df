export { type Footprint, emptyFootprint, mergeFootprints, type Schema, statementFootprint } from "./derive.js";
export { SieveDerivationError } from "./read.js";
