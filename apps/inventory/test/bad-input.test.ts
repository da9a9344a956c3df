import { buildIntent, type Intent } from "@noema/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inventory } from "../src/vocabulary.js";
import { api, expectError, freshProduct, observe } from "./helpers.js";

interface Case {
  name: string;
  method: string;
  /** `P` stands for the stocked product's id. */
  path: string;
  body?: unknown;
  status: 400 | 413;
  /** Issue paths the response must name (400 only); `""` is the body as a whole. */
  paths?: string[];
}

const enc = encodeURIComponent;
const SQL = "x'; DROP TABLE stock;--";
const LONG = "a".repeat(129);

const valid: Intent = buildIntent(inventory, (s) => {
  const r = s.reserve({ locationId: "main", quantity: 1 });
  s.commit({ reservationId: r.reservationId });
});
/** The valid two-step Intent above with one part replaced. */
const intent = (patch: Record<string, unknown>) => ({ ...structuredClone(valid), ...patch });
const steps = (...s: unknown[]) => intent({ steps: s });
const reserveStep = { op: "reserve", args: { locationId: "main", quantity: 1 } };
const commitRef = (ref: unknown) => ({ op: "commit", args: { reservationId: ref } });

const stock = (body: unknown, location = "main"): Pick<Case, "method" | "path" | "body"> => ({ method: "PUT", path: `/api/products/P/stock/${location}`, body });
const adjust = (body: unknown): Pick<Case, "method" | "path" | "body"> => ({ method: "POST", path: "/api/products/P/adjustments", body });
const reserve = (body: unknown): Pick<Case, "method" | "path" | "body"> => ({ method: "POST", path: "/api/products/P/reservations", body });
const post = (body: unknown): Pick<Case, "method" | "path" | "body"> => ({ method: "POST", path: "/api/products/P/intents", body });
const connect = (body: unknown): Pick<Case, "method" | "path" | "body"> => ({ method: "POST", path: "/api/connection", body });
const okAdjust = { locationId: "main", delta: -1, reason: "sale" };
const okReserve = { locationId: "main", quantity: 1 };

