// The law of the storefront's v4 build: `buildStore({ law })` bundles this module in place of ../src/law.js.
export { inventoryLawV4 as inventoryLaw } from "./law-v4.js";
