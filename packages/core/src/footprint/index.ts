export { SieveDerivationError } from "./error.js";
export {
  emptyFootprint,
  type Footprint,
  type FootprintEntry,
  footprintEntry,
  footprintKey,
  type FootprintReader,
  footprintsAvailable,
  type FootprintTable,
  mergeFootprints,
  registerFootprints,
  type Schema,
  statementFootprint,
  useFootprintReader,
} from "./table.js";