const cases: Case[] = [
  // Bodies that are not JSON, or not an object.
  { name: "truncated JSON", ...stock('{"quantity":'), status: 400, paths: [""] },
  { name: "an empty body", ...stock(""), status: 400, paths: [""] },
  { name: "a NaN literal", ...stock('{"quantity": NaN}'), status: 400, paths: [""] },
  { name: "a trailing comma", ...stock('{"quantity": 1,}'), status: 400, paths: [""] },
  { name: "single-quoted JSON", ...adjust("{'locationId': 'main', 'delta': 1, 'reason': 'sale'}"), status: 400, paths: [""] },
  { name: "null as the body", ...stock("null"), status: 400, paths: [""] },
  { name: "an array as the body", ...reserve([okReserve]), status: 400, paths: [""] },
  { name: "a string as the body", ...stock('"5"'), status: 400, paths: [""] },
  // Wrong types and numbers out of range.
  { name: "quantity as a string", ...stock({ quantity: "5" }), status: 400, paths: ["quantity"] },
  { name: "quantity as the string NaN", ...stock({ quantity: "NaN" }), status: 400, paths: ["quantity"] },
  { name: "a negative quantity", ...stock({ quantity: -1 }), status: 400, paths: ["quantity"] },
  { name: "a fractional quantity", ...stock({ quantity: 1.5 }), status: 400, paths: ["quantity"] },
  { name: "a huge quantity", ...stock({ quantity: 1e12 }), status: 400, paths: ["quantity"] },
  { name: "an infinite quantity", ...stock('{"quantity": 1e400}'), status: 400, paths: ["quantity"] },
  { name: "quantity null", ...stock({ quantity: null }), status: 400, paths: ["quantity"] },
  { name: "quantity true", ...stock({ quantity: true }), status: 400, paths: ["quantity"] },
  { name: "a missing quantity", ...stock({}), status: 400, paths: ["quantity"] },
  { name: "an extra field", ...stock({ quantity: 1, note: "x" }), status: 400, paths: ["note"] },
  { name: "a misspelt field", ...stock({ quantiy: 1 }), status: 400, paths: ["quantiy", "quantity"] },
  { name: "a page size that is not a number", method: "GET", path: "/api/products/P/precedents?limit=abc", status: 400, paths: ["limit"] },
  { name: "a __proto__ field", ...stock('{"quantity": 1, "__proto__": {"quantity": 2}}'), status: 400, paths: ["__proto__"] },
  { name: "a data reference where a route takes a value", ...stock({ quantity: { $ref: { step: 0, output: "quantity" } } }), status: 400, paths: ["quantity"] },
  { name: "a zero delta", ...adjust({ ...okAdjust, delta: 0 }), status: 400, paths: ["delta"] },
  { name: "delta as a string", ...adjust({ ...okAdjust, delta: "-5" }), status: 400, paths: ["delta"] },
  { name: "a fractional delta", ...adjust({ ...okAdjust, delta: -2.5 }), status: 400, paths: ["delta"] },
  { name: "a huge negative delta", ...adjust({ ...okAdjust, delta: -1e10 }), status: 400, paths: ["delta"] },
  { name: "an unknown reason", ...adjust({ ...okAdjust, reason: "theft" }), status: 400, paths: ["reason"] },
  { name: "a missing reason", ...adjust({ locationId: "main", delta: 1 }), status: 400, paths: ["reason"] },
  { name: "a missing locationId", ...adjust({ delta: 1, reason: "sale" }), status: 400, paths: ["locationId"] },
  { name: "locationId as a number", ...reserve({ ...okReserve, locationId: 5 }), status: 400, paths: ["locationId"] },
  { name: "an empty referenceId", ...adjust({ ...okAdjust, referenceId: "" }), status: 400, paths: ["referenceId"] },
  { name: "a zero reservation", ...reserve({ ...okReserve, quantity: 0 }), status: 400, paths: ["quantity"] },
  { name: "a negative reservation", ...reserve({ ...okReserve, quantity: -3 }), status: 400, paths: ["quantity"] },
  { name: "quantity as an array", ...reserve({ ...okReserve, quantity: [1] }), status: 400, paths: ["quantity"] },
  { name: "a ttl over a day", ...reserve({ ...okReserve, ttlSeconds: 86_401 }), status: 400, paths: ["ttlSeconds"] },
  { name: "a zero ttl", ...reserve({ ...okReserve, ttlSeconds: 0 }), status: 400, paths: ["ttlSeconds"] },
  { name: "a fractional ttl", ...reserve({ ...okReserve, ttlSeconds: 0.5 }), status: 400, paths: ["ttlSeconds"] },
  { name: "an unknown channel", ...reserve({ ...okReserve, channel: "fax" }), status: 400, paths: ["channel"] },
  { name: "a channel in the wrong case", ...reserve({ ...okReserve, channel: "Web" }), status: 400, paths: ["channel"] },
  { name: "channel null", ...reserve({ ...okReserve, channel: null }), status: 400, paths: ["channel"] },
  // Ids: SQL-looking, unicode, too long, with separators.
  { name: "a SQL-looking locationId", ...stock({ quantity: 1 }, enc(SQL)), status: 400, paths: ["locationId"] },
  { name: "a unicode locationId", ...stock({ quantity: 1 }, enc("café")), status: 400, paths: ["locationId"] },
  { name: "an emoji locationId", ...stock({ quantity: 1 }, enc("📦")), status: 400, paths: ["locationId"] },
  { name: "a locationId of 129 characters", ...stock({ quantity: 1 }, LONG), status: 400, paths: ["locationId"] },
  { name: "a locationId with an encoded slash", ...stock({ quantity: 1 }, "a%2Fb"), status: 400, paths: ["locationId"] },
  { name: "a locationId with a space", ...stock({ quantity: 1 }, "a%20b"), status: 400, paths: ["locationId"] },
  { name: "a SQL-looking productId", method: "PUT", path: `/api/products/${enc(SQL)}/stock/main`, body: { quantity: 1 }, status: 400, paths: ["productId"] },
  { name: "a unicode productId", method: "GET", path: `/api/products/${enc("プロダクト")}`, status: 400, paths: ["productId"] },
  { name: "a productId of 129 characters", method: "GET", path: `/api/products/${LONG}/sediments`, status: 400, paths: ["productId"] },
  { name: "a productId with broken percent-encoding", method: "GET", path: "/api/products/%E0%A4%A/verify", status: 400, paths: ["productId"] },
  { name: "a unicode referenceId", ...adjust({ ...okAdjust, referenceId: "réf" }), status: 400, paths: ["referenceId"] },
  { name: "a SQL-looking orderId", ...reserve({ ...okReserve, orderId: SQL }), status: 400, paths: ["orderId"] },
  { name: "a SQL-looking reservationId to release", method: "DELETE", path: `/api/products/P/reservations/${enc(SQL)}`, status: 400, paths: ["reservationId"] },
  { name: "a reservationId of 200 characters to commit", method: "POST", path: `/api/products/P/reservations/${"r".repeat(200)}/commit`, status: 400, paths: ["reservationId"] },
  { name: "a unicode reservationId to commit", method: "POST", path: `/api/products/P/reservations/${enc("r-ü")}/commit`, status: 400, paths: ["reservationId"] },
  // Wire-format Intents.
  { name: "an Intent that is not JSON", ...post('{"v":1,"steps":[{"op":'), status: 400, paths: [""] },
  { name: "an Intent that is an array", ...post([valid]), status: 400, paths: [""] },
  { name: "wire version 2", ...post(intent({ v: 2 })), status: 400, paths: ["v"] },
  { name: "wire version as a string", ...post(intent({ v: "1" })), status: 400, paths: ["v"] },
  { name: "no wire version", ...post({ steps: valid.steps }), status: 400, paths: ["v"] },
  { name: "no steps", ...post(intent({ steps: [] })), status: 400, paths: ["steps"] },
  { name: "steps missing", ...post({ v: 1 }), status: 400, paths: ["steps"] },
  { name: "steps as an object", ...post(intent({ steps: { 0: reserveStep } })), status: 400, paths: ["steps"] },
  { name: "65 steps", ...post(intent({ steps: Array.from({ length: 65 }, () => reserveStep) })), status: 400, paths: ["steps"] },
  { name: "an unknown operation", ...post(steps({ op: "teleport", args: {} })), status: 400, paths: ["steps.0.op"] },
  { name: "an operation named like an Object method", ...post(steps({ op: "constructor", args: {} })), status: 400, paths: ["steps.0.op"] },
  { name: "an operation named __proto__", ...post(steps({ op: "__proto__", args: {} })), status: 400, paths: ["steps.0.op"] },
  { name: "a step that tries to branch", ...post(steps(reserveStep, { ...commitRef({ $ref: { step: 0, output: "reservationId" } }), when: { $ref: { step: 0, output: "quantity" } } })), status: 400, paths: ["steps.1.when"] },
  { name: "an extra envelope field", ...post(intent({ then: "commit" })), status: 400, paths: ["then"] },
  { name: "an extra argument", ...post(steps({ op: "reserve", args: { ...okReserve, priority: 1 } })), status: 400, paths: ["steps.0.args.priority"] },
  { name: "a wrongly typed argument", ...post(steps({ op: "reserve", args: { ...okReserve, quantity: "1" } })), status: 400, paths: ["steps.0.args.quantity"] },
  { name: "args null", ...post(steps({ op: "reserve", args: null })), status: 400, paths: ["steps.0.args"] },
  { name: "a data reference to a later step", ...post(steps(commitRef({ $ref: { step: 1, output: "reservationId" } }), reserveStep)), status: 400, paths: ["steps.0.args.reservationId"] },
  { name: "a data reference to its own step", ...post(steps(reserveStep, commitRef({ $ref: { step: 1, output: "reservationId" } }))), status: 400, paths: ["steps.1.args.reservationId"] },
  { name: "a data reference to an undeclared output", ...post(steps(reserveStep, commitRef({ $ref: { step: 0, output: "id" } }))), status: 400, paths: ["steps.1.args.reservationId"] },
  { name: "a data reference to a negative step", ...post(steps(reserveStep, commitRef({ $ref: { step: -1, output: "reservationId" } }))), status: 400, paths: ["steps.1.args.reservationId.$ref.step"] },
  { name: "a data reference with an extra key", ...post(steps(reserveStep, commitRef({ $ref: { step: 0, output: "reservationId" }, fallback: "r-1-0" }))), status: 400, paths: ["steps.1.args.reservationId.fallback"] },
  { name: "a data reference for an undeclared argument", ...post(steps(reserveStep, { op: "commit", args: { reservationId: "r-1-0", also: { $ref: { step: 0, output: "reservationId" } } } })), status: 400, paths: ["steps.1.args.also"] },
  { name: "a Nomos stamp of another law", ...post(intent({ nomos: { ...valid.nomos!, name: "ledger" } })), status: 400, paths: ["nomos.name"] },
  { name: "a malformed Nomos hash", ...post(intent({ nomos: { ...valid.nomos!, hash: "xyz" } })), status: 400, paths: ["nomos.hash"] },
  { name: "an empty idempotency key", ...post(intent({ idempotencyKey: "" })), status: 400, paths: ["idempotencyKey"] },
  { name: "an idempotency key of 129 characters", ...post(intent({ idempotencyKey: LONG })), status: 400, paths: ["idempotencyKey"] },
  { name: "a 5000-character string argument", ...post(steps({ op: "reserve", args: { ...okReserve, orderId: "o".repeat(5000) } })), status: 400, paths: ["steps.0.args.orderId"] },
  { name: "a Nomos version this code does not know", ...post(intent({ nomos: { ...valid.nomos!, version: inventory.nomos.version + 1 } })), status: 400, paths: ["nomos.version"] },
  { name: "a fractional Nomos version", ...post(intent({ nomos: { ...valid.nomos!, version: 1.5 } })), status: 400, paths: ["nomos.version"] },
  { name: "a v2-only operation in a v1 Intent", ...post({ v: 1, nomos: { ...valid.nomos!, version: 1 }, steps: [{ op: "recordChannelSync", args: { channel: "web", lastSedimentId: 1 } }] }), status: 400, paths: ["steps.0.op"] },
  { name: "a v1 reserve naming a channel", ...post({ v: 1, nomos: { ...valid.nomos!, version: 1 }, steps: [{ op: "reserve", args: { ...okReserve, channel: "web" } }] }), status: 400, paths: ["steps.0.args.channel"] },
  { name: "an explained Intent that is not JSON", method: "POST", path: "/api/explain", body: "{v:1}", status: 400, paths: [""] },
  { name: "an explained Intent with a reference to a later step", method: "POST", path: "/api/explain", body: steps(commitRef({ $ref: { step: 1, output: "reservationId" } }), reserveStep), status: 400, paths: ["steps.0.args.reservationId"] },
  // Oversized bodies.
  { name: "an oversized stock body", ...stock({ quantity: 1, padding: "x".repeat(66_000) }), status: 413 },
  { name: "an oversized Intent", ...post(intent({ steps: Array.from({ length: 2000 }, () => reserveStep) })), status: 413 },
  { name: "an oversized body on explain", method: "POST", path: "/api/explain", body: " ".repeat(65_537), status: 413 },
  // Query strings.
  { name: "a page over 1000", method: "GET", path: "/api/products/P/sediments?limit=1001", status: 400, paths: ["limit"] },
  { name: "an unknown precedent kind", method: "GET", path: "/api/products/P/precedents?kind=anything", status: 400, paths: ["kind"] },
  { name: "a precedent Nomos version of 0", method: "GET", path: "/api/products/P/precedents?nomosVersion=0", status: 400, paths: ["nomosVersion"] },
  // Connection requests.
  { name: "a Connection that runs backwards", ...connect({ from: 2, to: 1 }), status: 400, paths: ["to"] },
  { name: "a Connection from an unknown version", ...connect({ from: inventory.nomos.version + 1 }), status: 400, paths: ["from"] },
  { name: "a Connection to an unknown version", ...connect({ from: 1, to: inventory.nomos.version + 1 }), status: 400, paths: ["to"] },
  { name: "a Connection from version 0", ...connect({ from: 0, to: 2 }), status: 400, paths: ["from"] },
  { name: "a Connection version as a string", ...connect({ from: "1" }), status: 400, paths: ["from"] },
  { name: "a Connection without from", ...connect({ to: 2 }), status: 400, paths: ["from"] },
  { name: "a Connection with an extra field", ...connect({ from: 1, sieve: {} }), status: 400, paths: ["sieve"] },
  { name: "a Connection with an Intent that is an array", ...connect({ from: 1, intent: [] }), status: 400, paths: ["intent"] },
  { name: "a Connection with an unknown operation", ...connect({ from: 1, intent: { v: 1, steps: [{ op: "teleport", args: {} }] } }), status: 400, paths: ["intent.steps.0.op"] },
  {
    name: "a Connection with an operation its from-version lacks",
    ...connect({ from: 1, intent: { v: 1, steps: [{ op: "recordChannelSync", args: { channel: "web", lastSedimentId: 1 } }] } }),
    status: 400,
    paths: ["intent.steps.0.op"],
  },
  { name: "a Connection with an invalid argument", ...connect({ from: 1, intent: { v: 1, steps: [{ op: "release", args: { reservationId: "r 1" } }] } }), status: 400, paths: ["intent.steps.0.args.reservationId"] },
  { name: "a Connection that is not JSON", ...connect("{from:1}"), status: 400, paths: [""] },
  { name: "a Connection with an Intent of another version than from", ...connect({ from: 1, intent: valid }), status: 400, paths: ["intent.nomos"] },
  { name: "a Connection with an Intent of another hash", ...connect({ from: 2, intent: intent({ nomos: { ...valid.nomos!, hash: "0".repeat(64) } }) }), status: 400, paths: ["intent.nomos"] },
];

