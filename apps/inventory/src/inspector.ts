import type { Sediment } from "@noema/core";
import type { ChartSpec } from "@noema/inspector";

const LINES = ["quantity", "reserved", "available"] as const;
type Values = Record<(typeof LINES)[number], number>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isStock = (o: Record<string, unknown>) => typeof o.locationId === "string" && LINES.every((l) => typeof o[l] === "number");

/**
 * Quantity, reserved and available per location over the log. setStock, adjust, release and
 * commit (and a woken release) output the location's stock after them; a reservation outputs only
 * its own quantity, added to what is known just before it (a sample with gaps shows the stock
 * outputs alone); cancelHold releases its quantity only if the hold was active, which it does not
 * record, so the location's values are unknown until the next stock output.
 */
export const stockChart: ChartSpec = {
  title: "Stock per location",
  lines: LINES,
  points(sediment: Sediment, before) {
    const points: { series: string; values: Values | null }[] = [];
    // Earlier steps of this sediment first: a location's values as they stand at this step.
    const current = (location: string) => {
      const here = points.findLast((p) => p.series === location);
      return here ? here.values : before(location);
    };
    sediment.intent.steps.forEach((step, i) => {
      const out = sediment.outputs[i];
      if (step.op === "cancelHold" && isObject(step.args) && typeof step.args.locationId === "string") points.push({ series: step.args.locationId, values: null });
      if (!isObject(out) || typeof out.locationId !== "string") return;
      if (isStock(out)) points.push({ series: out.locationId, values: { quantity: Number(out.quantity), reserved: Number(out.reserved), available: Number(out.available) } });
      else if (step.op === "reserve" && typeof out.quantity === "number") {
        const last = current(out.locationId);
        if (last) points.push({ series: out.locationId, values: { quantity: last.quantity!, reserved: last.reserved! + out.quantity, available: last.available! - out.quantity } });
      }
    });
    return points;
  },
};
