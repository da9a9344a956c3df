import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../src/canonical/index.js";
import { fillShape, HOLE, splitShape, STRUCTURE_KEYS } from "../src/seal/store.js";

const json = fc.jsonValue();

describe("log rows by shape", () => {
  it("any canonical JSON is split into a shape and values that make it again exactly", () => {
    fc.assert(
      fc.property(json, fc.boolean(), (value, keep) => {
        const text = canonicalJson(value);
        const { shape, values } = splitShape(text, keep ? STRUCTURE_KEYS : undefined);
        expect(fillShape(shape.split(HOLE), values)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("Intents of one kind share a shape: the values are the data, operations and Ref paths stay in the shape", () => {
    const reserve = (locationId: string, quantity: number) =>
      canonicalJson({ v: 1, steps: [{ op: "reserve", args: { locationId, quantity } }, { op: "$freeze", args: { key: { $ref: { step: 0, output: "id" } } } }] });
    const [a, b] = [splitShape(reserve("main", 1), STRUCTURE_KEYS), splitShape(reserve("back, \"room\"", 250), STRUCTURE_KEYS)];
    expect(a.shape).toBe(b.shape);
    expect([a.values, b.values]).toEqual(['"main",1', '"back, \\"room\\"",250']);
    expect(a.shape).toContain('"op":"$freeze"');
  });

  it("values that do not fit their shape make null, so the row no longer hashes as it did", () => {
    const { shape } = splitShape(canonicalJson({ a: 1, b: "x" }));
    expect(fillShape(shape.split(HOLE), "1")).toBe("null");
    expect(fillShape(shape.split(HOLE), '1,"x",2')).toBe("null");
  });
});