/** A product with stock, an active reservation and a Precedent: something for a bad request to disturb. */
async function stockedProduct(): Promise<string> {
  const p = freshProduct("bad");
  expect((await api("PUT", `/api/products/${p}/stock/main`, { quantity: 10 })).status).toBe(200);
  expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 3 })).status).toBe(201);
  expect((await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 20 })).status).toBe(409);
  return p;
}

describe("bad input", () => {
  it("has at least 30 distinct cases", () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of cases) {
    it(`${c.name}: ${c.method} ${c.path.slice(0, 60)} → ${c.status}`, async () => {
      const p = await stockedProduct();
      const before = await observe(p);
      expect(before.snapshot?.locations).toEqual([{ locationId: "main", quantity: 10, reserved: 3, available: 7 }]);
      expect(before.precedents).toHaveLength(1);

      const res = await api(c.method, c.path.replace("/P/", `/${p}/`), c.body);
      expectError(res, c.status, c.status === 413 ? "payload_too_large" : "invalid_input");
      if (c.paths) {
        const issues: { path: string; message: string }[] = res.body.error.issues ?? [];
        expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(c.paths));
        // The message leads with the first issue, so a person sees where to look.
        const first = issues[0]!;
        expect(res.body.error.message).toContain(first.message);
      }
      // Rejected at the edge: no seal, nothing stored, nothing recorded.
      expect(res.body).not.toHaveProperty("seal");
      expect(await observe(p)).toEqual(before);
    });
  }
});

