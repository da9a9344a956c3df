export { inspector, type InspectorOptions } from "./app.js";
export type { Overview, OverviewCell, OverviewContext } from "./overview.js";
export type { ChartSpec } from "./state.js";
