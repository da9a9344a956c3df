import { app } from "./api.js";

export { InventoryAttractor } from "./attractor.js";
export { CatalogAttractor } from "./catalog/attractor.js";
export { OrderAttractor } from "./orders/attractor.js";
export { HotAttractor } from "./hot/attractor.js";
export default app;