describe("messages a person can act on", () => {
  it("an unknown field comes first, with the nearest known name", async () => {
    const p = await stockedProduct();
    const res = await api("PUT", `/api/products/${p}/stock/main`, { quantiy: 5 });
    expectError(res, 400, "invalid_input");
    expect(res.body.error.issues[0]).toEqual({ path: "quantiy", message: 'unknown field "quantiy"; did you mean "quantity"?' });
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual(["quantiy", "quantity"]);
    expect(res.body.error.message).toBe('quantiy: unknown field "quantiy"; did you mean "quantity"?');

    const reservation = await api("POST", `/api/products/${p}/reservations`, { locationId: "main", quantity: 1, ttlSecond: 60 });
    expect(reservation.body.error.issues).toEqual([{ path: "ttlSecond", message: 'unknown field "ttlSecond"; did you mean "ttlSeconds"?' }]);
    // Nothing near enough: no guess.
    const far = await api("POST", `/api/products/${p}/adjustments`, { locationId: "main", delta: 1, reason: "sale", colour: "red" });
    expect(far.body.error.issues).toEqual([{ path: "colour", message: 'unknown field "colour"' }]);
    const query = await api("GET", `/api/products/${p}/sediments?limt=5`);
    expect(query.body.error.issues).toEqual([{ path: "limt", message: 'unknown field "limt"; did you mean "limit"?' }]);
  });

  it("a query number that is not one says it must be a whole number", async () => {
    const p = await stockedProduct();
    for (const [route, key, value] of [
      ["sediments", "limit", "abc"],
      ["sediments", "after", "NaN"],
      ["precedents", "limit", "1.5"],
      ["precedents", "nomosVersion", "two"],
      ["cryostasis", "limit", "-3"],
    ] as const) {
      const res = await api("GET", `/api/products/${p}/${route}?${key}=${value}`);
      expectError(res, 400, "invalid_input");
      const [issue] = res.body.error.issues;
      expect(issue.path, `${route}?${key}=${value}`).toBe(key);
      expect(issue.message).toMatch(/^must be a whole number/);
      expect(issue.message).not.toMatch(/NaN/);
    }
    expect((await api("GET", `/api/products/${p}/sediments?limit=0`)).body.error.issues).toEqual([{ path: "limit", message: "must be a whole number, 1 to 1000" }]);
  });
});

