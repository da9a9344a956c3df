import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../src/canonical/index.js";
import { fillShape, HOLE, splitShape, STRUCTURE_KEYS } from "../src/seal/store.js";

const json = fc.jsonValue();

/**
 * splitShape as it was written first (text built as it scans): the log's stored bytes must not
 * change with the scan that finds a known shape without writing it out.
 */
function referenceSplit(json: string, keep?: readonly string[]): { shape: string; values: string } {
  const tokenEnd = (at: number): number => {
    if (json[at] === '"') {
      for (let j = at; ; ) {
        j = json.indexOf('"', j + 1);
        if (j === -1) return json.length;
        let k = j - 1;
        while (json[k] === "\\") k--;
        if ((j - 1 - k) % 2 === 0) return j + 1;
      }
    }
    let j = at + 1;
    while (j < json.length && !",}]".includes(json[j]!)) j++;
    return j;
  };
  let [shape, values, last, keyAt] = ["", "", 0, -1];
  for (let i = 0; i < json.length; ) {
    if (",:{}[]".includes(json[i]!)) {
      i++;
      continue;
    }
    const end = tokenEnd(i);
    if (json[end] === ":") keyAt = i;
    else if (!(keep && json[i - 1] === ":" && keep.some((k) => i === keyAt + k.length + 1 && json.startsWith(k, keyAt)))) {
      shape += `${json.slice(last, i)}${HOLE}`;
      values += values ? `,${json.slice(i, end)}` : json.slice(i, end);
      last = end;
    }
    i = end;
  }
  return { shape: shape + json.slice(last), values };
}

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

  it("the shape and values are the reference split's, byte for byte (arrays of values are sliced whole)", () => {
    const intentLike = fc.record({ v: fc.constant(1), steps: fc.array(fc.record({ op: fc.string(), args: json, step: fc.option(fc.nat()) }), { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.oneof(json, intentLike, fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null)))), fc.boolean(), (value, keep) => {
        const text = canonicalJson(value);
        const k = keep ? STRUCTURE_KEYS : undefined;
        expect(splitShape(text, k)).toEqual(referenceSplit(text, k));
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
