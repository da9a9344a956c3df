import { utf8ToBytes } from "@noble/hashes/utils.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Json } from "../src/index.js";
import {
  type DiffFrame,
  diffFrames,
  fitsServerFrame,
  joinDiff,
  joinSnapshot,
  MAX_SERVER_FRAME_BYTES,
  MAX_SYNC_FRAME_BYTES,
  parseClientFrame,
  parseServerFrame,
  type ServerFrame,
  type SnapshotFrame,
  snapshotFrames,
  type SnapshotTable,
  SYNC_CLOSE,
  SYNC_GENESIS,
  SYNC_PROTOCOL,
} from "../src/sync.js";

const H = "a".repeat(64);
const hello = { t: "hello", protocol: SYNC_PROTOCOL, law: { version: 2, hash: H }, after: { sedimentId: 3, hash: H } };
const send = { t: "send", intent: { v: 1, idempotencyKey: "k1", steps: [{ op: "reserve", args: { sku: "a", qty: 1 } }] } };
const world = { attractor: "InventoryAttractor", name: "main", nomosVersion: 2, nomosHash: H };

const issuesOf = (r: ReturnType<typeof parseClientFrame> | ReturnType<typeof parseServerFrame>) => (r.ok ? [] : r.issues.map((i) => [i.code, i.path.join(".")]));

/** Every frame a server sends, as fast-check builds them. */
const json = fc.jsonValue().filter((v) => !Object.is(v, -0)) as fc.Arbitrary<Json>;
const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
const change = fc.oneof(
  fc.record({ table: fc.string({ minLength: 1 }), op: fc.constant("upsert" as const), row: fc.array(json) }),
  fc.record({ table: fc.string({ minLength: 1 }), op: fc.constant("delete" as const), key: fc.array(json, { minLength: 1 }) }),
);
const serverFrame: fc.Arbitrary<ServerFrame> = fc.oneof(
  fc.record({ t: fc.constant("welcome" as const), protocol: fc.constant(SYNC_PROTOCOL), world: fc.constant(world), law: fc.record({ version: fc.integer({ min: 1 }), hash }), behind: fc.boolean(), readOnly: fc.boolean() }),
  fc.record({ t: fc.constant("diff" as const), sedimentId: fc.integer({ min: 1 }), hash, prevHash: hash, changes: fc.array(change), more: fc.constant(true as const) }, { requiredKeys: ["t", "sedimentId", "hash", "prevHash", "changes"] }),
  fc.record({ t: fc.constant("error" as const), code: fc.constant("malformed" as const), message: fc.string(), path: fc.array(fc.oneof(fc.string(), fc.nat())) }),
  fc.record({ t: fc.constant("snapshot" as const), sedimentId: fc.nat(), hash, tables: fc.dictionary(fc.string({ minLength: 1 }), fc.constant<SnapshotTable>({ columns: ["id", "n"], key: ["id"], rows: [["a", 1], ["b", null]] })) }),
);

