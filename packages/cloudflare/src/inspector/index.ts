export { inspector, type InspectorOptions } from "./app.js";
export type { ChartSpec } from "./state.js";
