export { inspector, type InspectorOptions } from "./app.js";