describe("sync protocol", () => {
  it("names its close codes and the genesis cursor", () => {
    expect(SYNC_CLOSE).toStrictEqual({ malformed: 4400, unauthorized: 4401, forbidden: 4403, unknownWorld: 4404, resync: 4409, tooLarge: 4413 });
    expect(SYNC_GENESIS).toStrictEqual({ sedimentId: 0, hash: "0".repeat(64) });
  });

  it("accepts well-formed client frames, as text or as values", () => {
    expect(parseClientFrame(JSON.stringify(hello))).toStrictEqual({ ok: true, value: hello });
    expect(parseClientFrame(send)).toStrictEqual({ ok: true, value: send });
    expect(parseClientFrame({ ...hello, after: undefined }).ok).toBe(true);
  });

  it("names each problem of a client frame with a code and a path", () => {
    expect(issuesOf(parseClientFrame("{nope"))).toStrictEqual([["not_json", ""]]);
    expect(issuesOf(parseClientFrame([]))).toStrictEqual([["invalid_type", ""]]);
    expect(issuesOf(parseClientFrame({ t: "subscribe" }))).toStrictEqual([["invalid_value", "t"]]);
    expect(issuesOf(parseClientFrame({ ...hello, protocol: 9, law: { version: 0, hash: "xyz" }, extra: 1 }))).toStrictEqual([
      ["unrecognized_keys", "extra"],
      ["invalid_value", "protocol"],
      ["invalid_type", "law.version"],
    ]);
    expect(issuesOf(parseClientFrame({ ...hello, after: { sedimentId: -1, hash: H } }))).toStrictEqual([["invalid_type", "after.sedimentId"]]);
    expect(issuesOf(parseClientFrame({ t: "send", intent: { v: 1, steps: [] } }))).toStrictEqual([["invalid_type", "intent.idempotencyKey"]]);
    expect(issuesOf(parseClientFrame({ t: "send", intent: { ...send.intent, idempotencyKey: "k".repeat(129) } }))).toStrictEqual([["too_big", "intent.idempotencyKey"]]);
    expect(issuesOf(parseClientFrame("x".repeat(MAX_SYNC_FRAME_BYTES + 1)))).toStrictEqual([["too_big", ""]]);
    // Bytes, not characters: a frame of multi-byte characters under the limit in length is still too big.
    expect(issuesOf(parseClientFrame(JSON.stringify({ t: "send", intent: { idempotencyKey: "k", s: "é".repeat(MAX_SYNC_FRAME_BYTES / 2) } })))).toStrictEqual([["too_big", ""]]);
  });

  it("round-trips every server frame through JSON and refuses any frame with a field dropped", () => {
    fc.assert(
      fc.property(serverFrame, (frame) => {
        const text = JSON.stringify(frame);
        // Compared as JSON text: a table may be named "constructor", which toStrictEqual takes for the object's class.
        const parsed = parseServerFrame(text);
        expect(parsed.ok).toBe(true);
        expect(JSON.stringify(parsed.ok ? parsed.value : undefined)).toBe(text);
        const required = Object.keys(frame).filter((k) => k !== "more" && (frame.t !== "error" || (k !== "path" && k !== "key")));
        for (const k of required) {
          const partial: Record<string, unknown> = { ...frame };
          delete partial[k];
          expect(parseServerFrame(partial).ok).toBe(false);
        }
      }),
    );
  });

  it("refuses a diff's malformed change and a snapshot row that does not match its columns, at their paths", () => {
    const diff = { t: "diff", sedimentId: 1, hash: H, prevHash: H, changes: [{ table: "t", op: "upsert", row: [1] }, { table: "t", op: "merge" }] };
    expect(issuesOf(parseServerFrame(diff))).toStrictEqual([["invalid_value", "changes.1.op"]]);
    const snapshot = { t: "snapshot", ...SYNC_GENESIS, tables: { t: { columns: ["id", "n"], key: ["sku"], rows: [["a"]] } } };
    expect(issuesOf(parseServerFrame(snapshot))).toStrictEqual([["invalid_value", "tables.t.key.0"], ["invalid_value", "tables.t.rows.0"]]);
  });

  it("never throws, whatever it is given", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string(), json.map((v) => JSON.stringify(v))), (input) => {
        expect(typeof parseClientFrame(input).ok).toBe("boolean");
        expect(typeof parseServerFrame(input).ok).toBe("boolean");
      }),
    );
  });

  it("reads a server frame up to MAX_SERVER_FRAME_BYTES, past the client frame limit, and no larger", () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => [`row-${String(i).padStart(8, "0")}`, i]);
    const snapshot = (n: number) => JSON.stringify({ t: "snapshot", ...SYNC_GENESIS, tables: { t: { columns: ["id", "n"], key: ["id"], rows: rows(n) } } });
    const fits = snapshot(Math.floor(MAX_SERVER_FRAME_BYTES / 30));
    expect(fits.length).toBeGreaterThan(MAX_SYNC_FRAME_BYTES);
    expect(parseServerFrame(fits).ok).toBe(true);
    expect(issuesOf(parseServerFrame(snapshot(Math.ceil(MAX_SERVER_FRAME_BYTES / 20))))).toStrictEqual([["too_big", ""]]);
    expect(issuesOf(parseServerFrame({ t: "snapshot", ...SYNC_GENESIS, tables: {}, more: false }))).toStrictEqual([["invalid_value", "more"]]);
    expect(issuesOf(parseServerFrame({ t: "diff", sedimentId: 1, hash: H, prevHash: H, changes: [], more: 1 }))).toStrictEqual([["invalid_value", "more"]]);
    expect(fitsServerFrame(fits)).toBe(true);
    expect(fitsServerFrame("é".repeat(MAX_SERVER_FRAME_BYTES / 2))).toBe(true);
    expect(fitsServerFrame("é".repeat(MAX_SERVER_FRAME_BYTES / 2 + 1))).toBe(false);
  });

  it("splits a diff into frames within the limit, all but the last marked more, that join back into it", () => {
    const diff = fc.record({ t: fc.constant("diff" as const), sedimentId: fc.integer({ min: 1 }), hash, prevHash: hash, changes: fc.array(change, { maxLength: 60 }) });
    fc.assert(
      fc.property(diff, fc.integer({ min: 600, max: 3000 }), (whole: DiffFrame, max) => {
        const frames = diffFrames(whole, max);
        frames.forEach((f, i) => {
          const text = JSON.stringify(f);
          // Only a single change larger than the frame may exceed it, alone in its frame.
          if (f.changes.length > 1) expect(utf8ToBytes(text).length).toBeLessThanOrEqual(max);
          expect(parseServerFrame(text).ok).toBe(true);
          expect(f.more).toBe(i < frames.length - 1 ? true : undefined);
        });
        expect(JSON.stringify(joinDiff(frames))).toBe(JSON.stringify(whole));
      }),
    );
    const small: DiffFrame = { t: "diff", sedimentId: 1, hash: H, prevHash: H, changes: [{ table: "t", op: "delete", key: ["a"] }] };
    expect(diffFrames(small)).toStrictEqual([small]);
    const part = (more: boolean, sedimentId = 1, prevHash = H): DiffFrame => ({ ...small, sedimentId, prevHash, ...(more ? { more: true as const } : {}) });
    expect(joinDiff([part(true), part(false)])?.changes).toHaveLength(2);
    expect(joinDiff([])).toBeUndefined();
    expect(joinDiff([part(true)])).toBeUndefined();
    expect(joinDiff([part(false), part(false)])).toBeUndefined();
    expect(joinDiff([part(true, 1), part(false, 2)])).toBeUndefined();
    expect(joinDiff([part(true), part(false, 1, "b".repeat(64))])).toBeUndefined();
  });

  it("splits a snapshot into frames within the limit, all but the last marked more, that join back into it", () => {
    const table: fc.Arbitrary<SnapshotTable> = fc.record({
      columns: fc.constant(["id", "v"]),
      key: fc.constant(["id"]),
      rows: fc.array(fc.tuple(fc.string(), fc.oneof(fc.string({ maxLength: 40, unit: "binary" }), fc.integer(), fc.constant(null))), { maxLength: 60 }),
    });
    const snapshot = fc.record({ t: fc.constant("snapshot" as const), sedimentId: fc.nat(), hash, tables: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), table, { maxKeys: 5 }) });
    fc.assert(
      fc.property(snapshot, fc.integer({ min: 400, max: 2000 }), (whole: SnapshotFrame, max) => {
        const frames = snapshotFrames(whole, max);
        frames.forEach((f, i) => {
          const text = JSON.stringify(f);
          expect(utf8ToBytes(text).length).toBeLessThanOrEqual(max);
          expect(parseServerFrame(text).ok).toBe(true);
          expect(f.more).toBe(i < frames.length - 1 ? true : undefined);
        });
        expect(JSON.stringify(joinSnapshot(frames))).toBe(JSON.stringify(whole));
      }),
    );
    const small: SnapshotFrame = { t: "snapshot", ...SYNC_GENESIS, tables: { t: { columns: ["id"], key: ["id"], rows: [["a"]] } } };
    expect(snapshotFrames(small)).toStrictEqual([small]);
  });

  it("refuses to join frames that do not make one snapshot", () => {
    const part = (more: boolean, sedimentId = 1, columns = ["id"]): SnapshotFrame => ({ t: "snapshot", sedimentId, hash: H, tables: { t: { columns, key: ["id"], rows: [["a"]] } }, ...(more ? { more: true as const } : {}) });
    expect(joinSnapshot([part(true), part(false)])?.tables.t?.rows).toStrictEqual([["a"], ["a"]]);
    expect(joinSnapshot([])).toBeUndefined();
    expect(joinSnapshot([part(true)])).toBeUndefined();
    expect(joinSnapshot([part(false), part(false)])).toBeUndefined();
    expect(joinSnapshot([part(true, 1), part(false, 2)])).toBeUndefined();
    expect(joinSnapshot([part(true), part(false, 1, ["id", "n"])])).toBeUndefined();
  });
});
