import { app } from "./api.js";

export { InventoryAttractor } from "./attractor.js";
export default app;
