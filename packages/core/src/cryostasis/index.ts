import type { Feature } from "../builtin/feature.js";
import { cancelStep, freezeStep } from "./builtins.js";
import { CRYOSTASIS_DDL } from "./store.js";

export * from "./builtins.js";
export * from "./store.js";

/** Cryostasis: frozen Intents, their table, and the `$freeze` and `$cancel` steps (woken by seal/cryostasis.ts). */
export const cryostasisFeature: Feature = { name: "cryostasis", docs: "docs/concepts/cryostasis.md", tables: CRYOSTASIS_DDL, steps: [freezeStep, cancelStep] };
