export { CatalogAttractor, type CatalogProduct } from "./attractor.js";
export { catalogRoutes } from "./routes.js";
export { CATALOG_NAME, CATALOG_TARGET, catalog, type CatalogVocabulary, firstStocking } from "./vocabulary.js";