describe("arbitrary input", () => {
  const routes: ((p: string) => [method: string, path: string])[] = [
    (p) => ["PUT", `/api/products/${p}/stock/main`],
    (p) => ["POST", `/api/products/${p}/adjustments`],
    (p) => ["POST", `/api/products/${p}/reservations`],
    (p) => ["POST", `/api/products/${p}/intents`],
    () => ["POST", "/api/explain"],
    () => ["POST", "/api/connection"],
  ];
  const codes: Record<number, string> = { 400: "invalid_input", 404: "not_found", 409: "refused", 413: "payload_too_large" };
  const step = fc.record({
    op: fc.constantFrom("reserve", "commit", "toString", "x"),
    args: fc.dictionary(fc.constantFrom("locationId", "quantity", "reservationId", "$ref"), fc.jsonValue()),
  });

  it("never gets a 500: any JSON body on any route is answered with a well-formed response", async () => {
    const p = await stockedProduct();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        // Raw JSON values, and Intent-shaped values whose parts are arbitrary.
        fc.oneof(fc.jsonValue(), fc.record({ v: fc.constantFrom(1, 2), steps: fc.array(step, { maxLength: 3 }) })),
        async (route, body) => {
          const [method, path] = route(p);
          const res = await api(method, path, body);
          expect(res.status, JSON.stringify(body)).toBeLessThan(500);
          if (res.status >= 400) expectError(res, res.status, codes[res.status] ?? "an expected error code");
        },
      ),
      { numRuns: 60 },
    );
  });

  it("never gets a 500: any id in any path position is answered with a 4xx or a success", async () => {
    const p = freshProduct("ids");
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: "grapheme", maxLength: 140 }), fc.string({ unit: "binary-ascii", maxLength: 20 })), async (id) => {
        const e = encodeURIComponent(id);
        for (const [method, path] of [
          ["GET", `/api/products/${e}`],
          ["GET", `/api/products/${e}/sediments`],
          ["DELETE", `/api/products/${p}/reservations/${e}`],
          ["PUT", `/api/products/${p}/stock/${e}`],
        ] as const) {
          const res = await api(method, path, method === "PUT" ? { quantity: 1 } : undefined);
          expect(res.status, `${method} ${path}`).toBeLessThan(500);
          if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id) && id !== "") expect(res.status, `${method} ${path}`).toBe(400);
        }
      }),
      { numRuns: 40 },
    );
  });
});
