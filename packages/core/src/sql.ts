// @noema/core/sql: reads a law's SQL with node-sql-parser. Importing it installs the parser, so
// every footprint (and so every Sieve) is derived from the SQL itself, and a statement that cannot
// be read is an error naming its operation, the statement and the position when the law is
// defined. The CLI, tests and the model checker import it; a Worker does not (the parser is most
// of its size and start-up): it carries the footprints `noema build` derived with this one, in the
// module generated next to its law (see registerFootprints in @noema/core).
import { deriveFootprint } from "./footprint/derive.js";
import { useFootprintReader } from "./footprint/index.js";

export type { FootprintLaws, FootprintTable } from "./footprint/index.js";

useFootprintReader(deriveFootprint);

export { footprintLaws, footprintTable } from "./sieve/index.js";
