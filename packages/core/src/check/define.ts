import type { Lineage } from "../connection/lineage.js";
import type { Vocabulary } from "../intent/index.js";
import type { CheckDefinition, OpsOf } from "./types.js";

/**
 * A check definition, typed from its law: each action's `build` receives a step builder of the
 * law's newest operations, with no type argument to write. It returns the definition as given.
 *
 * @example export const check = defineCheck({ law, actions: { reserve: { op: "reserve", build: (s, a) => s.reserve(…) } } });
 */
export function defineCheck<L extends Vocabulary | Lineage>(definition: CheckDefinition<OpsOf<L>> & { law: L }): CheckDefinition<OpsOf<L>> & { law: L } {
  return definition;
}
