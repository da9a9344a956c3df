export { SieveDerivationError } from "./error.js";
export {
  emptyFootprint,
  type Footprint,
  type FootprintEntry,
  type FootprintLaws,
  footprintEntry,
  footprintKey,
  type FootprintReader,
  footprintsAvailable,
  lawText,
  type FootprintTable,
  mergeFootprints,
  registerFootprints,
  type Schema,
  setLawText,
  statementFootprint,
  useFootprintReader,
} from "./table.js";
