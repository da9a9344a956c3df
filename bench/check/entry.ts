// Bundled by bench/check.mjs: the core is TypeScript source here, so plain Node runs it through esbuild.
import { check, type CheckReport, type Progress } from "@noema/core/check";
import { check as inventoryCheck, inventoryActions, inventoryLiveness, inventoryProperties } from "../../apps/inventory/src/check.js";
import { inventoryV2 } from "../../apps/inventory/src/vocabulary.js";
import { openSqliteHost } from "../../packages/cli/src/check/host.js";

export { inventoryLiveness, inventoryProperties };

/** The app's actions at one location only: a smaller branching factor, for deeper runs. */
const oneLocation = {
  ...inventoryActions,
  adjust: { ...inventoryActions.adjust, args: { ...inventoryActions.adjust.args, locationId: ["A"] } },
  reserve: { ...inventoryActions.reserve, args: { ...inventoryActions.reserve.args, locationId: ["A"] } },
};

export function run(options: { law: "lineage" | "v2"; depth: number; oneLocation?: boolean; only?: string[]; maxStates?: number; onProgress?: (p: Progress) => void }): CheckReport {
  const law = options.law === "v2" ? inventoryV2 : inventoryCheck.law;
  return check(
    { ...inventoryCheck, law, ...(options.oneLocation ? { actions: oneLocation } : {}) },
    {
      openDatabase: openSqliteHost,
      depth: options.depth,
      ...(options.only ? { only: options.only } : {}),
      ...(options.maxStates ? { maxStates: options.maxStates } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
}
