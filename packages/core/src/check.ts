// @noema/core/check: explores every sequence of Intents a law allows, on a database the caller
// opens (the CLI uses node:sqlite), and checks its properties. Not needed inside a Worker.
// The checker reads SQL: it needs the parser, which a Worker does not carry.
import "./sql.js";

export { check, DEFAULT_DEPTH, DEFAULT_START, MAX_DEPTH } from "./check/explore.js";
export { defineCheck } from "./check/define.js";
export { CheckSetupError } from "./check/domains.js";
export { formatReport } from "./check/format.js";
export type * from "./check/types.js";
